"""Homework 04's feedback, in process: for every typical mistake a function that makes it, and the
diagnosis the check must give; and the references' agreement with the library and torch."""
import re

import numpy as np
import pytest
import torch
from torch import nn

from recurrent_lib.gradients import state_gradient_norms
from recurrent_lib.homework import CheckFailure, check
from recurrent_lib.numpy_rnn import numerical_gradient, rnn_backward, rnn_step_backward


def failure(exercise_id: str, *objects) -> str:
    """The message of the check's failure (the test fails if the check passes)."""
    with pytest.raises(CheckFailure) as caught:
        check(exercise_id, *objects)
    return str(caught.value)


def clip_grad_norm(parameters, max_norm):
    return nn.utils.clip_grad_norm_(parameters, max_norm).item()


@pytest.mark.parametrize("exercise_id, answer", [
    ("4.1", rnn_step_backward), ("4.2", rnn_backward), ("4.3", numerical_gradient),
    ("4.4", state_gradient_norms), ("4.5", clip_grad_norm),
])
def test_the_library_and_torch_pass(exercise_id, answer, capsys):
    check(exercise_id, answer)
    assert "✓" in capsys.readouterr().out


# ------------------------------------------------------------- 4.1 one step

def step_backward(derivative=lambda h: 1 - h ** 2, dWx_T=False, dWh_T=False, Wh_T=True, sum_db=True, in_place=False):
    def rnn_step_backward(dnext_h, cache):
        x, prev_h, Wx, Wh, next_h = cache
        if in_place:
            dnext_h *= derivative(next_h)
            da = dnext_h
        else:
            da = dnext_h * derivative(next_h)
        dWx = da.T @ x if dWx_T else x.T @ da
        dWh = da.T @ prev_h if dWh_T else prev_h.T @ da
        return da @ Wx.T, da @ (Wh.T if Wh_T else Wh), dWx, dWh, da.sum(axis=0) if sum_db else da
    return rnn_step_backward


@pytest.mark.parametrize("mistake, expected", [
    (dict(derivative=lambda h: 1 - h), r"da = dnext_h \* \(1 - next_h\), that is 1 - tanh\(a\)"),
    (dict(derivative=lambda h: 1 - np.tanh(h) ** 2), r"next_h is already tanh\(a\)"),
    (dict(derivative=lambda h: h * (1 - h)), r"the derivative of sigmoid"),
    (dict(derivative=lambda h: 1), r"without the derivative of tanh"),
    (dict(dWx_T=True), r"expected dWx \(with N 3, D 4, H 5\) of shape \(4, 5\) = \(D, H\), got \(5, 4\): that is dWx transposed"),
    (dict(dWh_T=True), r"dWh \(with N 3, D 4, H 5\) is wrong: it is transposed \(da.T @ prev_h\)"),
    (dict(Wh_T=False), r"dprev_h \(with N 3, D 4, H 5\) is wrong: it equals da @ Wh: dprev_h = da @ Wh.T"),
    (dict(sum_db=False), r"expected db .* of shape \(5,\) = \(H,\), got \(3, 5\): db sums da over the batch"),
    (dict(in_place=True), r"returned the right values but changed the caller's dnext_h in place"),
])
def test_step_backward_mistakes_are_named(mistake, expected):
    assert re.search(expected, failure("4.1", step_backward(**mistake)))


def test_step_backward_with_a_transposed_dWx_of_square_shape_is_named_by_value():
    def answer(dnext_h, cache):
        dx, dprev_h, dWx, dWh, db = rnn_step_backward(dnext_h, cache)
        return dx, dprev_h, dWx if dWx.shape[0] != dWx.shape[1] else dWx.T, dWh, db
    assert "dWx (with N 2, D 3, H 3) is wrong: it is transposed (da.T @ x)" in failure("4.1", answer)


def test_step_backward_returning_the_wrong_number_of_things_or_raising_is_reported():
    assert "expected rnn_step_backward (with N 3, D 4, H 5) to return a tuple of 5, (dx, dprev_h, dWx, dWh, db), got 3 items" \
        in failure("4.1", lambda dnext_h, cache: rnn_step_backward(dnext_h, cache)[:3])

    def misaligned(dnext_h, cache):
        x, prev_h, Wx, Wh, next_h = cache
        return (dnext_h * (1 - next_h ** 2)) @ Wx, None, None, None, None
    message = failure("4.1", misaligned)
    assert "raised ValueError" in message and "rows are examples: dx = da @ Wx.T" in message


