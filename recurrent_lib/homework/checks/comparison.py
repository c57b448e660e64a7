"""Assignment 07, RNN vs LSTM vs GRU: checks of a small study's parts -- the model factory, a seeded
temporal-order generator, the multi-seed runner, equal parameter budgets and the verdict on a claim.

The references are the library's (``recurrent_lib.study`` and ``recurrent_lib.tasks``, which lesson 07 uses).
Each diagnosis recomputes the answer with the mistake it names (reading ``c_n``, seeding once, forgetting
the read-out's parameters, comparing means only, ...) and fires only when the student's answer matches it.
"""
import statistics
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from recurrent_lib.runtime import seed_everything
from recurrent_lib.sizes import GATES
from recurrent_lib.study import VERDICTS, Spread, compare, matched_hidden_size, model_parameters

from ..exercise import Assignment, Exercise
from ..feedback import (CheckFailure, close, describe, expect_close, expect_float, expect_int, expect_tensor,
                        returned, shape_text)
from ..wire import JSON, Raised, call, encode

# ---------------------------------------------------------------- 7.1 the model factory

MODES = {"rnn": "RNN_TANH", "lstm": "LSTM", "gru": "GRU"}
LAYER_NAMES = {"RNN_TANH": "nn.RNN", "RNN_RELU": "nn.RNN (relu)", "LSTM": "nn.LSTM", "GRU": "nn.GRU"}
FACTORY_CASES = {  # case -> (kind, input_size, hidden_size, n_classes, forget_bias)
    "rnn": ("rnn", 3, 5, 4, None),
    "lstm": ("lstm", 3, 5, 4, None),
    "gru": ("gru", 3, 5, 4, None),
    "lstm, forget bias 1": ("lstm", 3, 5, 4, 1.0),
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
    return {case: _observe_model(make_model, case) for case in FACTORY_CASES}


def _forget_bias_failure(what: str, bias_ih: Tensor, bias_hh: Tensor, H: int, value: float) -> None:
    total = bias_ih + bias_hh
    blocks = dict(zip("ifgo", total.split(H)))
    if close(blocks["f"], torch.full((H,), value)):
        return
    if close(bias_ih[H:2 * H], torch.full((H,), value)) and close(bias_hh[H:2 * H], torch.full((H,), value)):
        raise CheckFailure(f"{what}: you set the forget rows of both bias_ih_l0 and bias_hh_l0 to {value}, but the two "
                           f"biases are added, so the forget gate's bias is {2 * value}: put {value} in one and 0 in "
                           f"the other (or use recurrent_lib.gates.set_forget_bias)")
    for gate, name in (("i", "input gate i (rows 0:H)"), ("g", "cell candidate g (rows 2H:3H)"),
                       ("o", "output gate o (rows 3H:4H)")):
        if close(blocks[gate], torch.full((H,), value)):
            raise CheckFailure(f"{what}: you set the bias of the {name}; PyTorch stacks the gates as i, f, g, o, so "
                               f"the forget gate's rows are H:2H")
    raise CheckFailure(f"{what}: the forget gate's bias (bias_ih_l0 + bias_hh_l0, rows H:2H) should be {value} "
                       f"everywhere; its first entries are {[round(v, 3) for v in blocks['f'][:3].tolist()]}")


def judge_factory(results: dict[str, Any]) -> None:
    for case, (kind, I, H, C, forget_bias) in FACTORY_CASES.items():
        what = _factory_call(case)
        observed = returned(results[case], what)
        if not (isinstance(observed, list) and observed and observed[0] == "model"):
            raise CheckFailure(f"expected {what} to return an nn.Module (the model), got {describe(observed)}")
        _, n_layers, mode, batch_first, num_layers, names, tensors, linears, output = observed
        if n_layers == 0:
            raise CheckFailure(f"{what} returned a model without an nn.RNN, nn.LSTM or nn.GRU inside: build the "
                               f"recurrent layer with torch.nn and keep it as an attribute of the model")
        if mode != MODES[kind]:
            raise CheckFailure(f"{what} built an {LAYER_NAMES.get(mode, mode)}, expected {LAYER_NAMES[MODES[kind]]}")
        params = dict(zip(names, tensors))
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
            _forget_bias_failure(what, params["bias_ih_l0"], params["bias_hh_l0"], H, forget_bias)
        if isinstance(output, Raised) and kind == "lstm" and "tuple" in output.message:
            raise CheckFailure(f"model(x) for {what} raised {output.type}: {output.message}: an LSTM returns its "
                               f"state as a tuple (h_n, c_n), not a tensor: take h_n = state[0] (the RNN and the "
                               f"GRU return h_n alone)")
        call_text = f"model(x) for {what} with x of shape (6, 2, {I})"
        log_probs = expect_tensor(returned(output, call_text), call_text, (2, C), "(batch, n_classes)", {
            (1, 2, C): "that is (num_layers, batch, n_classes): read out h_n[-1], the last layer's final state",
            (6, 2, C): "one output per step: read out only the final hidden state",
            (2, H): "that is the hidden state: apply the read-out Linear and log_softmax"})
        reference = getattr(nn, LAYER_NAMES[mode].removeprefix("nn."))(I, H).double()
        reference.load_state_dict({name: tensor.double() for name, tensor in params.items()})
        x = _factory_input().double()
        with torch.no_grad():
            outputs, state = reference(x)
        h_T = (state[0] if kind == "lstm" else state)[-1]
        w, b = (t.double() for t in readouts[0])
        scores = h_T @ w.T + b
        mistakes = {
            "it holds probabilities (softmax): return log-probabilities, log_softmax(scores, dim=-1)":
                F.softmax(scores, dim=-1),
            "it holds raw scores: apply log_softmax over the classes (dim=-1)": scores,
            "it reads out the first step's output: use the final hidden state h_n[-1] (= output[-1])":
                F.log_softmax(outputs[0] @ w.T + b, dim=-1),
            "the log_softmax runs over the batch: take it over the classes (dim=-1)": F.log_softmax(scores, dim=0),
        }
        if kind == "lstm":
            mistakes = {"it reads out the cell state c_n: an LSTM returns (output, (h_n, c_n)) and the hidden state "
                        "is h_n, the first of the pair": F.log_softmax(state[1][-1] @ w.T + b, dim=-1), **mistakes}
        expect_close(log_probs, F.log_softmax(scores, dim=-1), call_text, mistakes)


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
    results = {}
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
        hint = {(n, T, 6): ": that is (n, T, 6); the course's tasks are sequence-first, (T, n, 6)"}.get(tuple(shape), "")
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
    if (counts < 2).any():
        raise CheckFailure(f"{int((counts < 2).sum())} of {n} sequences from {what} hold fewer than two X/Y symbols: "
                           f"place exactly two, one in each window")
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
    data = {case: _check_data(case, results[case]) for case in GENERATOR_CASES}
    (a_sym, a_y), (b_sym, b_y), (c_sym, _) = data["n=300, T=30, seed=5"], data["again seed=5"], data["n=300, T=30, seed=6"]
    if not (torch.equal(a_sym, b_sym) and torch.equal(a_y, b_y)):
        raise CheckFailure("two calls temporal_order_data(300, 30, 5) gave different data: the run is not seeded; "
                           "draw everything from g = torch.Generator().manual_seed(seed) (generator=g in every draw)")
    if torch.equal(a_sym, c_sym):
        raise CheckFailure("seeds 5 and 6 gave the same data: the generator ignores `seed` (seed it with seed)")
    if not results["global state untouched"]:
        raise CheckFailure("temporal_order_data changed torch's global random state (torch.manual_seed or draws "
                           "without generator=...): a data generator must not change the weights a model built "
                           "after it gets; draw from a torch.Generator of its own")


# ---------------------------------------------------------------- 7.3 the multi-seed runner

RUNNER_SEEDS = (3, 1, 4)


def _draw(seed: int) -> float:
    """What the probe's run returns: a draw from torch's global generator, plus the seed it was given."""
    return torch.rand(()).item() + seed


def probe_runner(run_seeds: Callable[..., Any]) -> dict[str, JSON]:
    calls: list[int] = []

    def run(seed: int) -> float:
        calls.append(seed)
        return _draw(seed)

    with torch.random.fork_rng(devices=[]):
        first = call(run_seeds, run, list(RUNNER_SEEDS))
        first_calls = list(calls)
        second = call(run_seeds, run, list(RUNNER_SEEDS))
    return {"first": first, "second": second, "calls": first_calls}


def _values(seeding: str) -> list[float]:
    """The runs' values when the runner seeds 'each' run, 'once' before the first, or every run with 'zero'."""
    values = []
    with torch.random.fork_rng(devices=[]):
        for k, seed in enumerate(RUNNER_SEEDS):
            if seeding == "each" or (seeding == "once" and k == 0):
                seed_everything(seed)
            elif seeding == "zero":
                seed_everything(0)
            values.append(_draw(seed))
    return values


def judge_runner(results: dict[str, Any]) -> None:
    what = f"run_seeds(run, {list(RUNNER_SEEDS)})"
    observed = returned(results["first"], what)
    if not (isinstance(observed, (tuple, list)) and len(observed) == 4):
        got = f"{len(observed)} items" if isinstance(observed, (tuple, list)) else describe(observed)
        raise CheckFailure(f"expected {what} to return (values, mean, low, high), a tuple of four, got {got}")
    values, mean, low, high = observed
    if isinstance(values, Tensor) or not isinstance(values, (list, tuple)):
        raise CheckFailure(f"expected the values from {what} as a list of floats (one per seed), got {describe(values)}")
    if results["calls"] != list(RUNNER_SEEDS):
        raise CheckFailure(f"{what} called run with the seeds {results['calls']}: call run(seed) once per seed, in the "
                           f"order given")
    values = [expect_float(v, f"value {k} from {what}") for k, v in enumerate(values)]
    expected = _values("each")
    if not close(torch.tensor(values), torch.tensor(expected), atol=1e-6, rtol=1e-6):
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
                ("gru", 6, 4, 1604), ("lstm", 10, 3, 5000))


