"""Assignment 03, dropout: checks of inverted dropout by hand, a locked (variational) mask, which outputs of
``nn.LSTM`` its ``dropout=`` changes, weight dropping with ``torch.nn.utils.parametrize``, and choosing p by
validation, and the backward pass of a dropout step with the factor it applies to the expected gradient.

The shortcut rule (:mod:`..shortcuts`): 3.1, 3.2, 3.4 and 3.6 ask students to write the computation themselves,
so a call to PyTorch's dropout (``F.dropout``, ``nn.Dropout``, ``torch.dropout``), to the course library's
``recurrent_lib.dropout`` or (3.6) to autograd scores zero, with a message that says so. 3.3 may call
``nn.LSTM``; 3.5 needs no library.

Dropout is random, so the checks do not ask for the reference's exact draws: they read the mask off the
student's result (the zeros), then judge its structure (one per element, one per sequence), its rate and the
scaling of the survivors, each against the mistakes the lesson warns about. The probes run under
``torch.random.fork_rng``, seeded, so a submission's results are reproducible and the notebook's own random
state is left alone.
"""
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

from ..exercise import Assignment, Exercise
from ..feedback import (CheckFailure, close, describe, difference, expect_float, expect_int, expect_tensor, integer,
                        returned)
from ..shortcuts import references, refuse
from ..wire import JSON, Raised, Scalar, call, encode

DROPOUT_SHORTCUTS = {"torch.nn.functional.dropout": "F.dropout", "torch.dropout": "torch.dropout",
                     "torch.nn.Dropout": "nn.Dropout",
                     "recurrent_lib.dropout": "the course library's recurrent_lib.dropout"}
DTYPE_REASON = ("x is float32, so the result must be too: a float64 mask (e.g. made with NumPy, or "
                "dtype=torch.float64) turns x * mask into float64, and the model's float32 weights then refuse it; "
                "make the mask with x's dtype (torch.full_like(x, 1 - p), torch.rand_like(x), or .to(x.dtype))")


def _inputs(seed: int, *shape: int) -> Tensor:
    """Standard normal float32 inputs (no zeros, so a zero in a result is a dropped element)."""
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(seed))
    return torch.where(x == 0, torch.ones_like(x), x)


def judge_survivors(result: Tensor, x: Tensor, p: float, what: str, rate_tolerance: float) -> None:
    """``result`` is ``x`` with a fraction ~p of its elements zeroed and the rest multiplied by 1 / (1 - p)."""
    zeroed = result == 0
    rate = zeroed.double().mean().item()
    if bool(zeroed.all()):
        raise CheckFailure(f"{what} is all zeros: keep each element with probability 1 - p = {1 - p:g}")
    kept, inputs = result[~zeroed], x[~zeroed]
    scale = 1 / (1 - p)
    for mask_value in (1.0, scale):
        if close(kept, torch.full_like(kept, mask_value)) and not close(inputs, torch.full_like(inputs, 1.0)):
            raise CheckFailure(f"{what} holds only 0 and {mask_value:g}: that is the mask; return the input times "
                               f"the mask, x * mask / (1 - p)")
    shifted = result + p
    dropped = shifted.abs() < 1e-6
    if rate == 0 and bool(dropped.any()) and close(shifted[~dropped], x[~dropped]):
        raise CheckFailure(f"{what}: the dropped elements are -p = {-p:g} and the kept ones x: that is x * mask / 1 - p, "
                           f"which Python reads as (x * mask / 1) - p; put the brackets in, x * mask / (1 - p)")
    if rate == 0:
        if close(result, x):
            raise CheckFailure(f"{what} equals x: nothing was dropped; in training each element is zeroed with "
                               f"probability p = {p:g}")
        raise CheckFailure(f"{what} has no zeros: each element must be zeroed with probability p = {p:g}")
    if close(kept, inputs / p) and abs(rate - (1 - p)) < rate_tolerance:
        raise CheckFailure(f"{what}: you keep each element with probability p and divide by p, but p = {p:g} is the "
                           f"probability of DROPPING: keep with probability 1 - p (bernoulli(1 - p)) and divide by 1 - p")
    if not close(kept, inputs * scale):
        mistakes = {1.0: "the survivors are not scaled: divide them by 1 - p, so that the expected value stays x",
                    1 / p: "the survivors are divided by p: divide by 1 - p, the probability of keeping",
                    p: "the survivors are multiplied by p: divide them by 1 - p instead",
                    1 - p: "the survivors are multiplied by 1 - p (the old test-time rule): inverted dropout divides "
                           "them by 1 - p during training"}
        for factor, advice in mistakes.items():
            if close(kept, inputs * factor):
                raise CheckFailure(f"{what}: {advice}")
        raise CheckFailure(f"{what}: the elements that were not zeroed should equal x / (1 - p): "
                           f"{difference(kept, inputs * scale)}")
    if abs(rate - p) > rate_tolerance:
        hint = (": bernoulli(q) gives 1 with probability q, so the KEEP mask is bernoulli(1 - p)"
                if abs(rate - (1 - p)) < rate_tolerance else "")
        raise CheckFailure(f"{what}: {rate:.0%} of the elements were zeroed, expected about p = {p:.0%}{hint}")


