"""recurrent_lib.study: the model factory, parameter budgets, spreads over seeds, verdicts, step recording."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from recurrent_lib.classifiers import SequenceClassifier, SequenceRegressor
from recurrent_lib.study import (Spread, StepRecorder, beyond_spread, compare, make_model, trainable_parameters,
                                 matched_hidden_size, model_parameters, over_seeds, steps_to_reach, verdict)
from recurrent_lib.tasks import as_items, collate_steps, temporal_order
from recurrent_lib.train import fit


@pytest.mark.parametrize("kind, layer", [("rnn", nn.RNN), ("lstm", nn.LSTM), ("gru", nn.GRU)])
def test_make_model_reads_out_the_final_hidden_state_of_the_named_layer(kind, layer):
    torch.manual_seed(0)
    model = make_model(kind, 3, 5, 4)
    assert type(model) is SequenceClassifier and type(model.rnn) is layer
    assert (model.rnn.input_size, model.rnn.hidden_size, model.out.out_features) == (3, 5, 4)
    x = torch.randn(7, 2, 3, dtype=torch.float64)
    model.double()
    output, state = model.rnn(x)
    h_n = state[0] if kind == "lstm" else state
    torch.testing.assert_close(h_n[-1], output[-1])                     # the final hidden state, not c_n
    torch.testing.assert_close(model(x), F.log_softmax(model.out(output[-1]), dim=-1))


def test_make_model_regression_and_forget_bias():
    model = make_model("lstm", 2, 4, 1, forget_bias=1.0, regression=True)
    assert type(model) is SequenceRegressor
    assert model(torch.zeros(5, 3, 2)).shape == (3,)
    b = model.rnn.bias_ih_l0 + model.rnn.bias_hh_l0
    torch.testing.assert_close(b[4:8], torch.ones(4))                   # gates i, f, g, o: f is rows H:2H


def test_make_model_says_what_it_expected():
    with pytest.raises(ValueError, match="expected kind 'rnn', 'lstm' or 'gru', got 'LSTM'"):
        make_model("LSTM", 2, 4, 1)
    with pytest.raises(ValueError, match="only an LSTM has a forget gate; got forget_bias=1.0 for kind 'gru'"):
        make_model("gru", 2, 4, 1, forget_bias=1.0)
    with pytest.raises(ValueError, match="expected hidden_size to be a positive integer, got 0"):
        make_model("rnn", 2, 0, 1)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("sizes", [(57, 32, 18), (6, 16, 4), (2, 1, 1)])
def test_model_parameters_counts_what_torch_builds(kind, sizes):
    assert model_parameters(kind, *sizes) == trainable_parameters(make_model(kind, *sizes))


def test_matched_hidden_size_is_the_closest_budget():
    budget = trainable_parameters(make_model("lstm", 57, 32, 18))
    for kind in ("rnn", "gru", "lstm"):
        H = matched_hidden_size(kind, 57, 18, budget)
        best = min(range(1, 200), key=lambda h: (abs(model_parameters(kind, 57, h, 18) - budget), h))
        assert H == best
    assert matched_hidden_size("lstm", 57, 18, budget) == 32
    assert matched_hidden_size("rnn", 57, 18, budget) > 2 * 32     # one gate block instead of four
    with pytest.raises(ValueError, match="expected n_parameters to be a positive integer, got -3"):
        matched_hidden_size("rnn", 57, 18, -3)


def test_spread_and_its_text():
    spread = Spread((0, 1, 2), (0.5, 0.25, 0.75))
    assert (spread.mean, spread.low, spread.high) == (0.5, 0.25, 0.75)
    assert str(spread) == "0.5 (0.25 to 0.75)"
    with pytest.raises(ValueError, match="expected one value per seed and at least one, got 2 values for 3 seeds"):
        Spread((0, 1, 2), (0.5, 0.25))


def test_over_seeds_seeds_every_run_so_a_study_repeats_exactly():
    def run(seed):
        return torch.randn(()).item() + 0 * seed               # draws from the global generator
    first, second = over_seeds(run, [3, 4]), over_seeds(run, [3, 4])
    assert first == second and first.seeds == (3, 4)
    assert first.values[0] != first.values[1]
    torch.manual_seed(3)
    assert first.values[0] == torch.randn(()).item()
    assert over_seeds(lambda seed: torch.tensor(2.0 * seed), [1]).values == (2.0,)


def test_comparisons_count_a_difference_only_beyond_the_spread():
    a, b = Spread((0, 1), (0.7, 0.8)), Spread((0, 1), (0.6, 0.65))
    overlapping = Spread((0, 1), (0.6, 0.75))
    assert beyond_spread(a, b) and not beyond_spread(b, a) and not beyond_spread(a, overlapping)
    assert compare(a, b) == "holds" and compare(a, overlapping) == "partly" and compare(b, a) == "does not"
    assert verdict([True, True]) == "holds" and verdict([True, False]) == "partly" and verdict([0, 0]) == "does not"
    with pytest.raises(ValueError, match="expected at least one outcome"):
        verdict([])


def test_steps_to_reach_needs_a_whole_window_below_the_target():
    losses = [1.0, 0.0, 1.0, 0.4, 0.3, 0.2, 0.1]
    assert steps_to_reach(losses, 0.25, window=2) == 6
    assert steps_to_reach(losses, 0.0, window=1) == 2
    assert steps_to_reach(losses, 0.01, window=2) is None


def test_step_recorder_measures_the_gradient_norm_before_clipping():
    torch.manual_seed(0)
    model = make_model("rnn", 6, 8, 4)
    items = as_items(*temporal_order(16, 20, seed=0))
    recorder = StepRecorder(model)
    fit(model, items, collate=collate_steps, epochs=3, batch_size=16, lr=0.0, clip_grad_norm=1e-3,
        on_batch_end=recorder.on_batch_end, progress=False, device="cpu")
    recorder.remove()
    x, y = collate_steps(items)                                 # lr 0: the weights never move
    model.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    norm = torch.sqrt(sum(p.grad.double().pow(2).sum() for p in model.parameters())).item()
    assert norm > 1e-2                                          # far above the clipping norm
    assert recorder.grad_norms == pytest.approx([norm] * 3, rel=1e-5)
    assert recorder.losses == pytest.approx([loss.item()] * 3, rel=1e-5)
    recorder.on_batch_end(4, 0.0)                               # removed: the last backward went unseen
    assert recorder.grad_norms[-1] == 0.0
