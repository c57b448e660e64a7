"""Homework 07's feedback, in process: the reference answers pass, the course library's versions are refused (the
shortcut rule), and each typical mistake of a small study (an LSTM's (h, c) pair read as a tensor, label leakage,
unseeded runs, unequal budgets, differences within the noise, too few seeds) gets its own diagnosis."""
import math
import random
import statistics

import numpy as np

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from recurrent_lib import seed_everything
from recurrent_lib.gates import set_forget_bias
from recurrent_lib.homework import CheckFailure, check
from recurrent_lib.homework.checks.comparison import (BUDGET_CASES, BUDGET_MISTAKES, SEEDS_CASES, SEEDS_MISTAKES,
                                                      _mistaken, _seeds_for)
from recurrent_lib.study import make_model as library_make_model
from recurrent_lib.study import matched_hidden_size as library_matched
from recurrent_lib.study import over_seeds
from recurrent_lib.study import verdict as library_verdict
from recurrent_lib.tasks import temporal_order


def failure(exercise_id: str, *objects) -> str:
    """The message of the check's failure (the test fails if the check passes)."""
    with pytest.raises(CheckFailure) as caught:
        check(exercise_id, *objects)
    return str(caught.value)


# ------------------------------------------------------------- 7.1 the model factory

class Reader(nn.Module):
    """A classifier whose read-out of the layer's state is ``read(state, output)``."""

    def __init__(self, rnn, n_classes, read, final=lambda s: F.log_softmax(s, dim=-1)):
        super().__init__()
        self.rnn, self.out, self.read, self.final = rnn, nn.Linear(rnn.hidden_size, n_classes), read, final

    def forward(self, x):
        output, state = self.rnn(x)
        return self.final(self.out(self.read(state, output)))


def factory(read=lambda state, output: (state[0] if isinstance(state, tuple) else state)[-1],
            final=lambda s: F.log_softmax(s, dim=-1), set_bias=None, truthy=False, lstm_only=ValueError):
    def make_model(kind, input_size, hidden_size, n_classes, forget_bias=None):
        if forget_bias is not None and kind != "lstm" and lstm_only is not None:
            raise lstm_only("only an LSTM has a forget gate")
        layer = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind](input_size, hidden_size)
        if (forget_bias if truthy else forget_bias is not None):
            with torch.no_grad():
                (set_bias or (lambda l, H, v: (l.bias_ih_l0[H:2 * H].fill_(v), l.bias_hh_l0[H:2 * H].zero_())))(
                    layer, hidden_size, forget_bias)
        return Reader(layer, n_classes, read, final)
    return make_model


def test_a_hand_written_factory_passes_and_the_librarys_is_refused():
    check("7.1", factory())
    assert "your code calls recurrent_lib.study" in failure("7.1", library_make_model)

    def with_set_forget_bias(kind, input_size, hidden_size, n_classes, forget_bias=None):
        model = factory()(kind, input_size, hidden_size, n_classes)
        if forget_bias is not None:
            set_forget_bias(model.rnn, forget_bias)
        return model
    assert "scores zero" in failure("7.1", with_set_forget_bias)


def test_the_lstm_state_tuple_treated_as_a_tensor_is_named():
    message = failure("7.1", factory(read=lambda state, output: state.squeeze(0)))
    assert "an LSTM returns its state as a tuple (h_n, c_n)" in message
    message = failure("7.1", factory(read=lambda state, output: (state[1] if isinstance(state, tuple) else state)[-1]))
    assert "it reads out the cell state c_n" in message


def test_h_minus_one_on_the_lstm_pair_is_named_as_c_n():
    message = failure("7.1", factory(read=lambda state, output: state[-1]))     # h[-1] with h = the (h_n, c_n) pair
    assert "state[-1] (or h[-1] with h = state) is c_n" in message and "h_n, c_n = state" in message
    assert "read out h_n[-1], the last layer's final state" not in message


def test_an_ignored_forget_bias_of_zero_is_named():
    message = failure("7.1", factory(truthy=True))
    assert "forget_bias=0.0 was ignored" in message and "`if forget_bias is not None:`" in message