def judge_evaluation(result: Tensor, x: Tensor, p: float, what: str) -> None:
    """In evaluation (training=False) dropout returns x unchanged."""
    if close(result, x, atol=0, rtol=0):
        return
    if close(result, x * (1 - p)):
        raise CheckFailure(f"{what} returned x * (1 - p): inverted dropout does its scaling during training, "
                           f"so evaluation returns x unchanged")
    raise CheckFailure(f"{what} should return x unchanged (no dropout in evaluation), but "
                       + ("it zeroed elements: dropout is still active in evaluation"
                          if bool((result == 0).any()) else difference(result, x)))


def _expect_untouched(after: Any, x: Tensor, call_text: str) -> None:
    if isinstance(after, Tensor) and not torch.equal(after, x):
        raise CheckFailure(f"{call_text} changed the caller's tensor x in place: build a new tensor "
                           f"(x * mask / (1 - p)), do not write into x (x *= ..., x[...] = 0, x.mul_)")


# ---------------------------------------------------------------- 3.1 inverted dropout by hand

DROPOUT_CASES = {"p=0.25": (310, 0.25), "p=0.6": (311, 0.6)}  # case: (seed of x (40, 50), p)


def probe_dropout(dropout: Callable[..., Any]) -> dict[str, JSON]:
    results: dict[str, JSON] = {"uses": references(dropout)}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(312)
        for case, (seed, p) in DROPOUT_CASES.items():
            x = _inputs(seed, 40, 50)
            results[case] = call(dropout, x, p)
            results[f"{case} x after"] = encode(x)
        results["again"] = call(dropout, _inputs(310, 40, 50), 0.25)
        x = _inputs(313, 40, 50)
        results["eval"] = call(dropout, x, 0.25, False)
        results["eval x after"] = encode(x)
    return results


def _expect_independent(zeroed: Tensor, what: str) -> None:
    """The zeros of a (rows, columns) result were drawn per element: not one row (or column) shared by all."""
    if not bool(zeroed.any()) or bool(zeroed.all()):
        return
    if all(torch.equal(zeroed[r], zeroed[0]) for r in range(1, zeroed.shape[0])):
        raise CheckFailure(f"{what}: every row lost the same elements: one mask row is shared by all rows. Draw one "
                           f"keep/drop decision per ELEMENT, a mask of x's full shape (torch.full_like(x, 1 - p))")
    if all(torch.equal(zeroed[:, k], zeroed[:, 0]) for k in range(1, zeroed.shape[1])):
        raise CheckFailure(f"{what}: whole rows are dropped or kept together: one mask value is shared by a row. "
                           f"Draw one keep/drop decision per ELEMENT, a mask of x's full shape")


def judge_dropout(results: dict[str, Any]) -> None:
    refuse(results.get("uses"), DROPOUT_SHORTCUTS, "write inverted dropout yourself")
    for case, (seed, p) in DROPOUT_CASES.items():
        x, what = _inputs(seed, 40, 50), f"dropout(x of shape (40, 50), p={p:g})"
        result = expect_tensor(returned(results[case], what), what, (40, 50), "x.shape", dtype=x.dtype,
                               dtype_reason=DTYPE_REASON)
        _expect_untouched(results[f"{case} x after"], x, what)
        if close(result, x, atol=0, rtol=0):
            evaluated = returned(results["eval"], "dropout(x, 0.25, training=False)")
            raise CheckFailure(f"{what} equals x: nothing was dropped in training; " + (
                "dropout(x, p, training=False) did drop: the test of `training` is the wrong way round"
                if isinstance(evaluated, Tensor) and bool((evaluated == 0).any()) else
                "the check calls dropout(x, p) without `training`, so `training` must default to True"))
        _expect_independent(result == 0, what)
        judge_survivors(result, x, p, what, rate_tolerance=0.05)
    first, again = returned(results["p=0.25"], "dropout"), returned(results["again"], "dropout")
    if isinstance(again, Tensor) and torch.equal(first == 0, again == 0):
        raise CheckFailure("two calls of dropout(x, 0.25) dropped exactly the same elements: draw a new mask at every "
                           "call (do not re-seed the generator inside the function)")
    x, what = _inputs(313, 40, 50), "dropout(x, 0.25, training=False)"
    result = expect_tensor(returned(results["eval"], what), what, (40, 50), "x.shape")
    _expect_untouched(results["eval x after"], x, what)
    judge_evaluation(result, x, 0.25, what)


