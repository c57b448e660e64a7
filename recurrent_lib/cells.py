r"""One time step of an RNN, an LSTM and a GRU: drop-in twins of ``torch.nn.RNNCell``, ``LSTMCell``, ``GRUCell``.

The maths of each step is a small pure function (``rnn_step``, ``lstm_step``, ``gru_step``) that reads
like its equations, in PyTorch's conventions: $W x + b$ is ``F.linear(x, W, b)``, gates are stacked in
the rows of the weights (LSTM: i, f, g, o; GRU: r, z, n). The cell modules only hold the parameters,
check their input and call the step; ``recurrent_lib.layers`` calls the same steps for whole sequences.
"""
import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {"tanh": torch.tanh, "relu": torch.relu}


def rnn_step(x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None, b_hh: Tensor | None,
             nonlinearity: str = "tanh") -> Tensor:
    r"""Elman RNN step: $h' = \tanh(W_{ih} x + b_{ih} + W_{hh} h + b_{hh})$ (ReLU for ``nonlinearity="relu"``).

    x: (batch, input_size), h: (batch, hidden_size), w_ih: (hidden_size, input_size),
    w_hh: (hidden_size, hidden_size), b_ih, b_hh: (hidden_size,) or None -> h': (batch, hidden_size).
    """
    return ACTIVATIONS[nonlinearity](F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh))


def lstm_step(x: Tensor, h: Tensor, c: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None,
              b_hh: Tensor | None, w_hr: Tensor | None = None) -> tuple[Tensor, Tensor]:
    r"""LSTM step, gates in PyTorch's order i, f, g, o:

    $i = \sigma(W_{ii} x + b_{ii} + W_{hi} h + b_{hi})$, $f = \sigma(W_{if} x + b_{if} + W_{hf} h + b_{hf})$,
    $g = \tanh(W_{ig} x + b_{ig} + W_{hg} h + b_{hg})$, $o = \sigma(W_{io} x + b_{io} + W_{ho} h + b_{ho})$,
    $c' = f \odot c + i \odot g$, $h' = o \odot \tanh(c')$, then $h' = W_{hr} h'$ when projecting.

    x: (batch, input_size), h: (batch, H_out), c: (batch, hidden_size), w_ih: (4 * hidden_size, input_size),
    w_hh: (4 * hidden_size, H_out), b_ih, b_hh: (4 * hidden_size,) or None, w_hr: (proj_size, hidden_size)
    or None; H_out = proj_size if w_hr is given, else hidden_size -> (h': (batch, H_out), c': (batch, hidden_size)).
    """
    i, f, g, o = (F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)).chunk(4, dim=-1)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c = f * c + i * g
    h = o * torch.tanh(c)
    return (h if w_hr is None else F.linear(h, w_hr)), c


def gru_step(x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None,
             b_hh: Tensor | None) -> Tensor:
    r"""GRU step, gates in PyTorch's order r, z, n (the reset gate scales $W_{hn} h + b_{hn}$):

    $r = \sigma(W_{ir} x + b_{ir} + W_{hr} h + b_{hr})$, $z = \sigma(W_{iz} x + b_{iz} + W_{hz} h + b_{hz})$,
    $n = \tanh(W_{in} x + b_{in} + r \odot (W_{hn} h + b_{hn}))$, $h' = (1 - z) \odot n + z \odot h$.

    x: (batch, input_size), h: (batch, hidden_size), w_ih: (3 * hidden_size, input_size),
    w_hh: (3 * hidden_size, hidden_size), b_ih, b_hh: (3 * hidden_size,) or None -> h': (batch, hidden_size).
    """
    x_r, x_z, x_n = F.linear(x, w_ih, b_ih).chunk(3, dim=-1)
    h_r, h_z, h_n = F.linear(h, w_hh, b_hh).chunk(3, dim=-1)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return (1 - z) * n + z * h


def in_torch_words(ours: str, theirs: str) -> str:
    """Our message (what was expected, what arrived), then torch's own wording of the same error, so that code
    and tests written against torch's messages match the twins' too."""
    return f"{ours} (torch: {theirs})"