def test_forget_bias_for_a_gru_must_raise_a_value_error():
    message = failure("7.1", factory(lstm_only=None))      # sets rows H:2H of the GRU, its update gate z
    assert "a GRU has no forget gate" in message and "raise ValueError" in message
    message = failure("7.1", factory(lstm_only=KeyError))
    assert "raised KeyError" in message and "raise a ValueError" in message


def test_read_out_mistakes_are_named():
    assert "it holds probabilities (softmax)" in failure("7.1", factory(final=lambda s: F.softmax(s, dim=-1)))
    assert "it holds raw scores" in failure("7.1", factory(final=lambda s: s))
    assert "the first step's output" in failure("7.1", factory(read=lambda state, output: output[0]))
    assert "(num_layers, batch, n_classes)" in failure(
        "7.1", factory(read=lambda state, output: state[0] if isinstance(state, tuple) else state))


def test_forget_bias_mistakes_are_named():
    both = factory(set_bias=lambda l, H, v: (l.bias_ih_l0[H:2 * H].fill_(v), l.bias_hh_l0[H:2 * H].fill_(v)))
    assert "the two biases are added" in failure("7.1", both)
    input_gate = factory(set_bias=lambda l, H, v: (l.bias_ih_l0[:H].fill_(v), l.bias_hh_l0[:H].zero_()))
    assert "input gate i (rows 0:H)" in failure("7.1", input_gate)


def test_the_wrong_layer_is_named():
    def always_lstm(kind, input_size, hidden_size, n_classes, forget_bias=None):
        return factory()("lstm", input_size, hidden_size, n_classes, forget_bias)
    assert "make_model('rnn', 3, 5, 4) built an nn.LSTM, expected nn.RNN" in failure("7.1", always_lstm)


# ------------------------------------------------------------- 7.2 the generator

