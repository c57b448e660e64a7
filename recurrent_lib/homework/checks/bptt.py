r"""Assignment 04, backpropagation through time: checks of the NumPy backward passes, a numerical gradient,
the gradient norm per time step of a torch RNN, clipping by global norm, and truncated BPTT.

The references are the library's (``recurrent_lib.numpy_rnn``, ``recurrent_lib.gradients``,
``torch.nn.utils.clip_grad_norm_``), which the lesson checks against torch. NumPy answers travel to the
judge as float64 tensors (the probe converts the arrays); the probe also records whether the student's
function changed the arrays it was given, a mistake that leaves the result right and the caller's data wrong.

Each check judges one exercise: ``rnn_backward`` (and 4.6's truncated backward) runs with the reference
``rnn_step_backward``, so a mistake in 4.1 is reported on 4.1 alone. Each hint is a recomputation of the answer
with that mistake. Every exercise says "write it yourself": a call to the library's or PyTorch's own version
(``recurrent_lib.numpy_rnn``'s backward passes, ``recurrent_lib.gradients``, ``clip_grad_norm_``) is refused
(:mod:`..shortcuts`).
"""
import itertools
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from recurrent_lib.gradients import state_gradient_norms
from recurrent_lib.numpy_rnn import rnn_backward as reference_rnn_backward
from recurrent_lib.numpy_rnn import rnn_forward, rnn_step_forward
from recurrent_lib.numpy_rnn import rnn_step_backward as reference_step_backward

from ..exercise import Assignment, Exercise, substituted
from ..feedback import CheckFailure, close, describe, expect_close, expect_float, expect_tensor, returned
from ..shortcuts import references, refuse
from ..wire import JSON, Scalar, call, encode

Arrays = dict[str, np.ndarray]
GRAD_NAMES = ("dx", "dprev_h", "dWx", "dWh", "db")
SEQUENCE_GRAD_NAMES = ("dx", "dh0", "dWx", "dWh", "db")
CACHE_NAMES = ("x", "prev_h", "Wx", "Wh", "next_h")  # rnn_step_forward's cache, in its order
CACHE_SWAPS = tuple(itertools.combinations(range(len(CACHE_NAMES)), 2))
ALIGN_HINT = ("rows are examples: dx = da @ Wx.T, dprev_h = da @ Wh.T, dWx = x.T @ da, dWh = prev_h.T @ da, "
              "db = da.sum(axis=0)")


def _as_torch(value: Any) -> Any:
    """NumPy arrays (also inside tuples and lists) as tensors, so that they travel to the judge."""
    if isinstance(value, np.ndarray) and value.dtype.kind in "fiub":
        return torch.from_numpy(np.array(value))
    if type(value) in (tuple, list):
        return type(value)(_as_torch(item) for item in value)
    return value


def _kind(value: Any) -> str:
    """'numpy float64', 'torch float32', 'list', ...: what a returned item is, for the dtype check."""
    if isinstance(value, np.ndarray):
        return f"numpy {value.dtype}"
    if isinstance(value, Tensor):
        return f"torch {str(value.dtype).removeprefix('torch.')}"
    return type(value).__name__


def call_numpy(function: Callable[..., Any], *args: Any) -> tuple[JSON, list[str]]:
    """``wire.call`` for a function of NumPy arrays, and the kinds of the items it returned (see :func:`_kind`):
    NumPy arrays travel as tensors, so the judge learns from these whether they were arrays, and of which dtype."""
    kinds: list[str] = []

    def run() -> Any:
        value = function(*args)
        kinds.extend(_kind(item) for item in (value if type(value) in (tuple, list) else (value,)))
        return _as_torch(value)

    return call(run), kinds


LIBRARY_BACKWARD = {"recurrent_lib.numpy_rnn.rnn_step_backward": "the library's rnn_step_backward",
                    "recurrent_lib.numpy_rnn.rnn_backward": "the library's rnn_backward"}


def _expect_numpy_float64(kinds: Any, names: tuple[str, ...], call_text: str, later: str) -> None:
    """Every returned gradient a NumPy float64 array: the cache is NumPy float64 and ``later`` needs it."""
    if not isinstance(kinds, list):
        return
    for name, kind in zip(names, kinds):
        if kind.startswith("torch"):
            raise CheckFailure(f"{call_text} returned {name} as a torch.Tensor: this exercise works in NumPy, like the "
                               f"cache it is given; return NumPy arrays (np.ndarray), as {later} needs them")
        if kind.startswith("numpy") and kind != "numpy float64":
            raise CheckFailure(f"{call_text} returned {name} of dtype {kind.removeprefix('numpy ')}: compute in float64, "
                               f"the dtype of the arrays you are given (no dtype=np.float32): {later} compares to "
                               f"about 1e-10, far below float32's rounding (about 1e-7)")


def _expect_order(grads: tuple[Any, ...], expected: dict[str, np.ndarray], call_text: str) -> None:
    """All the right gradients, in another order: name the order."""
    names = list(expected)
    found = []
    for value in grads:
        matches = [name for name in names if isinstance(value, Tensor)
                   and close(value, torch.from_numpy(expected[name]), atol=1e-8, rtol=1e-6)]
        if len(matches) != 1:
            return
        found.append(matches[0])
    if sorted(found) == sorted(names) and found != names:
        raise CheckFailure(f"{call_text} returned the right gradients in another order, ({', '.join(found)}): "
                           f"return them in the order ({', '.join(names)})")


def _relative(actual: Tensor, expected: Tensor) -> float:
    """Norm-wise relative error ||a - b|| / (||a|| + ||b||)."""
    a, b = actual.double(), expected.double()
    return ((a - b).norm() / (a.norm() + b.norm()).clamp(min=1e-300)).item()


def _expect_close(actual: Tensor, expected: Tensor, what: str, mistakes: dict[str, Tensor]) -> None:
    """``expect_close`` at float64 precision, whose last resort reports the relative error (a difference of 1e-6
    reads as "0.0000" with four decimals)."""
    try:
        expect_close(actual, expected, what, mistakes, atol=1e-8, rtol=1e-6)
    except CheckFailure as failure:
        if "elements differ" not in str(failure):
            raise
        differs = (actual.double() - expected.double()).abs() > 1e-8 + 1e-6 * expected.double().abs()
        first = tuple(differs.nonzero()[0].tolist())
        raise CheckFailure(f"{what} is wrong: {int(differs.sum())} of {expected.numel()} elements differ, e.g. element "
                           f"{list(first)} is {actual[first].item():.6g}, expected {expected[first].item():.6g} "
                           f"(norm-wise relative error {_relative(actual, expected):.1e})") from None


def _changed(before: Arrays, after: Arrays) -> list[str]:
    """The names whose arrays the student's function changed (beyond rounding: nudging an element by +h
    and back by -h may leave its last bit changed)."""
    return [name for name in before if not np.allclose(before[name], after[name], rtol=1e-12, atol=1e-14)]


