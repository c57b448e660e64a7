"""Homework 04's feedback, in process: for every typical mistake a function that makes it, and the
diagnosis the check must give; correct answers (also unusual ones) pass; the library's and PyTorch's own
versions are refused (the shortcut rule); and the references agree with the library and torch."""
import re

import numpy as np
import pytest
import torch
from torch import nn

from recurrent_lib.gradients import state_gradient_norms
from recurrent_lib.homework import CheckFailure, check
from recurrent_lib.homework.checks.bptt import truncated_cases, truncated_reference
from recurrent_lib.numpy_rnn import numerical_gradient as library_numerical_gradient
from recurrent_lib.numpy_rnn import rnn_backward as library_rnn_backward
from recurrent_lib.numpy_rnn import rnn_forward
from recurrent_lib.numpy_rnn import rnn_step_backward as library_rnn_step_backward


def failure(exercise_id: str, *objects) -> str:
    """The message of the check's failure (the test fails if the check passes)."""
    with pytest.raises(CheckFailure) as caught:
        check(exercise_id, *objects)
    return str(caught.value)


# ------------------------------------------------------------- correct answers, written as a student would

def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h ** 2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def rnn_backward(dh, cache):
    N, T, H = dh.shape
    D = cache[0][0].shape[1]
    dx, dprev_h = np.zeros((N, T, D)), np.zeros((N, H))
    dWx, dWh, db = np.zeros((D, H)), np.zeros((H, H)), np.zeros(H)
    for t in reversed(range(T)):
        dx[:, t], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t] + dprev_h, cache[t])
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    return dx, dprev_h, dWx, dWh, db


def numerical_gradient(f, x, df, h=1e-5):
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        old = x[index]
        x[index] = old + h
        plus = f(x).copy()
        x[index] = old - h
        minus = f(x).copy()
        x[index] = old
        grad[index] = np.sum((plus - minus) * df) / (2 * h)
    return grad


def gradient_norms(rnn, x):
    states, h = [], None
    for x_t in x:
        _, h = rnn(x_t[None], h)
        h.retain_grad()
        states.append(h)
    h.sum().backward()
    return torch.stack([state.grad.norm() for state in states])


def clip_grad_norm(parameters, max_norm):
    grads = [p.grad for p in list(parameters) if p.grad is not None]
    total = torch.sqrt(sum((g ** 2).sum() for g in grads))
    if total > max_norm:
        for g in grads:
            g.mul_(max_norm / (total + 1e-6))
    return total.item()


def truncated_with(cut, drop_direct=False, zero_dh0=False):
    """4.6 written with the gradient from step t + 1 cut where cut(t, T, K) (right: (t + 1) % K == 0), and
    optionally two other slips: the border's own dh dropped, dh0 zeroed."""
    def truncated_rnn_backward(dh, cache, K):
        N, T, H = dh.shape
        D = cache[0][0].shape[1]
        dx, dprev_h = np.zeros((N, T, D)), np.zeros((N, H))
        dWx, dWh, db = np.zeros((D, H)), np.zeros((H, H)), np.zeros(H)
        for t in reversed(range(T)):
            direct = dh[:, t]
            if cut(t, T, K):
                if drop_direct:
                    direct = np.zeros((N, H))
                else:
                    dprev_h = np.zeros((N, H))
            dx[:, t], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(direct + dprev_h, cache[t])
            dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
        return dx, np.zeros((N, H)) if zero_dh0 else dprev_h, dWx, dWh, db
    return truncated_rnn_backward


truncated_rnn_backward = truncated_with(lambda t, T, K: (t + 1) % K == 0)


def truncated_by_chunks(dh, cache, K):
    """An unusual correct 4.6: the student's own rnn_backward on every chunk, the chunk's dh0 dropped."""
    T = dh.shape[1]
    chunks = [rnn_backward(dh[:, s:s + K], cache[s:s + K]) for s in range(0, T, K)]
    dx = np.concatenate([chunk[0] for chunk in chunks], axis=1)
    return (dx, chunks[0][1], sum(c[2] for c in chunks), sum(c[3] for c in chunks), sum(c[4] for c in chunks))


