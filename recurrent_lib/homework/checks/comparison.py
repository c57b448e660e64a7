"""Assignment 07, RNN vs LSTM vs GRU: checks of a small study's parts -- the model factory, a seeded
temporal-order generator, the multi-seed runner, equal parameter budgets, the sign-test verdict on a claim,
and how many seeds a claim needs.

The references are the library's (``recurrent_lib.study`` and ``recurrent_lib.tasks``, which lesson 07 uses).
Each diagnosis recomputes the answer with the mistake it names (reading ``c_n``, seeding once, forgetting
the read-out's parameters, judging by the means, ...) and fires only when the student's answer matches it.
The exercises ask for the parts written by hand: a call to ``recurrent_lib.study``, ``recurrent_lib.tasks``
(or ``recurrent_lib.gates`` / ``recurrent_lib.sizes``, where they answer the exercise) scores zero
(:mod:`..shortcuts`).
"""
import math
import random
import statistics
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from recurrent_lib.runtime import seed_everything
from recurrent_lib.sizes import GATES
from recurrent_lib.study import matched_hidden_size, model_parameters, seeds_needed, verdict
from recurrent_lib.tasks import TEMPORAL_SYMBOLS

from ..exercise import Assignment, Exercise
from ..feedback import (CheckFailure, close, describe, expect_close, expect_float, expect_int, expect_tensor,
                        returned, shape_text)
from ..shortcuts import references, refuse
from ..wire import JSON, Raised, call, encode

STUDY = {"recurrent_lib.study": "recurrent_lib.study (the course's own study tools)"}
TASKS = {"recurrent_lib.tasks": "recurrent_lib.tasks (the course's own task generators)"}


# ---------------------------------------------------------------- 7.1 the model factory

MODES = {"rnn": "RNN_TANH", "lstm": "LSTM", "gru": "GRU"}
LAYER_NAMES = {"RNN_TANH": "nn.RNN", "RNN_RELU": "nn.RNN (relu)", "LSTM": "nn.LSTM", "GRU": "nn.GRU"}
FACTORY_CASES = {  # case -> (kind, input_size, hidden_size, n_classes, forget_bias)
    "rnn": ("rnn", 3, 5, 4, None),
    "lstm": ("lstm", 3, 5, 4, None),
    "gru": ("gru", 3, 5, 4, None),
    "lstm, forget bias 1": ("lstm", 3, 5, 4, 1.0),
    "lstm, forget bias 0": ("lstm", 3, 5, 4, 0.0),
    "gru, forget bias 1": ("gru", 3, 5, 4, 1.0),        # only an LSTM has a forget gate: a ValueError
}


def _factory_input() -> Tensor:
    """x (T=6, batch=2, input_size=3), sequence-first."""
    return torch.randn(6, 2, 3, generator=torch.Generator().manual_seed(701))


def _factory_call(case: str) -> str:
    kind, I, H, C, forget_bias = FACTORY_CASES[case]
    return f"make_model({kind!r}, {I}, {H}, {C}" + (f", forget_bias={forget_bias}" if forget_bias is not None else "") + ")"


def _observe_model(make_model: Callable[..., Any], case: str) -> JSON:
    kind, I, H, C, forget_bias = FACTORY_CASES[case]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(702)
        try:
            model = make_model(kind, I, H, C, forget_bias=forget_bias)
        except (Exception, SystemExit) as error:
            return {"raised": type(error).__name__, "message": str(error).strip().split("\n")[0]}
    if not isinstance(model, nn.Module):
        return encode(model)
    layers = [m for m in model.modules() if isinstance(m, nn.RNNBase)]
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    layer = layers[0] if layers else None
    named = dict(layer.named_parameters()) if layer is not None else {}
    return {"list": [  # wire's encoding of a list, item by item (the output is already encoded by call)
        "model", len(layers), layer.mode if layer is not None else None,
        bool(getattr(layer, "batch_first", False)), int(getattr(layer, "num_layers", 0)),
        encode(list(named)), encode(tuple(named.values())),
        encode(tuple((lin.weight, lin.bias if lin.bias is not None else torch.zeros(lin.out_features)) for lin in linears)),
        call(model, _factory_input()),
    ]}


def probe_factory(make_model: Callable[..., Any]) -> dict[str, JSON]:
    return {"uses": references(make_model), **{case: _observe_model(make_model, case) for case in FACTORY_CASES}}


def _forget_bias_failure(what: str, bias_ih: Tensor, bias_hh: Tensor, H: int, value: float,
                         as_initialised: Tensor) -> None:
    """CheckFailure unless the forget gate's bias (rows H:2H of bias_ih + bias_hh) is ``value``;
    ``as_initialised``: the summed biases of the same model built without forget_bias."""
    total = bias_ih + bias_hh
    blocks = dict(zip("ifgo", total.split(H)))
    if close(blocks["f"], torch.full((H,), value)):
        return
    if close(total, as_initialised):
        raise CheckFailure(f"{what}: the forget gate's bias is still as PyTorch initialised it: forget_bias={value} "
                           f"was ignored. `if forget_bias:` is False for 0.0, which is a value to set like any "
                           f"other: test `if forget_bias is not None:`")
    if close(bias_ih[H:2 * H], torch.full((H,), value)) and close(bias_hh[H:2 * H], torch.full((H,), value)) \
            and value != 0:
        raise CheckFailure(f"{what}: you set the forget rows of both bias_ih_l0 and bias_hh_l0 to {value}, but the two "
                           f"biases are added, so the forget gate's bias is {2 * value}: put {value} in one and 0 in "
                           f"the other")
    for gate, name in (("i", "input gate i (rows 0:H)"), ("g", "cell candidate g (rows 2H:3H)"),
                       ("o", "output gate o (rows 3H:4H)")):
        if close(blocks[gate], torch.full((H,), value)):
            raise CheckFailure(f"{what}: you set the bias of the {name}; PyTorch stacks the gates as i, f, g, o, so "
                               f"the forget gate's rows are H:2H")
    raise CheckFailure(f"{what}: the forget gate's bias (bias_ih_l0 + bias_hh_l0, rows H:2H) should be {value} "
                       f"everywhere; its first entries are {[round(v, 3) for v in blocks['f'][:3].tolist()]}")