def _in_place_failure(changed: list[str], call_text: str) -> None:
    if changed:
        names = " and ".join(changed)
        raise CheckFailure(f"{call_text} returned the right values but changed the caller's {names} in place "
                           f"(e.g. `dnext_h *= ...` or `dh[:, t] += ...`): the caller may still need them; compute "
                           f"into new arrays (`da = dnext_h * ...`, `dh_t = dh[:, t] + dprev_h`)")


def _expect_grads(value: Any, names: tuple[str, ...], call_text: str) -> tuple[Any, ...]:
    if not isinstance(value, (tuple, list)) or len(value) != len(names):
        got = f"{len(value)} items" if isinstance(value, (tuple, list)) else describe(value)
        raise CheckFailure(f"expected {call_text} to return a tuple of {len(names)}, ({', '.join(names)}), got {got}")
    return tuple(value)


# ---------------------------------------------------------------- 4.1 the backward pass of one step

def step_cases() -> dict[str, tuple[np.ndarray, tuple[np.ndarray, ...]]]:
    """case -> (dnext_h (N, H), cache (x, prev_h, Wx, Wh, next_h)); the second case has D == H, where a
    transposed Wx keeps its shape and only the values tell."""
    rng = np.random.default_rng(401)
    cases = {}
    for case, (N, D, H) in {"N 3, D 4, H 5": (3, 4, 5), "N 2, D 3, H 3": (2, 3, 3)}.items():
        x, prev_h = rng.standard_normal((N, D)), rng.standard_normal((N, H))
        Wx, Wh, b = 0.5 * rng.standard_normal((D, H)), 0.5 * rng.standard_normal((H, H)), 0.2 * rng.standard_normal(H)
        _, cache = rnn_step_forward(x, prev_h, Wx, Wh, b)
        cases[case] = (rng.standard_normal((N, H)), cache)
    return cases


def _step_with(da: np.ndarray, cache: tuple[np.ndarray, ...]) -> dict[str, np.ndarray]:
    x, prev_h, Wx, Wh, _ = cache
    return dict(zip(GRAD_NAMES, (da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0))))


def step_mistakes(dnext_h: np.ndarray, cache: tuple[np.ndarray, ...]) -> dict[str, dict[str, np.ndarray]]:
    """gradient name -> {advice: what the mistake computes for it}."""
    x, prev_h, Wx, Wh, next_h = cache
    through = {
        "it equals the result with da = dnext_h * (1 - next_h), that is 1 - tanh(a): the derivative of tanh is "
        "1 - tanh(a)**2 = 1 - next_h**2": dnext_h * (1 - next_h),
        "it equals the result with da = dnext_h * (1 - np.tanh(next_h)**2): next_h is already tanh(a), so "
        "tanh'(a) = 1 - next_h**2": dnext_h * (1 - np.tanh(next_h) ** 2),
        "it equals the result with da = dnext_h * next_h * (1 - next_h), the derivative of sigmoid: this step "
        "uses tanh, whose derivative is 1 - next_h**2": dnext_h * next_h * (1 - next_h),
        "it equals the result without the derivative of tanh: multiply dnext_h by 1 - next_h**2 first":
            dnext_h,
        "it equals the result with da = dnext_h * (1 - next_h)**2: the square belongs to next_h alone, "
        "tanh'(a) = 1 - next_h**2": dnext_h * (1 - next_h) ** 2,
        "it equals the result with da = dnext_h * next_h**2: tanh'(a) is 1 - next_h**2": dnext_h * next_h ** 2,
    }
    mistakes: dict[str, dict[str, np.ndarray]] = {name: {} for name in GRAD_NAMES}
    for advice, da in through.items():
        for name, value in _step_with(da, cache).items():
            mistakes[name][advice] = value
    da = dnext_h * (1 - next_h ** 2)
    if Wx.shape[0] == Wx.shape[1]:
        mistakes["dx"]["it equals da @ Wx: dx = da @ Wx.T"] = da @ Wx
        mistakes["dWx"]["it is transposed (da.T @ x): dWx = x.T @ da, of Wx's shape (D, H)"] = da.T @ x
    mistakes["dprev_h"]["it equals da @ Wh: dprev_h = da @ Wh.T"] = da @ Wh
    mistakes["dWh"]["it is transposed (da.T @ prev_h): dWh = prev_h.T @ da, of shape (H, H) with rows for "
                    "prev_h's units"] = da.T @ prev_h
    mistakes["dWh"]["it uses next_h where the step read prev_h: dWh = prev_h.T @ da"] = next_h.T @ da
    return mistakes


def _copy_step_args(dnext_h: np.ndarray, cache: tuple[np.ndarray, ...]) -> Arrays:
    return {"dnext_h": dnext_h.copy(), **{name: a.copy() for name, a in zip(CACHE_NAMES, cache)}}


def probe_step_backward(rnn_step_backward: Callable[..., Any]) -> dict[str, JSON]:
    results: dict[str, JSON] = {"uses": references(rnn_step_backward)}
    for case, (dnext_h, cache) in step_cases().items():
        given = _copy_step_args(dnext_h, cache)
        before = {name: a.copy() for name, a in given.items()}
        results[case], results[f"{case}: kinds"] = call_numpy(rnn_step_backward, given["dnext_h"],
                                                              tuple(list(given.values())[1:]))
        results[f"{case}: changed"] = _changed(before, given)
        if isinstance(results[case], dict) and "raised" in results[case]:  # a cache unpacked in another order?
            for i, j in CACHE_SWAPS:
                swapped = [a.copy() for a in cache]
                swapped[i], swapped[j] = swapped[j], swapped[i]
                results[f"{case}: swapped {i} {j}"] = call_numpy(rnn_step_backward, dnext_h.copy(), tuple(swapped))[0]
    return results


def _cache_order(results: dict[str, Any], case: str, expected: dict[str, np.ndarray], call_text: str) -> None:
    """The step raised, yet with two items of the cache swapped it returns the right gradients: name the order."""
    for i, j in CACHE_SWAPS:
        grads = results.get(f"{case}: swapped {i} {j}")
        if isinstance(grads, (tuple, list)) and len(grads) == len(expected) and all(
                isinstance(g, Tensor) and close(g, torch.from_numpy(e), atol=1e-8, rtol=1e-6)
                for g, e in zip(grads, expected.values())):
            order = list(CACHE_NAMES)
            order[i], order[j] = order[j], order[i]
            raise CheckFailure(f"{call_text} unpacks the cache in another order, as ({', '.join(order)}): with "
                               f"{CACHE_NAMES[i]} and {CACHE_NAMES[j]} swapped in the cache it returns the right "
                               f"gradients; rnn_step_forward's cache is ({', '.join(CACHE_NAMES)}): unpack it as "
                               f"{', '.join(CACHE_NAMES)} = cache")


