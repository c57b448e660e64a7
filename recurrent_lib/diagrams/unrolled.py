r"""The RNN unrolled over T steps: the computation graph that backpropagation through time walks back through.

:func:`unrolled_graph` draws, for the course's equation
``h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)`` and a loss L that reads h_T:

- nodes: the inputs x_1 .. x_T (bottom row), the states h_0 .. h_T (middle row) and the loss L (top);
- forward edges (black): x_t -> h_t through W_ih, h_{t-1} -> h_t through W_hh (the *same* two matrices at
  every step), h_T -> L;
- backward edges (red, dashed): L -> h_T, then h_t -> h_{t-1} for t = T .. 1, each one multiplying the
  gradient g_t = dL/dh_t by the step's Jacobian transposed, (diag(1 - h_t^2) W_hh)^T.

Every node and edge carries a ``gid`` (``"node h_2"``, ``"forward h_1->h_2"``, ``"backward h_2->h_1"``), so
that a test can count them. The function returns a ``matplotlib.figure.Figure`` made with pyplot (end the
notebook cell with ``plt.show()`` to show it once).
"""
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch

MAX_STEPS = 8  # wider than this, the labels no longer fit a slide
STEP, RADIUS = 2.2, 0.42  # distance between steps, radius of a node
Y_INPUT, Y_STATE, Y_LOSS = 0.0, 2.0, 4.0
FORWARD, BACKWARD = "black", "#b03a2e"
NODE_COLOURS = {"x": "#dde9f7", "h": "#fde7c8", "L": "#e8e8e8"}


def _node(ax: Axes, centre: tuple[float, float], name: str, label: str) -> Circle:
    circle = ax.add_patch(Circle(centre, RADIUS, facecolor=NODE_COLOURS[name[0]], edgecolor="black",
                                 linewidth=1.2, zorder=3, gid=f"node {name}"))
    ax.text(*centre, label, ha="center", va="center", fontsize=12, zorder=4)
    return circle


def _edge(ax: Axes, start: Circle, end: Circle, gid: str, *, backward: bool = False, label: str = "",
          label_offset: tuple[float, float] = (0.0, 0.0)) -> None:
    """An arrow from node to node, rim to rim; backward ones red, dashed and bent to the right of their
    direction (below the forward edge they retrace)."""
    ax.add_patch(FancyArrowPatch(start.center, end.center, patchA=start, patchB=end, arrowstyle="-|>",
                                 mutation_scale=14, linewidth=1.4, color=BACKWARD if backward else FORWARD,
                                 linestyle="--" if backward else "-",
                                 connectionstyle=f"arc3,rad={-0.5 if backward else 0}", zorder=2, gid=gid))
    if label:
        (x0, y0), (x1, y1) = start.center, end.center
        middle = ((x0 + x1) / 2 + label_offset[0], (y0 + y1) / 2 + label_offset[1])
        ax.text(*middle, label, ha="center", va="center", fontsize=10,
                color=BACKWARD if backward else FORWARD, zorder=4)


def unrolled_graph(T: int = 4) -> Figure:
    """The computation graph of an RNN unrolled over ``T`` steps (1 <= T <= 8) with a loss reading h_T:
    2T + 2 nodes (x_1..x_T, h_0..h_T, L), 2T + 1 forward edges and T + 1 backward edges."""
    if isinstance(T, bool) or not isinstance(T, int) or not 1 <= T <= MAX_STEPS:
        raise ValueError(f"expected T, the number of steps to draw, an int from 1 to {MAX_STEPS}, got {T!r}")
    right = max(T * STEP + 1.2, 8.6)  # room for the two lines of equations under a short graph
    fig, ax = plt.subplots(figsize=(0.72 * (right + 1.0), 0.72 * 7.2))
    fig.subplots_adjust(left=0.0, right=1.0, bottom=0.0, top=0.93)
    ax.set_xlim(-1.0, right)
    ax.set_ylim(-2.2, Y_LOSS + 0.7)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(f"BPTT on the RNN unrolled over T = {T} step{'s' if T > 1 else ''}: forward (black), "
                 f"backward (red)", fontsize=12)

    states = [_node(ax, (0.0, Y_STATE), "h_0", "$h_0$")]
    for t in range(1, T + 1):
        x_t = _node(ax, (t * STEP, Y_INPUT), f"x_{t}", f"$x_{t}$")
        states.append(_node(ax, (t * STEP, Y_STATE), f"h_{t}", f"$h_{t}$"))
        _edge(ax, x_t, states[t], f"forward x_{t}->h_{t}", label="$W_{ih}$", label_offset=(-0.38, 0.0))
        _edge(ax, states[t - 1], states[t], f"forward h_{t - 1}->h_{t}", label="$W_{hh}$", label_offset=(0.0, 0.25))
    loss = _node(ax, (T * STEP, Y_LOSS), "L", "$L$")
    _edge(ax, states[T], loss, f"forward h_{T}->L")

    _edge(ax, loss, states[T], f"backward L->h_{T}", backward=True, label=f"$g_{{{T}}}$", label_offset=(0.78, 0.0))
    for t in range(T, 0, -1):
        _edge(ax, states[t], states[t - 1], f"backward h_{t}->h_{t - 1}", backward=True,
              label=f"$g_{{{t - 1}}}$", label_offset=(0.0, -0.9))

    ax.text(-0.9, -1.25, r"forward: $h_t = \tanh(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})$, the same "
            r"$W_{ih}, W_{hh}$ at every step", ha="left", va="center", fontsize=10)
    ax.text(-0.9, -1.85, r"backward: $g_{t-1} = (\mathrm{diag}(1 - h_t^2)\, W_{hh})^\top g_t$, and "
            r"$\partial L / \partial W_{hh} = \sum_t \delta_t h_{t-1}^\top$ adds one term per step",
            ha="left", va="center", fontsize=10, color=BACKWARD)
    return fig