def _budget_call(case: tuple[str, int, int, int]) -> str:
    kind, I, C, n = case
    return f"matched_hidden_size({kind!r}, {I}, {C}, {n})"


def probe_budget(matched: Callable[..., Any]) -> dict[str, JSON]:
    return {_budget_call(case): call(matched, *case) for case in BUDGET_CASES}


def _closest(count: Callable[[int], int], budget: int, floor: bool = False) -> int:
    H = 1
    while count(H + 1) <= budget:
        H += 1
    if not floor and abs(count(H + 1) - budget) < abs(count(H) - budget):
        return H + 1
    return H


def _mistaken(kind: str, I: int, C: int, budget: int, mistake: str) -> int:
    gates = {"rnn": 1, "lstm": 4, "gru": 3}[kind]
    if mistake == "gates swapped":
        gates = {"rnn": 1, "lstm": 3, "gru": 4}[kind]
    biases = 1 if mistake == "one bias" else 2

    def count(H: int) -> int:
        return gates * (H * I + H * H + biases * H) + (0 if mistake == "no read-out" else C * (H + 1))
    return _closest(count, budget, floor=mistake == "floor")


BUDGET_MISTAKES = {
    "no read-out": "the count leaves out the read-out Linear(hidden_size, n_classes): it has n_classes * (hidden_size + 1) "
                   "parameters too",
    "one bias": "the count has one bias per gate block; PyTorch's layers have two, b_ih and b_hh",
    "gates swapped": "the count gives the LSTM 3 gate blocks and the GRU 4; the LSTM has 4 (i, f, g, o), the GRU 3 (r, z, n)",
    "floor": "you return the largest size that stays within the budget; return the one whose count is closest to it "
             "(it may be slightly above)",
}