def _judge_no_forget_gate(result: Any) -> None:
    """make_model('gru', ..., forget_bias=1.0) must raise a ValueError: a GRU has no forget gate."""
    what = _factory_call("gru, forget bias 1")
    if isinstance(result, Raised):
        if result.type != "ValueError":
            raise CheckFailure(f"{what} raised {result.type}: {result.message}: raise a ValueError that says only an "
                               f"LSTM has a forget gate")
        return
    raise CheckFailure(f"{what} returned {describe(result) if not isinstance(result, list) else 'a model'}: a GRU has "
                       f"no forget gate (its gates are r, z, n; rows H:2H of its biases are z, the update gate), so "
                       f"forget_bias is an error for 'rnn' and 'gru': raise ValueError('only an LSTM has a forget "
                       f"gate')")


KIND_HINTS = {f"'{kind}'": "kind arrives in lower case, 'rnn', 'lstm' or 'gru': look it up with those keys"
              for kind in ("rnn", "lstm", "gru")}


def judge_factory(results: dict[str, Any]) -> None:
    refuse(results.get("uses"), {**STUDY, "recurrent_lib.gates": "recurrent_lib.gates.set_forget_bias"},
           "build the model and set the forget gate's bias yourself")
    initialised = {}
    for case, (kind, I, H, C, forget_bias) in FACTORY_CASES.items():
        if case == "gru, forget bias 1":
            continue
        what = _factory_call(case)
        observed = returned(results[case], what, hints=KIND_HINTS)
        if not (isinstance(observed, list) and observed and observed[0] == "model"):
            raise CheckFailure(f"expected {what} to return an nn.Module (the model), got {describe(observed)}")
        _, n_layers, mode, batch_first, num_layers, names, tensors, linears, output = observed
        if n_layers == 0:
            raise CheckFailure(f"{what} returned a model without an nn.RNN, nn.LSTM or nn.GRU inside: build the "
                               f"recurrent layer with torch.nn and keep it as an attribute of the model")
        if mode != MODES[kind]:
            raise CheckFailure(f"{what} built an {LAYER_NAMES.get(mode, mode)}, expected {LAYER_NAMES[MODES[kind]]}")
        params = dict(zip(names, tensors))
        if "bias_ih_l0" in params and "bias_hh_l0" in params:
            initialised.setdefault(kind, params["bias_ih_l0"] + params["bias_hh_l0"])
        got = tuple(params["weight_ih_l0"].shape) if "weight_ih_l0" in params else None
        rows = GATES[kind.upper()] * H
        if got != (rows, I) or num_layers != 1:
            raise CheckFailure(f"{what}: expected one layer {LAYER_NAMES[mode]}({I}, {H}), whose weight_ih_l0 has "
                               f"shape {shape_text((rows, I))}, got {num_layers} layer(s) with weight_ih_l0 "
                               f"{got}: pass input_size and hidden_size in that order")
        if batch_first:
            raise CheckFailure(f"{what}: the layer has batch_first=True, but the inputs are sequence-first (T, batch, "
                               f"input_size), like the course's tasks: leave batch_first=False")
        readouts = [(w, b) for w, b in linears if tuple(w.shape) == (C, H)]
        if not readouts:
            raise CheckFailure(f"{what}: no nn.Linear({H}, {C}) read-out found: map the final hidden state (size "
                               f"hidden_size) to n_classes scores")
        if forget_bias is not None:
            _forget_bias_failure(what, params["bias_ih_l0"], params["bias_hh_l0"], H, forget_bias, initialised["lstm"])
        if isinstance(output, Raised) and kind != "lstm" and "values to unpack" in output.message:
            raise CheckFailure(f"model(x) for {what} raised {output.type}: {output.message}: nn.RNN and nn.GRU return "
                               f"(output, h_n) with h_n a tensor; only nn.LSTM returns (output, (h_n, c_n)), so "
                               f"`_, (h_n, c_n) = self.rnn(x)` fits the LSTM alone: unpack `_, state = self.rnn(x)` "
                               f"and take h_n = state[0] when state is a tuple")
        if isinstance(output, Raised) and kind == "lstm" and "tuple" in output.message:
            raise CheckFailure(f"model(x) for {what} raised {output.type}: {output.message}: an LSTM returns its "
                               f"state as a tuple (h_n, c_n), not a tensor: take h_n = state[0] (the RNN and the "
                               f"GRU return h_n alone)")
        call_text = f"model(x) for {what} with x of shape (6, 2, {I})"
        reference = getattr(nn, LAYER_NAMES[mode].removeprefix("nn."))(I, H).double()
        reference.load_state_dict({name: tensor.double() for name, tensor in params.items()})
        x = _factory_input().double()
        with torch.no_grad():
            outputs, state = reference(x)
        w, b = (t.double() for t in readouts[0])
        if kind == "lstm" and isinstance(output, Tensor) and tuple(output.shape) == (1, 2, C) and \
                close(output.double(), F.log_softmax(state[1] @ w.T + b, dim=-1)):
            raise CheckFailure(f"{call_text} returned shape (1, 2, {C}), the log-probabilities of c_n: an LSTM's state "
                               f"is the pair (h_n, c_n), so state[-1] (or h[-1] with h = state) is c_n, not the last "
                               f"layer of h_n. Unpack first, h_n, c_n = state, then read out h_n[-1]")
        log_probs = expect_tensor(returned(output, call_text), call_text, (2, C), "(batch, n_classes)", {
            (1, 2, C): "that is (num_layers, batch, n_classes): read out h_n[-1], the last layer's final state",
            (6, 2, C): "one output per step: read out only the final hidden state",
            (2, H): "that is the hidden state: apply the read-out Linear and log_softmax"})
        h_T = (state[0] if kind == "lstm" else state)[-1]
        scores = h_T @ w.T + b
        mistakes = {
            "it holds probabilities (softmax): return log-probabilities, log_softmax(scores, dim=-1)":
                F.softmax(scores, dim=-1),
            "it holds raw scores: apply log_softmax over the classes (dim=-1)": scores,
            "it reads out the first step's output: use the final hidden state h_n[-1] (= output[-1])":
                F.log_softmax(outputs[0] @ w.T + b, dim=-1),
            "it reads out the mean of the outputs over time: use the final hidden state h_n[-1] (= output[-1]), "
            "which has read the whole sequence": F.log_softmax(outputs.mean(dim=0) @ w.T + b, dim=-1),
            "the log_softmax runs over the batch: take it over the classes (dim=-1)": F.log_softmax(scores, dim=0),
        }
        if kind == "lstm":
            mistakes = {"it reads out the cell state c_n: an LSTM returns (output, (h_n, c_n)) and the hidden state "
                        "is h_n, the first of the pair (state[-1] on the pair is c_n)":
                        F.log_softmax(state[1][-1] @ w.T + b, dim=-1), **mistakes}
        expect_close(log_probs, F.log_softmax(scores, dim=-1), call_text, mistakes)
    _judge_no_forget_gate(results["gru, forget bias 1"])