# ---------------------------------------------------------------- 3.2 a locked (variational) mask

LOCKED_SHAPE, LOCKED_P = (10, 8, 50), 0.3  # (L, N, H)


def probe_locked(locked_dropout: Callable[..., Any]) -> dict[str, JSON]:
    results: dict[str, JSON] = {"uses": references(locked_dropout)}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(320)
        x = _inputs(321, *LOCKED_SHAPE)
        results["train"] = call(locked_dropout, x, LOCKED_P)
        results["train x after"] = encode(x)
        x = _inputs(322, *LOCKED_SHAPE)
        results["eval"] = call(locked_dropout, x, LOCKED_P, False)
    return results


def judge_locked(results: dict[str, Any]) -> None:
    refuse(results.get("uses"), DROPOUT_SHORTCUTS, "write locked dropout yourself")
    x, what = _inputs(321, *LOCKED_SHAPE), f"locked_dropout(x of shape {LOCKED_SHAPE} = (L, N, H), p={LOCKED_P})"
    L, N, H = LOCKED_SHAPE
    batch_first = (f"x is (L, N, H) = {LOCKED_SHAPE}, time first: the mask is (1, N, H) = (1, {N}, {H}); a mask of "
                   f"shape (N, 1, H) = ({N}, 1, {H}) is the batch-first layout and does not broadcast over time")
    swapped = (f"the mask's second dimension is the batch: (1, N, H) = (1, {N}, {H}) with N = x.shape[1]; "
               f"(1, L, H) = (1, {L}, {H}) does not broadcast over the batch")
    pairs = (("a", "b", L, N), ("b", "a", N, L), ("a", "b", N, L), ("b", "a", L, N))
    hints = {f"size of tensor {a} ({m}) must match the size of tensor {b} ({n}) at non-singleton dimension {dim}":
             hint for dim, hint in ((0, batch_first), (1, swapped)) for a, b, m, n in pairs}
    result = expect_tensor(returned(results["train"], what, hints=hints), what, LOCKED_SHAPE,
                           "(L, N, H), the shape of x",
                           {(1, N, H): "that is the shape of the mask: return x times the mask",
                            (N, L, H): "the batch-first layout: x is (L, N, H), time first; the mask is (1, N, H)"},
                           dtype=x.dtype,
                           dtype_reason=DTYPE_REASON + " (the model at the end of this notebook feeds float32 letters)")
    _expect_untouched(results["train x after"], x, what)
    zeroed = result == 0
    if not all(torch.equal(zeroed[t], zeroed[0]) for t in range(1, L)):
        raise CheckFailure(f"{what}: the dropped units change from one time step to the next: that is a new mask "
                           f"every step; draw ONE mask of shape (1, N, H) per call and use it at every step")
    if bool(zeroed.any()) and all(torch.equal(zeroed[:, n], zeroed[:, 0]) for n in range(1, N)):
        raise CheckFailure(f"{what}: every sequence of the batch lost the same units: draw one mask per sequence, "
                           f"shape (1, N, H), not one for the whole batch (1, 1, H)")
    judge_survivors(result, x, LOCKED_P, what, rate_tolerance=0.1)
    x, what = _inputs(322, *LOCKED_SHAPE), f"locked_dropout(x, {LOCKED_P}, training=False)"
    result = expect_tensor(returned(results["eval"], what), what, LOCKED_SHAPE, "(L, N, H)")
    judge_evaluation(result, x, LOCKED_P, what)


# ---------------------------------------------------------------- 3.3 which outputs dropout= changes

TOUCH_LAYERS = (1, 2, 3)


