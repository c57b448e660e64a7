"""The synthetic tasks, the gate-bias setter, the gradient probe and the regressor read-out."""
import pytest
import torch
from torch import nn

import recurrent_lib
from recurrent_lib.classifiers import SequenceRegressor
from recurrent_lib.gates import set_forget_bias, set_gate_bias
from recurrent_lib.gradients import state_gradient_norms
from recurrent_lib.tasks import (ADDING_BASELINE_MSE, TEMPORAL_CLASSES, adding_problem, as_items, collate_steps,
                                 temporal_order)


@pytest.mark.parametrize("positions", ["early", "late"])
def test_temporal_order_places_two_relevant_symbols_and_labels_their_order(positions):
    x, y = temporal_order(500, 60, seed=3, positions=positions)
    assert x.shape == (60, 500, 6) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert (x.sum(dim=2) == 1).all()
    symbols = x.argmax(dim=2)                       # (T, n)
    relevant = symbols < 2
    assert (relevant.sum(dim=0) == 2).all()
    steps = relevant.float().T.nonzero()[:, 1].reshape(500, 2)
    first, second = steps[:, 0], steps[:, 1]
    if positions == "early":
        assert ((first >= 6) & (first < 12)).all() and ((second >= 30) & (second < 36)).all()
    else:
        assert (first >= 50).all() and (second >= 55).all()
    order = symbols.T[relevant.T].reshape(500, 2)
    assert torch.equal(y, 2 * order[:, 0] + order[:, 1])
    assert set(y.tolist()) == set(range(len(TEMPORAL_CLASSES)))


def test_tasks_are_reproducible_and_seed_dependent():
    assert all(torch.equal(a, b) for a, b in zip(temporal_order(8, 30, seed=1), temporal_order(8, 30, seed=1)))
    assert not torch.equal(temporal_order(8, 30, seed=1)[0], temporal_order(8, 30, seed=2)[0])
    assert all(torch.equal(a, b) for a, b in zip(adding_problem(8, 30, seed=1), adding_problem(8, 30, seed=1)))


def test_adding_problem_target_and_baseline():
    x, y = adding_problem(20_000, 40, seed=0)
    assert x.shape == (40, 20_000, 2) and y.shape == (20_000,)
    markers = x[:, :, 1]
    assert (markers.sum(dim=0) == 2).all()
    assert (markers[:20].sum(dim=0) == 1).all() and (markers[20:].sum(dim=0) == 1).all()
    torch.testing.assert_close(y, (x[:, :, 0] * markers).sum(dim=0))
    assert abs(((y - 1) ** 2).mean().item() - ADDING_BASELINE_MSE) < 0.005


@pytest.mark.parametrize("call, message", [
    (lambda: temporal_order(0, 30, seed=0), "n to be an integer >= 1"),
    (lambda: temporal_order(4, 10, seed=0), "T to be an integer >= 20"),
    (lambda: temporal_order(4, 30, seed=0, positions="middle"), "positions 'early' or 'late'"),
    (lambda: adding_problem(4, 1, seed=0), "T to be an integer >= 2"),
    (lambda: as_items(torch.zeros(5, 3, 2), torch.zeros(4)), "same n"),
])
def test_task_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_items_round_trip():
    x, y = adding_problem(6, 10, seed=0)
    xb, yb = collate_steps(as_items(x, y))
    assert torch.equal(xb, x) and torch.equal(yb, y)


@pytest.mark.parametrize("module", [nn.LSTM, recurrent_lib.LSTM])
def test_forget_bias_sets_the_sum_of_both_biases_in_every_layer(module):
    lstm = module(3, 5, num_layers=2, bidirectional=True)
    set_forget_bias(lstm, 2.0)
    for suffix in ("l0", "l1", "l0_reverse", "l1_reverse"):
        total = getattr(lstm, f"bias_ih_{suffix}") + getattr(lstm, f"bias_hh_{suffix}")
        torch.testing.assert_close(total[5:10], torch.full((5,), 2.0))
        assert not torch.allclose(total[:5], torch.full((5,), 2.0))


def test_gate_bias_bad_input():
    with pytest.raises(ValueError, match="has the gates r, z, n; got 'f'"):
        set_gate_bias(nn.GRU(2, 3), "f", 1.0)
    with pytest.raises(ValueError, match="has the gates none"):
        set_gate_bias(nn.RNN(2, 3), "f", 1.0)
    with pytest.raises(ValueError, match="bias=False"):
        set_forget_bias(nn.LSTM(2, 3, bias=False))


def test_state_gradient_norms_match_autograd_on_a_hand_unrolled_rnn():
    torch.manual_seed(0)
    rnn = nn.RNN(3, 4, dtype=torch.float64)
    x = torch.randn(6, 2, 3, dtype=torch.float64)
    norms = state_gradient_norms(rnn, x)
    hs, h = [], torch.zeros(2, 4, dtype=torch.float64)
    for x_t in x:
        h = torch.tanh(x_t @ rnn.weight_ih_l0.T + rnn.bias_ih_l0 + h @ rnn.weight_hh_l0.T + rnn.bias_hh_l0)
        h.retain_grad()
        hs.append(h)
    h.sum().backward()
    torch.testing.assert_close(norms, torch.stack([s.grad.norm() for s in hs]))
    assert norms[-1] == pytest.approx(8 ** 0.5)


def test_state_gradient_norms_see_the_forget_gate_open_the_path():
    x, _ = temporal_order(4, 60, seed=0)
    ratios = {}
    for bias in (0.0, 3.0):
        torch.manual_seed(0)
        lstm = nn.LSTM(6, 32)
        set_forget_bias(lstm, bias)
        norms = state_gradient_norms(lstm, x)
        ratios[bias] = (norms[0] / norms[-1]).item()
    assert ratios[3.0] > 1e6 * ratios[0.0]


def test_regressor_reads_the_last_state():
    torch.manual_seed(0)
    model = SequenceRegressor(nn.GRU(2, 5))
    x, _ = adding_problem(3, 7, seed=0)
    _, h_n = model.rnn(x)
    torch.testing.assert_close(model(x), model.out(h_n[-1]).squeeze(-1))
    assert model(x).shape == (3,)
