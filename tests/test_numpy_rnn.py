"""recurrent_lib.numpy_rnn: the hand-written backward pass against centred differences (float64,
relative error < 1e-8) and against torch.autograd on nn.RNN, over several shapes including T = 1 and
N = 1; and the messages for arrays of the wrong shape."""
import numpy as np
import pytest
import torch
from torch import nn

from recurrent_lib.numpy_rnn import (numerical_gradient, rel_error, rnn_backward, rnn_forward, rnn_step_backward,
                                     rnn_step_forward)

SHAPES = [(2, 3, 4, 5), (1, 4, 3, 2), (3, 1, 2, 4), (1, 1, 1, 1), (4, 6, 5, 3)]  # N, T, D, H


def arrays(N: int, T: int, D: int, H: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"x": rng.standard_normal((N, T, D)), "h0": rng.standard_normal((N, H)),
            "Wx": 0.5 * rng.standard_normal((D, H)), "Wh": 0.5 * rng.standard_normal((H, H)),
            "b": 0.2 * rng.standard_normal(H), "dh": rng.standard_normal((N, T, H))}


@pytest.mark.parametrize("N, T, D, H", SHAPES)
def test_rnn_backward_matches_the_numerical_gradient(N, T, D, H):
    a = arrays(N, T, D, H)
    dh = a.pop("dh")
    h, cache = rnn_forward(**a)
    grads = dict(zip(("x", "h0", "Wx", "Wh", "b"), rnn_backward(dh, cache)))
    for name, grad in grads.items():
        numeric = numerical_gradient(lambda _: rnn_forward(**a)[0], a[name], dh)
        assert grad.shape == a[name].shape
        assert rel_error(grad, numeric) < 1e-8, name


@pytest.mark.parametrize("N, D, H", [(3, 4, 5), (1, 2, 3), (1, 1, 1)])
def test_rnn_step_backward_matches_the_numerical_gradient(N, D, H):
    a = arrays(N, 1, D, H, seed=1)
    x, prev_h, Wx, Wh, b, dnext_h = a["x"][:, 0], a["h0"], a["Wx"], a["Wh"], a["b"], a["dh"][:, 0]
    inputs = {"x": x, "prev_h": prev_h, "Wx": Wx, "Wh": Wh, "b": b}
    next_h, cache = rnn_step_forward(**inputs)
    np.testing.assert_allclose(next_h, np.tanh(x @ Wx + prev_h @ Wh + b))
    for name, grad in zip(inputs, rnn_step_backward(dnext_h, cache)):
        numeric = numerical_gradient(lambda _: rnn_step_forward(**inputs)[0], inputs[name], dnext_h)
        assert rel_error(grad, numeric) < 1e-8, name


@pytest.mark.parametrize("N, T, D, H", SHAPES)
def test_forward_and_backward_equal_torch_autograd_on_nn_rnn(N, T, D, H):
    a = arrays(N, T, D, H, seed=2)
    h, cache = rnn_forward(a["x"], a["h0"], a["Wx"], a["Wh"], a["b"])
    dx, dh0, dWx, dWh, db = rnn_backward(a["dh"], cache)

    rnn = nn.RNN(D, H, batch_first=True, dtype=torch.float64)
    with torch.no_grad():  # Wx, Wh, b onto weight_ih.T, weight_hh.T, bias_ih + bias_hh (split in halves)
        rnn.weight_ih_l0.copy_(torch.from_numpy(a["Wx"].T))
        rnn.weight_hh_l0.copy_(torch.from_numpy(a["Wh"].T))
        rnn.bias_ih_l0.copy_(torch.from_numpy(a["b"] / 2))
        rnn.bias_hh_l0.copy_(torch.from_numpy(a["b"] / 2))
    x = torch.from_numpy(a["x"]).requires_grad_()
    h0 = torch.from_numpy(a["h0"])[None].requires_grad_()
    output, _ = rnn(x, h0)
    (output * torch.from_numpy(a["dh"])).sum().backward()

    torch.testing.assert_close(torch.from_numpy(h), output.detach())
    torch.testing.assert_close(torch.from_numpy(dx), x.grad)
    torch.testing.assert_close(torch.from_numpy(dh0), h0.grad[0])
    torch.testing.assert_close(torch.from_numpy(dWx), rnn.weight_ih_l0.grad.T)
    torch.testing.assert_close(torch.from_numpy(dWh), rnn.weight_hh_l0.grad.T)
    torch.testing.assert_close(torch.from_numpy(db), rnn.bias_ih_l0.grad)
    torch.testing.assert_close(torch.from_numpy(db), rnn.bias_hh_l0.grad)