def probe_touches(dropout_touches: Callable[..., Any]) -> dict[str, JSON]:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(330)
        return {str(n): call(dropout_touches, n) for n in TOUCH_LAYERS}


def _expect_bool(value: Any, what: str) -> bool:
    """A Python bool, a numpy bool or a 0-d bool Tensor (e.g. torch.equal's or (a != b).any()'s result)."""
    if type(value) is bool:
        return value
    if isinstance(value, Scalar) and type(value.value) is bool:
        return value.value
    if isinstance(value, Tensor) and value.dim() == 0 and value.dtype == torch.bool:
        return bool(value)
    hint = " (use .item() or bool(...))" if isinstance(value, Tensor) else ""
    raise CheckFailure(f"expected {what} to be True or False, got {describe(value)}{hint}")


def judge_touches(results: dict[str, Any]) -> None:
    for n in TOUCH_LAYERS:
        what = f"dropout_touches({n})"
        answer = returned(results[str(n)], what)
        if not isinstance(answer, (tuple, list)) or len(answer) != 2:
            raise CheckFailure(f"expected {what} to return a pair (output_changes, states_change), got "
                               + (f"{len(answer)} items" if isinstance(answer, (tuple, list)) else describe(answer)))
        output_changes, states_change = answer
        output_changes = _expect_bool(output_changes, f"the first item of {what}")
        if not isinstance(states_change, (tuple, list)) or len(states_change) != n:
            raise CheckFailure(f"expected the second item of {what} to hold one True/False per layer ({n}), got "
                               + (f"{len(states_change)} items" if isinstance(states_change, (tuple, list))
                                  else f"{describe(states_change)}: return a list, [True or False for each layer]"))
        states_change = [_expect_bool(s, f"item {k} of the second item of {what}") for k, s in enumerate(states_change)]
        expected = [k >= 1 for k in range(n)]
        if n == 1 and (output_changes or any(states_change)):
            raise CheckFailure(f"{what}: with one layer dropout= has nothing to act on (it drops the outputs of every "
                               f"layer EXCEPT the last; torch even warns), so nothing changes")
        if states_change[0]:
            raise CheckFailure(f"{what}: layer 0's h_n[0] and c_n[0] are computed before any mask (dropout acts on "
                               f"a layer's outputs, i.e. the next layer's inputs), so they do not change")
        if n > 1 and not (output_changes and states_change[-1]):
            raise CheckFailure(f"{what}: the last layer's output is not dropped, but that layer reads dropped "
                               f"inputs, so its output and its states h_n[-1], c_n[-1] change")
        if states_change != expected:
            raise CheckFailure(f"{what}: every layer after the first reads dropped inputs, so its states change: "
                               f"expected {expected}, got {states_change}")
        if output_changes != (n > 1):
            raise CheckFailure(f"{what}: the output is the last layer's, expected {n > 1}")


# ---------------------------------------------------------------- 3.4 weight dropping with parametrize

WEIGHT_P, WEIGHT_HIDDEN = 0.4, 32
WEIGHT_HINTS = {
    "does not have a parameter, a buffer, or a parametrized element with name":
        "layer 0's recurrent weight is named weight_hh_l0 (lstm.named_parameters() lists the names)",
    "has no attribute 'training'": "register an instance of your module, WeightDrop(p), not the class WeightDrop",
}


def _weight_lstm() -> nn.LSTM:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(340)
        return nn.LSTM(3, WEIGHT_HIDDEN)


def probe_weight_drop(add_weight_drop: Callable[..., Any]) -> dict[str, JSON]:
    lstm, results = _weight_lstm(), {}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(341)
        try:
            returned_value = add_weight_drop(lstm, WEIGHT_P)
        except (Exception, SystemExit) as error:
            return {"raised": {"raised": type(error).__name__, "message": str(error).strip().split("\n")[0]}}
        results["returned lstm"] = returned_value is lstm
        results["uses"] = references(add_weight_drop) + [
            name for module in getattr(getattr(lstm, "parametrizations", {}), "weight_hh_l0", [])
            for name in references(type(module))]
        results["parametrized"] = parametrize.is_parametrized(lstm, "weight_hh_l0")
        results["others parametrized"] = [name for name in ("weight_ih_l0", "bias_ih_l0", "bias_hh_l0")
                                          if parametrize.is_parametrized(lstm, name)]
        original = (lstm.parametrizations.weight_hh_l0.original if results["parametrized"] else lstm.weight_hh_l0)
        lstm.train()
        results["train 1"] = call(lambda: lstm.weight_hh_l0)
        results["train 2"] = call(lambda: lstm.weight_hh_l0)
        lstm.eval()
        results["eval"] = call(lambda: lstm.weight_hh_l0)
        lstm.train()
        x = torch.randn(5, 2, 3, generator=torch.Generator().manual_seed(342))

        def gradient_reaches() -> bool:
            original.grad = None
            lstm(x)[0].sum().backward()
            return original.grad is not None and bool(original.grad.abs().sum() > 0)

        results["gradient"] = call(gradient_reaches)
        results["original"] = encode(original)
    return results


