"""recurrent_lib.diagrams.unrolled: the unrolled graph has the nodes and edges BPTT walks through."""
import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch

from recurrent_lib.diagrams.unrolled import unrolled_graph


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def gids(fig: Figure, kind: type, prefix: str) -> list[str]:
    (ax,) = fig.axes
    return sorted(p.get_gid() for p in ax.patches if isinstance(p, kind) and (p.get_gid() or "").startswith(prefix))


@pytest.mark.parametrize("T", [1, 3, 8])
def test_it_draws_2T_plus_2_nodes_2T_plus_1_forward_and_T_plus_1_backward_edges(T):
    fig = unrolled_graph(T)
    assert isinstance(fig, Figure)
    assert len(gids(fig, Circle, "node ")) == 2 * T + 2
    assert len(gids(fig, FancyArrowPatch, "forward ")) == 2 * T + 1
    assert len(gids(fig, FancyArrowPatch, "backward ")) == T + 1


def test_the_edges_connect_the_right_nodes():
    fig = unrolled_graph(3)
    assert gids(fig, Circle, "node ") == sorted(["node h_0", "node h_1", "node h_2", "node h_3", "node x_1", "node x_2",
                                                  "node x_3", "node L"])
    assert gids(fig, FancyArrowPatch, "forward ") == sorted(
        [f"forward x_{t}->h_{t}" for t in (1, 2, 3)] + [f"forward h_{t - 1}->h_{t}" for t in (1, 2, 3)]
        + ["forward h_3->L"])
    assert gids(fig, FancyArrowPatch, "backward ") == sorted(
        ["backward L->h_3"] + [f"backward h_{t}->h_{t - 1}" for t in (1, 2, 3)])


def test_forward_and_backward_edges_look_different():
    (ax,) = unrolled_graph(2).axes
    arrows = {p.get_gid(): p for p in ax.patches if isinstance(p, FancyArrowPatch)}
    forward, backward = arrows["forward h_1->h_2"], arrows["backward h_2->h_1"]
    assert forward.get_linestyle() != backward.get_linestyle()
    assert forward.get_edgecolor() != backward.get_edgecolor()


@pytest.mark.parametrize("T", [0, 9, 2.0, True, "4"])
def test_a_bad_number_of_steps_says_what_was_expected(T):
    with pytest.raises(ValueError, match=rf"expected T, the number of steps to draw, an int from 1 to 8, got {T!r}"):
        unrolled_graph(T)