def judge_step_backward(results: dict[str, Any]) -> None:
    refuse(results.get("uses"), LIBRARY_BACKWARD, "write the backward pass of a step yourself")
    for case, (dnext_h, cache) in step_cases().items():
        call_text = f"rnn_step_backward (with {case})"
        expected = dict(zip(GRAD_NAMES, reference_step_backward(dnext_h, cache)))
        _cache_order(results, case, expected, call_text)
        grads = _expect_grads(returned(results[case], call_text, ALIGN_HINT), GRAD_NAMES, call_text)
        _expect_numpy_float64(results[f"{case}: kinds"], GRAD_NAMES, call_text, "the gradient check after 4.3")
        (N, D), H = cache[0].shape, cache[3].shape[0]
        shapes = {"dx": ((N, D), "(N, D)"), "dprev_h": ((N, H), "(N, H)"), "dWx": ((D, H), "(D, H)"),
                  "dWh": ((H, H), "(H, H)"), "db": ((H,), "(H,)")}
        hints = {"dWx": {(H, D): "that is dWx transposed: dWx = x.T @ da has Wx's shape"},
                 "db": {(N, H): "db sums da over the batch: da.sum(axis=0)",
                        (N,): "that sums over the units: db sums da over the batch, da.sum(axis=0)"}}
        if isinstance(grads[4], (Scalar, float)):
            raise CheckFailure(f"db (with {case}) is a single number, {describe(grads[4])}: np.sum(da) adds up "
                               f"everything; db sums da over the batch only, da.sum(axis=0), of shape (H,)")
        _expect_order(grads, expected, call_text)
        mistakes = step_mistakes(dnext_h, cache)
        for name, value in zip(GRAD_NAMES, grads):
            what = f"{name} (with {case})"
            shape, dims = shapes[name]
            value = expect_tensor(value, what, shape, dims, hints.get(name))
            _expect_close(value, torch.from_numpy(expected[name]), what,
                          {advice: torch.from_numpy(v) for advice, v in mistakes[name].items()})
        _in_place_failure(results[f"{case}: changed"], call_text)


# ---------------------------------------------------------------- 4.2 backpropagation through time

def sequence_cases() -> dict[str, tuple[np.ndarray, list]]:
    """case -> (dh (N, T, H), cache from rnn_forward); the last case has T = 1 and N = 1."""
    rng = np.random.default_rng(402)
    cases = {}
    for case, (N, T, D, H) in {"N 2, T 4, D 3, H 5": (2, 4, 3, 5), "N 1, T 1, D 2, H 3": (1, 1, 2, 3)}.items():
        x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
        Wx, Wh, b = 0.5 * rng.standard_normal((D, H)), 0.5 * rng.standard_normal((H, H)), 0.2 * rng.standard_normal(H)
        _, cache = rnn_forward(x, h0, Wx, Wh, b)
        cases[case] = (rng.standard_normal((N, T, H)), cache)
    return cases


def bptt(dh: np.ndarray, cache: list, *, carry: bool = True, accumulate: bool = True, forwards: bool = False,
         cache_shift: int = 0, cut: Callable[[int], bool] = lambda t: False,
         drop_direct: bool = False) -> dict[str, np.ndarray]:
    """The reference's loop, and with other arguments the common mistakes: no gradient carried from step
    t + 1 (``carry=False``), weights' gradients overwritten instead of added (``accumulate=False``), the
    loop run forward in time (``forwards=True``), step t run with ``cache[t + cache_shift]`` (Python's
    wrap-around included). With ``cut``, truncated BPTT (4.6) and its mistakes: at every step t with ``cut(t)``
    the gradient carried back from step t + 1 is dropped (``drop_direct``: what the loss reads from h_t is
    dropped instead)."""
    N, T, H = dh.shape
    D = cache[0][2].shape[0]
    dx, dprev_h = np.zeros((N, T, D)), np.zeros((N, H))
    dWx, dWh, db = np.zeros((D, H)), np.zeros((H, H)), np.zeros(H)
    for t in (range(T) if forwards else reversed(range(T))):
        border = cut(t)
        carried = dprev_h if carry and not (border and not drop_direct) else 0
        direct = 0 if border and drop_direct else dh[:, t]
        step_cache = cache[(t + cache_shift) % T] if cache_shift else cache[t]
        dx[:, t], dprev, dWx_t, dWh_t, db_t = reference_step_backward(direct + carried, step_cache)
        dprev_h = dprev
        if accumulate:
            dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
        else:
            dWx, dWh, db = dWx_t, dWh_t, db_t
    return dict(zip(SEQUENCE_GRAD_NAMES, (dx, dprev_h, dWx, dWh, db)))


def sequence_mistakes(dh: np.ndarray, cache: list) -> dict[str, dict[str, np.ndarray]]:
    """gradient name -> {advice: what the mistake computes for it}."""
    variants = {
        "it equals the result without the gradient from the next step: at step t backpropagate "
        "dh[:, t] + dprev_h, where dprev_h came back from step t + 1": bptt(dh, cache, carry=False),
        "it is the term of one step only: the same weights serve every step, so add up (+=) the terms of all "
        "steps": bptt(dh, cache, accumulate=False),
        "it equals the result of a loop that runs forward in time: BPTT starts at the last step and goes back "
        "to the first (for t in reversed(range(T)))": bptt(dh, cache, forwards=True),
        "it uses cache[t - 1] at step t: step t's backward pass needs its own cache, cache[t]":
            bptt(dh, cache, cache_shift=-1),
        "it uses cache[t + 1] at step t: step t's backward pass needs its own cache, cache[t]":
            bptt(dh, cache, cache_shift=1),
    }
    mistakes: dict[str, dict[str, np.ndarray]] = {name: {} for name in SEQUENCE_GRAD_NAMES}
    for advice, grads in variants.items():
        for name, value in grads.items():
            mistakes[name][advice] = value
    N, T, H = dh.shape
    last_term = reference_step_backward(dh[:, T - 1], cache[T - 1])
    for name, value in zip(("dWx", "dWh", "db"), last_term[2:]):
        mistakes[name]["it is the last step's term only: add up (+=) the terms of all steps"] = value
    mistakes["dh0"]["it is zero: dh0 is the gradient that the first step sends back, dprev_h after the loop"] = \
        np.zeros((N, H))
    reference = bptt(dh, cache)
    doubled = dh.copy()
    doubled[:, -1] *= 2
    for name, value in bptt(doubled, cache).items():
        mistakes[name]["the last step's dh[:, T-1] is counted twice: nothing comes back to the last step, so start "
                       "with dprev_h = np.zeros((N, H)), not dh[:, -1]"] = value
    mistakes["dx"]["its steps are in reverse order: dx[:, t] belongs to step t (a list filled from the last step "
                   "back must be reversed before np.stack)"] = reference["dx"][:, ::-1].copy()
    for name in ("dWx", "dWh", "db"):
        mistakes[name]["it is the mean of the steps' terms: add them up, without dividing by T"] = reference[name] / T
    mistakes["dh0"]["it equals dh[:, 0], what the loss sends to h_1 directly: dh0 is the gradient with respect to the "
                    "initial state h0, what the first step sends back (dprev_h after the loop)"] = dh[:, 0].copy()
    return mistakes