def generator(distractors=(2, 6), first_at=None, labels=lambda a, b: 2 * a + b, seeded=True, global_seed=False,
              shared_distractors=False, x_index=0):
    def temporal_order_data(n, T, seed):
        if global_seed:
            torch.manual_seed(seed)
        g = torch.Generator().manual_seed(seed) if seeded and not global_seed else None
        d = torch.Generator().manual_seed(0) if shared_distractors else g
        symbols = torch.randint(*distractors, (T, n), generator=d)
        which = torch.randint(0, 2, (2, n), generator=g)
        first = torch.randint(T // 10, 2 * T // 10, (n,), generator=g) if first_at is None else first_at(T, which)
        second = torch.randint(5 * T // 10, 6 * T // 10, (n,), generator=g)
        columns = torch.arange(n)
        symbols[first, columns] = which[0] + x_index
        symbols[second, columns] = which[1] + x_index
        return F.one_hot(symbols, 6).float(), labels(which[0], which[1])
    return temporal_order_data


def test_the_reference_passes_and_the_librarys_generator_is_refused():
    check("7.2", generator())
    message = failure("7.2", lambda n, T, seed: temporal_order(n, T, seed=seed))
    assert "your code calls recurrent_lib.tasks" in message and "write the task generator yourself" in message


def test_fixed_positions_are_named():
    message = failure("7.2", generator(first_at=lambda T, which: torch.full((which.shape[1],), T // 10)))
    assert "the first X/Y is at step 3 in every sequence" in message and "uniformly from [3, 6)" in message


def test_distractors_shared_across_seeds_are_named():
    message = failure("7.2", generator(shared_distractors=True))
    assert "seeds 5 and 6 share their distractors" in message and "manual_seed(seed)" in message


def test_label_leakage_is_named():
    leak = generator(first_at=lambda T, which: T // 10 + which[0] * (T // 10 - 1))   # Y always late in its window
    assert "label leakage" in failure("7.2", leak) and "step of the first X/Y depends on the class" in failure("7.2", leak)

    def last_step_tells(n, T, seed):
        x, y = generator()(n, T, seed)
        x[-1] = F.one_hot(2 + y, 6).float()              # the last distractor spells the class
        return x, y
    assert "label leakage" in failure("7.2", last_step_tells)


def test_distractors_that_include_x_and_y_are_named():
    assert "the distractors must be a, b, c, d only" in failure("7.2", generator(distractors=(0, 6)))


def test_unseeded_and_globally_seeded_generators_are_named():
    assert "not seeded" in failure("7.2", generator(seeded=False))
    assert "changed torch's global random state" in failure("7.2", generator(global_seed=True))


def test_swapped_labels_are_named():
    assert "swapped" in failure("7.2", generator(labels=lambda a, b: 2 * b + a))


# ------------------------------------------------------------- 7.3 the runner

def runner(seeding="each", summary=lambda v: (statistics.fmean(v), min(v), max(v))):
    def run_seeds(run, seeds):
        values = []
        for k, seed in enumerate(seeds):
            if seeding == "each" or (seeding == "once" and k == 0):
                seed_everything(seed)
            values.append(float(run(seed)))
        return (values, *summary(values))
    return run_seeds


def test_the_reference_runner_passes_and_the_librarys_is_refused():
    check("7.3", runner())
    assert "your code calls recurrent_lib.study" in failure("7.3", lambda run, seeds: over_seeds(run, seeds))


def test_seeding_torch_alone_is_named():
    def torch_only(run, seeds):
        values = []
        for seed in seeds:
            torch.manual_seed(seed)
            values.append(float(run(seed)))
        return values, statistics.fmean(values), min(values), max(values)
    message = failure("7.3", torch_only)
    assert "only torch's generator is seeded" in message and "Python's random and NumPy's" in message

    def torch_and_python(run, seeds):
        values = []
        for seed in seeds:
            torch.manual_seed(seed)
            random.seed(seed)
            values.append(float(run(seed)))
        return values, statistics.fmean(values), min(values), max(values)
    assert "NumPy's generator is left as it was" in failure("7.3", torch_and_python)


def test_calling_run_without_its_seed_gets_a_course_hint():
    def no_seed(run, seeds):
        values = []
        for seed in seeds:
            seed_everything(seed)
            values.append(float(run()))
        return values, statistics.fmean(values), min(values), max(values)
    message = failure("7.3", no_seed)
    assert "raised TypeError" in message and "call run(seed)" in message


def test_unseeded_runs_are_named():
    assert "not seeded" in failure("7.3", runner(seeding="never"))
    assert "only the first run is seeded" in failure("7.3", runner(seeding="once"))


def test_summary_mistakes_are_named():
    message = failure("7.3", runner(summary=lambda v: (statistics.median(v), min(v), max(v))))
    assert "the mean" in message and "that is the median" in message
    assert "that is the standard deviation" in failure(
        "7.3", runner(summary=lambda v: (statistics.fmean(v), statistics.stdev(v), max(v))))


# ------------------------------------------------------------- 7.4 equal budgets

def hand_matched(kind, I, C, n):
    k = {"rnn": 1, "lstm": 4, "gru": 3}[kind]
    return min(range(1, 1000), key=lambda H: abs(k * (H * I + H * H + 2 * H) + C * (H + 1) - n))


def test_the_reference_budget_passes_the_librarys_is_refused_and_each_mistake_is_named():
    check("7.4", hand_matched)
    check("7.4", lambda *case: np.int64(hand_matched(*case)))          # a NumPy integer is an integer
    assert "your code calls recurrent_lib.study" in failure("7.4", library_matched)
    for mistake, advice in BUDGET_MISTAKES.items():
        assert any(_mistaken(*case, mistake) != library_matched(*case) for case in BUDGET_CASES), mistake
        message = failure("7.4", lambda kind, I, C, n, m=mistake: _mistaken(kind, I, C, n, m))
        assert advice in message


def test_a_float_hidden_size_is_refused():
    assert "expected the result of matched_hidden_size" in failure("7.4", lambda *args: float(hand_matched(*args)))


def test_the_budget_edge_cases_are_named():
    def search(kind, I, C, n, first=1, last=10_000, tie_up=False):
        k = {"rnn": 1, "lstm": 4, "gru": 3}[kind]
        count = lambda H: k * (H * I + H * H + 2 * H) + C * (H + 1)
        best = first
        for H in range(first, last + 1):
            if abs(count(H) - n) < abs(count(best) - n) or tie_up and abs(count(H) - n) == abs(count(best) - n):
                best = H
        return best
    assert "on a tie (two sizes equally close to the budget) return the smaller one" in failure(
        "7.4", lambda *case: search(*case, tie_up=True))
    assert "the search stops at H = 99" in failure("7.4", lambda *case: search(*case, last=99))
    assert "hidden_size is at least 1" in failure("7.4", lambda *case: search(*case, first=0))


# ------------------------------------------------------------- 7.5 the verdict

def verdict_from(rule):
    def claim_verdict(higher, lower):
        return rule(higher, lower)
    return claim_verdict


def reference(higher, lower):
    n, wins = len(higher), sum(a > b for a, b in zip(higher, lower))
    chance = lambda k: sum(math.comb(n, j) for j in range(k, n + 1)) / 2 ** n
    return "holds" if chance(wins) <= 0.05 else "does not" if chance(n - wins) <= 0.05 else "inconclusive"


def test_the_reference_verdict_passes_and_the_librarys_is_refused():
    check("7.5", verdict_from(reference))
    refused = verdict_from(lambda a, b: str(library_verdict([x > y for x, y in zip(a, b)])))
    assert "your code calls recurrent_lib.study" in failure("7.5", refused)


def test_within_the_noise_mistakes_are_named():
    means_only = verdict_from(lambda a, b: "holds" if statistics.fmean(a) > statistics.fmean(b) else "does not")
    assert "a higher mean is no evidence" in failure("7.5", means_only)
    median = verdict_from(lambda a, b: "holds" if statistics.median(a) > statistics.median(b) else "does not")
    assert "it compares the medians" in failure("7.5", median)
    one_stdev = verdict_from(lambda a, b: "holds" if statistics.fmean(a) - statistics.fmean(b) >
                             statistics.stdev([x - y for x, y in zip(a, b)]) else "does not")
    assert "exceeds one standard deviation" in failure("7.5", one_stdev)
    ranges = verdict_from(lambda a, b: "holds" if min(a) > max(b) else "does not")
    assert "the old rule, the ranges" in failure("7.5", ranges)
    majority = verdict_from(lambda a, b: "holds" if 2 * sum(x > y for x, y in zip(a, b)) > len(a) else
                            "does not" if 2 * sum(x > y for x, y in zip(a, b)) < len(a) else "inconclusive")
    assert "a majority is not enough" in failure("7.5", majority)
    ties = verdict_from(lambda a, b: reference([x + 1e-12 * (x == y) for x, y in zip(a, b)], b))
    assert "a tie counts as a win" in failure("7.5", ties)
    old_partly = verdict_from(lambda a, b: "holds" if min(a) > max(b) else
                              "partly" if statistics.fmean(a) > statistics.fmean(b) else "does not")
    assert "'partly' is for a claim of several parts" in failure("7.5", old_partly)
    assert "expected one of 'holds', 'does not', 'inconclusive'" in failure("7.5", verdict_from(lambda a, b: "hold"))


def test_an_off_by_one_tail_is_named():
    def k_plus_one(a, b):
        n, wins = len(a), sum(x > y for x, y in zip(a, b))
        chance = lambda k: sum(math.comb(n, j) for j in range(k + 1, n + 1)) / 2 ** n
        return "holds" if chance(wins) <= 0.05 else "does not" if chance(n - wins) <= 0.05 else "inconclusive"
    assert "the tail leaves out k itself" in failure("7.5", verdict_from(k_plus_one))


# ------------------------------------------------------------- 7.6 how many seeds

def test_the_reference_seeds_pass_and_each_mistake_is_named():
    check("7.6", lambda p, q: _seeds_for(p, q))
    check("7.6", lambda p, q: None if _seeds_for(p, q) is None else np.int64(_seeds_for(p, q)))
    for mistake, advice in SEEDS_MISTAKES.items():
        assert any(_seeds_for(*case, mistake=mistake) != _seeds_for(*case) for case in SEEDS_CASES), mistake
        assert advice in failure("7.6", lambda p, q, m=mistake: _seeds_for(p, q, mistake=m))
    assert _seeds_for(1.0, 0.8) == 5 and _seeds_for(0.5, 0.8) is None


def test_other_seed_counts_get_the_power_they_reach():
    message = failure("7.6", lambda p, q: 6)
    assert "seeds_for(1.0, 0.8) returned 6, expected 5" in message and "reaches with probability" in message
    assert "return None" in failure("7.6", lambda p, q: _seeds_for(p, q) or 50)


# ------------------------------------------------------------- a second battery of mistakes (issue 25)

def capital_kinds(kind, *args, **kwargs):
    return factory()({"RNN": "rnn", "LSTM": "lstm", "GRU": "gru"}[kind], *args, **kwargs)


def read_a_pair(state, output):
    h_n, c_n = state                                       # an nn.RNN's h_n (1, batch, H) is no pair
    return h_n[-1]


def sign_test(higher, lower, denominator=lambda n: 2 ** n, losses=lambda a, b: a <= b):
    """The reference's sign test, with the coin's chance divided by ``denominator`` and the seeds lost counted by
    ``losses`` (a mistake unless the defaults)."""
    n, wins = len(higher), sum(a > b for a, b in zip(higher, lower))
    lost = sum(losses(a, b) for a, b in zip(higher, lower))
    chance = lambda k: sum(math.comb(n, j) for j in range(k, n + 1)) / denominator(n)
    return "holds" if chance(wins) <= 0.05 else "does not" if chance(lost) <= 0.05 else "inconclusive"


def seeds_for_exactly(win_rate, power):
    """7.6 with the chance of exactly the needed wins, not at least."""
    for n in range(1, 51):
        needed = next((k for k in range(n + 1) if sum(math.comb(n, j) for j in range(k, n + 1)) / 2 ** n <= 0.05), None)
        if needed is not None and math.comb(n, needed) * win_rate ** needed * (1 - win_rate) ** (n - needed) >= power:
            return n
    return None


def run_seeds_in_order(run, seeds):
    values, mean, low, high = runner()(run, seeds)
    return mean, low, high, values


@pytest.mark.parametrize("exercise_id, answer, words", [
    ("7.1", capital_kinds, "kind arrives in lower case, 'rnn', 'lstm' or 'gru'"),
    ("7.1", factory(read=read_a_pair), "only nn.LSTM returns (output, (h_n, c_n))"),
    ("7.2", generator(distractors=(2, 5)), "the distractor d never appears"),
    ("7.2", lambda n, T, seed: (generator()(n, T, seed)[0].argmax(dim=-1), generator()(n, T, seed)[1]),
     "those are the symbols; x is their one-hot encoding"),
    ("7.3", run_seeds_in_order, "return the four in the order (values, mean, low, high)"),
    ("7.4", lambda kind, I, C, n: {"RNN": 1, "LSTM": 4, "GRU": 3}[kind], "kind arrives in lower case"),
    ("7.4", lambda kind, I, C, n: _mistaken(kind, I, C, n, "read-out without bias"), "the read-out's bias is missing"),
    ("7.4", lambda kind, I, C, n: parameter_count(kind, I, C, hand_matched(kind, I, C, n)),
     "the parameter count of the right model"),
    ("7.1", factory(read=lambda state, output: output.mean(dim=0)), "it reads out the mean of the outputs over time"),
    ("7.2", generator(x_index=1), "X (index 0 of TEMPORAL_SYMBOLS) never appears"),
    ("7.5", lambda higher, lower: sign_test(higher, lower, denominator=lambda n: 2 * n),
     "the chance is divided by 2 * n"),
    ("7.5", lambda higher, lower: sign_test(higher, lower, losses=lambda a, b: a < b),
     "'does not' counts only the seeds `higher` loses outright"),
    ("7.6", seeds_for_exactly, "it uses the chance of exactly k wins"),
])
def test_a_second_battery_of_mistakes_is_named(exercise_id, answer, words):
    assert words in failure(exercise_id, answer)


def parameter_count(kind, I, C, H):  # noqa: E741
    k = {"rnn": 1, "lstm": 4, "gru": 3}[kind]
    return k * (H * I + H * H + 2 * H) + C * (H + 1)
