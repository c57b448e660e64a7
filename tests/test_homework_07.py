"""Homework 07's feedback, in process: the reference answers pass, and each typical mistake of a small study
(an LSTM's (h, c) pair read as a tensor, label leakage, unseeded runs, unequal budgets, differences within the
noise) gets its own diagnosis."""
import statistics

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from recurrent_lib import seed_everything
from recurrent_lib.homework import CheckFailure, check
from recurrent_lib.homework.checks.comparison import BUDGET_CASES, BUDGET_MISTAKES, _mistaken
from recurrent_lib.study import make_model as library_make_model
from recurrent_lib.study import matched_hidden_size as library_matched
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
            final=lambda s: F.log_softmax(s, dim=-1), set_bias=None):
    def make_model(kind, input_size, hidden_size, n_classes, forget_bias=None):
        layer = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind](input_size, hidden_size)
        if forget_bias is not None:
            with torch.no_grad():
                (set_bias or (lambda l, H, v: (l.bias_ih_l0[H:2 * H].fill_(v), l.bias_hh_l0[H:2 * H].zero_())))(
                    layer, hidden_size, forget_bias)
        return Reader(layer, n_classes, read, final)
    return make_model


def test_the_library_factory_and_a_hand_written_one_pass():
    check("7.1", library_make_model)
    check("7.1", factory())


def test_the_lstm_state_tuple_treated_as_a_tensor_is_named():
    message = failure("7.1", factory(read=lambda state, output: state.squeeze(0)))
    assert "an LSTM returns its state as a tuple (h_n, c_n)" in message
    message = failure("7.1", factory(read=lambda state, output: (state[1] if isinstance(state, tuple) else state)[-1]))
    assert "it reads out the cell state c_n" in message


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

def generator(distractors=(2, 6), first_at=None, labels=lambda a, b: 2 * a + b, seeded=True, global_seed=False):
    def temporal_order_data(n, T, seed):
        if global_seed:
            torch.manual_seed(seed)
        g = torch.Generator().manual_seed(seed) if seeded and not global_seed else None
        symbols = torch.randint(*distractors, (T, n), generator=g)
        which = torch.randint(0, 2, (2, n), generator=g)
        first = torch.randint(T // 10, 2 * T // 10, (n,), generator=g) if first_at is None else first_at(T, which)
        second = torch.randint(5 * T // 10, 6 * T // 10, (n,), generator=g)
        columns = torch.arange(n)
        symbols[first, columns] = which[0]
        symbols[second, columns] = which[1]
        return F.one_hot(symbols, 6).float(), labels(which[0], which[1])
    return temporal_order_data


def test_the_library_generator_and_the_reference_pass():
    check("7.2", lambda n, T, seed: temporal_order(n, T, seed=seed))
    check("7.2", generator())


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


def test_the_reference_runner_passes():
    check("7.3", runner())


def test_unseeded_runs_are_named():
    assert "not seeded" in failure("7.3", runner(seeding="never"))
    assert "only the first run is seeded" in failure("7.3", runner(seeding="once"))


def test_summary_mistakes_are_named():
    message = failure("7.3", runner(summary=lambda v: (statistics.median(v), min(v), max(v))))
    assert "the mean" in message and "that is the median" in message
    assert "that is the standard deviation" in failure(
        "7.3", runner(summary=lambda v: (statistics.fmean(v), statistics.stdev(v), max(v))))


# ------------------------------------------------------------- 7.4 equal budgets

def test_the_library_budget_passes_and_each_mistake_is_named():
    check("7.4", library_matched)
    for mistake, advice in BUDGET_MISTAKES.items():
        assert any(_mistaken(*case, mistake) != library_matched(*case) for case in BUDGET_CASES), mistake
        message = failure("7.4", lambda kind, I, C, n, m=mistake: _mistaken(kind, I, C, n, m))
        assert advice in message


def test_a_float_hidden_size_is_refused():
    assert "expected the result of matched_hidden_size" in failure("7.4", lambda *args: float(library_matched(*args)))


# ------------------------------------------------------------- 7.5 the verdict

def verdict_from(rule):
    def claim_verdict(higher, lower):
        return rule(higher, lower)
    return claim_verdict


def reference(higher, lower):
    if min(higher) > max(lower):
        return "holds"
    return "partly" if statistics.fmean(higher) > statistics.fmean(lower) else "does not"


def test_the_reference_verdict_passes():
    check("7.5", verdict_from(reference))


def test_within_the_noise_mistakes_are_named():
    means_only = verdict_from(lambda a, b: "holds" if statistics.fmean(a) > statistics.fmean(b) else "does not")
    assert "a higher mean alone is 'partly'" in failure("7.5", means_only)
    best = verdict_from(lambda a, b: "holds" if max(a) > max(b) else reference(a, b))
    assert "it compares the best seeds" in failure("7.5", best)
    ties = verdict_from(lambda a, b: "holds" if min(a) >= max(b) else reference(a, b))
    assert "strictly" in failure("7.5", ties)
    assert "expected one of 'holds', 'partly', 'does not'" in failure("7.5", verdict_from(lambda a, b: "hold"))