def check_nonlinearity(module: str, nonlinearity: object, error: type[Exception] = ValueError) -> None:
    """'tanh' or 'relu'; torch refuses anything else when it builds an RNN (ValueError) and when it runs an
    RNNCell (RuntimeError), so the error type is the caller's."""
    if not isinstance(nonlinearity, str) or nonlinearity not in ACTIVATIONS:
        theirs = (f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'." if error is ValueError
                  else f"Unknown nonlinearity: {nonlinearity}")
        raise error(in_torch_words(f"{module}: expected nonlinearity 'tanh' or 'relu', got {nonlinearity!r}", theirs))


def check_input(module: str, x: Tensor, input_size: int, dtype: torch.dtype) -> None:
    """The input's features (last dimension) and dtype must match the module's parameters. torch's cells and
    layers word these errors differently, and a wrong dtype is a RuntimeError for its cells (from a matrix
    product, in no words of its own), a ValueError for its layers."""
    cell = module.endswith("Cell")
    if x.dtype != dtype:
        ours = (f"{module}: expected input of dtype {dtype} (the parameters' dtype), got {x.dtype}; "
                f"convert the input with input.to({dtype}) or the module with module.to({x.dtype})")
        if cell:
            raise RuntimeError(ours)
        raise ValueError(in_torch_words(ours, f"{module} input dtype ({x.dtype}) does not match weight dtype "
                                              f"({dtype}). Convert input: input.to({dtype}), or convert model: "
                                              f"model.to({x.dtype})"))
    if x.size(-1) != input_size:
        theirs = (f"input has inconsistent input_size: got {x.size(-1)} expected {input_size}" if cell else
                  f"input.size(-1) must be equal to input_size. Expected {input_size}, got {x.size(-1)}")
        raise RuntimeError(in_torch_words(f"{module}: expected input with {input_size} features in its last "
                                          f"dimension (input_size={input_size}), got {x.size(-1)}", theirs))


def check_state(module: str, name: str, state: object, shape: tuple[int, ...], meaning: str,
                dtype: torch.dtype, theirs: str) -> None:
    """A given initial state must be a tensor of ``shape`` (spelled out in ``meaning``) and the input's dtype;
    ``theirs`` is torch's wording of a wrong shape."""
    if not isinstance(state, Tensor):
        raise TypeError(f"{module}: expected {name} to be a tensor of shape {shape}, got {type(state).__name__}")
    if tuple(state.shape) != shape:
        raise RuntimeError(in_torch_words(f"{module}: expected {name} of shape {shape} = {meaning}, "
                                          f"got {tuple(state.shape)}", theirs))
    if state.dtype != dtype:
        raise RuntimeError(f"{module}: expected {name} of dtype {dtype} (the input's dtype), got {state.dtype}")


def check_state_pair(module: str, hx: object) -> None:
    """An LSTM's state is a pair (h, c): torch says RuntimeError for a tuple of another length; for anything
    else its error is an accident of its code (IndexError, AttributeError), so the twin says TypeError."""
    if not isinstance(hx, tuple | list):
        raise TypeError(f"{module}: expected the state hx to be a tuple (h_0, c_0), got {type(hx).__name__}")
    if len(hx) != 2:
        raise RuntimeError(in_torch_words(f"{module}: expected the state hx to be a tuple (h_0, c_0), got "
                                          f"{type(hx).__name__} of length {len(hx)}", "lstm expects two hidden states"))


def init_uniform(module: nn.Module, hidden_size: int) -> None:
    """torch's initialisation of its recurrent modules: every parameter ~ U(-1/sqrt(hidden_size),
    1/sqrt(hidden_size)), drawn in registration order (so the same seed gives torch's values)."""
    bound = 1 / math.sqrt(hidden_size) if hidden_size > 0 else 0.0  # torch builds a cell of hidden_size 0 too
    for weight in module.parameters():
        nn.init.uniform_(weight, -bound, bound)


