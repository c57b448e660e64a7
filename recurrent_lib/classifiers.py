"""Sequence classifiers for the names task.

- :class:`TutorialRNN`, :func:`tutorial_train_step`, :func:`tutorial_predict`: the hand-written
  network of the PyTorch "classifying names" tutorial (and of the seed report), trained one name at
  a time with manual SGD.
- :class:`SequenceClassifier` (and :class:`SequenceRegressor`, its read-out without softmax): any recurrent layer (``torch.nn.RNN/LSTM/GRU`` or
  ``recurrent_lib``'s twins) plus a linear read-out of the last layer's final hidden state;
  it takes whole (packed) batches, so :func:`recurrent_lib.train.fit` can train it.
"""
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence


class TutorialRNN(nn.Module):
    """The tutorial's RNN, exactly: with ``c = [x_t, h_{t-1}]`` (concatenated),

        h_t = i2h(c) = W_i2h c + b_i2h          (no tanh!)
        y_t = log_softmax(i2o(c))               (reads h_{t-1}, not h_t)

    forward(x_t: (1, input_size), hidden: (1, hidden_size)) -> (log_probs (1, output_size), hidden (1, hidden_size))
    """

    def __init__(self, input_size: int, hidden_size: int, output_size: int) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.i2h = nn.Linear(input_size + hidden_size, hidden_size)
        self.i2o = nn.Linear(input_size + hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, x_t: Tensor, hidden: Tensor) -> tuple[Tensor, Tensor]:
        combined = torch.cat((x_t, hidden), dim=1)
        hidden = self.i2h(combined)
        output = self.softmax(self.i2o(combined))
        return output, hidden

    def init_hidden(self) -> Tensor:
        """Zeros (1, hidden_size) on the model's device."""
        return torch.zeros(1, self.hidden_size, device=self.i2h.weight.device)


def _check_name_tensor(model: TutorialRNN, name_tensor: Tensor) -> Tensor:
    expected = f"(length, 1, {model.input_size})"
    if not isinstance(name_tensor, Tensor):
        raise TypeError(f"expected a name tensor of shape {expected}, got {type(name_tensor).__name__}")
    if name_tensor.dim() != 3 or name_tensor.shape[0] < 1 or name_tensor.shape[1:] != (1, model.input_size):
        raise ValueError(f"expected a name tensor of shape {expected}, got {tuple(name_tensor.shape)}")
    return name_tensor.to(model.i2h.weight.device)


def _run(model: TutorialRNN, name_tensor: Tensor) -> Tensor:
    hidden = model.init_hidden()
    for x_t in name_tensor:
        output, hidden = model(x_t, hidden)
    return output


def tutorial_train_step(model: TutorialRNN, name_tensor: Tensor, label: int | Tensor, lr: float = 0.005) -> float:
    """One name, one update, as the tutorial does it: feed the letters one at a time, NLL loss of the
    log-probabilities after the last letter, backward, then ``p -= lr * p.grad`` for every parameter.

    name_tensor: (length, 1, input_size), e.g. ``data.name_to_tensor(name)``; label: class index.
    Returns the loss (a float).
    """
    name_tensor = _check_name_tensor(model, name_tensor)
    label = int(label)
    if not 0 <= label < model.output_size:
        raise ValueError(f"expected a label in [0, {model.output_size}), got {label}")
    model.zero_grad()
    output = _run(model, name_tensor)
    loss = F.nll_loss(output, torch.tensor([label], device=output.device))
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(p.grad, alpha=-lr)
    return loss.item()


def tutorial_predict(model: TutorialRNN, name_tensor: Tensor) -> Tensor:
    """Log-probabilities (1, output_size) after the last letter of name_tensor (length, 1, input_size)."""
    with torch.no_grad():
        return _run(model, _check_name_tensor(model, name_tensor))


class SequenceClassifier(nn.Module):
    """A recurrent layer read out by a linear layer and a log-softmax:

        log_probs = log_softmax(W_out h_n + b_out)

    where ``h_n`` is the last layer's final hidden state (for a bidirectional layer, forward and
    backward final states concatenated; for an LSTM with ``proj_size`` the projected state).

    forward(inputs: PackedSequence or Tensor (L, B, F) ((B, L, F) if the layer is batch_first))
        -> log-probs (B, n_classes). Give sequences of different lengths packed: with padding,
        the final state would be read after the padding.
    """

    def __init__(self, rnn: nn.Module, n_classes: int) -> None:
        super().__init__()
        if not all(hasattr(rnn, attr) for attr in ("hidden_size", "num_layers", "bidirectional")):
            raise TypeError(
                f"{type(self).__name__} needs a recurrent layer that runs whole sequences "
                "(torch.nn.RNN/LSTM/GRU or recurrent_lib.RNN/LSTM/GRU, with hidden_size, num_layers and "
                f"bidirectional attributes), got {type(rnn).__name__}"
            )
        self.directions = 2 if rnn.bidirectional else 1
        state_size = getattr(rnn, "proj_size", 0) or rnn.hidden_size
        self.rnn = rnn
        self.out = nn.Linear(state_size * self.directions, n_classes)
        self.softmax = nn.LogSoftmax(dim=-1)

    def last_state(self, inputs: PackedSequence | Tensor) -> Tensor:
        """The last layer's final hidden state (B, directions * H), both directions concatenated."""
        _, state = self.rnn(inputs)
        h_n = state[0] if isinstance(state, tuple) else state  # LSTM returns (h_n, c_n)
        # h_n: (num_layers * directions, B, H), the last layer's directions last
        return torch.cat(tuple(h_n[-self.directions:]), dim=-1)

    def forward(self, inputs: PackedSequence | Tensor) -> Tensor:
        return self.softmax(self.out(self.last_state(inputs)))


class SequenceRegressor(SequenceClassifier):
    """The same read-out without the softmax, for a regression target (e.g. the adding problem):

        y = W_out h_n + b_out

    forward(inputs) -> (B,) when ``n_outputs=1`` (the default), else (B, n_outputs).
    """

    def __init__(self, rnn: nn.Module, n_outputs: int = 1) -> None:
        super().__init__(rnn, n_outputs)

    def forward(self, inputs: PackedSequence | Tensor) -> Tensor:
        y = self.out(self.last_state(inputs))
        return y.squeeze(-1) if y.shape[-1] == 1 else y
