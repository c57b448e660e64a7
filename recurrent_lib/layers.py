"""Multi-layer, optionally bidirectional RNN, LSTM and GRU over whole sequences: twins of torch.nn's.

``RNNBase`` holds what the three share, once: parameters named like torch's (``weight_ih_l0``,
``weight_hh_l1_reverse``, ``weight_hr_l0``, ...), layers, directions, dropout between layers and the
three input forms. Every input is run as a packed sequence: a padded batch (L, N, H_in) is simply L steps
of N rows each. A subclass says only how many gates it has, how one step updates its state and what its
state is (LSTM: h and c); the steps are ``recurrent_lib.cells``'s.
"""
import numbers
import operator
import warnings
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from recurrent_lib.cells import (check_input, check_nonlinearity, check_state, check_state_pair, gru_step, in_torch_words,
                                 init_uniform, lstm_step, rnn_step)

State = tuple[Tensor, ...]  # (h,) for RNN and GRU, (h, c) for LSTM


def check_arguments(module: str, input_size: object, hidden_size: object, num_layers: object, bias: object,
                    batch_first: object, dropout: object, proj_size: object) -> None:
    """torch.nn.RNNBase's checks of its arguments, in its order and with its exception types (so the twins
    accept and refuse exactly what torch does), in words that say what was expected and what arrived."""
    try:
        float(dropout)
    except (TypeError, ValueError) as error:
        raise type(error)(f"{module}: expected dropout to be a number in [0, 1], got {dropout!r}") from None
    if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
        raise ValueError("dropout should be a number in range [0, 1] representing the probability of an "
                         "element being zeroed")  # torch's words, already clear
    if dropout > 0 and num_layers == 1:
        warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                      f"expects num_layers greater than 1, but got dropout={dropout} and "
                      f"num_layers={num_layers}", stacklevel=4)
    for name, value in (("bias", bias), ("batch_first", batch_first)):
        if not isinstance(value, bool):
            raise TypeError(in_torch_words(f"{module}: expected {name} to be True or False, got {value!r}",
                                           f"{name} should be of type bool, got: {type(value).__name__}"))
    for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
        if not isinstance(value, int):
            raise TypeError(in_torch_words(f"{module}: expected {name} to be an int, got {value!r}",
                                           f"{name} should be of type int, got: {type(value).__name__}"))
        if value <= 0:
            raise ValueError(in_torch_words(f"{module}: expected {name} to be an integer >= 1, got {value!r}",
                                            f"{name} must be greater than zero"))
    try:
        if num_layers <= 0:
            raise ValueError(in_torch_words(f"{module}: expected num_layers to be an integer >= 1, got {num_layers!r}",
                                            "num_layers must be greater than zero"))
        operator.index(num_layers)
    except TypeError as error:
        raise TypeError(in_torch_words(f"{module}: expected num_layers to be an int, got {num_layers!r}",
                                       str(error))) from None
    try:
        negative, too_large = proj_size < 0, proj_size >= hidden_size
    except TypeError:
        raise TypeError(f"{module}: expected proj_size to be an int, got {proj_size!r}") from None
    if negative:
        raise ValueError(in_torch_words(f"{module}: expected proj_size to be an integer >= 0, got {proj_size!r}",
                                        "proj_size should be a positive integer or zero to disable projections"))
    if too_large:
        raise ValueError(in_torch_words(f"{module}: expected proj_size < hidden_size={hidden_size}, got {proj_size!r}",
                                        "proj_size has to be smaller than hidden_size"))
    if proj_size and (isinstance(proj_size, bool) or not hasattr(type(proj_size), "__index__")):
        raise TypeError(f"{module}: expected proj_size to be an int, got {proj_size!r}")


def refuse_projection(module: str, unexpected: dict[str, object]) -> None:
    """torch's RNN and GRU refuse ``proj_size`` (ValueError); any other unknown keyword is a TypeError."""
    if "proj_size" in unexpected:
        raise ValueError(in_torch_words(f"{module}: proj_size is only supported for LSTM, not RNN or GRU",
                                        "proj_size argument is only supported for LSTM, not RNN or GRU"))
    if unexpected:
        raise TypeError(f"{module}.__init__() got an unexpected keyword argument {next(iter(unexpected))!r}")