# ---------------------------------------------------------------- 7.2 a seeded temporal-order generator

GENERATOR_CASES = {"n=300, T=30, seed=5": (300, 30, 5), "again seed=5": (300, 30, 5),
                   "n=300, T=30, seed=6": (300, 30, 6), "n=200, T=20, seed=1": (200, 20, 1)}


def _summarise(result: Any) -> JSON:
    """(x, y) as ["data", shape, dtype, one-hot?, symbols (T, n), y]: small enough to travel."""
    if not (isinstance(result, tuple) and len(result) == 2 and all(isinstance(t, Tensor) for t in result)):
        return encode(result)
    x, y = (t.detach().cpu() for t in result)
    one_hot = x.dim() == 3 and x.shape[-1] == 6 and bool(((x == 0) | (x == 1)).all()) and bool((x.sum(-1) == 1).all())
    symbols = x.argmax(dim=-1) if x.dim() == 3 and x.numel() else torch.zeros(0, dtype=torch.long)
    return {"list": ["data", encode(list(x.shape)), str(x.dtype).removeprefix("torch."), one_hot, encode(symbols),
                     encode(y)]}


def probe_generator(temporal_order_data: Callable[..., Any]) -> dict[str, JSON]:
    results: dict[str, JSON] = {"uses": references(temporal_order_data)}
    before = torch.get_rng_state()
    for case, (n, T, seed) in GENERATOR_CASES.items():
        try:
            results[case] = _summarise(temporal_order_data(n, T, seed))
        except (Exception, SystemExit) as error:
            results[case] = {"raised": type(error).__name__, "message": str(error).strip().split("\n")[0]}
    results["global state untouched"] = bool(torch.equal(before, torch.get_rng_state()))
    return results


