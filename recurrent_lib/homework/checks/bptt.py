r"""Assignment 04, backpropagation through time: checks of the NumPy backward passes, a numerical gradient,
the gradient norm per time step of a torch RNN, and clipping by global norm.

The references are the library's (``recurrent_lib.numpy_rnn``, ``recurrent_lib.gradients``,
``torch.nn.utils.clip_grad_norm_``), which the lesson checks against torch. NumPy answers travel to the
judge as float64 tensors (the probe converts the arrays); the probe also records whether the student's
function changed the arrays it was given, a mistake that leaves the result right and the caller's data wrong.

Each check judges one exercise: ``rnn_backward`` runs with the reference ``rnn_step_backward``, so a mistake
in 4.1 is reported on 4.1 alone. Each hint is a recomputation of the answer with that mistake.
"""
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
from ..feedback import CheckFailure, describe, expect_close, expect_tensor, returned
from ..wire import JSON, Scalar, call, encode

Arrays = dict[str, np.ndarray]
GRAD_NAMES = ("dx", "dprev_h", "dWx", "dWh", "db")
SEQUENCE_GRAD_NAMES = ("dx", "dh0", "dWx", "dWh", "db")
ALIGN_HINT = ("rows are examples: dx = da @ Wx.T, dprev_h = da @ Wh.T, dWx = x.T @ da, dWh = prev_h.T @ da, "
              "db = da.sum(axis=0)")


def _as_torch(value: Any) -> Any:
    """NumPy arrays (also inside tuples and lists) as tensors, so that they travel to the judge."""
    if isinstance(value, np.ndarray) and value.dtype.kind in "fiub":
        return torch.from_numpy(np.array(value))
    if type(value) in (tuple, list):
        return type(value)(_as_torch(item) for item in value)
    return value


def call_numpy(function: Callable[..., Any], *args: Any) -> JSON:
    """``wire.call`` for a function of NumPy arrays."""
    return call(lambda: _as_torch(function(*args)))


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
    return {"dnext_h": dnext_h.copy(), **{name: a.copy() for name, a in zip(("x", "prev_h", "Wx", "Wh", "next_h"), cache)}}


def probe_step_backward(rnn_step_backward: Callable[..., Any]) -> dict[str, JSON]:
    results = {}
    for case, (dnext_h, cache) in step_cases().items():
        given = _copy_step_args(dnext_h, cache)
        before = {name: a.copy() for name, a in given.items()}
        results[case] = call_numpy(rnn_step_backward, given["dnext_h"], tuple(list(given.values())[1:]))
        results[f"{case}: changed"] = _changed(before, given)
    return results


def judge_step_backward(results: dict[str, Any]) -> None:
    for case, (dnext_h, cache) in step_cases().items():
        call_text = f"rnn_step_backward (with {case})"
        grads = _expect_grads(returned(results[case], call_text, ALIGN_HINT), GRAD_NAMES, call_text)
        (N, D), H = cache[0].shape, cache[3].shape[0]
        shapes = {"dx": ((N, D), "(N, D)"), "dprev_h": ((N, H), "(N, H)"), "dWx": ((D, H), "(D, H)"),
                  "dWh": ((H, H), "(H, H)"), "db": ((H,), "(H,)")}
        hints = {"dWx": {(H, D): "that is dWx transposed: dWx = x.T @ da has Wx's shape"},
                 "db": {(N, H): "db sums da over the batch: da.sum(axis=0)"}}
        expected = dict(zip(GRAD_NAMES, reference_step_backward(dnext_h, cache)))
        mistakes = step_mistakes(dnext_h, cache)
        for name, value in zip(GRAD_NAMES, grads):
            what = f"{name} (with {case})"
            shape, dims = shapes[name]
            value = expect_tensor(value, what, shape, dims, hints.get(name))
            expect_close(value, torch.from_numpy(expected[name]), what,
                         {advice: torch.from_numpy(v) for advice, v in mistakes[name].items()}, atol=1e-8, rtol=1e-6)
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