class RNNCellBase(nn.Module):
    """Parameters weight_ih (gates * hidden_size, input_size), weight_hh (gates * hidden_size, hidden_size),
    bias_ih, bias_hh (gates * hidden_size,), all ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) as in torch."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        factory = {"device": device, "dtype": dtype}
        self.weight_ih = nn.Parameter(torch.empty(num_chunks * hidden_size, input_size, **factory))
        self.weight_hh = nn.Parameter(torch.empty(num_chunks * hidden_size, hidden_size, **factory))
        self.bias_ih = nn.Parameter(torch.empty(num_chunks * hidden_size, **factory)) if bias else None
        self.bias_hh = nn.Parameter(torch.empty(num_chunks * hidden_size, **factory)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init_uniform(self, self.hidden_size)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _batched(self, input: Tensor, hx: tuple[Tensor, ...] | None, n_states: int) -> tuple[Tensor, ...]:
        """Check input (batch, input_size) or (input_size,) and the ``n_states`` tensors of hx (batch,
        hidden_size) or (hidden_size,); return x, *states, all batched, states zeros when hx is None."""
        module = type(self).__name__
        if input.dim() not in (1, 2):
            raise ValueError(in_torch_words(
                f"{module}: expected a 1-D (input_size,) unbatched or 2-D (batch, input_size) batched input, got a "
                f"{input.dim()}-D tensor of shape {tuple(input.shape)}",
                f"{module}: Expected input to be 1D or 2D, got {input.dim()}D instead"))
        check_input(module, input, self.input_size, self.weight_ih.dtype)
        batched = input.dim() == 2
        x = input if batched else input.unsqueeze(0)
        if hx is None:
            return x, *[x.new_zeros(x.size(0), self.hidden_size)] * n_states
        shape = (x.size(0), self.hidden_size) if batched else (self.hidden_size,)
        names = ["hx"] if n_states == 1 else ["h_0", "c_0"]
        for k, (name, state) in enumerate(zip(names, hx, strict=True)):
            meaning = "(batch, hidden_size)" if batched else "(hidden_size,)"
            if isinstance(state, Tensor) and state.dim() not in (1, 2):
                what = "hidden" if n_states == 1 else f"hx[{k}]"
                raise ValueError(in_torch_words(
                    f"{module}: expected {name} of shape {shape} = {meaning}, got a {state.dim()}-D tensor of shape "
                    f"{tuple(state.shape)}", f"{module}: Expected {what} to be 1D or 2D, got {state.dim()}D instead"))
            check_state(module, name, state, shape, meaning, x.dtype, self._torch_words(k, x, state, batched))
        return x, *(state if batched else state.unsqueeze(0) for state in hx)

    def _torch_words(self, k: int, x: Tensor, state: object, batched: bool) -> str:
        """torch's message for the k-th state (hidden0, hidden1) of a wrong shape, for input x (batch, input_size);
        torch adds a batch dimension to the state of an unbatched input first."""
        if not isinstance(state, Tensor):
            return ""
        got = tuple(state.shape) if batched else (1, *state.shape)
        if got[0] != x.size(0):
            return f"Input batch size {x.size(0)} doesn't match hidden{k} batch size {got[0]}"
        return f"hidden{k} has inconsistent hidden_size: got {got[1]}, expected {self.hidden_size}"


class RNNCell(RNNCellBase):
    """h' = tanh(W_ih x + b_ih + W_hh h + b_hh) for one step; see ``rnn_step``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity  # checked when the cell runs, as torch does

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        """input: (batch, input_size) or (input_size,); hx: (batch, hidden_size) or (hidden_size,), zeros
        if None -> h': (batch, hidden_size) or (hidden_size,)."""
        check_nonlinearity(type(self).__name__, self.nonlinearity, RuntimeError)
        x, h = self._batched(input, None if hx is None else (hx,), n_states=1)
        h = rnn_step(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh, self.nonlinearity)
        return h if input.dim() == 2 else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """(h', c') from (x, (h, c)) for one step, gates i, f, g, o; see ``lstm_step``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        """input: (batch, input_size) or (input_size,); hx: (h_0, c_0), each (batch, hidden_size) or
        (hidden_size,), zeros if None -> (h', c') shaped like hx."""
        if hx is not None:
            check_state_pair(type(self).__name__, hx)
        x, h, c = self._batched(input, hx, n_states=2)
        h, c = lstm_step(x, h, c, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return (h, c) if input.dim() == 2 else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """h' = (1 - z) * n + z * h for one step, gates r, z, n; see ``gru_step``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        """input: (batch, input_size) or (input_size,); hx: (batch, hidden_size) or (hidden_size,), zeros
        if None -> h': (batch, hidden_size) or (hidden_size,)."""
        x, h = self._batched(input, None if hx is None else (hx,), n_states=1)
        h = gru_step(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return h if input.dim() == 2 else h.squeeze(0)
