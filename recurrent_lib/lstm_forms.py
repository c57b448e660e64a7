r"""The LSTM written three ways, from the study notes' per-gate cell to PyTorch's fused layout.

- :class:`MyLSTM`: the cell of ``seeds/003_*.txt`` section 4, as written there: one ``nn.Linear(input_size
  + hidden_size, hidden_size)`` per gate over $[x_t; h_{t-1}]$, in the notes' order forget, input,
  candidate, output, plus the notes' read-out (``out`` and a log-softmax).
- :func:`per_gate_to_lstm`: the same weights in ``nn.LSTM``'s parameters (``weight_ih_l0``,
  ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0``): split each Linear's columns into the $x$ part and
  the $h$ part, stack the gates' rows in PyTorch's order **i, f, g, o**.
- Three sequence loops with the same weights, compared for speed in ``benchmarks/lstm_speed.py``:
  :func:`lstm_per_gate` (four Linears per step), :func:`lstm_fused` (one step = two matrix products
  for all four gates, ``recurrent_lib.cells.lstm_step``) and :func:`lstm_fused_preprojected` (the input
  projection $W_{ih} x_t + b_{ih}$ of every step in one matrix product before the loop).

All loops are sequence-first: x (T, batch, input_size), states (batch, hidden_size).
"""
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from recurrent_lib.cells import lstm_step

SEED_GATES = ("f", "i", "C", "o")   # the notes' order and names: forget, input, candidate (C tilde), output
TORCH_GATES = ("i", "f", "g", "o")  # nn.LSTM's row blocks; g is the notes' candidate C tilde
SEED_NAME = {"i": "i", "f": "f", "g": "C", "o": "o"}  # PyTorch's gate -> the notes' name for it