def bptt(dh: np.ndarray, cache: list, *, carry: bool = True, accumulate: bool = True,
         forwards: bool = False) -> dict[str, np.ndarray]:
    """The reference's loop, and with other arguments the common mistakes: no gradient carried from step
    t + 1 (``carry=False``), weights' gradients overwritten instead of added (``accumulate=False``), the
    loop run forward in time (``forwards=True``)."""
    N, T, H = dh.shape
    D = cache[0][2].shape[0]
    dx, dprev_h = np.empty((N, T, D)), np.zeros((N, H))
    dWx, dWh, db = np.zeros((D, H)), np.zeros((H, H)), np.zeros(H)
    for t in (range(T) if forwards else reversed(range(T))):
        dx[:, t], dprev, dWx_t, dWh_t, db_t = reference_step_backward(dh[:, t] + (dprev_h if carry else 0), cache[t])
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
    return mistakes


def probe_rnn_backward(rnn_backward: Callable[..., Any]) -> dict[str, JSON]:
    results = {}
    with substituted(rnn_backward, rnn_step_backward=reference_step_backward):  # judge the loop, not 4.1
        for case, (dh, cache) in sequence_cases().items():
            given = {"dh": dh.copy()}
            results[case] = call_numpy(rnn_backward, given["dh"], cache)
            results[f"{case}: changed"] = _changed({"dh": dh}, given)
    return results


def judge_rnn_backward(results: dict[str, Any]) -> None:
    for case, (dh, cache) in sequence_cases().items():
        call_text = f"rnn_backward (with {case})"
        grads = _expect_grads(returned(results[case], call_text), SEQUENCE_GRAD_NAMES, call_text)
        (N, T, H), D = dh.shape, cache[0][2].shape[0]
        shapes = {"dx": ((N, T, D), "(N, T, D)"), "dh0": ((N, H), "(N, H)"), "dWx": ((D, H), "(D, H)"),
                  "dWh": ((H, H), "(H, H)"), "db": ((H,), "(H,)")}
        hints = {"dx": {(N, D): "that is one step's dx: dx holds every step's, dx[:, t] for t = 0 .. T - 1",
                        (T, N, D): "CS231n's layout is batch first: dx[:, t] is step t, like x"}}
        expected = reference_rnn_backward(dh, cache)
        mistakes = sequence_mistakes(dh, cache)
        for name, value, reference in zip(SEQUENCE_GRAD_NAMES, grads, expected):
            what = f"{name} (with {case})"
            value = expect_tensor(value, what, *shapes[name], hints.get(name))
            expect_close(value, torch.from_numpy(reference), what,
                         {advice: torch.from_numpy(v) for advice, v in mistakes[name].items()}, atol=1e-8, rtol=1e-6)
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
}


def _numerical_function(kind: str, x: np.ndarray, W: np.ndarray, c: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    f = _f(W, c)
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
        "it ignores df: the gradient of sum(f(x) * df) weights f's change by df, np.sum((plus - minus) * df)":
            unweighted,
    }


def probe_numerical(numerical_gradient: Callable[..., Any]) -> dict[str, JSON]:
    results = {}
    for seed, (case, kind) in enumerate(NUMERICAL_CASES.items(), 403):
        x, W, c, df = _gradient_case(seed)
        given = x.copy()
        results[case] = call_numpy(numerical_gradient, _numerical_function(kind, given, W, c), given, df)
        results[f"{case}: changed"] = _changed({"x": x}, {"x": given})
    return results


def judge_numerical(results: dict[str, Any]) -> None:
    for seed, (case, kind) in enumerate(NUMERICAL_CASES.items(), 403):
        x, W, c, df = _gradient_case(seed)
        call_text = f"numerical_gradient (for {case})"
        value = expect_tensor(returned(results[case], call_text), f"the gradient {call_text}", x.shape,
                              "x's shape (3, 4)", {df.shape: "that is f(x)'s shape: the gradient has x's shape"})
        if results[f"{case}: changed"]:
            raise CheckFailure(f"{call_text} left x changed: after nudging an element, put its old value back "
                               f"(x[index] = old) before moving on")
        if kind == "outside" and not value.any():
            raise CheckFailure(f"{call_text} is all zeros: this f ignores its argument and reads x itself, so "
                               f"nudge x in place (x[index] = old + h), not a copy of it")
        expect_close(value, torch.from_numpy(analytic_gradient(x, W, c, df)), f"the gradient {call_text}",
                     {advice: torch.from_numpy(v) for advice, v in numerical_mistakes(x, W, c, df).items()},
                     atol=1e-8, rtol=1e-6)


