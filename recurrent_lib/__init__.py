"""Reference implementations for the recurrent-networks course.

The cells and layers are drop-in twins of ``torch.nn``'s: same constructor, same ``state_dict``,
same outputs. Everything else lives in submodules (``recurrent_lib.data``, ``.train``, ``.plots``,
``.homework``) and is imported from there.
"""
from recurrent_lib.cells import GRUCell, LSTMCell, RNNCell
from recurrent_lib.layers import GRU, LSTM, RNN
from recurrent_lib.runtime import default_device, seed_everything

__all__ = ["RNNCell", "LSTMCell", "GRUCell", "RNN", "LSTM", "GRU", "default_device", "seed_everything"]