def judge_weight_drop(results: dict[str, Any]) -> None:
    what = f"add_weight_drop(nn.LSTM(3, {WEIGHT_HIDDEN}), p={WEIGHT_P})"
    if "raised" in results:
        returned(results["raised"], what, hints=WEIGHT_HINTS)
    refuse(results.get("uses"), {**DROPOUT_SHORTCUTS, "recurrent_lib.dropout": "the course library's weight_drop"},
           "write weight dropping yourself (the mask in WeightDrop.forward, the registration in add_weight_drop)")
    w0 = _weight_lstm().weight_hh_l0.detach()
    original = results["original"]
    if not results["parametrized"]:
        if isinstance(original, Tensor) and not torch.equal(original, w0):
            raise CheckFailure(f"{what} changed weight_hh_l0 once, in place: register a parametrization "
                               f"(parametrize.register_parametrization(lstm, 'weight_hh_l0', module)) so that a new "
                               f"mask is drawn at every forward")
        others = results["others parametrized"]
        raise CheckFailure(f"after {what}, weight_hh_l0 is not parametrized"
                           + (f" ({', '.join(others)} is): the recurrent weight is weight_hh_l0" if others else
                              ": use parametrize.register_parametrization(lstm, 'weight_hh_l0', your_module)"))
    if results["others parametrized"]:
        raise CheckFailure(f"{what} also parametrized {', '.join(results['others parametrized'])}: drop only the "
                           f"recurrent weight weight_hh_l0")
    if not torch.equal(original, w0):
        raise CheckFailure(f"after {what} and a few forwards, the original weight has changed: the parametrization "
                           f"must return a new tensor (weight * mask / (1 - p)), not modify its input in place")
    shape, dims = (4 * WEIGHT_HIDDEN, WEIGHT_HIDDEN), "(4 * hidden_size, hidden_size)"
    first = expect_tensor(returned(results["train 1"], "reading lstm.weight_hh_l0"), "lstm.weight_hh_l0", shape, dims)
    second = expect_tensor(returned(results["train 2"], "reading lstm.weight_hh_l0"), "lstm.weight_hh_l0", shape, dims)
    evaluated = expect_tensor(returned(results["eval"], "reading lstm.weight_hh_l0 in eval mode"),
                              "lstm.weight_hh_l0 in eval mode", shape, dims)
    if not torch.equal(evaluated, w0):
        raise CheckFailure("in eval mode (lstm.eval()), lstm.weight_hh_l0 should be the original weight: dropout is "
                           "still active in evaluation (use self.training in the parametrization's forward)")
    _expect_independent(first == 0, "lstm.weight_hh_l0 in training mode")
    judge_survivors(first, w0, WEIGHT_P, "lstm.weight_hh_l0 in training mode", rate_tolerance=0.05)
    if torch.equal(first, second):
        raise CheckFailure("two reads of lstm.weight_hh_l0 in training mode gave the same dropped weight: draw a new "
                           "mask in the parametrization's forward, not once in __init__")
    reaches = returned(results["gradient"], "a forward and backward through the LSTM")
    if reaches is not True:
        raise CheckFailure("after a backward pass the original weight has no gradient: keep the mask inside autograd "
                           "(no .detach(), .data or torch.no_grad() on the weight)")
    if not results["returned lstm"]:
        raise CheckFailure(f"{what} should return the lstm it was given (so it can be used inline)")


# ---------------------------------------------------------------- 3.5 choosing p by validation