class Weights(NamedTuple):
    """The parameters of one layer in one direction (biases None when bias=False, w_hr None without projection)."""
    w_ih: Tensor
    w_hh: Tensor
    b_ih: Tensor | None
    b_hh: Tensor | None
    w_hr: Tensor | None


class RNNBase(nn.Module):
    """Layers, directions, packing and dropout for RNN, LSTM and GRU (subclasses set ``num_gates`` and
    define ``step``; LSTM also ``state_sizes``)."""

    num_gates: int  # rows of weight_ih per hidden unit: 1 (RNN), 4 (LSTM: i, f, g, o), 3 (GRU: r, z, n)

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        check_arguments(type(self).__name__, input_size, hidden_size, num_layers, bias, batch_first, dropout,
                        proj_size)
        num_layers, proj_size = operator.index(num_layers), operator.index(proj_size) if proj_size else 0
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size
        h_out, rows = proj_size or hidden_size, self.num_gates * hidden_size
        factory = {"device": device, "dtype": dtype}
        for layer in range(num_layers):
            for suffix in self._suffixes():
                shapes = {"weight_ih": (rows, input_size if layer == 0 else h_out * len(self._suffixes())),
                          "weight_hh": (rows, h_out)}
                if bias:
                    shapes |= {"bias_ih": (rows,), "bias_hh": (rows,)}
                if proj_size:
                    shapes["weight_hr"] = (proj_size, hidden_size)
                for name, shape in shapes.items():  # registered in torch's order, so reset_parameters draws alike
                    setattr(self, f"{name}_l{layer}{suffix}", nn.Parameter(torch.empty(shape, **factory)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init_uniform(self, self.hidden_size)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        for name, default in (("proj_size", 0), ("num_layers", 1), ("bias", True), ("batch_first", False),
                              ("dropout", 0), ("bidirectional", False)):
            if getattr(self, name) != default:
                s += f", {name}={getattr(self, name)}"
        return s

    @property
    def all_weights(self) -> list[list[nn.Parameter]]:
        """The parameters of each layer and direction, in torch's order (l0, l0_reverse, l1, ...)."""
        return [[p for p in self._weights(layer, suffix) if p is not None]
                for layer in range(self.num_layers) for suffix in self._suffixes()]

    def flatten_parameters(self) -> None:
        """Like torch's on a CPU: nothing to do (torch packs the weights into one buffer for cuDNN; we never do)."""

    def step(self, x: Tensor, state: State, w: Weights) -> State:
        """One time step of one layer in one direction. x: (batch, layer input size), state: tensors
        (batch, size) -> the new state; its first tensor is the step's output."""
        raise NotImplementedError

    def state_sizes(self) -> dict[str, str]:
        """Each initial state's name and the attribute that gives its last dimension."""
        return {"h_0": "hidden_size"}

    def forward(self, input: Tensor | PackedSequence, hx: Tensor | tuple[Tensor, Tensor] | None = None
                ) -> tuple[Tensor | PackedSequence, Tensor | tuple[Tensor, Tensor]]:
        """input: (L, N, H_in), or (N, L, H_in) when batch_first, or unbatched (L, H_in), or a PackedSequence;
        hx: (num_layers * num_directions, N, H) (unbatched: without the N), LSTM: a tuple (h_0, c_0); zeros
        if None -> (output, h_n): output (L, N, num_directions * H_out) laid out like the input (a
        PackedSequence for packed input), h_n shaped like hx and in the input's batch order."""
        module = type(self).__name__
        packed = isinstance(input, PackedSequence)
        if packed:
            data, batch_sizes = input.data, input.batch_sizes.tolist()
            sorted_indices, unsorted_indices = input.sorted_indices, input.unsorted_indices
        else:
            layout = "(N, L, H_in)" if self.batch_first else "(L, N, H_in)"
            if input.dim() not in (2, 3):
                tensor = " tensor" if module == "RNN" else ""  # torch's RNN says "tensor", its LSTM and GRU do not
                raise ValueError(in_torch_words(
                    f"{module}: expected a 2-D (L, H_in) unbatched or 3-D {layout} batched input, got a "
                    f"{input.dim()}-D tensor of shape {tuple(input.shape)}",
                    f"{module}: Expected input to be 2D or 3D, got {input.dim()}D{tensor} instead"))
            x = input.transpose(0, 1) if input.dim() == 3 and self.batch_first else input
            x = x if input.dim() == 3 else x.unsqueeze(1)  # (L, N, H_in)
            if x.size(0) == 0:
                raise RuntimeError(in_torch_words(f"{module}: expected a sequence of length at least 1, got "
                                                  f"{tuple(input.shape)}", "Expected sequence length to be larger than 0 in RNN"))
            data, batch_sizes = x.reshape(-1, x.size(-1)), [x.size(1)] * x.size(0)
            sorted_indices = unsorted_indices = None
        batched = packed or input.dim() == 3
        check_input(module, data, self.input_size, self.weight_ih_l0.dtype)
        state = self._initial_state(hx, batch_sizes[0], batched, data)
        if sorted_indices is not None:  # hx is in the caller's batch order, packed rows are sorted by length
            state = tuple(s.index_select(1, sorted_indices) for s in state)
        data, state = self._run_layers(data, batch_sizes, state)
        if unsorted_indices is not None:
            state = tuple(s.index_select(1, unsorted_indices) for s in state)
        if packed:
            output = PackedSequence(data, input.batch_sizes, sorted_indices, unsorted_indices)
        elif not batched:
            output, state = data, tuple(s.squeeze(1) for s in state)
        else:
            output = data.view(x.size(0), x.size(1), data.size(-1))
            output = output.transpose(0, 1) if self.batch_first else output
        return output, (state[0] if len(state) == 1 else state)

    def _suffixes(self) -> tuple[str, ...]:
        return ("", "_reverse") if self.bidirectional else ("",)

    def _weights(self, layer: int, suffix: str) -> Weights:
        return Weights(*(getattr(self, f"{name}_l{layer}{suffix}", None)
                         for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")))

    def _initial_state(self, hx: Tensor | tuple[Tensor, Tensor] | None, batch: int, batched: bool,
                       data: Tensor) -> State:
        """Check hx and return it as tensors (num_layers * num_directions, batch, size); zeros if None."""
        module, sizes = type(self).__name__, self.state_sizes()
        stacked = self.num_layers * len(self._suffixes())
        if hx is None:
            return tuple(data.new_zeros(stacked, batch, getattr(self, size)) for size in sizes.values())
        if len(sizes) == 2:
            check_state_pair(module, hx)
        states = (hx,) if len(sizes) == 1 else tuple(hx)
        for k, ((name, size), state) in enumerate(zip(sizes.items(), states)):
            shape, meaning = (stacked, batch, getattr(self, size)), f"(num_layers * num_directions, batch, {size})"
            if not batched:
                shape, meaning = (stacked, getattr(self, size)), f"(num_layers * num_directions, {size})"
            check_state(module, name, state, shape, meaning, data.dtype, self._torch_words(k, states, shape, batched))
        return states if batched else tuple(state.unsqueeze(1) for state in states)

    @staticmethod
    def _torch_words(k: int, states: tuple[object, ...], shape: tuple[int, ...], batched: bool) -> str:
        """torch's message for the k-th of ``states`` when it is not of ``shape``: first the number of
        dimensions (of both states, for an LSTM), then the size (``hidden[k]`` for an LSTM)."""
        dims = [s.dim() if isinstance(s, Tensor) else 0 for s in states]
        want, kind = (3, "batched 3-D") if batched else (2, "unbatched 2-D")
        if any(d != want for d in dims):
            if len(states) == 1:
                return f"For {kind} input, hx should also be {want}-D but got {dims[0]}-D tensor"
            return f"For {kind} input, hx and cx should also be {want}-D but got ({dims[0]}-D, {dims[1]}-D) tensors"
        state = states[k]
        got = list(state.shape) if isinstance(state, Tensor) else []
        if not batched:  # torch adds the batch dimension first
            shape, got = (shape[0], 1, *shape[1:]), got[:1] + [1] + got[1:]
        which = "hidden" if len(states) == 1 else f"hidden[{k}]"
        return f"Expected {which} size {shape}, got {got}"

    def _run_layers(self, data: Tensor, batch_sizes: list[int], state: State) -> tuple[Tensor, State]:
        """data: (sum(batch_sizes), input_size), the rows of step 0, then step 1, ...; state: tensors
        (num_layers * num_directions, batch, size) -> (last layer's output (sum(batch_sizes),
        num_directions * H_out), final state like ``state``). Dropout follows every layer but the last."""
        finals = []
        for layer in range(self.num_layers):
            outputs = []
            for direction, suffix in enumerate(self._suffixes()):
                k = layer * len(self._suffixes()) + direction
                w = self._weights(layer, suffix)
                output, final = self._run_direction(data, batch_sizes, tuple(s[k] for s in state), w, suffix != "")
                outputs.append(output)
                finals.append(final)
            data = torch.cat(outputs, dim=-1)
            if self.training and self.dropout > 0 and layer < self.num_layers - 1:
                data = F.dropout(data, self.dropout)
        return data, tuple(torch.stack(s) for s in zip(*finals))

    def _run_direction(self, data: Tensor, batch_sizes: list[int], state: State, w: Weights,
                       reverse: bool) -> tuple[Tensor, State]:
        """One layer, one direction. Sequences are sorted longest first, so step t concerns the first
        batch_sizes[t] rows; the other rows keep their state: the final one of a sequence that has ended
        (forwards) or the initial one of a sequence that has not started yet (backwards, each sequence
        starts at its own last element). state: tensors (batch, size) -> (outputs (sum(batch_sizes),
        H_out) in step order, final state)."""
        steps, outputs = data.split(batch_sizes), []
        for t in reversed(range(len(steps))) if reverse else range(len(steps)):
            n = batch_sizes[t]
            new = self.step(steps[t], tuple(s[:n] for s in state), w)
            state = tuple(torch.cat([s_new, s[n:]]) for s_new, s in zip(new, state))
            outputs.append(new[0])
        return torch.cat(outputs[::-1] if reverse else outputs), state


class RNN(RNNBase):
    """Elman RNN, h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh) (or ReLU) per layer; twin of torch.nn.RNN."""

    num_gates = 1

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None,
                 **unexpected: object) -> None:
        refuse_projection(type(self).__name__, unexpected)
        check_nonlinearity(type(self).__name__, nonlinearity)
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)

    def step(self, x: Tensor, state: State, w: Weights) -> State:
        return (rnn_step(x, state[0], w.w_ih, w.w_hh, w.b_ih, w.b_hh, self.nonlinearity),)


class LSTM(RNNBase):
    """LSTM with gates i, f, g, o and an optional projection of h (proj_size); twin of torch.nn.LSTM."""

    num_gates = 4

    def state_sizes(self) -> dict[str, str]:
        return {"h_0": "proj_size" if self.proj_size else "hidden_size", "c_0": "hidden_size"}

    def step(self, x: Tensor, state: State, w: Weights) -> State:
        return lstm_step(x, *state, w.w_ih, w.w_hh, w.b_ih, w.b_hh, w.w_hr)


class GRU(RNNBase):
    """GRU with gates r, z, n; twin of torch.nn.GRU."""

    num_gates = 3

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None,
                 **unexpected: object) -> None:
        refuse_projection(type(self).__name__, unexpected)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)

    def step(self, x: Tensor, state: State, w: Weights) -> State:
        return (gru_step(x, state[0], w.w_ih, w.w_hh, w.b_ih, w.b_hh),)