# ------------------------------------------------------------- 4.2 the sequence

def sequence_backward(carry=True, accumulate=True, forwards=False, in_place=False, zero_dh0=False):
    def answer(dh, cache):
        N, T, H = dh.shape
        D = cache[0][0].shape[1]
        dx, dprev_h = np.zeros((N, T, D)), np.zeros((N, H))
        dWx, dWh, db = np.zeros((D, H)), np.zeros((H, H)), np.zeros(H)
        for t in (range(T) if forwards else reversed(range(T))):
            if in_place:
                dh[:, t] += dprev_h
                upstream = dh[:, t]
            else:
                upstream = dh[:, t] + dprev_h if carry else dh[:, t]
            dx[:, t], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(upstream, cache[t])
            if accumulate:
                dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
            else:
                dWx, dWh, db = dWx_t, dWh_t, db_t
        return dx, np.zeros((N, H)) if zero_dh0 else dprev_h, dWx, dWh, db
    return answer


@pytest.mark.parametrize("mistake, expected", [
    (dict(carry=False), "dx (with N 2, T 4, D 3, H 5) is wrong: it equals the result without the gradient from the next step"),
    (dict(accumulate=False), "dWx (with N 2, T 4, D 3, H 5) is wrong: it is the term of one step only: the same weights "
                             "serve every step, so add up (+=) the terms of all steps"),
    (dict(forwards=True), "it equals the result of a loop that runs forward in time"),
    (dict(zero_dh0=True), "dh0 (with N 2, T 4, D 3, H 5) is wrong: it is zero"),
    (dict(in_place=True), "returned the right values but changed the caller's dh in place"),
])
def test_rnn_backward_mistakes_are_named(mistake, expected):
    assert expected in failure("4.2", sequence_backward(**mistake))


def test_rnn_backward_is_judged_with_the_reference_step():
    """A mistake in the student's rnn_step_backward (4.1) does not fail 4.2, which substitutes the reference;
    the student's own function is put back afterwards."""
    wrong_step = step_backward(derivative=lambda h: 1 - h)
    namespace = {"np": np, "rnn_step_backward": wrong_step}
    exec("def rnn_backward(dh, cache):\n"
         "    N, T, H = dh.shape\n"
         "    dx, dprev_h = np.zeros((N, T, cache[0][0].shape[1])), np.zeros((N, H))\n"
         "    dWx, dWh, db = 0, 0, 0\n"
         "    for t in reversed(range(T)):\n"
         "        dx[:, t], dprev_h, a, b_, c = rnn_step_backward(dh[:, t] + dprev_h, cache[t])\n"
         "        dWx, dWh, db = dWx + a, dWh + b_, db + c\n"
         "    return dx, dprev_h, dWx, dWh, db\n", namespace)
    check("4.2", namespace["rnn_backward"])
    assert namespace["rnn_step_backward"] is wrong_step


# ------------------------------------------------------------- 4.3 the numerical gradient

def numeric(difference="centred", divide=2, weighted=True, restore=True, copy_x=False):
    def numerical_gradient(f, x, df, h=1e-5):
        grad = np.zeros_like(x)
        target = x.copy() if copy_x else x
        for index in np.ndindex(x.shape):
            old = target[index]
            target[index] = old + h
            plus = f(target).copy()
            target[index] = old - h if difference == "centred" else old
            minus = f(target).copy()
            if restore:
                target[index] = old
            weights = df if weighted else 1
            grad[index] = np.sum((plus - minus) * weights) / ((divide if difference == "centred" else 1) * h)
        return grad
    return numerical_gradient


@pytest.mark.parametrize("mistake, expected", [
    (dict(difference="forward"), "it equals the one-sided difference (f(x + h) - f(x)) / h"),
    (dict(divide=1), "it is twice the gradient: the centred difference spans 2 * h"),
    (dict(divide=4), "it is half the gradient"),
    (dict(weighted=False), "it ignores df"),
    (dict(restore=False), "left x changed: after nudging an element, put its old value back"),
    (dict(copy_x=True), "is all zeros: this f ignores its argument and reads x itself, so nudge x in place"),
])
def test_numerical_gradient_mistakes_are_named(mistake, expected):
    assert expected in failure("4.3", numeric(**mistake))