@pytest.mark.parametrize("exercise_id, answer", [
    ("4.1", rnn_step_backward), ("4.2", rnn_backward), ("4.3", numerical_gradient), ("4.4", gradient_norms),
    ("4.5", clip_grad_norm), ("4.6", truncated_rnn_backward), ("4.6", truncated_by_chunks),
    ("4.5", lambda parameters, max_norm: np.float64(clip_grad_norm(parameters, max_norm))),   # a numpy float
    ("4.4", lambda rnn, x: gradient_norms(rnn, x).double()),                                   # float64 norms
])
def test_correct_answers_pass(exercise_id, answer, capsys):
    check(exercise_id, answer)
    assert "✓" in capsys.readouterr().out


def test_the_truncated_reference_is_pytorch_with_detach_between_chunks():
    for dh, cache, K in truncated_cases().values():
        x = np.stack([step[0] for step in cache], axis=1)
        h0, Wx, Wh = cache[0][1], cache[0][2], cache[0][3]
        b = np.arctanh(cache[0][4]) - x[:, 0] @ Wx - h0 @ Wh        # recovered from the first step
        rnn = nn.RNN(Wx.shape[0], Wx.shape[1], batch_first=True, dtype=torch.float64)
        with torch.no_grad():
            rnn.weight_ih_l0.copy_(torch.from_numpy(Wx.T))
            rnn.weight_hh_l0.copy_(torch.from_numpy(Wh.T))
            rnn.bias_ih_l0.copy_(torch.from_numpy(b[0]))
            rnn.bias_hh_l0.zero_()
        xs = torch.from_numpy(x).requires_grad_()
        h = torch.from_numpy(h0)[None].requires_grad_()
        h_start, loss = h, 0
        for s in range(0, x.shape[1], K):
            out, h = rnn(xs[:, s:s + K], h)
            loss = loss + (out * torch.from_numpy(dh[:, s:s + K])).sum()
            h = h.detach()
        loss.backward()
        ours = truncated_reference(dh, cache, K)
        torch.testing.assert_close(torch.from_numpy(ours["dx"]), xs.grad)
        torch.testing.assert_close(torch.from_numpy(ours["dh0"]), h_start.grad[0])
        torch.testing.assert_close(torch.from_numpy(ours["dWh"]), rnn.weight_hh_l0.grad.T)


# ------------------------------------------------------------- the shortcut rule

@pytest.mark.parametrize("exercise_id, answer, words", [
    ("4.1", library_rnn_step_backward, "your code calls the library's rnn_step_backward"),
    ("4.1", lambda dnext_h, cache: library_rnn_step_backward(dnext_h, cache), "the library's rnn_step_backward"),
    ("4.2", library_rnn_backward, "your code calls the library's rnn_backward"),
    ("4.3", library_numerical_gradient, "the library's numerical_gradient"),
    ("4.4", state_gradient_norms, "recurrent_lib.gradients (the lesson's probe)"),
    ("4.5", lambda parameters, max_norm: nn.utils.clip_grad_norm_(parameters, max_norm).item(),
     "nn.utils.clip_grad_norm_"),
    ("4.6", lambda dh, cache, K: library_rnn_backward(dh, cache), "the library's rnn_backward"),
])
def test_the_library_and_torch_are_refused_where_the_text_says_write_it_yourself(exercise_id, answer, words):
    message = failure(exercise_id, answer)
    assert words in message and "scores zero here" in message


# ------------------------------------------------------------- 4.1 one step

def step_backward(derivative=lambda h: 1 - h ** 2, dWx_T=False, dWh_T=False, Wh_T=True, sum_db=True, in_place=False,
                  as_torch=False, dtype=None, order=(0, 1, 2, 3, 4)):
    def rnn_step_backward(dnext_h, cache):
        x, prev_h, Wx, Wh, next_h = cache
        if in_place:
            dnext_h *= derivative(next_h)
            da = dnext_h
        else:
            da = dnext_h * derivative(next_h)
        dWx = da.T @ x if dWx_T else x.T @ da
        dWh = da.T @ prev_h if dWh_T else prev_h.T @ da
        grads = (da @ Wx.T, da @ (Wh.T if Wh_T else Wh), dWx, dWh, da.sum(axis=0) if sum_db else da)
        if dtype is not None:
            grads = tuple(g.astype(dtype) for g in grads)
        if as_torch:
            grads = tuple(torch.from_numpy(g) for g in grads)
        return tuple(grads[k] for k in order)
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
    (dict(as_torch=True), r"returned dx as a torch.Tensor: this exercise works in NumPy.*return NumPy arrays"),
    (dict(dtype=np.float32), r"returned dx of dtype float32: compute in float64.*float32's rounding"),
    (dict(order=(1, 0, 2, 3, 4)), r"the right gradients in another order, \(dprev_h, dx, dWx, dWh, db\): return them "
                                  r"in the order \(dx, dprev_h, dWx, dWh, db\)"),
    (dict(order=(2, 3, 4, 0, 1)), r"in another order, \(dWx, dWh, db, dx, dprev_h\)"),
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


