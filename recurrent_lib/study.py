"""Small comparative studies: the same model in three flavours, run over several seeds, judged honestly.

- :func:`make_model`: ``"rnn" | "lstm" | "gru"`` with the same sizes and the same interface (a
  :class:`~recurrent_lib.classifiers.SequenceClassifier`, or a
  :class:`~recurrent_lib.classifiers.SequenceRegressor` with ``regression=True``), so that a study
  changes one thing only: the recurrent layer.
- :func:`trainable_parameters`, :func:`model_parameters` and :func:`matched_hidden_size`: compare at equal
  size, or at equal budget.
- :class:`Spread` and :func:`over_seeds`: one number per seed, with its mean and range.
- :func:`beyond_spread`, :func:`compare` and :func:`verdict`: a difference counts only when it is
  larger than the seeds' own spread; a claim *holds* when every seed bears it out, *partly* when some do.
- :class:`StepRecorder` and :func:`steps_to_reach`: per-step losses and gradient norms (measured before
  any clipping: ``train.fit`` clips in place), and how many steps a run took to reach a target loss.
"""
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from recurrent_lib import sizes
from recurrent_lib.classifiers import SequenceClassifier, SequenceRegressor
from recurrent_lib.gates import set_forget_bias
from recurrent_lib.runtime import seed_everything

Kind = Literal["rnn", "lstm", "gru"]
LAYERS: dict[str, type[nn.RNNBase]] = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
VERDICTS = ("holds", "partly", "does not")


def _check_kind(kind: object) -> None:
    if kind not in LAYERS:
        raise ValueError(f"expected kind 'rnn', 'lstm' or 'gru', got {kind!r}")


def _check_positive(**sizes: object) -> None:
    for name, value in sizes.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"expected {name} to be a positive integer, got {value!r}")


def make_model(kind: Kind, input_size: int, hidden_size: int, n_outputs: int, *,
               forget_bias: float | None = None, regression: bool = False) -> SequenceClassifier:
    """``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` (input_size -> hidden_size, one layer, sequence-first) read
    out by a linear layer to ``n_outputs`` scores.

    forward(x (T, B, input_size) or a PackedSequence) -> log-probs (B, n_outputs), or with
    ``regression=True`` raw outputs (B,) for ``n_outputs=1``. ``forget_bias`` sets the LSTM's forget-gate
    bias (:func:`recurrent_lib.gates.set_forget_bias`); only an LSTM has one. Weights come from torch's
    global generator: seed it first (``recurrent_lib.seed_everything``).
    """
    _check_kind(kind)
    _check_positive(input_size=input_size, hidden_size=hidden_size, n_outputs=n_outputs)
    if forget_bias is not None and kind != "lstm":
        raise ValueError(f"only an LSTM has a forget gate; got forget_bias={forget_bias!r} for kind {kind!r}")
    rnn = LAYERS[kind](input_size, hidden_size)
    if forget_bias is not None:
        set_forget_bias(rnn, forget_bias)
    return (SequenceRegressor if regression else SequenceClassifier)(rnn, n_outputs)


def trainable_parameters(model: nn.Module) -> int:
    """The number of trainable numbers in ``model``, counted from its tensors (``recurrent_lib.sizes``
    computes a recurrent layer's count from its sizes alone)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def model_parameters(kind: Kind, input_size: int, hidden_size: int, n_outputs: int) -> int:
    """Parameters of ``make_model(kind, input_size, hidden_size, n_outputs)``, from the sizes alone: the layer's
    ``k * (H * I + H * H + 2 * H)`` with k = 1, 4, 3 gate blocks for RNN, LSTM, GRU
    (:func:`recurrent_lib.sizes.count_parameters`), plus the read-out's ``n_outputs * (H + 1)``."""
    _check_kind(kind)
    return sizes.count_parameters(kind.upper(), input_size, hidden_size) + n_outputs * (hidden_size + 1)