CHOOSE_CASES = {  # p: (train losses, validation losses), epoch by epoch; answer: (p, epoch counted from 1)
    "three values of p": {
        0.0: ([2.0, 1.2, 0.6, 0.3], [2.1, 1.6, 1.5, 1.7]),
        0.3: ([2.1, 1.5, 1.1, 0.9], [2.1, 1.55, 1.42, 1.45]),
        0.6: ([2.3, 1.9, 1.6, 1.5], [2.2, 1.8, 1.6, 1.43]),
    },
    "two values of p": {
        0.1: ([1.9, 1.3, 0.9], [2.0, 1.3, 1.35]),
        0.2: ([2.0, 1.4, 1.1], [2.0, 1.45, 1.32]),
    },
    "a tie": {  # 1.4 three times: the smallest p, then the earliest epoch, is (0.2, 2)
        0.4: ([2.0, 1.6, 1.5, 1.4], [1.6, 1.4, 1.45, 1.5]),
        0.2: ([1.9, 1.3, 1.0, 0.8], [1.5, 1.4, 1.4, 1.46]),
    },
    "a late best": {  # the best single loss comes from the p with the worse mean
        0.0: ([1.4, 1.0, 0.7, 0.5], [1.5, 1.45, 1.6, 1.8]),
        0.5: ([2.1, 1.6, 1.3, 1.2], [2.2, 1.7, 1.5, 1.4]),
    },
}
Losses = dict[float, tuple[list[float], list[float]]]


def probe_choose(choose_p: Callable[..., Any]) -> dict[str, JSON]:
    observed: dict[str, JSON] = {}
    for case, results in CHOOSE_CASES.items():
        given = {p: (list(t), list(v)) for p, (t, v) in results.items()}
        observed[case] = call(choose_p, given)
        observed[f"{case} changed"] = given != results  # e.g. a .sort() of the caller's lists
    return observed


def _best(results: Losses, which: int, last_only: bool = False) -> tuple[float, int]:
    """(p, epoch from 1) with the lowest loss of list ``which`` (0 train, 1 validation), or of its last epoch;
    ties go to the smallest p, then the earliest epoch."""
    candidates = [(losses[which][-1], p, len(losses[which])) if last_only else
                  min((loss, p, epoch) for epoch, loss in enumerate(losses[which], start=1))
                  for p, losses in results.items()]
    _, p, epoch = min(candidates)
    return p, epoch


def _other_rules(results: Losses) -> dict[tuple[float, int], str]:
    """Answers of the rules students use instead of the text's, each with what is wrong with it."""
    lowest = min(min(val) for _, val in results.values())
    tied = sorted((p, epoch) for p, (_, val) in results.items()
                  for epoch, loss in enumerate(val, start=1) if loss == lowest)
    smallest_gap = min((v - t, p, epoch) for p, (train, val) in results.items()
                       for epoch, (t, v) in enumerate(zip(train, val), start=1))
    by_mean = min((sum(val) / len(val), p) for p, (_, val) in results.items())[1]
    mean_epoch = min((loss, epoch) for epoch, loss in enumerate(results[by_mean][1], start=1))[1]
    rules = {(p, epoch): f"it ties with the lowest validation loss ({lowest:g}), but the rule is: on a tie take "
                         f"the smallest p, then the earliest epoch, which gives (p={tied[0][0]:g}, "
                         f"epoch={tied[0][1]})" for p, epoch in tied[1:]}
    rules.setdefault((smallest_gap[1], smallest_gap[2]),
                     "the smallest gap between validation and training loss; a small gap is not a low validation "
                     "loss (an untrained model has no gap at all): choose by the validation loss itself")
    rules.setdefault((by_mean, mean_epoch), "p chosen by the mean validation loss over all epochs; early stopping "
                                            "keeps only the best epoch, so choose the lowest single validation loss")
    return rules


