r"""Backpropagation through time by hand, in NumPy, with CS231n's interface (``rnn_layers.py``).

The vanilla RNN in CS231n's layout: rows are examples and the weights multiply from the right, so
with ``Wx = W_ih.T``, ``Wh = W_hh.T`` and ``b = b_ih + b_hh`` it is ``torch.nn.RNN``'s step

    next_h = tanh(x @ Wx + prev_h @ Wh + b)        = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)

and its backward pass, with ``da = dnext_h * (1 - next_h**2)`` (tanh' written with the output):

    dx = da @ Wx.T,  dprev_h = da @ Wh.T,  dWx = x.T @ da,  dWh = prev_h.T @ da,  db = da.sum(0)

Over a sequence the gradient reaching ``h[:, t]`` is the upstream ``dh[:, t]`` plus what flows back
from step t + 1, and the weight gradients are sums over the steps. ``numerical_gradient`` and
``rel_error`` check all of it numerically (centred differences; use float64).

Shapes: N examples, T steps, D input features, H hidden units.
"""
from collections.abc import Callable
from typing import Any

import numpy as np

StepCache = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # x, prev_h, Wx, Wh, next_h


def _array(value: Any, name: str) -> np.ndarray:
    if not isinstance(value, np.ndarray):
        raise TypeError(f"expected {name} to be a numpy.ndarray, got {type(value).__name__}")
    return value


def _expect_shape(value: Any, name: str, shape: tuple[int, ...], dims: str) -> None:
    if _array(value, name).shape != shape:
        raise ValueError(f"expected {name} of shape {shape} = {dims}, got {value.shape}")


def _check_weights(Wx: Any, Wh: Any, b: Any) -> tuple[int, int]:
    """(D, H) read from Wx (D, H), after checking that Wh is (H, H) and b is (H,)."""
    if _array(Wx, "Wx").ndim != 2:
        raise ValueError(f"expected Wx of shape (D, H) = (input size, hidden size), got {Wx.shape}")
    D, H = Wx.shape
    _expect_shape(Wh, "Wh", (H, H), "(H, H) with H = Wx.shape[1]")
    _expect_shape(b, "b", (H,), "(H,) with H = Wx.shape[1]")
    return D, H


def rnn_step_forward(x: np.ndarray, prev_h: np.ndarray, Wx: np.ndarray, Wh: np.ndarray,
                     b: np.ndarray) -> tuple[np.ndarray, StepCache]:
    """One step, ``next_h = tanh(x @ Wx + prev_h @ Wh + b)``.

    x: (N, D), prev_h: (N, H), Wx: (D, H), Wh: (H, H), b: (H,)
    -> next_h: (N, H), cache: what :func:`rnn_step_backward` needs (x, prev_h, Wx, Wh, next_h).
    """
    D, H = _check_weights(Wx, Wh, b)
    if _array(x, "x").ndim != 2 or x.shape[1] != D:
        raise ValueError(f"expected x of shape (N, D) = (N, {D}), got {x.shape}")
    _expect_shape(prev_h, "prev_h", (x.shape[0], H), "(N, H) with N = x.shape[0]")
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h: np.ndarray, cache: StepCache) -> tuple[np.ndarray, ...]:
    """The step's backward pass.

    dnext_h: (N, H), the gradient of the loss with respect to next_h; cache: from :func:`rnn_step_forward`
    -> dx: (N, D), dprev_h: (N, H), dWx: (D, H), dWh: (H, H), db: (H,).
    """
    x, prev_h, Wx, Wh, next_h = cache
    _expect_shape(dnext_h, "dnext_h", next_h.shape, "(N, H) like next_h")
    da = dnext_h * (1.0 - next_h ** 2)  # through tanh: tanh'(a) = 1 - tanh(a)^2 = 1 - next_h^2
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def rnn_forward(x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray,
                b: np.ndarray) -> tuple[np.ndarray, list[StepCache]]:
    """The step unrolled over a sequence, starting from h0.

    x: (N, T, D), h0: (N, H), Wx: (D, H), Wh: (H, H), b: (H,)
    -> h: (N, T, H), every hidden state h_1 .. h_T (``h[:, t]`` after reading ``x[:, t]``),
    cache: one step cache per time step.
    """
    D, H = _check_weights(Wx, Wh, b)
    if _array(x, "x").ndim != 3 or x.shape[2] != D or x.shape[1] < 1:
        raise ValueError(f"expected x of shape (N, T, D) = (N, T, {D}) with T >= 1, got {x.shape}")
    _expect_shape(h0, "h0", (x.shape[0], H), "(N, H) with N = x.shape[0]")
    h, cache, prev_h = np.empty(x.shape[:2] + (H,), dtype=np.result_type(x, h0, Wx)), [], h0
    for t in range(x.shape[1]):
        prev_h, step_cache = rnn_step_forward(x[:, t], prev_h, Wx, Wh, b)
        h[:, t] = prev_h
        cache.append(step_cache)
    return h, cache


def rnn_backward(dh: np.ndarray, cache: list[StepCache]) -> tuple[np.ndarray, ...]:
    """Backpropagation through time.

    dh: (N, T, H), the upstream gradient of the loss with respect to every hidden state (e.g. zero
    except ``dh[:, -1]`` for a loss read at the last step); cache: from :func:`rnn_forward`
    -> dx: (N, T, D), dh0: (N, H), dWx: (D, H), dWh: (H, H), db: (H,). ``dh`` is left unchanged.
    """
    if not isinstance(cache, list) or not cache:
        raise ValueError("expected the cache that rnn_forward returned, a list of one step cache per time step, "
                         f"got {'an empty list' if isinstance(cache, list) else 'a ' + type(cache).__name__}")
    x0, _, Wx, Wh, _ = cache[0]
    N, T, (D, H) = x0.shape[0], len(cache), Wx.shape
    _expect_shape(dh, "dh", (N, T, H), "(N, T, H) like the h that rnn_forward returned")
    dx = np.empty((N, T, D), dtype=np.result_type(dh, x0))
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(H, dtype=Wx.dtype)
    dprev_h = np.zeros((N, H), dtype=dh.dtype)
    for t in reversed(range(T)):
        # h[:, t] feeds the loss directly (dh[:, t]) and the next step (dprev_h, from step t + 1)
        dx[:, t], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t] + dprev_h, cache[t])
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, dprev_h, dWx, dWh, db


def numerical_gradient(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, df: np.ndarray,
                       h: float = 1e-5) -> np.ndarray:
    """Centred-difference gradient of ``sum(f(x) * df)`` with respect to ``x`` (CS231n's
    ``eval_numerical_gradient_array``): element by element, ``(f(x + h) - f(x - h)) / 2h`` against ``df``.

    f: a function of x (it may read x from outside: x is changed in place and restored), df: f(x)'s shape
    -> (x.shape). Use float64: in float32 the rounding errors swamp the difference.
    """
    grad = np.zeros_like(_array(x, "x"))
    for index in np.ndindex(x.shape):
        old = x[index]
        x[index] = old + h
        plus = f(x).copy()
        x[index] = old - h
        minus = f(x).copy()
        x[index] = old
        grad[index] = np.sum((plus - minus) * df) / (2 * h)
    return grad


def rel_error(x: np.ndarray, y: np.ndarray) -> float:
    """CS231n's relative error, ``max |x - y| / max(1e-8, |x| + |y|)`` elementwise: below 1e-8 means a
    backward pass agrees with its numerical gradient in float64."""
    if np.shape(x) != np.shape(y):
        raise ValueError(f"expected arrays of the same shape, got {np.shape(x)} and {np.shape(y)}")
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))