def test_a_small_numerical_slip_is_reported_with_its_relative_error_not_as_zero():
    def slightly_off(dnext_h, cache):
        dx, dprev_h, dWx, dWh, db = rnn_step_backward(dnext_h, cache)
        return dx * (1 + 1e-5), dprev_h, dWx, dWh, db
    message = failure("4.1", slightly_off)
    assert "norm-wise relative error 5.0e-06" in message and "0.0000" not in message


# ------------------------------------------------------------- 4.2 the sequence

def sequence_backward(carry=True, accumulate=True, forwards=False, in_place=False, zero_dh0=False, steps="all",
                      cache_shift=0, dh0_is_dh0=False, as_torch=False, dtype=np.float64, garbage=False):
    def answer(dh, cache):
        N, T, H = dh.shape
        D = cache[0][0].shape[1]
        dx = np.full((N, T, D), 7.0) if garbage else np.zeros((N, T, D), dtype=dtype)   # garbage: like np.empty
        dprev_h = np.zeros((N, H))
        dWx, dWh, db = np.zeros((D, H)), np.zeros((H, H)), np.zeros(H)
        order = {"all": reversed(range(T)), "skip last": reversed(range(T - 1)), "skip first": range(T - 1, 0, -1),
                 }[steps] if not forwards else range(T)
        for t in order:
            if in_place:
                dh[:, t] += dprev_h
                upstream = dh[:, t]
            else:
                upstream = dh[:, t] + dprev_h if carry else dh[:, t]
            dx[:, t], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(upstream, cache[t + cache_shift])
            if accumulate:
                dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
            else:
                dWx, dWh, db = dWx_t, dWh_t, db_t
        dh0 = np.zeros((N, H)) if zero_dh0 else dh[:, 0] if dh0_is_dh0 else dprev_h
        grads = (dx, dh0, dWx, dWh, db)
        return tuple(torch.from_numpy(g) for g in grads) if as_torch else grads
    return answer


@pytest.mark.parametrize("mistake, expected", [
    (dict(carry=False), "dx (with N 2, T 4, D 3, H 5) is wrong: it equals the result without the gradient from the next step"),
    (dict(accumulate=False), "dWx (with N 2, T 4, D 3, H 5) is wrong: it is the term of one step only: the same weights "
                             "serve every step, so add up (+=) the terms of all steps"),
    (dict(forwards=True), "it equals the result of a loop that runs forward in time"),
    (dict(zero_dh0=True), "dh0 (with N 2, T 4, D 3, H 5) is wrong: it is zero"),
    (dict(in_place=True), "returned the right values but changed the caller's dh in place"),
    (dict(steps="skip last"), "dx (with N 2, T 4, D 3, H 5) is wrong: the loop skips the last step: dx[:, T-1] is zero"),
    (dict(steps="skip first"), "the loop stops before the first step: dx[:, 0] is zero"),
    (dict(steps="skip last", garbage=True), "the loop skips the last step: dx[:, T-1] is not computed"),
    (dict(steps="skip first", garbage=True), "the loop stops before the first step: dx[:, 0] is not computed"),
    (dict(cache_shift=-1), "it uses cache[t - 1] at step t: step t's backward pass needs its own cache, cache[t]"),
    (dict(dh0_is_dh0=True), "dh0 (with N 2, T 4, D 3, H 5) is wrong: it equals dh[:, 0], what the loss sends to h_1 "
                            "directly: dh0 is the gradient with respect to the initial state h0"),
    (dict(as_torch=True), "returned dx as a torch.Tensor: this exercise works in NumPy"),
    (dict(dtype=np.float32), "returned dx of dtype float32: compute in float64"),
])
def test_rnn_backward_mistakes_are_named(mistake, expected):
    assert expected in failure("4.2", sequence_backward(**mistake))