def judge_choose(results: dict[str, Any]) -> None:
    for case, losses in CHOOSE_CASES.items():
        what = f"choose_p(...) with {case}"
        answer = returned(results[case], what)
        if not isinstance(answer, (tuple, list)) or len(answer) != 2:
            raise CheckFailure(f"expected {what} to return a pair (p, epoch), got "
                               + (f"{len(answer)} items" if isinstance(answer, (tuple, list)) else describe(answer)))
        best_p, best_epoch = _best(losses, 1)
        first, second = (item.value if isinstance(item, Scalar) else item for item in answer)
        if integer(answer[0]) == best_epoch and second == best_p and first != best_p:
            raise CheckFailure(f"{what} returned (epoch, p) = ({first}, {second:g}): return them the other way round, "
                               f"(p, epoch), p first")
        p = expect_float(answer[0], f"the p that {what} returned")
        epoch = expect_int(answer[1], f"the epoch that {what} returned")
        if (p, epoch) == (best_p, best_epoch):
            continue
        other_rules = _other_rules(losses)
        if (p, epoch) in other_rules and "tie" in other_rules[p, epoch]:
            raise CheckFailure(f"{what} returned (p={p:g}, epoch={epoch}): {other_rules[p, epoch]}")
        all_losses = {loss for t, v in losses.values() for loss in t + v}
        if p in all_losses and p not in losses:
            raise CheckFailure(f"{what} returned {p} as p: that is a loss; return the dropout probability p")
        if (p, epoch) == _best(losses, 0):
            raise CheckFailure(f"{what} returned (p={p:g}, epoch={epoch}), the lowest TRAINING loss: training loss "
                               f"always favours the least regularised model; choose by validation loss")
        if (p, epoch) == _best(losses, 1, last_only=True):
            raise CheckFailure(f"{what} returned (p={p:g}, epoch={epoch}), the best validation loss after the LAST "
                               f"epoch: look at every epoch (the best one may come earlier)")
        if (p, epoch) == (best_p, best_epoch - 1):
            raise CheckFailure(f"{what} returned epoch {epoch}, off by one: count epochs from 1")
        other_rule = other_rules.get((p, epoch))
        if other_rule:
            raise CheckFailure(f"{what} returned (p={p:g}, epoch={epoch}): {other_rule}")
        keys = list(losses)
        if p not in losses and p == int(p) and 0 <= p < len(keys) and keys[int(p)] == best_p:
            raise CheckFailure(f"{what} returned p={p:g}, the position of p among the keys of results: return the "
                               f"key itself, p={best_p:g}")
        if results.get(f"{case} changed"):
            raise CheckFailure(f"{what} returned (p={p:g}, epoch={epoch}), expected (p={best_p:g}, "
                               f"epoch={best_epoch}), and it changed the loss lists in results (e.g. with .sort()): "
                               f"a sorted list has lost its epoch order; find the minimum without changing them "
                               f"(min(...), or sorted(...) for a copy)")
        raise CheckFailure(f"{what} returned (p={p:g}, epoch={epoch}), expected (p={best_p:g}, epoch={best_epoch}), "
                           f"the lowest validation loss")


# ---------------------------------------------------------------- 3.6 the backward pass of a dropout step

BACKWARD_CASES = {"p=0.25": (360, 0.25), "p=0.6": (361, 0.6)}  # case: (seed, p); grad_out (6, 20), keep 0/1
FACTOR_CASES = ((0.5, 1, True), (0.5, 2, True), (0.2, 3, False), (0.5, 2, False), (0.3, 1, False))
NO_AUTOGRAD = {"does not require grad": "this exercise asks for the gradient by hand, from the chain rule: the check "
                                        "runs dropout_backward under torch.no_grad(), where autograd records nothing "
                                        "(.backward() and torch.autograd score zero here)"}
BACKWARD_SHORTCUTS = {**DROPOUT_SHORTCUTS, "torch.autograd": "torch.autograd",
                      "recurrent_lib": "the course library"}


def _backward_inputs(seed: int, p: float) -> tuple[Tensor, Tensor]:
    """(grad_out, keep): an upstream gradient (6, 20) without zeros and a 0/1 keep mask with both values."""
    g = torch.Generator().manual_seed(seed)
    grad_out = _inputs(seed, 6, 20)
    keep = torch.empty(6, 20).bernoulli_(1 - p, generator=g)
    keep[0, 0], keep[0, 1] = 0.0, 1.0
    return grad_out, keep


def probe_backward(dropout_backward: Callable[..., Any],
                   expected_gradient_factor: Callable[..., Any]) -> dict[str, JSON]:
    results: dict[str, JSON] = {"uses": references(dropout_backward) + references(expected_gradient_factor)}
    for case, (seed, p) in BACKWARD_CASES.items():
        grad_out, keep = _backward_inputs(seed, p)
        with torch.no_grad():  # no autograd: the gradient is derived by hand
            results[case] = call(dropout_backward, grad_out, keep, p)
        results[f"{case} changed"] = not all(map(torch.equal, (grad_out, keep), _backward_inputs(seed, p)))
    for p, layers, scaled in FACTOR_CASES:
        results[f"factor {p} {layers} {scaled}"] = call(expected_gradient_factor, p, layers, scaled)
    return results