def _skipped_steps(dx: Tensor, dh: np.ndarray, cache: list, call_text: str) -> None:
    """A loop that misses the last or the first step: the other steps' dx are those of that loop, and the
    missed step's dx is zero (or whatever the array held): say which step was missed."""
    T = dh.shape[1]
    if T < 2:
        return
    skip_last = np.zeros_like(dx.numpy())
    dprev_h = np.zeros_like(dh[:, 0])
    for t in reversed(range(T - 1)):
        skip_last[:, t], dprev_h, *_ = reference_step_backward(dh[:, t] + dprev_h, cache[t])
    full = reference_rnn_backward(dh, cache)[0]
    what = f"dx {call_text.removeprefix('rnn_backward ')}"
    if close(dx[:, :T - 1], torch.from_numpy(skip_last[:, :T - 1]), atol=1e-8, rtol=1e-6):
        raise CheckFailure(f"{what} is wrong: the loop skips the last step: dx[:, T-1] is "
                           f"{'zero' if not dx[:, T - 1].any() else 'not computed'}; for t in reversed(range(T)) "
                           f"runs t = T-1, ..., 0 (reversed(range(T - 1)) starts one step too early)")
    if close(dx[:, 1:], torch.from_numpy(full[:, 1:]), atol=1e-8, rtol=1e-6) and \
            not close(dx[:, :1], torch.from_numpy(full[:, :1]), atol=1e-8, rtol=1e-6):
        raise CheckFailure(f"{what} is wrong: the loop stops before the first step: dx[:, 0] is "
                           f"{'zero' if not dx[:, 0].any() else 'not computed'}; reversed(range(T)) ends at t = 0 "
                           f"(range(T - 1, 0, -1) stops at 1)")


SEQUENCE_HINTS = {
    "out of bounds for axis 1": "the steps are t = 0 .. T - 1: for t in reversed(range(T)) (range(T, -1, -1) starts at "
                                "T, one past the last step)",
    "list index out of range": "the steps are t = 0 .. T - 1: for t in reversed(range(T)) (range(T, -1, -1) starts "
                               "at T, one past the last step)",
    "out of bounds for axis 0": "dh is (N, T, H), batch first: step t is dh[:, t], not dh[t]",
    "could not broadcast input array": "dx has x's shape (N, T, D): make it with np.zeros((N, T, D)); "
                                       "np.zeros_like(dh) has dh's shape (N, T, H)",
}


def probe_rnn_backward(rnn_backward: Callable[..., Any]) -> dict[str, JSON]:
    results: dict[str, JSON] = {"uses": references(rnn_backward)}  # before the substitution below
    with substituted(rnn_backward, rnn_step_backward=reference_step_backward):  # judge the loop, not 4.1
        for case, (dh, cache) in sequence_cases().items():
            given = {"dh": dh.copy()}
            results[case], results[f"{case}: kinds"] = call_numpy(rnn_backward, given["dh"], cache)
            results[f"{case}: changed"] = _changed({"dh": dh}, given)
    return results


def judge_rnn_backward(results: dict[str, Any]) -> None:
    refuse(results.get("uses"), {"recurrent_lib.numpy_rnn.rnn_backward": "the library's rnn_backward"},
           "write backpropagation through time yourself")
    for case, (dh, cache) in sequence_cases().items():
        call_text = f"rnn_backward (with {case})"
        grads = _expect_grads(returned(results[case], call_text, hints=SEQUENCE_HINTS), SEQUENCE_GRAD_NAMES, call_text)
        _expect_numpy_float64(results[f"{case}: kinds"], SEQUENCE_GRAD_NAMES, call_text, "the gradient check after 4.3")
        (N, T, H), D = dh.shape, cache[0][2].shape[0]
        shapes = {"dx": ((N, T, D), "(N, T, D)"), "dh0": ((N, H), "(N, H)"), "dWx": ((D, H), "(D, H)"),
                  "dWh": ((H, H), "(H, H)"), "db": ((H,), "(H,)")}
        hints = {"dx": {(N, D): "that is one step's dx: dx holds every step's, dx[:, t] for t = 0 .. T - 1",
                        (T, N, D): "CS231n's layout is batch first: dx[:, t] is step t, like x"}}
        expected = reference_rnn_backward(dh, cache)
        _expect_order(grads, dict(zip(SEQUENCE_GRAD_NAMES, expected)), call_text)
        mistakes = sequence_mistakes(dh, cache)
        for name, value, reference in zip(SEQUENCE_GRAD_NAMES, grads, expected):
            what = f"{name} (with {case})"
            value = expect_tensor(value, what, *shapes[name], hints.get(name))
            if name == "dx" and not close(value, torch.from_numpy(reference), atol=1e-8, rtol=1e-6):
                _skipped_steps(value, dh, cache, call_text)
            _expect_close(value, torch.from_numpy(reference), what,
                          {advice: torch.from_numpy(v) for advice, v in mistakes[name].items()})
        _in_place_failure(results[f"{case}: changed"], call_text)


# ---------------------------------------------------------------- 4.3 a numerical gradient