def judge_budget(results: dict[str, Any]) -> None:
    answers = {}
    for case in BUDGET_CASES:
        what = _budget_call(case)
        answers[case] = expect_int(returned(results[what], what), f"the result of {what}")
    wrong = [case for case in BUDGET_CASES if answers[case] != matched_hidden_size(*case)]
    if not wrong:
        return
    for mistake, advice in BUDGET_MISTAKES.items():
        if all(answers[case] == _mistaken(*case, mistake) for case in BUDGET_CASES):
            raise CheckFailure(f"{_budget_call(wrong[0])} returned {answers[wrong[0]]}, expected "
                               f"{matched_hidden_size(*wrong[0])}: {advice}")
    kind, I, C, n = wrong[0]
    H = answers[wrong[0]]
    got = f" (a model with {model_parameters(kind, I, H, C)} parameters)" if H >= 1 else ""
    raise CheckFailure(f"{_budget_call(wrong[0])} returned {H}{got}, expected {matched_hidden_size(*wrong[0])} "
                       f"({model_parameters(kind, I, matched_hidden_size(*wrong[0]), C)} parameters, the closest to {n})")


# ---------------------------------------------------------------- 7.5 the verdict on a claim

VERDICT_CASES = {  # case -> (higher, lower): values per seed
    "beyond the spread": ([0.70, 0.80, 0.75], [0.60, 0.65, 0.62]),
    "means only": ([0.70, 0.80, 0.60], [0.62, 0.65, 0.61]),
    "worse": ([0.50, 0.60], [0.55, 0.65]),
    "touching ranges": ([0.70, 0.70], [0.70, 0.60]),
    "equal": ([0.50, 0.50], [0.50, 0.50]),
    "best seeds in order, means not": ([0.40, 0.90], [0.70, 0.80]),
    "one seed each": ([0.90], [0.80]),
}