def judge_backward(results: dict[str, Any]) -> None:
    refuse(results.get("uses"), BACKWARD_SHORTCUTS, "derive the backward pass yourself, from the chain rule")
    for case, (seed, p) in BACKWARD_CASES.items():
        grad_out, keep = _backward_inputs(seed, p)
        what = f"dropout_backward(grad_out of shape (6, 20), keep, p={p:g})"
        grad_x = expect_tensor(returned(results[case], what, hints=NO_AUTOGRAD), what, (6, 20), "grad_out.shape")
        if results.get(f"{case} changed"):
            raise CheckFailure(f"{what} changed grad_out or keep in place (grad_out *= ..., .mul_): the caller still "
                               f"needs them; return a new tensor, grad_out * keep / (1 - p)")
        mistakes = {
            "the gradient passes unchanged: a dropped unit did not affect the output, so it gets no gradient (times "
            "keep), and a kept one was multiplied by 1 / (1 - p) on the way forward (times 1 / (1 - p))": grad_out,
            "the mask is applied but not the scaling: out = x * keep / (1 - p), so d out / d x = keep / (1 - p)":
                grad_out * keep,
            "the scaling is applied but not the mask: a dropped unit (keep = 0) gets no gradient":
                grad_out / (1 - p),
            "the gradient goes to the DROPPED units: keep is 1 for the units that were kept, and only they get "
            "gradient": grad_out * (1 - keep) / (1 - p),
            "the survivors' gradient is multiplied by 1 - p: the forward pass DIVIDED by 1 - p, so the backward pass "
            "does too": grad_out * keep * (1 - p),
            "the survivors' gradient is divided by p: the forward pass divided by 1 - p, the probability of keeping":
                grad_out * keep / p,
        }
        if not close(grad_x, grad_out * keep / (1 - p)):
            for advice, wrong in mistakes.items():
                if close(grad_x, wrong):
                    raise CheckFailure(f"{what}: {advice}")
            raise CheckFailure(f"{what} should be grad_out * keep / (1 - p): "
                               f"{difference(grad_x, grad_out * keep / (1 - p))}")
    for p, layers, scaled in FACTOR_CASES:
        what = f"expected_gradient_factor(p={p:g}, layers={layers}, scaled={scaled})"
        factor = expect_float(returned(results[f"factor {p} {layers} {scaled}"], what), f"what {what} returned")
        right = 1.0 if scaled else (1 - p) ** layers
        if abs(factor - right) <= 1e-9:
            continue
        mistakes = [  # (what the mistake computes, what is wrong), the first that matches is named
            ((1 - p) ** layers, "with the scaling, each layer multiplies the gradient by keep / (1 - p), whose "
                                "expectation is (1 - p) / (1 - p) = 1: the scaling cancels the keep probability"),
            ((1 / (1 - p)) ** layers, "1 / (1 - p) per layer is the mean SQUARE of keep / (1 - p), which sets the "
                                      "size of one draw; the expectation of keep / (1 - p) is 1"),
        ] if scaled else [
            (p ** layers, "p is the probability of DROPPING: a unit passes gradient with probability 1 - p"),
            (1 - p, f"one layer multiplies by 1 - p on average; {layers} layers in a row multiply by "
                    f"(1 - p) ** layers"),
            (1.0, "without the scaling each layer passes gradient only with probability 1 - p: the expectation "
                  "shrinks by (1 - p) per layer"),
            ((1 - p) * layers, "the layers' factors multiply (independent masks, one after the other): "
                               "(1 - p) ** layers, not (1 - p) * layers"),
        ]
        advice = next((text for wrong, text in mistakes if abs(factor - wrong) <= 1e-9), "")
        raise CheckFailure(f"{what} returned {factor:g}, expected {right:g}" + (f": {advice}" if advice else ""))


ASSIGNMENT = Assignment("03_dropout", "Dropout", (
    Exercise("3.1", "inverted dropout by hand", ("dropout",), probe_dropout, judge_dropout),
    Exercise("3.2", "a locked mask, one per sequence", ("locked_dropout",), probe_locked, judge_locked),
    Exercise("3.3", "what dropout= changes in nn.LSTM", ("dropout_touches",), probe_touches, judge_touches),
    Exercise("3.4", "weight dropping with parametrize", ("add_weight_drop",), probe_weight_drop, judge_weight_drop),
    Exercise("3.5", "choosing p by validation", ("choose_p",), probe_choose, judge_choose),
    Exercise("3.6", "the backward pass of a dropout step, and its expectation",
             ("dropout_backward", "expected_gradient_factor"), probe_backward, judge_backward),
))