def test_nudging_by_plus_h_and_back_is_not_taken_for_a_changed_x():
    def numerical_gradient(f, x, df, h=1e-5):
        grad = np.zeros_like(x)
        for index in np.ndindex(x.shape):
            x[index] += h
            plus = f(x).copy()
            x[index] -= 2 * h
            minus = f(x).copy()
            x[index] += h                      # back, up to the last bit
            grad[index] = np.sum((plus - minus) * df) / (2 * h)
        return grad
    check("4.3", numerical_gradient)


# ------------------------------------------------------------- 4.4 gradient norms per step

def norms_with(mistake):
    def gradient_norms(rnn, x):
        if mistake == "output.grad":
            output, _ = rnn(x)
            output.retain_grad()
            output[-1].sum().backward()
            return output.grad.flatten(1).norm(dim=1)
        states, h = [], None
        for x_t in x:
            _, h = rnn(x_t[None], h)
            h.retain_grad()
            states.append(h)
        h.sum().backward()
        if mistake == "reversed":
            return torch.stack([s.grad.norm() for s in states[::-1]])
        if mistake == "states":
            return torch.stack([s.detach().norm() for s in states])
        if mistake == "mean of rows":
            return torch.stack([s.grad[0].norm(dim=1).mean() for s in states])
        if mistake == "list":
            return [s.grad.norm() for s in states]
        raise ValueError(mistake)
    return gradient_norms


@pytest.mark.parametrize("mistake, expected", [
    ("output.grad", "it is zero before the last step: that is output.grad"),
    ("reversed", "it is in reverse order"),
    ("states", "it holds the norms of the states h_t, not of their gradients"),
    ("mean of rows", "it is the mean over the batch of each row's norm"),
    ("list", "expected gradient_norms(rnn, x) (for nn.RNN(4, 5), x of shape (6, 3, 4)) to be a torch.Tensor of shape "
             "(6,), got a list: torch.stack the norms"),
])
def test_gradient_norm_mistakes_are_named(mistake, expected):
    assert expected in failure("4.4", norms_with(mistake))


# ------------------------------------------------------------- 4.5 clipping by global norm

def clipping(mistake):
    def clip_grad_norm(parameters, max_norm):
        params = [p for p in parameters if p.grad is not None]
        norms = [p.grad.norm() for p in params]
        total = torch.sqrt(sum(n ** 2 for n in norms))
        if mistake == "per parameter":
            for p, n in zip(params, norms):
                if n > max_norm:
                    p.grad.mul_(max_norm / (n + 1e-6))
        elif mistake == "always":
            for p in params:
                p.grad.mul_(max_norm / (total + 1e-6))
        elif mistake == "by value":
            for p in params:
                p.grad.clamp_(-max_norm, max_norm)
        elif mistake == "not in place":
            for p in params:
                p.grad * min(1.0, max_norm / (total.item() + 1e-6))
        elif mistake == "sum of norms":
            total = sum(norms)
            for p in params:
                p.grad.mul_(min(1.0, max_norm / (total.item() + 1e-6)))
        elif mistake in ("norm after", "touches None"):
            for p in params:
                p.grad.mul_(min(1.0, max_norm / (total.item() + 1e-6)))
            if mistake == "norm after":
                return torch.sqrt(sum(p.grad.norm() ** 2 for p in params)).item()
            for p in parameters:
                if p.grad is None:
                    p.grad = torch.zeros_like(p)
        return total.item()
    return lambda parameters, max_norm: clip_grad_norm(list(parameters), max_norm)


@pytest.mark.parametrize("mistake, expected", [
    ("per parameter", "each parameter was clipped on its own"),
    ("always", "the gradients were scaled up to max_norm: scale only when the total norm exceeds max_norm"),
    ("by value", "clipped element by element, by value"),
    ("not in place", "the gradients were not changed: scale each p.grad in place"),
    ("sum of norms", "not the sum of the parameters' norms"),
    ("norm after", "returned 1, the norm after clipping: return the total norm before clipping (13)"),
    ("touches None", "the parameter without a gradient now has one: skip parameters whose .grad is None"),
])
def test_clipping_mistakes_are_named(mistake, expected):
    assert expected in failure("4.5", clipping(mistake))