def _verdict_mistakes() -> dict[str, Callable[[list[float], list[float]], str]]:
    def mean_only(a: list[float], b: list[float]) -> str:
        return VERDICTS[0] if statistics.fmean(a) > statistics.fmean(b) else VERDICTS[2]

    def best_seeds(a: list[float], b: list[float]) -> str:
        return VERDICTS[0] if max(a) > max(b) else VERDICTS[1] if statistics.fmean(a) > statistics.fmean(b) else VERDICTS[2]

    def ties_count(a: list[float], b: list[float]) -> str:
        return VERDICTS[0] if min(a) >= max(b) else VERDICTS[1] if statistics.fmean(a) > statistics.fmean(b) else VERDICTS[2]

    def swapped(a: list[float], b: list[float]) -> str:
        return _reference_verdict(b, a)

    return {
        "it says 'holds' whenever the mean is higher: 'holds' needs every seed of `higher` above every seed of "
        "`lower` (min(higher) > max(lower)); a higher mean alone is 'partly'": mean_only,
        "it compares the best seeds (max with max): compare the worst seed of `higher` with the best of `lower`": best_seeds,
        "touching ranges count as 'holds': it needs min(higher) > max(lower), strictly": ties_count,
        "it judges the claim the other way round: the claim is that `higher` is higher": swapped,
    }


def _reference_verdict(higher: list[float], lower: list[float]) -> str:
    return compare(Spread(tuple(range(len(higher))), tuple(higher)), Spread(tuple(range(len(lower))), tuple(lower)))


def probe_verdict(claim_verdict: Callable[..., Any]) -> dict[str, JSON]:
    return {case: call(claim_verdict, list(a), list(b)) for case, (a, b) in VERDICT_CASES.items()}


def judge_verdict(results: dict[str, Any]) -> None:
    answers = {}
    for case, (a, b) in VERDICT_CASES.items():
        what = f"claim_verdict({a}, {b})"
        answer = returned(results[case], what)
        if answer not in VERDICTS:
            raise CheckFailure(f"{what} returned {describe(answer)}: expected one of 'holds', 'partly', 'does not'")
        answers[case] = answer
    wrong = [case for case, (a, b) in VERDICT_CASES.items() if answers[case] != _reference_verdict(a, b)]
    if not wrong:
        return
    a, b = VERDICT_CASES[wrong[0]]
    message = f"claim_verdict({a}, {b}) returned {answers[wrong[0]]!r}, expected {_reference_verdict(a, b)!r}"
    for advice, mistake in _verdict_mistakes().items():
        if all(answers[case] == mistake(*VERDICT_CASES[case]) for case in VERDICT_CASES):
            raise CheckFailure(f"{message}: {advice}")
    raise CheckFailure(f"{message} ('holds' if min(higher) > max(lower), else 'partly' if mean(higher) > mean(lower), "
                       f"else 'does not')")


ASSIGNMENT = Assignment("07_rnn_lstm_gru_compared", "RNN vs LSTM vs GRU: a small study, done right", (
    Exercise("7.1", "the model factory", ("make_model",), probe_factory, judge_factory),
    Exercise("7.2", "a seeded, leak-free task generator", ("temporal_order_data",), probe_generator, judge_generator),
    Exercise("7.3", "the multi-seed runner", ("run_seeds",), probe_runner, judge_runner),
    Exercise("7.4", "equal parameter budgets", ("matched_hidden_size",), probe_budget, judge_budget),
    Exercise("7.5", "the verdict on a claim", ("claim_verdict",), probe_verdict, judge_verdict),
))