class MyLSTM(nn.Module):
    """The study notes' LSTM cell and read-out, as written there (``seeds/003_*.txt`` section 4):

        combined = [x_t; h_{t-1}]                    (concatenated on the last dimension)
        f_t = sigmoid(W_f combined + b_f)            forget gate
        i_t = sigmoid(W_i combined + b_i)            input gate
        C~_t = tanh(W_C combined + b_C)              candidate cell state
        C_t = f_t * C_{t-1} + i_t * C~_t
        o_t = sigmoid(W_o combined + b_o)            output gate
        h_t = o_t * tanh(C_t)
        output = log_softmax(out(h_t))

    forward(input (1, batch, input_size), h (1, batch, hidden_size), C (1, batch, hidden_size))
        -> (output (1, batch, output_size), h, C), one time step, 3-D as in the notes (``cat(..., dim=2)``).
    """

    def __init__(self, input_size: int, hidden_size: int, output_size: int) -> None:
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.W_f = nn.Linear(input_size + hidden_size, hidden_size)
        self.W_i = nn.Linear(input_size + hidden_size, hidden_size)
        self.W_C = nn.Linear(input_size + hidden_size, hidden_size)
        self.W_o = nn.Linear(input_size + hidden_size, hidden_size)
        self.out = nn.Linear(hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=-1)

    def forward(self, input: Tensor, h: Tensor, C: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        if input.dim() != 3 or input.shape[-1] != self.input_size:
            raise ValueError(f"MyLSTM: expected one step of shape (1, batch, {self.input_size}), "
                             f"got {tuple(input.shape)}")
        combined = torch.cat((input, h), dim=2)
        f_t = torch.sigmoid(self.W_f(combined))
        i_t = torch.sigmoid(self.W_i(combined))
        C_tilde = torch.tanh(self.W_C(combined))
        C = f_t * C + i_t * C_tilde
        o_t = torch.sigmoid(self.W_o(combined))
        h = o_t * torch.tanh(C)
        output = self.softmax(self.out(h))
        return output, h, C

    def initHidden(self) -> tuple[Tensor, Tensor]:  # noqa: N802 -- the notes' name
        """Zero (h, C), each (1, 1, hidden_size), on the parameters' device."""
        zeros = self.W_f.weight.new_zeros(1, 1, self.hidden_size)
        return zeros, zeros.clone()


def per_gate_to_lstm(my: MyLSTM, split_bias: bool = False) -> dict[str, Tensor]:
    """``MyLSTM``'s four gate Linears as ``nn.LSTM(input_size, hidden_size)``'s layer-0 parameters.

    Each ``W_*.weight`` (hidden_size, input_size + hidden_size) splits into its first ``input_size``
    columns (they multiply x_t: a block of ``weight_ih_l0``) and the rest (they multiply h_{t-1}: a block
    of ``weight_hh_l0``); the blocks are stacked in PyTorch's order i, f, g, o, each ``hidden_size`` rows.
    nn.LSTM adds two biases, ``bias_ih + bias_hh``, where MyLSTM has one: only their sum matters, so the
    whole bias goes into ``bias_ih_l0`` and ``bias_hh_l0`` is zero (``split_bias=True``: half in each).

    Returns {"weight_ih_l0": (4H, I), "weight_hh_l0": (4H, H), "bias_ih_l0": (4H,), "bias_hh_l0": (4H,)},
    detached copies, for ``lstm.load_state_dict(...)``.
    """
    I = my.input_size  # noqa: E741 -- the maths' name
    linears = [getattr(my, f"W_{SEED_NAME[gate]}") for gate in TORCH_GATES]
    with torch.no_grad():
        weight = torch.cat([linear.weight for linear in linears])  # (4H, I + H), rows i, f, g, o
        bias = torch.cat([linear.bias for linear in linears])
        bias_ih, bias_hh = (bias / 2, bias / 2) if split_bias else (bias, torch.zeros_like(bias))
        return {"weight_ih_l0": weight[:, :I].clone(), "weight_hh_l0": weight[:, I:].clone(),
                "bias_ih_l0": bias_ih.clone(), "bias_hh_l0": bias_hh.clone()}


def _check_sequence(x: Tensor, h: Tensor, c: Tensor, input_size: int, hidden_size: int) -> None:
    if x.dim() != 3 or x.shape[-1] != input_size:
        raise ValueError(f"expected x of shape (T, batch, {input_size}), got {tuple(x.shape)}")
    for name, state in (("h", h), ("c", c)):
        if tuple(state.shape) != (x.shape[1], hidden_size):
            raise ValueError(f"expected {name} of shape (batch, hidden_size) = {(x.shape[1], hidden_size)}, "
                             f"got {tuple(state.shape)}")


def lstm_per_gate(my: MyLSTM, x: Tensor, h: Tensor, c: Tensor) -> tuple[Tensor, tuple[Tensor, Tensor]]:
    """MyLSTM's cell (without its read-out) over a sequence: four Linears over [x_t; h_{t-1}] per step.

    x: (T, batch, input_size), h, c: (batch, hidden_size) -> (output (T, batch, hidden_size), (h_T, c_T)).
    """
    _check_sequence(x, h, c, my.input_size, my.hidden_size)
    outputs = []
    for x_t in x:
        combined = torch.cat((x_t, h), dim=-1)
        f = torch.sigmoid(my.W_f(combined))
        i = torch.sigmoid(my.W_i(combined))
        c = f * c + i * torch.tanh(my.W_C(combined))
        h = torch.sigmoid(my.W_o(combined)) * torch.tanh(c)
        outputs.append(h)
    return torch.stack(outputs), (h, c)


def lstm_fused(x: Tensor, h: Tensor, c: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor,
               b_hh: Tensor) -> tuple[Tensor, tuple[Tensor, Tensor]]:
    """The fused step (all four gates from one (4H, I) and one (4H, H) weight, ``.chunk(4)``) over a sequence.

    x: (T, batch, input_size), h, c: (batch, hidden_size), weights and biases as nn.LSTM's layer 0
    -> (output (T, batch, hidden_size), (h_T, c_T)).
    """
    _check_sequence(x, h, c, w_ih.shape[1], w_hh.shape[1])
    outputs = []
    for x_t in x:
        h, c = lstm_step(x_t, h, c, w_ih, w_hh, b_ih, b_hh)
        outputs.append(h)
    return torch.stack(outputs), (h, c)


def lstm_fused_preprojected(x: Tensor, h: Tensor, c: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor,
                            b_hh: Tensor) -> tuple[Tensor, tuple[Tensor, Tensor]]:
    """Like :func:`lstm_fused`, but $W_{ih} x_t + b_{ih}$ for all T steps in one matrix product before the
    loop (it does not depend on h); inside the loop only $W_{hh} h_{t-1} + b_{hh}$ remains.

    x: (T, batch, input_size), h, c: (batch, hidden_size) -> (output (T, batch, hidden_size), (h_T, c_T)).
    """
    _check_sequence(x, h, c, w_ih.shape[1], w_hh.shape[1])
    x_gates = F.linear(x, w_ih, b_ih)  # (T, batch, 4H): every step's input part, one matmul
    outputs = []
    for x_gates_t in x_gates:
        i, f, g, o = (x_gates_t + F.linear(h, w_hh, b_hh)).chunk(4, dim=-1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        outputs.append(h)
    return torch.stack(outputs), (h, c)