def test_rnn_backward_in_another_order_is_named():
    def answer(dh, cache):
        dx, dh0, dWx, dWh, db = rnn_backward(dh, cache)
        return dx, dWx, dWh, db, dh0
    assert "the right gradients in another order, (dx, dWx, dWh, db, dh0): return them in the order " \
           "(dx, dh0, dWx, dWh, db)" in failure("4.2", answer)


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

def numeric(difference="centred", divide=2, weighted=True, restore=True, copy_x=False, step=None):
    def numerical_gradient(f, x, df, h=1e-5):
        h = step or h
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
    (dict(step=1e-2), "it matches the centred difference with h = 0.01: use the step h you are given (default 1e-5)"),
    (dict(step=1e-3), "it matches the centred difference with h = 0.001: use the step h you are given"),
    (dict(step=1e-10), "it matches the centred difference with h = 1e-10: use the step h you are given"),
])
def test_numerical_gradient_mistakes_are_named(mistake, expected):
    message = failure("4.3", numeric(**mistake))
    assert expected in message and "0.0000" not in message


def test_a_wrong_step_size_is_reported_with_its_relative_error():
    message = failure("4.3", numeric(step=1e-3))
    assert re.search(r"norm-wise relative error \d\.\de-0[5-8] \(the centred difference with h = 1e-5 gives about 1e-10\)",
                     message)


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
        states, h = [], torch.zeros(x.shape[1], rnn.hidden_size) if mistake == "h0 (N, H)" else None
        for x_t in x:
            _, h = rnn(x_t[None], h)
            if mistake not in ("no retain_grad", "None as zero"):
                h.retain_grad()
            states.append(h)
            if mistake == "detached":
                h = h.detach()
        states[-1].sum().backward()
        if mistake == "None as zero":
            return torch.stack([s.grad.norm() if s.grad is not None else torch.tensor(0.0) for s in states])
        if mistake == "reversed":
            return torch.stack([s.grad.norm() for s in states[::-1]])
        if mistake == "states":
            return torch.stack([s.detach().norm() for s in states])
        if mistake == "mean of rows":
            return torch.stack([s.grad[0].norm(dim=1).mean() for s in states])
        if mistake == "list":
            return [s.grad.norm() for s in states]
        return torch.stack([s.grad.norm() for s in states])
    return gradient_norms


GRAD_NONE_WORDS = "`.grad` is None: autograd keeps the gradient of a state (a non-leaf tensor) only when asked: call " \
                  "h.retain_grad() on every state you keep, and don't detach"


@pytest.mark.parametrize("mistake, expected", [
    ("output.grad", "it is zero before the last step: that is output.grad"),
    ("reversed", "it is in reverse order"),
    ("states", "it holds the norms of the states h_t, not of their gradients"),
    ("mean of rows", "it is the mean over the batch of each row's norm"),
    ("list", "expected gradient_norms(rnn, x) (for nn.RNN(4, 5), x of shape (6, 3, 4)) to be a torch.Tensor of shape "
             "(6,), got a list: torch.stack the norms"),
    ("no retain_grad", GRAD_NONE_WORDS),
    ("detached", GRAD_NONE_WORDS),
    ("None as zero", "read .grad of a state that autograd did not keep (PyTorch warned about a non-leaf tensor): "
                     + GRAD_NONE_WORDS),
    ("h0 (N, H)", "nn.RNN's state has shape (num_layers, N, H) = (1, N, H), not (N, H): start from the zero state with "
                  "h = None"),
])
def test_gradient_norm_mistakes_are_named(mistake, expected, capsys):
    assert expected in failure("4.4", norms_with(mistake))
    assert "UserWarning" not in capsys.readouterr().err            # the check speaks, not PyTorch's raw warning


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
        elif mistake in ("norm after", "touches None", "tensor"):
            for p in params:
                p.grad.mul_(min(1.0, max_norm / (total.item() + 1e-6)))
            if mistake == "norm after":
                return torch.sqrt(sum(p.grad.norm() ** 2 for p in params)).item()
            if mistake == "tensor":
                return total
            for p in parameters:
                if p.grad is None:
                    p.grad = torch.zeros_like(p)
        return total.item()
    return lambda parameters, max_norm: clip_grad_norm(list(parameters), max_norm)