def _check_data(case: str, observed: Any) -> tuple[Tensor, Tensor]:
    """Validated (symbols (T, n), y (n,)) of one call; CheckFailure naming the first violated rule."""
    n, T, seed = GENERATOR_CASES[case]
    what = f"temporal_order_data({n}, {T}, {seed})"
    observed = returned(observed, what)
    if not (isinstance(observed, list) and observed and observed[0] == "data"):
        raise CheckFailure(f"expected {what} to return (x, y), a tuple of two tensors, got {describe(observed)}")
    _, shape, dtype, one_hot, symbols, y = observed
    if tuple(shape) != (T, n, 6):
        hint = {(n, T, 6): ": that is (n, T, 6); the course's tasks are sequence-first, (T, n, 6)",
                (T, n): ": those are the symbols; x is their one-hot encoding, F.one_hot(symbols, 6).float()"
                }.get(tuple(shape), "")
        raise CheckFailure(f"expected x of shape {shape_text((T, n, 6))} = (T, n, symbols) from {what}, got "
                           f"{shape_text(shape)}{hint}")
    if dtype != "float32":
        raise CheckFailure(f"x from {what} has dtype {dtype}: expected float32 one-hot vectors (.float())")
    if not one_hot:
        raise CheckFailure(f"x from {what} is not one-hot: every step must hold a single 1 (at the symbol's index "
                           f"in TEMPORAL_SYMBOLS) and zeros elsewhere")
    if not isinstance(y, Tensor) or tuple(y.shape) != (n,):
        raise CheckFailure(f"expected y from {what} to be a Tensor of shape ({n},), got {describe(y)}")
    if y.dtype != torch.int64:
        raise CheckFailure(f"y from {what} has dtype {y.dtype}: class labels for cross_entropy are int64 (.long())")
    relevant = symbols < 2                                   # (T, n)
    counts = relevant.sum(dim=0)
    if (counts > 2).any():
        raise CheckFailure(f"{int((counts > 2).sum())} of {n} sequences from {what} hold more than two X/Y symbols: "
                           f"the distractors must be a, b, c, d only (indices 2 to 5), or the order is ambiguous")
    if (counts < 2).any() and not (symbols == 0).any():
        raise CheckFailure(f"X (index 0 of TEMPORAL_SYMBOLS) never appears in {what}: X and Y are indices 0 and 1 "
                           f"(written as 1 and 2, X becomes Y and Y the distractor a): draw them with "
                           f"torch.randint(0, 2, ...)")
    if (counts < 2).any():
        raise CheckFailure(f"{int((counts < 2).sum())} of {n} sequences from {what} hold fewer than two X/Y symbols: "
                           f"place exactly two, one in each window")
    missing = [TEMPORAL_SYMBOLS[s] for s in range(2, 6) if not (symbols == s).any()]
    if missing:
        raise CheckFailure(f"the distractor {', '.join(missing)} never appears in {what}: draw the distractors "
                           f"uniformly from indices 2 to 5, torch.randint(2, 6, ...) (the upper bound is exclusive)")
    steps = relevant.T.nonzero()[:, 1].reshape(n, 2)         # (n, 2): the two positions, in order
    for k, (low, high) in enumerate(((T // 10, 2 * T // 10), (5 * T // 10, 6 * T // 10))):
        outside = (steps[:, k] < low) | (steps[:, k] >= high)
        if outside.any():
            which = ("first", "second")[k]
            raise CheckFailure(f"in {int(outside.sum())} of {n} sequences from {what} the {which} X/Y is at a step "
                               f"outside [{low}, {high}) (e.g. step {int(steps[outside][0, k])}): the {which} symbol "
                               f"goes at a step in [{k * 4 + 1}*T//10, {k * 4 + 2}*T//10)")
    columns = torch.arange(n)
    first_Y, second_Y = symbols[steps[:, 0], columns], symbols[steps[:, 1], columns]
    expected = 2 * first_Y + second_Y
    if not torch.equal(y, expected):
        if torch.equal(y, 2 * second_Y + first_Y):
            raise CheckFailure(f"the labels from {what} have the two symbols swapped: class = 2 * (first is Y) + "
                               f"(second is Y), so XY is 1 and YX is 2")
        wrong = int((y != expected).sum())
        raise CheckFailure(f"{wrong} of {n} labels from {what} do not match the data: the class is 2 * (first is Y) "
                           f"+ (second is Y), computed from the symbols actually placed")
    _check_leakage(what, symbols, steps, y)
    for k, (low, high) in enumerate(((T // 10, 2 * T // 10), (5 * T // 10, 6 * T // 10))):
        counts = torch.bincount(steps[:, k] - low, minlength=high - low)
        if counts.min() < n / (4 * (high - low)):
            which = ("first", "second")[k]
            fixed = f"is at step {int(steps[0, k])} in every sequence" if (counts > 0).sum() == 1 else \
                f"takes the steps {low} to {high - 1} {counts.tolist()} times"
            raise CheckFailure(f"in {what} the {which} X/Y {fixed}: draw its step for each sequence uniformly from "
                               f"[{low}, {high}) (torch.randint({low}, {high}, (n,), generator=g)), or a model can "
                               f"learn where to look instead of learning to remember")
    return symbols, y


def _check_leakage(what: str, symbols: Tensor, steps: Tensor, y: Tensor) -> None:
    """The class must be readable only from the order of X and Y: not from where they are, nor from the distractors."""
    shares = torch.bincount(y, minlength=4).double() / len(y)
    if shares.min() < 0.12:
        raise CheckFailure(f"the classes from {what} are unbalanced ({', '.join(f'{s:.2f}' for s in shares.tolist())} "
                           f"of XX, XY, YX, YY): draw X or Y for each symbol independently, with probability 1/2")
    for k, which in enumerate(("first", "second")):
        means = [steps[y == c, k].double().mean().item() for c in range(4)]
        if max(means) - min(means) > 1.0:
            raise CheckFailure(f"label leakage in {what}: the step of the {which} X/Y depends on the class (mean step "
                               f"{', '.join(f'{m:.1f}' for m in means)} for XX, XY, YX, YY), so a model can read the "
                               f"class off where the symbols are: draw the positions independently of the symbols")
    T = symbols.shape[0]
    distractor = symbols >= 2
    for s in range(2, 6):
        share = [((symbols[:, y == c] == s) & distractor[:, y == c]).double().sum(0).mean().item() / T for c in range(4)]
        if max(share) - min(share) > 0.1:
            raise CheckFailure(f"label leakage in {what}: how often the distractor {'abcd'[s - 2]!r} appears depends "
                               f"on the class: draw the distractors without looking at the class")
    for t in range(T):
        for s in range(2, 6):
            share = [(symbols[t, y == c] == s).double().mean().item() for c in range(4)]
            if max(share) - min(share) > 0.6:
                raise CheckFailure(f"label leakage in {what}: the symbol at step {t} depends on the class: the class "
                                   f"must show only in the order of X and Y")


def judge_generator(results: dict[str, Any]) -> None:
    refuse(results.get("uses"), TASKS, "write the task generator yourself")
    data = {case: _check_data(case, results[case]) for case in GENERATOR_CASES}
    (a_sym, a_y), (b_sym, b_y), (c_sym, _) = data["n=300, T=30, seed=5"], data["again seed=5"], data["n=300, T=30, seed=6"]
    if not (torch.equal(a_sym, b_sym) and torch.equal(a_y, b_y)):
        raise CheckFailure("two calls temporal_order_data(300, 30, 5) gave different data: the run is not seeded; "
                           "draw everything from g = torch.Generator().manual_seed(seed) (generator=g in every draw)")
    if torch.equal(a_sym, c_sym):
        raise CheckFailure("seeds 5 and 6 gave the same data: the generator ignores `seed` (seed it with seed)")
    both = (a_sym >= 2) & (c_sym >= 2)
    shared = (a_sym[both] == c_sym[both]).double().mean().item()
    if shared > 0.9:
        raise CheckFailure(f"seeds 5 and 6 share their distractors ({100 * shared:.0f} % of the steps agree; about 25 % "
                           f"would by chance): they come from a generator that ignores the seed (seeded 0?), so a "
                           f"training set and a test set drawn with different seeds share them. Draw everything, the "
                           f"distractors too, from g = torch.Generator().manual_seed(seed)")
    if not results["global state untouched"]:
        raise CheckFailure("temporal_order_data changed torch's global random state (torch.manual_seed or draws "
                           "without generator=...): a data generator must not change the weights a model built "
                           "after it gets; draw from a torch.Generator of its own")


# ---------------------------------------------------------------- 7.3 the multi-seed runner

RUNNER_SEEDS = (3, 1, 4)
RUN_HINTS = {"missing 1 required positional argument": "call run(seed): run takes the seed it is run with, after "
                                                       "seed_everything(seed)"}


def _draw(seed: int) -> tuple[float, float, float]:
    """What the probe's run draws: one number from each of torch's, Python's and NumPy's global generators."""
    return torch.rand(()).item(), random.random(), float(np.random.rand())


def probe_runner(run_seeds: Callable[..., Any]) -> dict[str, JSON]:
    calls: list[int] = []
    draws: list[list[float]] = []

    def run(seed: int) -> float:
        calls.append(seed)
        draws.append(list(_draw(seed)))
        return sum(draws[-1]) + seed

    with torch.random.fork_rng(devices=[]):
        state = random.getstate(), np.random.get_state()
        first = call(run_seeds, run, list(RUNNER_SEEDS))
        first_calls, first_draws = list(calls), list(draws)
        second = call(run_seeds, run, list(RUNNER_SEEDS))
        random.setstate(state[0])
        np.random.set_state(state[1])
    return {"uses": references(run_seeds), "first": first, "second": second, "calls": first_calls,
            "draws": encode(first_draws)}


def _values(seeding: str) -> list[float]:
    """The runs' values when the runner seeds 'each' run, 'once' before the first, or every run with 'zero'."""
    return [sum(draws) + seed for seed, draws in zip(RUNNER_SEEDS, _expected_draws(seeding))]


def _expected_draws(seeding: str) -> list[tuple[float, float, float]]:
    draws = []
    with torch.random.fork_rng(devices=[]):
        state = random.getstate(), np.random.get_state()
        for k, seed in enumerate(RUNNER_SEEDS):
            if seeding == "each" or (seeding == "once" and k == 0):
                seed_everything(seed)
            elif seeding == "zero":
                seed_everything(0)
            draws.append(_draw(seed))
        random.setstate(state[0])
        np.random.set_state(state[1])
    return draws


def _only_torch_seeded(draws: Any) -> str | None:
    """'Python's and NumPy's' (or one of them) when each run's torch draw is the seeded one but the others are not."""
    expected = _expected_draws("each")
    if not (isinstance(draws, list) and len(draws) == len(expected)):
        return None
    matches = [[abs(a - b) < 1e-9 for a, b in zip(got, want)] for got, want in zip(draws, expected)]
    if not all(m[0] for m in matches):
        return None
    unseeded = [name for k, name in ((1, "Python's random"), (2, "NumPy's")) if not all(m[k] for m in matches)]
    return " and ".join(unseeded) or None


def judge_runner(results: dict[str, Any]) -> None:
    refuse(results.get("uses"), STUDY, "write the runner yourself")
    what = f"run_seeds(run, {list(RUNNER_SEEDS)})"
    observed = returned(results["first"], what, hints=RUN_HINTS)
    if not (isinstance(observed, (tuple, list)) and len(observed) == 4):
        got = f"{len(observed)} items" if isinstance(observed, (tuple, list)) else describe(observed)
        raise CheckFailure(f"expected {what} to return (values, mean, low, high), a tuple of four, got {got}")
    values, mean, low, high = observed
    if isinstance(values, Tensor) or not isinstance(values, (list, tuple)):
        order = ": return the four in the order (values, mean, low, high)" if isinstance(high, (list, tuple)) else ""
        raise CheckFailure(f"expected the values from {what} as a list of floats (one per seed), got "
                           f"{describe(values)}{order}")
    if results["calls"] != list(RUNNER_SEEDS):
        raise CheckFailure(f"{what} called run with the seeds {results['calls']}: call run(seed) once per seed, in the "
                           f"order given")
    values = [expect_float(v, f"value {k} from {what}") for k, v in enumerate(values)]
    expected = _values("each")
    if not close(torch.tensor(values), torch.tensor(expected), atol=1e-6, rtol=1e-6):
        unseeded = _only_torch_seeded(results["draws"])
        if unseeded:
            raise CheckFailure(f"{what}: only torch's generator is seeded; {unseeded} generator is left as it was, "
                               f"so a run that shuffles with random or draws with NumPy is not repeatable: call "
                               f"seed_everything(seed), which seeds Python's random, NumPy and torch")
        second = returned(results["second"], what)
        if isinstance(second, (tuple, list)) and len(second) == 4 and list(second[0]) != list(observed[0]):
            raise CheckFailure(f"{what} twice gave different values: the runs are not seeded, so they depend on "
                               f"whatever state torch's generator was in: call seed_everything(seed) before each run")
        if close(torch.tensor(values), torch.tensor(_values("once")), atol=1e-6, rtol=1e-6):
            raise CheckFailure(f"{what}: only the first run is seeded: call seed_everything(seed) before every run, so "
                               f"that each run can be repeated on its own")
        if close(torch.tensor(values), torch.tensor(_values("zero")), atol=1e-6, rtol=1e-6):
            raise CheckFailure(f"{what}: every run is seeded with the same number: seed run k with seeds[k], or the "
                               f"'different seeds' all start from the same weights")
        raise CheckFailure(f"the values from {what} are {[round(v, 4) for v in values]}, expected "
                           f"{[round(v, 4) for v in expected]}: seed_everything(seed), then run(seed), for each seed")
    for name, value, right in (("mean", mean, statistics.fmean(values)), ("low", low, min(values)),
                               ("high", high, max(values))):
        value = expect_float(value, f"the {name} from {what}")
        if abs(value - right) > 1e-6:
            hints = {statistics.median(values): "that is the median", statistics.stdev(values): "that is the standard deviation",
                     max(values): "that is the largest value", min(values): "that is the smallest value"}
            hint = next((h for v, h in hints.items() if abs(value - v) < 1e-6), "")
            raise CheckFailure(f"the {name} from {what} is {value:.4f}, expected {right:.4f}" + (f": {hint}" if hint else ""))


# ---------------------------------------------------------------- 7.4 equal budgets

BUDGET_CASES = (("rnn", 57, 18, 12242), ("gru", 57, 18, 12242), ("lstm", 57, 18, 12242), ("rnn", 6, 4, 1604),
                ("gru", 6, 4, 1604), ("lstm", 10, 3, 5000),
                ("rnn", 5, 4, 230),        # a tie: 214 (H = 10) and 246 (H = 11) are both 16 away -> 10
                ("rnn", 5, 4, 228),        # no tie, 10; a read-out without its bias would make it 11
                ("rnn", 57, 18, 40000),    # a budget beyond H = 99
                ("lstm", 10, 3, 10))       # below one unit's 58 parameters: still H = 1, never 0


def _budget_call(case: tuple[str, int, int, int]) -> str:
    kind, I, C, n = case
    return f"matched_hidden_size({kind!r}, {I}, {C}, {n})"


def probe_budget(matched: Callable[..., Any]) -> dict[str, JSON]:
    return {"uses": references(matched), **{_budget_call(case): call(matched, *case) for case in BUDGET_CASES}}


def _closest(count: Callable[[int], int], budget: int, floor: bool = False, first: int = 1, last: int | None = None,
             tie_up: bool = False) -> int:
    H = first
    while count(H + 1) <= budget and (last is None or H < last):
        H += 1
    gap_above, gap_here = abs(count(H + 1) - budget), abs(count(H) - budget)
    if not floor and (last is None or H < last) and (gap_above < gap_here or tie_up and gap_above == gap_here):
        return H + 1
    return H


def _mistaken(kind: str, I: int, C: int, budget: int, mistake: str) -> int:
    gates = {"rnn": 1, "lstm": 4, "gru": 3}[kind]
    if mistake == "gates swapped":
        gates = {"rnn": 1, "lstm": 3, "gru": 4}[kind]
    biases = 1 if mistake == "one bias" else 2

    def count(H: int) -> int:
        readout = {"no read-out": 0, "read-out without bias": C * H}.get(mistake, C * (H + 1))
        return gates * (H * I + H * H + biases * H) + readout
    return _closest(count, budget, floor=mistake == "floor", first=0 if mistake == "from 0" else 1,
                    last=99 if mistake == "up to 99" else None, tie_up=mistake == "tie up")


BUDGET_MISTAKES = {
    "no read-out": "the count leaves out the read-out Linear(hidden_size, n_classes): it has n_classes * (hidden_size + 1) "
                   "parameters too",
    "read-out without bias": "the read-out's bias is missing from the count: Linear(hidden_size, n_classes) has "
                             "n_classes * (hidden_size + 1) parameters",
    "one bias": "the count has one bias per gate block; PyTorch's layers have two, b_ih and b_hh",
    "gates swapped": "the count gives the LSTM 3 gate blocks and the GRU 4; the LSTM has 4 (i, f, g, o), the GRU 3 (r, z, n)",
    "floor": "you return the largest size that stays within the budget; return the one whose count is closest to it "
             "(it may be slightly above)",
    "tie up": "on a tie (two sizes equally close to the budget) return the smaller one",
    "up to 99": "the search stops at H = 99; a larger budget needs a larger layer: search until the count passes the "
                "budget",
    "from 0": "the search starts at H = 0, a layer without units; hidden_size is at least 1",
}


def judge_budget(results: dict[str, Any]) -> None:
    refuse(results.get("uses"), {**STUDY, "recurrent_lib.sizes": "recurrent_lib.sizes (the course's parameter counts)"},
           "count the parameters yourself")
    answers = {}
    for case in BUDGET_CASES:
        what = _budget_call(case)
        answers[case] = expect_int(returned(results[what], what, hints=KIND_HINTS), f"the result of {what}")
    wrong = [case for case in BUDGET_CASES if answers[case] != matched_hidden_size(*case)]
    if not wrong:
        return
    for mistake, advice in BUDGET_MISTAKES.items():
        if all(answers[case] == _mistaken(*case, mistake) for case in BUDGET_CASES):
            raise CheckFailure(f"{_budget_call(wrong[0])} returned {answers[wrong[0]]}, expected "
                               f"{matched_hidden_size(*wrong[0])}: {advice}")
    kind, I, C, n = wrong[0]
    H = answers[wrong[0]]
    if H == model_parameters(kind, I, matched_hidden_size(*wrong[0]), C):
        raise CheckFailure(f"{_budget_call(wrong[0])} returned {H}, the parameter count of the right model: return "
                           f"its hidden size, {matched_hidden_size(*wrong[0])}")
    got = f" (a model with {model_parameters(kind, I, H, C)} parameters)" if H >= 1 else ""
    raise CheckFailure(f"{_budget_call(wrong[0])} returned {H}{got}, expected {matched_hidden_size(*wrong[0])} "
                       f"({model_parameters(kind, I, matched_hidden_size(*wrong[0]), C)} parameters, the closest to {n})")


# ---------------------------------------------------------------- 7.5 the verdict on a claim

ANSWERS = ("holds", "does not", "inconclusive")
VERDICT_CASES = {  # case -> (higher, lower): one value per seed, paired by seed
    "six of six": ([0.90, 0.80, 0.70, 0.90, 0.80, 0.75], [0.60, 0.70, 0.65, 0.50, 0.79, 0.70]),
    "five of six, big leads": ([0.95, 0.90, 0.92, 0.93, 0.94, 0.60], [0.60, 0.62, 0.55, 0.58, 0.61, 0.65]),
    "none of six": ([0.50, 0.60, 0.55, 0.52, 0.58, 0.51], [0.55, 0.65, 0.60, 0.57, 0.63, 0.56]),
    "one lucky seed": ([0.99, 0.50, 0.52, 0.49, 0.51, 0.50], [0.55, 0.55, 0.55, 0.55, 0.55, 0.55]),
    "ties": ([0.50, 0.50, 0.50, 0.50, 0.50, 0.50], [0.50, 0.50, 0.50, 0.50, 0.50, 0.50]),
    "three of three": ([0.90, 0.80, 0.85], [0.50, 0.60, 0.55]),
    "seven of eight": ([0.70, 0.71, 0.72, 0.73, 0.74, 0.75, 0.76, 0.50], [0.60, 0.61, 0.62, 0.63, 0.64, 0.65, 0.66, 0.90]),
    "eight of ten": ([0.8] * 8 + [0.1, 0.2], [0.7] * 8 + [0.9, 0.9]),
    "nine of ten": ([0.8] * 9 + [0.1], [0.7] * 9 + [0.9]),
    "four of six, median ahead": ([0.60, 0.61, 0.62, 0.63, 0.10, 0.10], [0.55, 0.56, 0.57, 0.58, 0.70, 0.70]),
    "three of five, median behind": ([0.15, 0.25, 0.05, 0.85, 0.05], [0.10, 0.20, 0.30, 0.80, 0.90]),
}


def _reference_verdict(higher: list[float], lower: list[float]) -> str:
    return str(verdict([a > b for a, b in zip(higher, lower)]))


def _tail(n: int, k: int) -> float:
    return sum(math.comb(n, i) for i in range(max(k, 0), n + 1)) / 2 ** n


def _verdict_mistakes() -> dict[str, Callable[[list[float], list[float]], str]]:
    def by(rule: Callable[[list[float], list[float]], bool]) -> Callable[[list[float], list[float]], str]:
        return lambda a, b: "holds" if rule(a, b) else "does not"

    def sign_test(wins: Callable[[float, float], bool], holds_at: Callable[[int, int], bool],
                  losses: Callable[[float, float], bool] | None = None) -> Callable[..., str]:
        """The verdict counting ``wins`` (and ``losses``; None: every seed not won) with the test ``holds_at``."""
        def rule(a: list[float], b: list[float]) -> str:
            n, k = len(a), sum(wins(x, y) for x, y in zip(a, b))
            lost = n - k if losses is None else sum(losses(x, y) for x, y in zip(a, b))
            return "holds" if holds_at(n, k) else "does not" if holds_at(n, lost) else "inconclusive"
        return rule

    return {
        "it says 'holds' whenever the mean is higher: a higher mean is no evidence (one lucky seed moves it); count "
        "the seeds on which `higher` wins":
            by(lambda a, b: statistics.fmean(a) > statistics.fmean(b)),
        "it compares the medians; the rule counts the seeds on which `higher` wins, seed by seed":
            by(lambda a, b: statistics.median(a) > statistics.median(b)),
        "it says 'holds' when the mean difference exceeds one standard deviation; that is no test of this rule: "
        "count the seeds on which `higher` wins and compare with what a fair coin would give":
            by(lambda a, b: statistics.fmean(a) - statistics.fmean(b) >
               statistics.stdev([x - y for x, y in zip(a, b)])),
        "it uses the old rule, the ranges (min(higher) > max(lower)); the rule now counts wins seed by seed":
            by(lambda a, b: min(a) > max(b)),
        "it says 'holds' whenever most seeds win; a majority is not enough: the wins must be so many that a fair coin "
        "would reach them less than 5 % of the time":
            sign_test(lambda x, y: x > y, lambda n, k: 2 * k > n),
        "a tie counts as a win: a seed supports the claim only when `higher` is strictly above":
            sign_test(lambda x, y: x >= y, lambda n, k: _tail(n, k) <= 0.05),
        "the tail leaves out k itself: the chance of 'at least k wins' is P(X >= k), including k":
            sign_test(lambda x, y: x > y, lambda n, k: _tail(n, k + 1) <= 0.05),
        "the chance is divided by 2 * n: a fair coin's chance of at least k wins of n is the sum of C(n, j) for "
        "j >= k divided by 2 ** n, the number of equally likely outcomes":
            sign_test(lambda x, y: x > y, lambda n, k: _tail(n, k) * 2 ** n / (2 * n) <= 0.05),
        "'does not' counts only the seeds `higher` loses outright: a tie is no win either, so the claim fails on the "
        "n - k seeds it does not win, ties included":
            sign_test(lambda x, y: x > y, lambda n, k: _tail(n, k) <= 0.05, losses=lambda x, y: x < y),
    }


def probe_verdict(claim_verdict: Callable[..., Any]) -> dict[str, JSON]:
    return {"uses": references(claim_verdict),
            **{case: call(claim_verdict, list(a), list(b)) for case, (a, b) in VERDICT_CASES.items()}}


def judge_verdict(results: dict[str, Any]) -> None:
    refuse(results.get("uses"), STUDY, "write the verdict rule yourself")
    answers = {}
    for case, (a, b) in VERDICT_CASES.items():
        what = f"claim_verdict({a}, {b})"
        answer = returned(results[case], what)
        if answer == "partly":
            raise CheckFailure(f"{what} returned 'partly': a single comparison is 'holds', 'does not' or "
                               f"'inconclusive'; 'partly' is for a claim of several parts, some of which hold")
        if answer not in ANSWERS:
            raise CheckFailure(f"{what} returned {describe(answer)}: expected one of 'holds', 'does not', "
                               f"'inconclusive'")
        answers[case] = answer
    wrong = [case for case, (a, b) in VERDICT_CASES.items() if answers[case] != _reference_verdict(a, b)]
    if not wrong:
        return
    a, b = VERDICT_CASES[wrong[0]]
    message = f"claim_verdict({a}, {b}) returned {answers[wrong[0]]!r}, expected {_reference_verdict(a, b)!r}"
    for advice, mistake in _verdict_mistakes().items():
        if all(answers[case] == mistake(*VERDICT_CASES[case]) for case in VERDICT_CASES):
            raise CheckFailure(f"{message}: {advice}")
    k, n = sum(x > y for x, y in zip(a, b)), len(a)
    raise CheckFailure(f"{message}: `higher` wins on {k} of {n} seeds; a fair coin gets at least {k} of {n} with "
                       f"probability {_tail(n, k):.3f} and at least {n - k} with {_tail(n, n - k):.3f}: 'holds' when "
                       f"the first is at most 0.05, 'does not' when the second is, else 'inconclusive'")


# ---------------------------------------------------------------- 7.6 how many seeds a claim needs

SEEDS_CASES = ((1.0, 0.8), (0.9, 0.8), (0.8, 0.8), (0.9, 0.95), (0.5, 0.8), (0.3, 0.8))
MAX_SEEDS = 50


def _power(n: int, p: float, needed: int | None) -> float:
    """The chance that a study of n seeds says 'holds' when each seed wins with probability p and a 'holds' needs
    ``needed`` wins (None: no number of wins is enough)."""
    return 0.0 if needed is None else sum(math.comb(n, i) * p ** i * (1 - p) ** (n - i) for i in range(needed, n + 1))


def _seeds_for(win_rate: float, power: float, mistake: str = "") -> int | None:
    for n in range(1, MAX_SEEDS + 1):
        needed = seeds_needed(n)
        if mistake == "few seeds" and needed is None:
            needed = n
        if mistake == "two-sided":
            needed = next((k for k in range(n + 1) if _tail(n, k) <= 0.025), None)
        chance = _power(n, 0.5 if mistake == "coin" else win_rate, needed)
        if mistake == "exactly" and needed is not None:
            chance = math.comb(n, needed) * win_rate ** needed * (1 - win_rate) ** (n - needed)
        if chance >= power:
            return n
    return None


SEEDS_MISTAKES = {
    "few seeds": "with fewer than 5 seeds no claim can hold at 5 %: even n wins of n happen by chance more often than "
                 "1 in 20 (seeds_needed is None there): start counting where a verdict is possible",
    "two-sided": "the test is one-sided: 'holds' needs P(at least k wins of n | coin) <= 0.05, not 0.025",
    "coin": "the chance of a 'holds' is computed for a fair coin; compute it at the pilot's win rate, "
            "sum of C(n, i) p^i (1 - p)^(n - i) for i >= k",
    "exactly": "it uses the chance of exactly k wins: a 'holds' comes with k wins or more, so the chance is the sum "
               "of C(n, i) p^i (1 - p)^(n - i) for i >= k",
}


def probe_seeds(seeds_for: Callable[..., Any]) -> dict[str, JSON]:
    return {"uses": references(seeds_for), **{f"{p}, {q}": call(seeds_for, p, q) for p, q in SEEDS_CASES}}


def judge_seeds(results: dict[str, Any]) -> None:
    refuse(results.get("uses"), STUDY, "compute the number of seeds yourself")
    answers = {}
    for p, q in SEEDS_CASES:
        what = f"seeds_for({p}, {q})"
        answer = returned(results[f"{p}, {q}"], what)
        if answer is not None:
            answer = expect_int(answer, f"the result of {what}")
        answers[p, q] = answer
    wrong = [case for case in SEEDS_CASES if answers[case] != _seeds_for(*case)]
    if not wrong:
        return
    p, q = wrong[0]
    message = f"seeds_for({p}, {q}) returned {answers[p, q]}, expected {_seeds_for(p, q)}"
    for mistake, advice in SEEDS_MISTAKES.items():
        if all(answers[case] == _seeds_for(*case, mistake=mistake) for case in SEEDS_CASES):
            raise CheckFailure(f"{message}: {advice}")
    if _seeds_for(p, q) is None:
        raise CheckFailure(f"{message}: at a win rate of {p} no study of up to {MAX_SEEDS} seeds says 'holds' with "
                           f"probability {q}; return None")
    n = answers[p, q]
    if isinstance(n, int) and 1 <= n <= MAX_SEEDS:
        raise CheckFailure(f"{message}: with {n} seeds a 'holds' needs {seeds_needed(n)} wins, which a win rate of {p} "
                           f"reaches with probability {_power(n, p, seeds_needed(n)):.3f} (below {q} or not the smallest such n)")
    raise CheckFailure(message)


ASSIGNMENT = Assignment("07_rnn_lstm_gru_compared", "RNN vs LSTM vs GRU: a small study, done right", (
    Exercise("7.1", "the model factory", ("make_model",), probe_factory, judge_factory),
    Exercise("7.2", "a seeded, leak-free task generator", ("temporal_order_data",), probe_generator, judge_generator),
    Exercise("7.3", "the multi-seed runner", ("run_seeds",), probe_runner, judge_runner),
    Exercise("7.4", "equal parameter budgets", ("matched_hidden_size",), probe_budget, judge_budget),
    Exercise("7.5", "the verdict on a claim", ("claim_verdict",), probe_verdict, judge_verdict),
    Exercise("7.6", "how many seeds a claim needs", ("seeds_for",), probe_seeds, judge_seeds),
))