# ---------------------------------------------------------------- 4.4 gradient norms per time step

NORM_CASES = {"nn.RNN(4, 5), x of shape (6, 3, 4)": (404, 4, 5, (6, 3, 4)),
              "nn.RNN(2, 3), x of shape (1, 1, 2)": (405, 2, 3, (1, 1, 2))}


def _norm_inputs(seed: int, input_size: int, hidden_size: int, shape: tuple[int, ...]) -> tuple[nn.RNN, Tensor]:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        rnn = nn.RNN(input_size, hidden_size)
    return rnn, torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _state_gradients(rnn: nn.RNN, x: Tensor) -> tuple[Tensor, Tensor]:
    """(g (T, N, H): dL/dh_t for L = sum of h_T, h (T, N, H): the states), computed step by step."""
    states, h = [], None
    for x_t in x:
        _, h = rnn(x_t[None], h)
        h.retain_grad()
        states.append(h)
    states[-1].sum().backward()
    return torch.stack([s.grad[0] for s in states]), torch.stack([s[0].detach() for s in states])


def norm_mistakes(rnn: nn.RNN, x: Tensor) -> dict[str, Tensor]:
    g, h = _state_gradients(rnn, x)
    direct = torch.zeros(x.shape[0])
    direct[-1] = g[-1].norm()
    return {
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
    }


def probe_norms(gradient_norms: Callable[..., Any]) -> dict[str, JSON]:
    return {case: call(gradient_norms, *_norm_inputs(*args)) for case, args in NORM_CASES.items()}


def judge_norms(results: dict[str, Any]) -> None:
    for case, args in NORM_CASES.items():
        T = args[3][0]
        what = f"gradient_norms(rnn, x) (for {case})"
        value = returned(results[case], what)
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
    }


def probe_clip(clip_grad_norm: Callable[..., Any]) -> dict[str, JSON]:
    results = {}
    for case, (seed, max_norm, without_grad) in CLIP_CASES.items():
        params = _clip_parameters(seed, without_grad)
        results[case] = call(clip_grad_norm, params, max_norm)
        results[f"{case}: grads"] = encode(_grads(params))
    return results


def _returned_norm(value: Any, what: str) -> float:
    if isinstance(value, Tensor) and value.numel() == 1 and value.is_floating_point():
        return value.item()
    if isinstance(value, Scalar) and type(value.value) in (int, float):
        return float(value.value)
    if type(value) in (int, float):
        return float(value)
    raise CheckFailure(f"expected {what} to return the total norm (a float or a one-element tensor), got "
                       f"{describe(value)}")


def judge_clip(results: dict[str, Any]) -> None:
    for case, (seed, max_norm, without_grad) in CLIP_CASES.items():
        what = f"clip_grad_norm(parameters, {max_norm}) (with {case})"
        norm = _returned_norm(returned(results[case], what), what)
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


ASSIGNMENT = Assignment("04_bptt_vanishing_gradients", "Backpropagation through time, vanishing and exploding gradients", (
    Exercise("4.1", "the backward pass of one step", ("rnn_step_backward",), probe_step_backward, judge_step_backward),
    Exercise("4.2", "backpropagation through time", ("rnn_backward",), probe_rnn_backward, judge_rnn_backward),
    Exercise("4.3", "a numerical gradient", ("numerical_gradient",), probe_numerical, judge_numerical),
    Exercise("4.4", "the gradient norm at every step", ("gradient_norms",), probe_norms, judge_norms),
    Exercise("4.5", "clipping by global norm", ("clip_grad_norm",), probe_clip, judge_clip),
))