def iterates_twice(parameters, max_norm):
    total = torch.sqrt(sum((p.grad ** 2).sum() for p in parameters if p.grad is not None))
    if total > max_norm:
        for p in parameters:                    # a generator is empty by now
            if p.grad is not None:
                p.grad.mul_(max_norm / (total + 1e-6))
    return total.item()


def indexes_the_parameters(parameters, max_norm):
    for k in range(len(parameters)):
        pass
    return clip_grad_norm(parameters, max_norm)


@pytest.mark.parametrize("answer, expected", [
    (clipping("per parameter"), "each parameter was clipped on its own"),
    (clipping("always"), "the gradients were scaled up to max_norm: scale only when the total norm exceeds max_norm"),
    (clipping("by value"), "clipped element by element, by value"),
    (clipping("not in place"), "the gradients were not changed: scale each p.grad in place"),
    (clipping("sum of norms"), "not the sum of the parameters' norms"),
    (clipping("norm after"), "returned 1, the norm after clipping: return the total norm before clipping (13)"),
    (clipping("touches None"), "the parameter without a gradient now has one: skip parameters whose .grad is None"),
    (clipping("tensor"), "to return the total norm as a Python float, got a Tensor of shape (): return total.item()"),
    (iterates_twice, "with a list of parameters your function is right, with a generator it is not (the gradients were "
                     "not clipped): a generator such as model.parameters() can be iterated only once, so a second loop "
                     "over it sees nothing (clip_grad_norm_'s own trap): make a list first"),
    (indexes_the_parameters, "which has no len() and no indexing: make a list first, parameters = list(parameters)"),
])
def test_clipping_mistakes_are_named(answer, expected):
    assert expected in failure("4.5", answer)


# ------------------------------------------------------------- 4.6 truncated BPTT

@pytest.mark.parametrize("answer, expected", [
    (truncated_with(lambda t, T, K: False), "dx (with N 2, T 6, D 3, H 4, K 3) is wrong: it equals full BPTT "
                                            "(rnn_backward): nothing was cut"),
    (truncated_with(lambda t, T, K: True), "it cuts at every step (no gradient carried back from step t + 1 at all)"),
    (truncated_with(lambda t, T, K: t % K == 0), "the cut is one step off: it drops the gradient that step t + 1 sends "
                                                 "to step t when t (not t + 1) is a multiple of K"),
    (truncated_with(lambda t, T, K: (t + 2) % K == 0), "the cut is one step off, inside the chunk"),
    (truncated_with(lambda t, T, K: (t + 1) % K == 0, drop_direct=True),
     "at a border it dropped dh[:, t], what the loss reads from that state directly"),
    (truncated_with(lambda t, T, K: (T - t - 1) % K == 0), "(with N 2, T 6, D 2, H 3, K 4) is wrong: its chunks are "
                                                           "counted from the last step; they start at step 0"),
    (truncated_with(lambda t, T, K: (t + 1) % K == 0, zero_dh0=True),
     "dh0 (with N 2, T 6, D 3, H 4, K 3) is wrong: it is zero: h0 starts the first chunk, and nothing is cut in front of it"),
    (lambda dh, cache, K: tuple(torch.from_numpy(g) for g in truncated_rnn_backward(dh, cache, K)),
     "returned dx as a torch.Tensor"),
])
def test_truncated_mistakes_are_named(answer, expected):
    assert expected in failure("4.6", answer)


def test_truncated_is_judged_with_the_reference_step_and_sequence():
    wrong_step = step_backward(derivative=lambda h: 1 - h)
    namespace = {"np": np, "rnn_step_backward": wrong_step, "rnn_backward": lambda dh, cache: None}
    exec("def truncated_rnn_backward(dh, cache, K):\n"
         "    chunks = [rnn_backward(dh[:, s:s + K], cache[s:s + K]) for s in range(0, dh.shape[1], K)]\n"
         "    dx = np.concatenate([c[0] for c in chunks], axis=1)\n"
         "    return dx, chunks[0][1], sum(c[2] for c in chunks), sum(c[3] for c in chunks), sum(c[4] for c in chunks)\n",
         namespace)
    check("4.6", namespace["truncated_rnn_backward"])
    assert namespace["rnn_step_backward"] is wrong_step