def matched_hidden_size(kind: Kind, input_size: int, n_outputs: int, n_parameters: int) -> int:
    """The hidden size whose ``make_model(kind, ...)`` comes closest to ``n_parameters`` parameters
    (the smaller one on a tie): compare kinds at equal budget rather than at equal width."""
    _check_kind(kind)
    _check_positive(input_size=input_size, n_outputs=n_outputs, n_parameters=n_parameters)
    H = 1
    while model_parameters(kind, input_size, H + 1, n_outputs) <= n_parameters:
        H += 1
    above = H + 1
    if abs(model_parameters(kind, input_size, above, n_outputs) - n_parameters) < \
            abs(model_parameters(kind, input_size, H, n_outputs) - n_parameters):
        return above
    return H


@dataclass(frozen=True)
class Spread:
    """One measurement per seed: ``values[i]`` came from ``seeds[i]``."""

    seeds: tuple[int, ...]
    values: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.values) == 0 or len(self.values) != len(self.seeds):
            raise ValueError(f"expected one value per seed and at least one, got {len(self.values)} values "
                             f"for {len(self.seeds)} seeds")

    @property
    def mean(self) -> float:
        return statistics.fmean(self.values)

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)

    def __str__(self) -> str:
        return f"{self.mean:.3g} ({self.low:.3g} to {self.high:.3g})"


def over_seeds(run: Callable[[int], float], seeds: Iterable[int]) -> Spread:
    """``run(seed)`` for every seed, as a :class:`Spread`. Before each run, Python, NumPy and torch are
    seeded with ``seed`` (:func:`recurrent_lib.seed_everything`), so that a model built inside ``run``
    starts from the same weights every time the study is repeated, and from different ones per seed."""
    seeds = tuple(seeds)
    values = []
    for seed in seeds:
        seed_everything(seed)
        value = run(seed)
        if isinstance(value, Tensor):
            value = value.item()
        values.append(float(value))
    return Spread(seeds, tuple(values))


def beyond_spread(higher: Spread, lower: Spread) -> bool:
    """Whether ``higher`` beats ``lower`` by more than the seeds' spread: every value of ``higher`` is
    above every value of ``lower`` (the two ranges do not overlap)."""
    return higher.low > lower.high


def verdict(outcomes: Sequence[bool]) -> str:
    """A claim tested once per seed (or setting): "holds" if every test bears it out, "partly" if some
    do, "does not" if none does."""
    outcomes = [bool(o) for o in outcomes]
    if not outcomes:
        raise ValueError("expected at least one outcome to judge a claim by, got none")
    return VERDICTS[0] if all(outcomes) else VERDICTS[1] if any(outcomes) else VERDICTS[2]


def compare(higher: Spread, lower: Spread) -> str:
    """The verdict on "``higher`` is better than ``lower``": "holds" when it is beyond the spread
    (:func:`beyond_spread`), "partly" when only the means are in that order, "does not" otherwise."""
    if beyond_spread(higher, lower):
        return VERDICTS[0]
    return VERDICTS[1] if higher.mean > lower.mean else VERDICTS[2]


def steps_to_reach(losses: Sequence[float], target: float, window: int = 10) -> int | None:
    """The first step (counting from 1) at which the mean of the last ``window`` losses is at most
    ``target``, or None if the run never got there (a single lucky minibatch does not count)."""
    _check_positive(window=window)
    for end in range(window, len(losses) + 1):
        if statistics.fmean(losses[end - window:end]) <= target:
            return end
    return None


class StepRecorder:
    """Per-step loss and global gradient norm ‖∂L/∂θ‖ (over all of ``model``'s parameters, before any
    clipping) of a training run; use with ``train.fit(..., on_batch_end=recorder.on_batch_end)``.

    After training, ``losses`` and ``grad_norms`` hold one float per optimizer step. Hooks on the
    parameters see each gradient as backward computes it; ``remove()`` takes them off.
    """

    def __init__(self, model: nn.Module) -> None:
        self.losses: list[float] = []
        self.grad_norms: list[float] = []
        self._squares: list[Tensor] = []
        self._handles = [p.register_hook(self._collect) for p in model.parameters() if p.requires_grad]

    def _collect(self, grad: Tensor) -> None:
        self._squares.append(grad.detach().double().pow(2).sum())

    def on_batch_end(self, step: int, loss: float) -> None:
        self.losses.append(loss)
        self.grad_norms.append(torch.stack(self._squares).sum().sqrt().item() if self._squares else 0.0)
        self._squares.clear()

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
