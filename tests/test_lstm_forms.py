"""recurrent_lib.lstm_forms: the notes' MyLSTM, its mapping onto nn.LSTM, and the three sequence loops, against
torch.nn.LSTM (float64, gradients too) and their messages for bad input."""
import pytest
import torch
from torch import nn
from torch.autograd import gradcheck

from recurrent_lib.lstm_forms import (MyLSTM, lstm_fused, lstm_fused_preprojected, lstm_per_gate,
                                      per_gate_to_lstm)

from twins import one_thread  # noqa: F401 (an autouse fixture)

TOL = {"atol": 1e-10, "rtol": 1e-10}


def setup(I: int = 3, H: int = 4, T: int = 5, B: int = 2, seed: int = 0):  # noqa: E741
    """A float64 MyLSTM, an nn.LSTM holding its weights, an input sequence and a random initial state."""
    torch.manual_seed(seed)
    my = MyLSTM(I, H, output_size=2).double()
    lstm = nn.LSTM(I, H).double()
    lstm.load_state_dict(per_gate_to_lstm(my))
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(T, B, I, generator=g, dtype=torch.float64)
    h0, c0 = torch.randn(2, B, H, generator=g, dtype=torch.float64).unbind(0)
    return my, lstm, x, h0, c0


def test_mylstm_step_is_the_notes_equations() -> None:
    my, _, x, h0, c0 = setup()
    output, h, C = my(x[:1], h0[None], c0[None])
    z = torch.cat((x[0], h0), dim=-1)
    f, i = torch.sigmoid(my.W_f(z)), torch.sigmoid(my.W_i(z))
    C_expected = f * c0 + i * torch.tanh(my.W_C(z))
    h_expected = torch.sigmoid(my.W_o(z)) * torch.tanh(C_expected)
    torch.testing.assert_close(C[0], C_expected, **TOL)
    torch.testing.assert_close(h[0], h_expected, **TOL)
    torch.testing.assert_close(output[0], torch.log_softmax(my.out(h_expected), dim=-1), **TOL)
    assert [t.shape for t in my.initHidden()] == [(1, 1, 4)] * 2


@pytest.mark.parametrize("split_bias", [False, True])
def test_mapping_onto_nn_lstm_gives_the_same_sequence(split_bias: bool) -> None:
    my, lstm, x, h0, c0 = setup(seed=1)
    lstm.load_state_dict(per_gate_to_lstm(my, split_bias=split_bias))
    expected, (h_n, c_n) = lstm(x, (h0[None], c0[None]))
    h, C, outputs = h0[None], c0[None], []
    for t in range(len(x)):
        _, h, C = my(x[t:t + 1], h, C)
        outputs.append(h[0])
    torch.testing.assert_close(torch.stack(outputs), expected, **TOL)
    torch.testing.assert_close(C, c_n, **TOL)
    state = per_gate_to_lstm(my, split_bias=split_bias)
    assert torch.equal(state["bias_hh_l0"], state["bias_ih_l0"]) == split_bias


def test_mapping_stacks_rows_in_torch_order_and_splits_columns() -> None:
    my = MyLSTM(3, 2, 1)
    state = per_gate_to_lstm(my)
    assert state["weight_ih_l0"].shape == (8, 3) and state["weight_hh_l0"].shape == (8, 2)
    assert torch.equal(state["weight_ih_l0"][2:4], my.W_f.weight[:, :3].detach())   # f is the second block
    assert torch.equal(state["weight_hh_l0"][4:6], my.W_C.weight[:, 3:].detach())   # g = C tilde, the third
    assert torch.equal(state["bias_ih_l0"][6:], my.W_o.bias.detach()) and not state["bias_hh_l0"].any()
    assert not state["weight_ih_l0"].requires_grad


@pytest.mark.parametrize("form", ["per_gate", "fused", "preprojected"])
def test_sequence_forms_equal_nn_lstm_values_and_gradients(form: str) -> None:
    my, lstm, x, h0, c0 = setup(seed=2)
    x.requires_grad_(True)
    expected, (h_n, c_n) = lstm(x, (h0[None], c0[None]))
    w = [lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0]
    run = {"per_gate": lambda: lstm_per_gate(my, x, h0, c0), "fused": lambda: lstm_fused(x, h0, c0, *w),
           "preprojected": lambda: lstm_fused_preprojected(x, h0, c0, *w)}[form]
    output, (h, c) = run()
    torch.testing.assert_close(output, expected, **TOL)
    torch.testing.assert_close(h, h_n[0], **TOL)
    torch.testing.assert_close(c, c_n[0], **TOL)
    weight = torch.randn_like(expected)
    grad_expected = torch.autograd.grad((expected * weight).sum(), x)[0]
    grad = torch.autograd.grad((run()[0] * weight).sum(), x)[0]
    torch.testing.assert_close(grad, grad_expected, **TOL)


def test_preprojected_passes_gradcheck() -> None:
    _, lstm, x, h0, c0 = setup(I=2, H=3, T=3, B=2, seed=3)
    w = [p.detach().clone().requires_grad_(True) for p in lstm.parameters()]
    inputs = (x.requires_grad_(True), h0.requires_grad_(True), c0.requires_grad_(True), *w)
    assert gradcheck(lambda *a: lstm_fused_preprojected(*a)[0], inputs)


def test_bad_input_says_what_was_expected() -> None:
    my, lstm, x, h0, c0 = setup()
    with pytest.raises(ValueError, match=r"MyLSTM: expected one step of shape \(1, batch, 3\), got \(2, 3\)"):
        my(x[0], h0, c0)
    with pytest.raises(ValueError, match=r"expected x of shape \(T, batch, 3\), got \(5, 2, 4\)"):
        lstm_per_gate(my, torch.zeros(5, 2, 4, dtype=torch.float64), h0, c0)
    with pytest.raises(ValueError, match=r"expected c of shape \(batch, hidden_size\) = \(2, 4\), got \(1, 2, 4\)"):
        lstm_fused(x, h0, c0[None], *lstm.parameters())