# ------------------------------------------------------------- every exercise

@pytest.mark.parametrize("exercise_id", ["4.1", "4.2", "4.3", "4.4", "4.5", "4.6"])
def test_a_stub_is_not_implemented_yet(exercise_id):
    def stub(*args):
        raise NotImplementedError()
    assert "not implemented yet" in failure(exercise_id, stub)


@pytest.mark.parametrize("exercise_id", ["4.1", "4.2", "4.3", "4.4", "4.5", "4.6"])
def test_printing_instead_of_returning_is_not_full_marks(exercise_id):
    assert "None" in failure(exercise_id, lambda *args: print("done"))


# ------------------------------------------------------------- a second battery of mistakes (issue 25)

def sequence_with(loop="reversed", dx_like_dh=False, index_time=True, start_with_last=False, reverse_dx=False,
                  mean=False):
    def rnn_backward(dh, cache):
        N, T, H = dh.shape
        D = cache[0][0].shape[1]
        dx = np.zeros_like(dh) if dx_like_dh else np.zeros((N, T, D))
        dprev_h = dh[:, -1].copy() if start_with_last else np.zeros((N, H))
        dWx, dWh, db = np.zeros((D, H)), np.zeros((H, H)), np.zeros(H)
        for t in (range(T, -1, -1) if loop == "from T" else reversed(range(T))):
            upstream = (dh[:, t] if index_time else dh[t]) + dprev_h
            dx[:, t], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(upstream, cache[t])
            dWx, dWh, db = dWx + dWx_t / (T if mean else 1), dWh + dWh_t / (T if mean else 1), db + db_t / (T if mean else 1)
        return (dx[:, ::-1].copy() if reverse_dx else dx), dprev_h, dWx, dWh, db
    return rnn_backward


def numeric_with(mistake):
    def numerical_gradient(f, x, df, h=1e-5):
        grad = np.zeros_like(x)
        for index in np.ndindex(x.shape):
            if mistake == "all elements":
                grad[index] = np.sum((f(x + h) - f(x - h)) * df) / (2 * h)
                continue
            old = x[index]
            x[index] = old + h
            plus = f(x) if mistake == "no copy" else f(x).copy()
            x[index] = old if mistake == "back to x" else old - h
            minus = f(x) if mistake == "no copy" else f(x).copy()
            x[index] = old
            grad[index] = np.sum((plus - minus) * df) / (2 * h)
        return grad
    return numerical_gradient


def norms_with_loss(loss):
    def gradient_norms(rnn, x):
        states, h = [], None
        for x_t in x:
            _, h = rnn(x_t if loss == "unbatched" else x_t[None], h)
            h.retain_grad()
            states.append(h)
        {"mean": h.mean, "unbatched": h.sum, "all states": lambda: sum(s.sum() for s in states)}[loss]().backward()
        return torch.stack([s.grad.norm() for s in states])
    return gradient_norms


def clip_with(mistake):
    def clip_grad_norm(parameters, max_norm):
        params = list(parameters) if mistake == "no skip" else [p for p in parameters if p.grad is not None]
        squares = sum((p.grad ** 2).sum() for p in params)
        total = torch.sqrt(squares)
        if total > max_norm:
            for p in params:
                p.grad.div_(max_norm / (total + 1e-6)) if mistake == "divides" else p.grad.mul_(max_norm / (total + 1e-6))
        return (squares if mistake == "squares" else total).item()
    return clip_grad_norm


def truncated_chunks(dh0_from="first", order=1, reset_weights=False):
    def truncated_rnn_backward(dh, cache, K):
        T = dh.shape[1]
        chunks = [rnn_backward(dh[:, s:s + K], cache[s:s + K]) for s in range(0, T, K)]
        dx = np.concatenate([c[0] for c in chunks[::order]], axis=1)
        kept = chunks[:1] if reset_weights else chunks
        return (dx, chunks[0 if dh0_from == "first" else -1][1], sum(c[2] for c in kept), sum(c[3] for c in kept),
                sum(c[4] for c in kept))
    return truncated_rnn_backward