def test_inputs_are_left_unchanged():
    a = arrays(2, 3, 4, 5, seed=3)
    copies = {name: value.copy() for name, value in a.items()}
    _, cache = rnn_forward(a["x"], a["h0"], a["Wx"], a["Wh"], a["b"])
    rnn_backward(a["dh"], cache)
    for name, value in a.items():
        np.testing.assert_array_equal(value, copies[name], err_msg=name)


def test_numerical_gradient_restores_x_and_rel_error_is_cs231ns():
    x = np.array([1.0, -2.0, 3.0])
    before = x.copy()
    grad = numerical_gradient(lambda v: v ** 2, x, np.ones(3))
    np.testing.assert_array_equal(x, before)
    np.testing.assert_allclose(grad, 2 * before, rtol=1e-9)
    assert rel_error(np.array([1.0, 0.0]), np.array([3.0, 0.0])) == 0.5
    with pytest.raises(ValueError, match=r"expected arrays of the same shape, got \(2,\) and \(3,\)"):
        rel_error(np.zeros(2), np.zeros(3))


BAD_INPUTS = [
    (lambda a: rnn_forward(a["x"][:, :, :3], a["h0"], a["Wx"], a["Wh"], a["b"]),
     r"expected x of shape \(N, T, D\) = \(N, T, 4\) with T >= 1, got \(2, 3, 3\)"),
    (lambda a: rnn_forward(a["x"][:, 0], a["h0"], a["Wx"], a["Wh"], a["b"]),
     r"expected x of shape \(N, T, D\) = \(N, T, 4\) with T >= 1, got \(2, 4\)"),
    (lambda a: rnn_forward(a["x"][:, :0], a["h0"], a["Wx"], a["Wh"], a["b"]),
     r"with T >= 1, got \(2, 0, 4\)"),
    (lambda a: rnn_forward(a["x"], a["h0"][:1], a["Wx"], a["Wh"], a["b"]),
     r"expected h0 of shape \(2, 5\) = \(N, H\) with N = x.shape\[0\], got \(1, 5\)"),
    (lambda a: rnn_forward(a["x"], a["h0"], a["Wx"], a["Wh"].T[:4], a["b"]),
     r"expected Wh of shape \(5, 5\) = \(H, H\) with H = Wx.shape\[1\], got \(4, 5\)"),
    (lambda a: rnn_forward(a["x"], a["h0"], a["Wx"].T, a["Wh"], a["b"]),
     r"expected Wh of shape \(4, 4\)"),
    (lambda a: rnn_forward(a["x"], a["h0"], a["Wx"], a["Wh"], a["b"][None]),
     r"expected b of shape \(5,\) = \(H,\) with H = Wx.shape\[1\], got \(1, 5\)"),
    (lambda a: rnn_forward(torch.from_numpy(a["x"]), a["h0"], a["Wx"], a["Wh"], a["b"]),
     r"expected x to be a numpy.ndarray, got Tensor"),
    (lambda a: rnn_step_forward(a["x"][:, 0], a["h0"].T, a["Wx"], a["Wh"], a["b"]),
     r"expected prev_h of shape \(2, 5\) = \(N, H\) with N = x.shape\[0\], got \(5, 2\)"),
    (lambda a: rnn_step_backward(a["dh"][:, 0].T, rnn_step_forward(a["x"][:, 0], a["h0"], a["Wx"], a["Wh"], a["b"])[1]),
     r"expected dnext_h of shape \(2, 5\) = \(N, H\) like next_h, got \(5, 2\)"),
    (lambda a: rnn_backward(a["dh"][:, -1], rnn_forward(a["x"], a["h0"], a["Wx"], a["Wh"], a["b"])[1]),
     r"expected dh of shape \(2, 3, 5\) = \(N, T, H\) like the h that rnn_forward returned, got \(2, 5\)"),
    (lambda a: rnn_backward(a["dh"], []), r"expected the cache that rnn_forward returned, .* got an empty list"),
    (lambda a: rnn_backward(a["dh"], rnn_step_forward(a["x"][:, 0], a["h0"], a["Wx"], a["Wh"], a["b"])[1]),
     r"expected the cache that rnn_forward returned, a list of one step cache per time step, got a tuple"),
]


@pytest.mark.parametrize("call, message", BAD_INPUTS, ids=range(len(BAD_INPUTS)))
def test_shape_mismatches_say_what_was_expected_and_what_arrived(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call(arrays(2, 3, 4, 5))
