"""recurrent_lib.study: the model factory, parameter budgets, spreads over seeds, verdicts, step recording."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from recurrent_lib.classifiers import SequenceClassifier, SequenceRegressor
from recurrent_lib import seed_everything
from recurrent_lib.data import LANGUAGES, N_LETTERS, collate_names, load_names
from recurrent_lib.study import (Spread, StepRecorder, Verdict, beyond_spread, combine, compare, fit_side_by_side,
                                 make_model, matched_hidden_size, model_parameters, over_seeds, rate_interval,
                                 seeds_needed, seeds_per_block, steps_to_reach, trainable_parameters, verdict)
from recurrent_lib.tasks import adding_problem, as_items, collate_steps, temporal_order
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


def test_beyond_spread_needs_the_ranges_apart():
    a, b = Spread((0, 1), (0.7, 0.8)), Spread((0, 1), (0.6, 0.65))
    overlapping = Spread((0, 1), (0.6, 0.75))
    assert beyond_spread(a, b) and not beyond_spread(b, a) and not beyond_spread(a, overlapping)


def test_seeds_needed_is_the_sign_test_threshold():
    assert [seeds_needed(n) for n in (1, 4, 5, 6, 8, 10, 12)] == [None, None, 5, 6, 7, 9, 10]
    assert seeds_needed(6, alpha=0.2) == 5                       # 7/64 = 0.11 of chance at 5 of 6
    with pytest.raises(ValueError, match="expected n to be a positive integer, got 0"):
        seeds_needed(0)


def test_verdict_holds_only_beyond_chance_and_says_how_many_seeds_back_it():
    holds = verdict([True] * 6)
    assert holds == "holds" and isinstance(holds, Verdict) and (holds.support, holds.seeds) == (6, 6)
    assert holds.described == "holds (6 of 6 seeds)"
    assert verdict([True] * 5 + [False]) == "inconclusive"      # a coin gives 5 of 6 one time in 9
    assert verdict([True] * 7 + [False]) == "holds"             # 7 of 8: one time in 28
    assert verdict([0] * 6).described == "does not (0 of 6 seeds)"
    assert verdict([True] * 3) == "inconclusive"                # three seeds can never settle a claim
    assert verdict([True, False, True, False, True, False]) == "inconclusive"
    with pytest.raises(ValueError, match="expected at least one outcome"):
        verdict([])
    with pytest.raises(ValueError, match="expected a verdict in"):
        Verdict("maybe", 1, 2)


def test_compare_pairs_the_seeds_and_ordered_means_are_no_evidence():
    seeds = tuple(range(6))
    a = Spread(seeds, (0.9, 0.8, 0.7, 0.9, 0.8, 0.75))
    b = Spread(seeds, (0.6, 0.7, 0.65, 0.5, 0.79, 0.7))
    assert compare(a, b) == "holds" and not beyond_spread(a, b)  # every seed of a ahead of its pair, ranges overlap
    assert compare(b, a) == "does not"
    assert compare(a, b, margin=0.02) == "inconclusive"          # seed 4 leads by 0.01 only: no longer a win
    lucky = Spread(seeds, (0.99, 0.5, 0.5, 0.5, 0.5, 0.5))      # a higher mean from one seed
    assert lucky.mean > Spread(seeds, (0.55,) * 6).mean
    assert compare(lucky, Spread(seeds, (0.55,) * 6)) == "inconclusive"     # the old rule said "partly"
    assert compare(a, a) == "does not"                           # a tie is no win
    assert compare(Spread(seeds, (1, 0, 1, 0, 1, 0)), Spread(seeds, (0.5,) * 6)) == "inconclusive"
    with pytest.raises(ValueError, match="over the same seeds"):
        compare(a, Spread((0, 1, 2, 3, 4, 9), b.values))


def test_combine_a_claim_of_parts():
    holds, against, unclear = verdict([1] * 6), verdict([0] * 6), verdict([1, 0] * 3)
    assert combine(holds, holds) == "holds" and combine(against, against) == "does not"
    partly = combine(holds, against)
    assert partly == "partly" and partly.described == "partly (holds (6 of 6 seeds); does not (0 of 6 seeds))"
    assert combine(holds, unclear) == "inconclusive" and combine(partly, holds) == "partly"
    with pytest.raises(ValueError, match="at least one verdict"):
        combine()


def test_rate_interval_is_clopper_pearson():
    low, high = rate_interval(5, 6)
    assert low == pytest.approx(0.358765, abs=1e-5) and high == pytest.approx(0.995789, abs=1e-5)
    assert rate_interval(0, 6) == (0.0, pytest.approx(1 - 0.025 ** (1 / 6)))
    assert rate_interval(6, 6) == (pytest.approx(0.025 ** (1 / 6)), 1.0)
    with pytest.raises(ValueError, match="expected successes between 0 and n=6, got 7"):
        rate_interval(7, 6)


def _separately(kind, seed, items, collate, epochs, **options):
    seed_everything(seed)
    model = make_model(kind, options.pop("input_size"), options.pop("hidden_size"), options.pop("n_outputs"),
                       forget_bias=options.pop("forget_bias", None), regression=options.get("regression", False))
    losses = []
    fit(model, items, collate=collate, epochs=epochs, batch_size=32, lr=1e-2, clip_grad_norm=0.5, seed=seed,
        device="cpu", progress=False, on_batch_end=lambda step, loss: losses.append(loss),
        loss_fn=F.mse_loss if options.get("regression") else F.cross_entropy)
    return model, losses


@pytest.mark.parametrize("kind, forget_bias", [("rnn", None), ("lstm", 1.0), ("gru", None)])
def test_side_by_side_runs_are_the_separate_runs(kind, forget_bias):
    data = {seed: as_items(*temporal_order(96, 20, seed=seed)) for seed in (3, 8)}
    runs = fit_side_by_side(kind, (3, 8), data.__getitem__, input_size=6, hidden_size=5, n_outputs=4,
                            collate=collate_steps, epochs=2, batch_size=32, lr=1e-2, clip_grad_norm=0.5,
                            forget_bias=forget_bias)
    for run in runs:
        model, losses = _separately(kind, run.seed, data[run.seed], collate_steps, 2, input_size=6, hidden_size=5,
                                    n_outputs=4, forget_bias=forget_bias)
        assert type(run.model) is type(model) and run.steps == 6 and len(run.train_acc) == 2
        assert run.losses == pytest.approx(losses, abs=1e-5)
        for mine, theirs in zip(run.model.parameters(), model.parameters()):
            torch.testing.assert_close(mine, theirs, atol=1e-5, rtol=1e-4)
    assert runs[0].losses != runs[1].losses                      # different seeds, different runs


def test_side_by_side_regression_packed_names_and_early_stops():
    data = as_items(*adding_problem(64, 20, seed=0))
    runs = fit_side_by_side("gru", (0, 1), lambda seed: data, input_size=2, hidden_size=4, n_outputs=1,
                            collate=collate_steps, epochs=3, batch_size=32, lr=1e-2, clip_grad_norm=0.5,
                            regression=True, stop=lambda run: run.seed == 0)
    assert [run.steps for run in runs] == [2, 6] and runs[0].train_acc == []
    model, losses = _separately("gru", 0, data, collate_steps, 1, input_size=2, hidden_size=4, n_outputs=1,
                                regression=True)
    assert runs[0].losses == pytest.approx(losses, abs=1e-5)    # stopped after its first epoch, kept as it was
    torch.testing.assert_close(runs[0].model.out.weight, model.out.weight, atol=1e-5, rtol=1e-4)
    names = load_names().train[:70]                              # names of different lengths, packed
    runs = fit_side_by_side("lstm", (0, 1), lambda seed: names, input_size=N_LETTERS, hidden_size=6,
                            n_outputs=len(LANGUAGES), collate=collate_names, epochs=1, batch_size=32, lr=1e-2,
                            clip_grad_norm=0.5)
    model, losses = _separately("lstm", 1, names, collate_names, 1, input_size=N_LETTERS, hidden_size=6,
                                n_outputs=len(LANGUAGES))
    assert runs[1].losses == pytest.approx(losses, abs=1e-5)


def test_side_by_side_blocks_split_the_seeds_without_changing_the_runs():
    assert (seeds_per_block("rnn", 16), seeds_per_block("lstm", 16), seeds_per_block("gru", 16)) == (10, 2, 3)
    assert seeds_per_block("lstm", 64) == 1
    data = as_items(*temporal_order(64, 20, seed=0))
    options = dict(input_size=6, hidden_size=4, n_outputs=4, collate=collate_steps, epochs=1, batch_size=32, lr=1e-2)
    together = fit_side_by_side("gru", (0, 1, 2), lambda seed: data, **options)
    apart = fit_side_by_side("gru", (0, 1, 2), lambda seed: data, per_block=1, **options)
    assert [run.seed for run in apart] == [0, 1, 2]
    for a, b in zip(together, apart):
        assert a.losses == pytest.approx(b.losses, abs=1e-5)


def test_side_by_side_says_what_it_expected():
    with pytest.raises(ValueError, match="the same number of training items for every seed, got \\[3, 4\\]"):
        fit_side_by_side("rnn", (3, 4), lambda seed: as_items(*temporal_order(seed, 20, seed=seed)), input_size=6,
                         hidden_size=2, n_outputs=4, collate=collate_steps, epochs=1, batch_size=2, lr=0.1)
    with pytest.raises(ValueError, match="at least one seed"):
        fit_side_by_side("rnn", (), list, input_size=6, hidden_size=2, n_outputs=4, collate=collate_steps, epochs=1,
                         batch_size=2, lr=0.1)


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