def weight_gradient_norms(rnn, x):
    """The norm of weight_hh_l0's gradient, once per step: a weight's gradient, not the states'."""
    h = None
    for x_t in x:
        _, h = rnn(x_t[None], h)
    h.sum().backward()
    return torch.stack([rnn.weight_hh_l0.grad.norm() for _ in x])


def last_chunk_only(dh, cache, K):
    """Truncated BPTT run on the last chunk alone: the loss's gradient dropped at every earlier step."""
    T = dh.shape[1]
    kept = np.arange(T)[None, :, None] >= (T - 1) // K * K
    return truncated_rnn_backward(np.where(kept, dh, 0.0), cache, K)


def library_by_alias(dnext_h, cache):
    from recurrent_lib import numpy_rnn as nr
    return nr.rnn_step_backward(dnext_h, cache)


@pytest.mark.parametrize("exercise_id, answer, words", [
    ("4.1", library_by_alias, "your code calls the library's rnn_step_backward"),
    ("4.1", step_backward(derivative=lambda h: (1 - h) ** 2), "the square belongs to next_h alone"),
    ("4.1", step_backward(derivative=lambda h: h ** 2), "da = dnext_h * next_h**2: tanh'(a) is 1 - next_h**2"),
    ("4.1", lambda dnext_h, cache: rnn_step_backward(dnext_h, cache)[:4] + (np.sum(rnn_step_backward(dnext_h, cache)[4]),),
     "db (with N 3, D 4, H 5) is a single number"),
    ("4.1", lambda dnext_h, cache: rnn_step_backward(dnext_h, cache)[:4] + ((dnext_h * (1 - cache[4] ** 2)).sum(axis=1),),
     "that sums over the units: db sums da over the batch"),
    ("4.2", sequence_with(loop="from T"), "for t in reversed(range(T)) (range(T, -1, -1) starts at T"),
    ("4.2", sequence_with(index_time=False), "step t is dh[:, t], not dh[t]"),
    ("4.2", sequence_with(dx_like_dh=True), "dx has x's shape (N, T, D): make it with np.zeros((N, T, D))"),
    ("4.2", sequence_with(start_with_last=True), "the last step's dh[:, T-1] is counted twice"),
    ("4.2", sequence_with(reverse_dx=True), "its steps are in reverse order"),
    ("4.2", sequence_with(mean=True), "it is the mean of the steps' terms"),
    ("4.3", numeric_with("no copy"), "keep a copy of what f returns, f(x).copy()"),
    ("4.3", numeric_with("back to x"), "the second evaluation must be at x - h"),
    ("4.3", numeric_with("all elements"), "f(x + h) moves every element of x at once"),
    ("4.4", norms_with_loss("all states"), "it is the gradient of the sum of ALL states"),
    ("4.4", norms_with_loss("mean"), "it is the gradient of the MEAN of h_T"),
    ("4.4", norms_with_loss("unbatched"), "nn.RNN reads a 2-D input as ONE unbatched sequence"),
    ("4.5", clip_with("no skip"), "skip parameters whose .grad is None"),
    ("4.5", clip_with("divides"), "which scales them UP: multiply by it"),
    ("4.5", clip_with("squares"), "that is the sum of the squares: the global norm is its square root"),
    ("4.6", truncated_chunks(dh0_from="last"), "it is what the LAST chunk's first step sends back"),
    ("4.6", truncated_chunks(order=-1), "its chunks are in reverse order"),
    ("4.6", truncated_chunks(reset_weights=True), "it holds the first chunk's terms only"),
    ("4.1", lambda dnext_h, cache: rnn_step_backward(dnext_h, (cache[0], cache[2], cache[1], *cache[3:])),
     "unpacks the cache in another order, as (x, Wx, prev_h, Wh, next_h)"),
    ("4.3", lambda f, x, df, h=1e-5: numerical_gradient(f, x, df, h) / h, "by 2 * h, not by 2 * h**2"),
    ("4.4", weight_gradient_norms, "every entry is the norm of rnn.weight_hh_l0.grad, the gradient of a weight"),
    ("4.6", last_chunk_only, "it holds the last chunk's steps only, the others are zero"),
])
def test_a_second_battery_of_mistakes_is_named(exercise_id, answer, words):
    assert words in failure(exercise_id, answer)