def _gradient_case(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """x (3, 4), W (4, 5), c (5,), df (3, 5) for f(x) = tanh(x @ W + c)."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((3, 4)), 0.5 * rng.standard_normal((4, 5)), 0.2 * rng.standard_normal(5),
            rng.standard_normal((3, 5)))


def _f(W: np.ndarray, c: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    return lambda x: np.tanh(x @ W + c)


NUMERICAL_CASES = {
    "f(x) = tanh(x @ W + c)": "argument",
    "f(_) = tanh(x @ W + c) reading x from outside, as `lambda _: rnn_forward(**params)[0]` does": "outside",
    "f(x) = tanh(x @ W + c) written into one array that every call returns": "buffer",
}


def _numerical_function(kind: str, x: np.ndarray, W: np.ndarray, c: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    f = _f(W, c)
    if kind == "buffer":
        out = np.zeros((x.shape[0], W.shape[1]))

        def into_buffer(z: np.ndarray) -> np.ndarray:
            out[...] = f(z)
            return out
        return into_buffer
    return f if kind == "argument" else (lambda _: f(x))


def analytic_gradient(x: np.ndarray, W: np.ndarray, c: np.ndarray, df: np.ndarray) -> np.ndarray:
    """d sum(tanh(x @ W + c) * df) / dx."""
    return (df * (1 - np.tanh(x @ W + c) ** 2)) @ W.T


def numerical_mistakes(x: np.ndarray, W: np.ndarray, c: np.ndarray, df: np.ndarray, h: float = 1e-5) -> dict[str, np.ndarray]:
    f = _f(W, c)
    forward, unweighted = np.zeros_like(x), np.zeros_like(x)
    for index in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[index] += h
        minus[index] -= h
        forward[index] = np.sum((f(plus) - f(x)) * df) / h
        unweighted[index] = np.sum(f(plus) - f(minus)) / (2 * h)
    centred = analytic_gradient(x, W, c, df)
    return {
        "it equals the one-sided difference (f(x + h) - f(x)) / h, whose error is of order h: use the centred "
        "difference (f(x + h) - f(x - h)) / (2 * h), whose error is of order h**2": forward,
        "it is twice the gradient: the centred difference spans 2 * h, so divide by 2 * h": 2 * centred,
        "it is half the gradient: divide (f(x + h) - f(x - h)) by 2 * h, not by 4 * h": centred / 2,
        f"it is the gradient divided by h (about {1 / h:g} times too large): divide (f(x + h) - f(x - h)) by 2 * h, "
        "not by 2 * h**2": centred / h,
        "it ignores df: the gradient of sum(f(x) * df) weights f's change by df, np.sum((plus - minus) * df)":
            unweighted,
        "it is half the one-sided difference, (f(x + h) - f(x)) / (2 * h): the second evaluation must be at x - h "
        "(x[index] = old - h), not back at x": forward / 2,
        "every element of it is the same: f(x + h) moves every element of x at once; move only element i, "
        "x[index] = old + h": np.full_like(x, np.sum((f(x + h) - f(x - h)) * df) / (2 * h)),
    }


def centred(x: np.ndarray, W: np.ndarray, c: np.ndarray, df: np.ndarray, h: float) -> np.ndarray:
    """The centred difference of sum(tanh(x @ W + c) * df) with step ``h``."""
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[index] += h
        minus[index] -= h
        grad[index] = np.sum((_f(W, c)(plus) - _f(W, c)(minus)) * df) / (2 * h)
    return grad


OTHER_STEPS = (1e-1, 1e-2, 1e-3, 1e-4, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10)


def probe_numerical(numerical_gradient: Callable[..., Any]) -> dict[str, JSON]:
    results: dict[str, JSON] = {"uses": references(numerical_gradient)}
    for seed, (case, kind) in enumerate(NUMERICAL_CASES.items(), 403):
        x, W, c, df = _gradient_case(seed)
        given = x.copy()
        results[case], _ = call_numpy(numerical_gradient, _numerical_function(kind, given, W, c), given, df)
        results[f"{case}: changed"] = _changed({"x": x}, {"x": given})
    return results


def judge_numerical(results: dict[str, Any]) -> None:
    refuse(results.get("uses"), {"recurrent_lib.numpy_rnn.numerical_gradient": "the library's numerical_gradient"},
           "write the numerical gradient yourself")
    for seed, (case, kind) in enumerate(NUMERICAL_CASES.items(), 403):
        x, W, c, df = _gradient_case(seed)
        call_text = f"numerical_gradient (for {case})"
        value = expect_tensor(returned(results[case], call_text), f"the gradient {call_text}", x.shape,
                              "x's shape (3, 4)", {df.shape: "that is f(x)'s shape: the gradient has x's shape"})
        if results[f"{case}: changed"]:
            raise CheckFailure(f"{call_text} left x changed: after nudging an element, put its old value back "
                               f"(x[index] = old) before moving on")
        if kind == "buffer" and not value.any():
            raise CheckFailure(f"{call_text} is all zeros: this f returns the same array at every call (as a forward "
                               f"pass that writes into a buffer does), so without a copy `plus` and `minus` are one "
                               f"array; keep a copy of what f returns, f(x).copy(), before calling it again")
        if kind == "outside" and not value.any():
            raise CheckFailure(f"{call_text} is all zeros: this f ignores its argument and reads x itself, so "
                               f"nudge x in place (x[index] = old + h), not a copy of it")
        expected = torch.from_numpy(analytic_gradient(x, W, c, df))
        what = f"the gradient {call_text}"
        error = _relative(value, expected)
        if error > 1e-8 and error < 1e-2:  # nearly right (a right one is about 1e-10 off): the step size?
            step = min(OTHER_STEPS, key=lambda h: _relative(value, torch.from_numpy(centred(x, W, c, df, h))))
            if _relative(value, torch.from_numpy(centred(x, W, c, df, step))) < 1e-3 * error:
                raise CheckFailure(
                    f"{what} is close but not within float64 precision: norm-wise relative error {error:.1e} (the "
                    f"centred difference with h = 1e-5 gives about 1e-10); it matches the centred difference with "
                    f"h = {step:g}: use the step h you are given (default 1e-5). A larger h adds an error of order "
                    f"h**2, a smaller one rounding errors of order 1e-16 / h")
        _expect_close(value, expected, what,
                      {advice: torch.from_numpy(v) for advice, v in numerical_mistakes(x, W, c, df).items()})
        if error > 1e-8:
            raise CheckFailure(f"{what} is close but not within float64 precision: norm-wise relative error {error:.1e} "
                               f"(the centred difference with h = 1e-5 gives about 1e-10)")


# ---------------------------------------------------------------- 4.4 gradient norms per time step

NORM_CASES = {"nn.RNN(4, 5), x of shape (6, 3, 4)": (404, 4, 5, (6, 3, 4)),
              "nn.RNN(2, 3), x of shape (1, 1, 2)": (405, 2, 3, (1, 1, 2))}


def _norm_inputs(seed: int, input_size: int, hidden_size: int, shape: tuple[int, ...]) -> tuple[nn.RNN, Tensor]:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        rnn = nn.RNN(input_size, hidden_size)
    return rnn, torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _state_gradients(rnn: nn.RNN, x: Tensor, loss: str = "sum of h_T") -> tuple[Tensor, Tensor]:
    """(g (T, N, H): dL/dh_t for L = sum of h_T, h (T, N, H): the states), computed step by step; with another
    ``loss`` ("mean of h_T", "sum of all states") the gradients of that one."""
    states, h = [], None
    for x_t in x:
        _, h = rnn(x_t[None], h)
        h.retain_grad()
        states.append(h)
    {"sum of h_T": states[-1].sum, "mean of h_T": states[-1].mean,
     "sum of all states": lambda: sum(s.sum() for s in states)}[loss]().backward()
    return torch.stack([s.grad[0] for s in states]), torch.stack([s[0].detach() for s in states])


def _unbatched_norms(rnn: nn.RNN, x: Tensor) -> Tensor:
    """The norms of a loop that feeds x_t (N, input_size) to nn.RNN, which reads it as one unbatched sequence."""
    states, h = [], None
    for x_t in x:
        _, h = rnn(x_t, h)
        h.retain_grad()
        states.append(h)
    states[-1].sum().backward()
    return torch.stack([s.grad.norm() for s in states])


def norm_mistakes(rnn: nn.RNN, x: Tensor) -> dict[str, Tensor]:
    g, h = _state_gradients(rnn, x)
    weight_norms = {name: p.grad.norm() for name, p in rnn.named_parameters() if p.grad is not None}
    rnn.zero_grad()
    direct = torch.zeros(x.shape[0])
    direct[-1] = g[-1].norm()
    mistakes = {
        f"every entry is the norm of rnn.{name}.grad, the gradient of a weight: the weights serve every step, so "
        f"their gradient is one sum over all steps; entry t - 1 is the norm of the gradient of the STATE h_t, "
        f"dL/dh_t: keep each state, call h.retain_grad() on it, and read h.grad after backward()":
            norm.expand(x.shape[0]) for name, norm in weight_norms.items()}
    return mistakes | {
        "it is zero before the last step: that is output.grad, only what the loss reads from h_t directly; the "
        "gradient through the later steps flows inside nn.RNN, so run it one step at a time and call "
        "retain_grad() on each state": direct,
        "it is in reverse order: entry t - 1 belongs to h_t, from the first step to the last":
            g.flatten(1).norm(dim=1).flip(0),
        "it holds the norms of the states h_t, not of their gradients": h.flatten(1).norm(dim=1),
        "it is the mean over the batch of each row's norm: take the norm of all rows together, "
        "g_t.norm() (L sums over the batch)": g.norm(dim=2).mean(dim=1),
        "it is the sum over the batch of each row's norm: take the norm of all rows together, g_t.norm()":
            g.norm(dim=2).sum(dim=1),
        "it is the gradient of the MEAN of h_T: L is the sum of h_T, h.sum()":
            _state_gradients(rnn, x, "mean of h_T")[0].flatten(1).norm(dim=1),
        "it is the gradient of the sum of ALL states: L is the sum of the last state h_T only, so that entry t - 1 "
        "is what reaches h_t from h_T": _state_gradients(rnn, x, "sum of all states")[0].flatten(1).norm(dim=1),
        "it equals a loop that calls rnn(x_t, h) with x_t of shape (N, input_size): nn.RNN reads a 2-D input as ONE "
        "unbatched sequence of N steps; give it one step of the batch, x_t[None] of shape (1, N, input_size)":
            _unbatched_norms(rnn, x),
    }


GRAD_NONE = ("`.grad` is None: autograd keeps the gradient of a state (a non-leaf tensor) only when asked: call "
             "h.retain_grad() on every state you keep, and don't detach the states from the graph (no .detach(), no "
             "torch.no_grad()), or no gradient reaches them")
NORM_HINTS = {
    "'NoneType' object has no attribute": GRAD_NONE,
    "'NoneType' and": GRAD_NONE,
    "but got NoneType": GRAD_NONE,
    "can't retain_grad on Tensor that has requires_grad=False":
        "a detached state (h.detach(), or computed under torch.no_grad()) has no gradient to keep: retain_grad() "
        "the states the RNN returns, without detaching them",
    "hx should also be 3-D": "nn.RNN's state has shape (num_layers, N, H) = (1, N, H), not (N, H): start from the zero "
                             "state with h = None (nn.RNN's default) or torch.zeros(1, N, H)",
    "Expected hidden size": "nn.RNN's state has shape (num_layers, N, H) = (1, N, H): start from the zero state with "
                            "h = None (nn.RNN's default) or torch.zeros(1, N, H)",
}


def probe_norms(gradient_norms: Callable[..., Any]) -> dict[str, JSON]:
    results: dict[str, JSON] = {"uses": references(gradient_norms)}
    for case, args in NORM_CASES.items():
        with warnings.catch_warnings(record=True) as caught:  # e.g. .grad of a non-leaf: judged, not printed
            warnings.simplefilter("always")
            results[case] = call(gradient_norms, *_norm_inputs(*args))
        results[f"{case}: warned"] = [str(warning.message).split("\n")[0] for warning in caught]
    return results


def judge_norms(results: dict[str, Any]) -> None:
    refuse(results.get("uses"), {"recurrent_lib.gradients": "recurrent_lib.gradients (the lesson's probe)"},
           "write the probe yourself")
    for case, args in NORM_CASES.items():
        T = args[3][0]
        what = f"gradient_norms(rnn, x) (for {case})"
        value = returned(results[case], what, hints=NORM_HINTS)
        if any(".grad attribute of a Tensor that is not a leaf" in w for w in results.get(f"{case}: warned", [])):
            raise CheckFailure(f"{what} read .grad of a state that autograd did not keep (PyTorch warned about a "
                               f"non-leaf tensor): {GRAD_NONE}")
        if isinstance(value, (list, tuple)):
            raise CheckFailure(f"expected {what} to be a torch.Tensor of shape ({T},), got {describe(value)}: "
                               f"torch.stack the norms")
        value = expect_tensor(value, what, (T,), "(T,)", {(T + 1,): "one entry too many: h_0 is not a step's "
                                                                      "state; return the norms for h_1 .. h_T"})
        expected = state_gradient_norms(*_norm_inputs(*args))
        expect_close(value, expected, what, norm_mistakes(*_norm_inputs(*args)))


# ---------------------------------------------------------------- 4.5 clipping by global norm

CLIP_CASES = {
    "gradients of norm 13 and max_norm 1.0 (clipped)": (406, 1.0, False),
    "gradients of norm 13 and max_norm 100.0 (left alone)": (406, 100.0, False),
    "max_norm 1.0, one parameter without a gradient (its .grad is None)": (407, 1.0, True),
}
GENERATOR_CASE = "gradients of norm 13, max_norm 1.0, parameters given as a generator like model.parameters()"
CLIP_FORBIDDEN = {"torch.nn.utils.clip_grad_norm_": "nn.utils.clip_grad_norm_",
                  "torch.nn.utils.clip_grad_norm": "nn.utils.clip_grad_norm",
                  "torch.nn.utils.clip_grads_with_norm_": "nn.utils.clip_grads_with_norm_",
                  "torch.nn.utils.get_total_norm": "nn.utils.get_total_norm",
                  "torch.nn.utils.clip_grad": "PyTorch's clipping (torch.nn.utils.clip_grad)"}


CLIP_HINTS = {"NoneType": "a parameter without a gradient has .grad None: skip parameters whose .grad is None, as "
                          "clip_grad_norm_ does"}


def _clip_parameters(seed: int, without_grad: bool) -> list[nn.Parameter]:
    """Three parameters with seeded gradients of global norm 13; with ``without_grad`` a fourth whose
    .grad is None."""
    g = torch.Generator().manual_seed(seed)
    params = [nn.Parameter(torch.zeros(shape)) for shape in ((4, 3), (4,), (2, 2))]
    grads = [torch.randn(p.shape, generator=g) for p in params]
    total = torch.sqrt(sum((grad ** 2).sum() for grad in grads))
    for p, grad in zip(params, grads):
        p.grad = grad * 13 / total
    return params + ([nn.Parameter(torch.zeros(3))] if without_grad else [])


def _grads(params: list[nn.Parameter]) -> list[Tensor | None]:
    return [None if p.grad is None else p.grad.detach().clone() for p in params]


def clip_mistakes(seed: int, max_norm: float, without_grad: bool) -> dict[str, tuple[float | None, list[Tensor | None]]]:
    """advice -> (the norm the mistake returns (None: any), the gradients it leaves)."""
    grads = _grads(_clip_parameters(seed, without_grad))
    present = [g for g in grads if g is not None]
    total = torch.sqrt(sum((g ** 2).sum() for g in present)).item()
    scale = lambda factor: [None if g is None else g * factor for g in grads]
    per_parameter = [None if g is None else g * min(1.0, max_norm / (g.norm().item() + 1e-6)) for g in grads]
    summed = sum(g.norm().item() for g in present)
    return {
        "each parameter was clipped on its own: clipping by global norm scales all gradients by the same factor, "
        "max_norm / (norm of all gradients together)": (None, per_parameter),
        "the gradients were scaled up to max_norm: scale only when the total norm exceeds max_norm":
            (None, scale(max_norm / (total + 1e-6))),
        "the gradients were clipped element by element, by value: scale them all by max_norm / total_norm instead":
            (None, [None if g is None else g.clamp(-max_norm, max_norm) for g in grads]),
        "the gradients were not changed: scale each p.grad in place (p.grad.mul_(factor)), as clip_grad_norm_ does":
            (None, grads),
        "the global norm is the square root of the sum of all squared elements, not the sum of the parameters' "
        "norms": (summed, [None if g is None else g * min(1.0, max_norm / (summed + 1e-6)) for g in grads]),
        "the gradients were divided by the factor max_norm / (total + 1e-6), which scales them UP: multiply by it":
            (None, scale((total + 1e-6) / max_norm) if total > max_norm else grads),
        "that is the sum of the squares: the global norm is its square root": (total ** 2, grads),
    }


def probe_clip(clip_grad_norm: Callable[..., Any]) -> dict[str, JSON]:
    results: dict[str, JSON] = {"uses": references(clip_grad_norm)}
    for case, (seed, max_norm, without_grad) in CLIP_CASES.items():
        params = _clip_parameters(seed, without_grad)
        results[case] = call(clip_grad_norm, params, max_norm)
        results[f"{case}: grads"] = encode(_grads(params))
    params = _clip_parameters(406, False)  # the first case's gradients, handed over as a generator
    results[GENERATOR_CASE] = call(clip_grad_norm, (p for p in params), 1.0)
    results[f"{GENERATOR_CASE}: grads"] = encode(_grads(params))
    return results


def _returned_norm(value: Any, what: str) -> float:
    if isinstance(value, Tensor) and value.numel() == 1:
        raise CheckFailure(f"expected {what} to return the total norm as a Python float, got {describe(value)}: "
                           f"return total.item() (the text asks for a float, the number to log or compare, with "
                           f"no tensor and no graph attached)")
    return expect_float(value, f"{what}'s total norm")


def judge_clip(results: dict[str, Any]) -> None:
    refuse(results.get("uses"), CLIP_FORBIDDEN, "write clipping by global norm yourself")
    for case, (seed, max_norm, without_grad) in CLIP_CASES.items():
        what = f"clip_grad_norm(parameters, {max_norm}) (with {case})"
        norm = _returned_norm(returned(results[case], what, hints=CLIP_HINTS), what)
        params = _clip_parameters(seed, without_grad)
        expected_norm = nn.utils.clip_grad_norm_(params, max_norm).item()
        expected, got = _grads(params), results[f"{case}: grads"]
        mistakes = clip_mistakes(seed, max_norm, without_grad)

        def same_grads(grads: list[Tensor | None]) -> bool:
            return len(grads) == len(got) and all(
                (a is None and b is None) or (isinstance(a, Tensor) and isinstance(b, Tensor) and a.shape == b.shape
                                              and torch.allclose(a.double(), b.double(), rtol=1e-4, atol=1e-6))
                for a, b in zip(got, grads))

        if not same_grads(expected):
            if without_grad and got[-1] is not None:
                raise CheckFailure(f"{what}: the parameter without a gradient now has one: skip parameters whose "
                                   f".grad is None, as clip_grad_norm_ does")
            advice = next((advice for advice, (_, grads) in mistakes.items() if same_grads(grads)), "")
            raise CheckFailure(f"{what}: the gradients after clipping differ from clip_grad_norm_'s"
                               + (f": {advice}" if advice else ""))
        if abs(norm - expected_norm) > 1e-4 * expected_norm:
            if abs(norm - max_norm) < 1e-4 * max_norm and expected_norm > max_norm:
                raise CheckFailure(f"{what} returned {norm:.4g}, the norm after clipping: return the total norm "
                                   f"before clipping ({expected_norm:.4g}), as clip_grad_norm_ does")
            advice = next((advice for advice, (wrong, _) in mistakes.items()
                           if wrong is not None and abs(norm - wrong) < 1e-4 * wrong), "")
            raise CheckFailure(f"{what} returned {norm:.4g}, expected the total norm {expected_norm:.4g}"
                               + (f": {advice}" if advice else ""))
    _judge_generator(results)


def _judge_generator(results: dict[str, Any]) -> None:
    """Right with a list, wrong with a generator: the generator was used up by a first pass."""
    what = f"clip_grad_norm(model.parameters(), 1.0) (with {GENERATOR_CASE})"
    value = returned(results[GENERATOR_CASE], what, hints={
        "generator": "parameters may be a generator such as model.parameters(), which has no len() and no "
                     "indexing: make a list first, parameters = list(parameters)"})
    value = value.value if isinstance(value, Scalar) else value
    params = _clip_parameters(406, False)
    expected_norm = nn.utils.clip_grad_norm_(params, 1.0).item()
    got = results[f"{GENERATOR_CASE}: grads"]
    same = all(isinstance(g, Tensor) and torch.allclose(g.double(), p.grad.double(), rtol=1e-4, atol=1e-6)
               for g, p in zip(got, params))
    norm_right = isinstance(value, (int, float)) and abs(value - expected_norm) <= 1e-4 * expected_norm
    if not (same and norm_right):
        raise CheckFailure(
            f"{what}: with a list of parameters your function is right, with a generator it is not "
            + ("(the gradients were not clipped)" if not same else f"(it returned {describe(value)})")
            + ": a generator such as model.parameters() can be iterated only once, so a second loop over it sees "
              "nothing (clip_grad_norm_'s own trap): make a list first, parameters = list(parameters)")


# ---------------------------------------------------------------- 4.6 truncated BPTT

def truncated_cases() -> dict[str, tuple[np.ndarray, list, int]]:
    """case -> (dh (N, T, H), cache from rnn_forward, K); the second case's last chunk is shorter, the third
    has one chunk (K = T: nothing to cut)."""
    rng = np.random.default_rng(408)
    cases = {}
    for case, (N, T, D, H, K) in {"N 2, T 6, D 3, H 4, K 3": (2, 6, 3, 4, 3), "N 2, T 6, D 2, H 3, K 4": (2, 6, 2, 3, 4),
                                  "N 1, T 3, D 2, H 3, K 3": (1, 3, 2, 3, 3)}.items():
        x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
        Wx, Wh, b = 0.5 * rng.standard_normal((D, H)), 0.5 * rng.standard_normal((H, H)), 0.2 * rng.standard_normal(H)
        _, cache = rnn_forward(x, h0, Wx, Wh, b)
        cases[case] = (rng.standard_normal((N, T, H)), cache, K)
    return cases


def truncated_reference(dh: np.ndarray, cache: list, K: int) -> dict[str, np.ndarray]:
    """BPTT with the graph cut in front of every chunk but the first: chunks are steps 0..K-1, K..2K-1, ..."""
    return bptt(dh, cache, cut=lambda t: (t + 1) % K == 0)


def truncated_mistakes(dh: np.ndarray, cache: list, K: int) -> dict[str, dict[str, np.ndarray]]:
    T = dh.shape[1]
    variants = {
        "it equals full BPTT (rnn_backward): nothing was cut; drop the gradient that would cross a border from "
        "one chunk back into the previous one": bptt(dh, cache),
        "it cuts at every step (no gradient carried back from step t + 1 at all): only the borders between chunks "
        "cut the graph": bptt(dh, cache, carry=False),
        "the cut is one step off: it drops the gradient that step t + 1 sends to step t when t (not t + 1) is a "
        "multiple of K; the border lies between the last step of a chunk (t = cK - 1) and the first step of the "
        "next (t + 1 = cK)": bptt(dh, cache, cut=lambda t: t % K == 0),
        "its chunks are counted from the last step; they start at step 0: steps 0..K-1, K..2K-1, ..., and the last "
        "chunk may be shorter": bptt(dh, cache, cut=lambda t: (T - t - 1) % K == 0 and t < T - 1),
        "the cut is one step off, inside the chunk: the gradient is dropped on its way from step t + 1 to t where "
        "t + 2 is a multiple of K; drop it where t + 1 starts a chunk": bptt(dh, cache, cut=lambda t: (t + 2) % K == 0),
        "at a border it dropped dh[:, t], what the loss reads from that state directly; the loss still reaches every "
        "state, only the gradient carried back from the next chunk is lost":
            bptt(dh, cache, cut=lambda t: (t + 1) % K == 0, drop_direct=True),
    }
    mistakes: dict[str, dict[str, np.ndarray]] = {name: {} for name in SEQUENCE_GRAD_NAMES}
    for advice, grads in variants.items():
        for name, value in grads.items():
            mistakes[name].setdefault(advice, value)
    N, _, H = dh.shape
    mistakes["dh0"]["it is zero: h0 starts the first chunk, and nothing is cut in front of it; dh0 is what the "
                    "first step sends back"] = np.zeros((N, H))
    starts = list(range(0, T, K))
    chunks = [bptt(dh[:, s:s + K], cache[s:s + K]) for s in starts]
    for name in ("dWx", "dWh", "db"):
        mistakes[name].setdefault("it holds the first chunk's terms only: the weights serve every chunk, so their "
                                  "gradients add up over all steps; at a border reset only the gradient carried back "
                                  "(dprev_h)", chunks[0][name])
    mistakes["dh0"].setdefault("it is what the LAST chunk's first step sends back: dh0 belongs to the first chunk, "
                               "the one that starts from h0", chunks[-1]["dh0"])
    last_only = np.zeros((N, T, cache[0][2].shape[0]))
    last_only[:, starts[-1]:] = chunks[-1]["dx"]
    mistakes["dx"].setdefault("it holds the last chunk's steps only, the others are zero: backpropagate every chunk, "
                              "from the last back to the first; at a border drop only the gradient carried back "
                              "(dprev_h), not the chunks before it", last_only)
    mistakes["dx"].setdefault("its chunks are in reverse order: concatenate the chunks' dx from the first chunk to "
                              "the last", np.concatenate([c["dx"] for c in chunks[::-1]], axis=1))
    return mistakes


def probe_truncated(truncated_rnn_backward: Callable[..., Any]) -> dict[str, JSON]:
    results: dict[str, JSON] = {"uses": references(truncated_rnn_backward)}  # before the substitution below
    with substituted(truncated_rnn_backward, rnn_step_backward=reference_step_backward,
                     rnn_backward=reference_rnn_backward):  # judge the truncation, not 4.1 or 4.2
        for case, (dh, cache, K) in truncated_cases().items():
            given = {"dh": dh.copy()}
            results[case], results[f"{case}: kinds"] = call_numpy(truncated_rnn_backward, given["dh"], cache, K)
            results[f"{case}: changed"] = _changed({"dh": dh}, given)
    return results


def judge_truncated(results: dict[str, Any]) -> None:
    refuse(results.get("uses"), LIBRARY_BACKWARD, "work out truncated BPTT yourself (your own 4.1 and 4.2 are fine)")
    for case, (dh, cache, K) in truncated_cases().items():
        call_text = f"truncated_rnn_backward (with {case})"
        grads = _expect_grads(returned(results[case], call_text), SEQUENCE_GRAD_NAMES, call_text)
        _expect_numpy_float64(results[f"{case}: kinds"], SEQUENCE_GRAD_NAMES, call_text, "the comparison with PyTorch")
        (N, T, H), D = dh.shape, cache[0][2].shape[0]
        shapes = {"dx": ((N, T, D), "(N, T, D)"), "dh0": ((N, H), "(N, H)"), "dWx": ((D, H), "(D, H)"),
                  "dWh": ((H, H), "(H, H)"), "db": ((H,), "(H,)")}
        expected = truncated_reference(dh, cache, K)
        _expect_order(grads, expected, call_text)
        mistakes = truncated_mistakes(dh, cache, K)
        for name, value in zip(SEQUENCE_GRAD_NAMES, grads):
            what = f"{name} (with {case})"
            value = expect_tensor(value, what, *shapes[name])
            _expect_close(value, torch.from_numpy(expected[name]), what,
                          {advice: torch.from_numpy(v) for advice, v in mistakes[name].items()})
        _in_place_failure(results[f"{case}: changed"], call_text)


ASSIGNMENT = Assignment("04_bptt_vanishing_gradients", "Backpropagation through time, vanishing and exploding gradients", (
    Exercise("4.1", "the backward pass of one step", ("rnn_step_backward",), probe_step_backward, judge_step_backward),
    Exercise("4.2", "backpropagation through time", ("rnn_backward",), probe_rnn_backward, judge_rnn_backward),
    Exercise("4.3", "a numerical gradient", ("numerical_gradient",), probe_numerical, judge_numerical),
    Exercise("4.4", "the gradient norm at every step", ("gradient_norms",), probe_norms, judge_norms),
    Exercise("4.5", "clipping by global norm", ("clip_grad_norm",), probe_clip, judge_clip),
    Exercise("4.6", "truncated BPTT, by hand", ("truncated_rnn_backward",), probe_truncated, judge_truncated),
))
