"""Gate biases of ``nn.LSTM`` / ``nn.GRU`` (and the library twins), set where they live.

PyTorch stacks the gates' rows in ``bias_ih_l{k}`` and ``bias_hh_l{k}`` (``_reverse`` for the second
direction): LSTM in the order i, f, g, o, GRU r, z, n, each block ``hidden_size`` rows long. The two
biases are always added together, so only their sum matters: these functions put the whole value in
``bias_ih`` and zero the block of ``bias_hh``.
"""
import torch
from torch import nn

LSTM_GATES = ("i", "f", "g", "o")
GRU_GATES = ("r", "z", "n")


def set_gate_bias(rnn: nn.Module, gate: str, value: float) -> None:
    """Make the bias of ``gate`` equal to ``value`` in every layer and direction of ``rnn``.

    ``rnn``: an LSTM (gates i, f, g, o) or a GRU (r, z, n), torch's or the library's, with ``bias=True``.
    """
    gates = {4: LSTM_GATES, 3: GRU_GATES}.get(rnn.weight_ih_l0.shape[0] // rnn.hidden_size, ())
    if gate not in gates:
        raise ValueError(f"{type(rnn).__name__} has the gates {', '.join(gates) or 'none'}; got {gate!r}")
    if not rnn.bias:
        raise ValueError(f"{type(rnn).__name__} was built with bias=False: it has no gate biases to set")
    H, k = rnn.hidden_size, gates.index(gate)
    with torch.no_grad():
        for name, p in rnn.named_parameters():
            if name.startswith("bias_ih"):
                p[k * H:(k + 1) * H] = value
            elif name.startswith("bias_hh"):
                p[k * H:(k + 1) * H] = 0.0


def set_forget_bias(lstm: nn.Module, value: float = 1.0) -> None:
    """The forget gate's bias (rows ``H:2H``) of every layer of ``lstm`` set to ``value`` (Gers et al. 2000)."""
    set_gate_bias(lstm, "f", value)
