"""Small comparative studies: the same model in three flavours, run over several seeds, judged honestly.

- :func:`make_model`: ``"rnn" | "lstm" | "gru"`` with the same sizes and the same interface (a
  :class:`~recurrent_lib.classifiers.SequenceClassifier`, or a
  :class:`~recurrent_lib.classifiers.SequenceRegressor` with ``regression=True``), so that a study
  changes one thing only: the recurrent layer.
- :func:`trainable_parameters`, :func:`model_parameters` and :func:`matched_hidden_size`: compare at equal
  size, or at equal budget.
- :class:`Spread` and :func:`over_seeds`: one number per seed, with its mean and range.
- :func:`verdict`, :func:`compare` and :func:`combine`: the course's statistical standard (CONTRIBUTING.md,
  "Claims that rest on training"). A claim tested once per seed gets one of four :class:`Verdict` s --
  *holds*, *does not*, *inconclusive* (the seeds cannot tell), and *partly* (a claim of several parts, some
  of which hold and some not) -- and each verdict says how many seeds back it. The rule is a sign test: a
  claim holds when it is true on so many seeds that a coin (true or false with probability 1/2 on each
  seed) would do as well less than 5 % of the time (:func:`seeds_needed`: 5 of 5, 6 of 6, 7 of 8, 9 of 10
  ...), does not hold when it is false on that many, and is inconclusive in between. :func:`rate_interval`
  gives a pooled success rate's exact (Clopper-Pearson) interval. :func:`beyond_spread` is the stricter
  "every seed of one above every seed of the other".
- :func:`fit_side_by_side`: the same kind of model trained for several seeds at once, as one layer with
  block-diagonal weights, so that six seeds cost a fraction of six runs (:class:`SeedRun` per seed).
- :class:`StepRecorder` and :func:`steps_to_reach`: per-step losses and gradient norms (measured before
  any clipping: ``train.fit`` clips in place), and how many steps a run took to reach a target loss.
"""
import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence

from recurrent_lib import sizes
from recurrent_lib.classifiers import SequenceClassifier, SequenceRegressor
from recurrent_lib.gates import set_forget_bias
from recurrent_lib.runtime import seed_everything

Kind = Literal["rnn", "lstm", "gru"]
LAYERS: dict[str, type[nn.RNNBase]] = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
VERDICTS = ("holds", "partly", "does not", "inconclusive")
ALPHA = 0.05  # a verdict "holds" or "does not" only when a coin would match it less often than this


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


def _tail(n: int, k: int, p: float = 0.5) -> float:
    """P(X >= k) for X ~ Binomial(n, p)."""
    return sum(math.comb(n, i) * p ** i * (1 - p) ** (n - i) for i in range(max(k, 0), n + 1))


def seeds_needed(n: int, alpha: float = ALPHA) -> int | None:
    """The fewest of ``n`` seeds on which a claim must be true for the sign test to call it established:
    the smallest k with P(at least k of n fair coin flips) <= ``alpha``; None when even n of n is not
    enough (n < 5 at alpha 0.05: 4 of 4 happens by chance 1 time in 16)."""
    _check_positive(n=n)
    return next((k for k in range(n + 1) if _tail(n, k) <= alpha), None)


class Verdict(str):
    """One of :data:`VERDICTS` (it compares equal to the plain string) that also knows how many seeds back
    it: ``support`` of ``seeds`` seeds bore the claim out; ``parts`` holds the verdicts a combined claim
    was made of (see :func:`combine`). ``described`` is the text a table prints: "holds (6 of 6 seeds)"."""

    support: int
    seeds: int
    parts: tuple["Verdict", ...]

    def __new__(cls, result: str, support: int, seeds: int, parts: tuple["Verdict", ...] = ()) -> "Verdict":
        if result not in VERDICTS:
            raise ValueError(f"expected a verdict in {VERDICTS}, got {result!r}")
        verdict = super().__new__(cls, result)
        verdict.support, verdict.seeds, verdict.parts = support, seeds, parts
        return verdict

    @property
    def described(self) -> str:
        if self.parts:
            return f"{self} ({'; '.join(part.described for part in self.parts)})"
        return f"{self} ({self.support} of {self.seeds} seeds)"


def verdict(outcomes: Sequence[bool], alpha: float = ALPHA) -> Verdict:
    """The verdict on a claim tested once per seed (``outcomes[i]``: was it true on seed i?), by the sign
    test: "holds" when it is true on at least :func:`seeds_needed` of them, "does not" when it is false
    on that many, "inconclusive" otherwise (also whenever there are too few seeds to decide)."""
    outcomes = [bool(o) for o in outcomes]
    if not outcomes:
        raise ValueError("expected at least one outcome to judge a claim by, got none")
    n, support = len(outcomes), sum(outcomes)
    needed = seeds_needed(n, alpha)
    result = "inconclusive" if needed is None else \
        "holds" if support >= needed else "does not" if n - support >= needed else "inconclusive"
    return Verdict(result, support, n)


def compare(higher: Spread, lower: Spread, margin: float = 0.0, alpha: float = ALPHA) -> Verdict:
    """The verdict on "``higher`` is better than ``lower``", seed by seed: on each seed the claim is true
    when ``higher``'s value exceeds ``lower``'s by more than ``margin`` (a tie, or a lead within the margin,
    counts against it), then :func:`verdict`. Both spreads must come from the same seeds: a seed fixes the
    data, so the two models met the same sequences (a paired comparison)."""
    if higher.seeds != lower.seeds:
        raise ValueError(f"expected both spreads over the same seeds (a paired comparison), got {higher.seeds} "
                         f"and {lower.seeds}")
    return verdict([a > b + margin for a, b in zip(higher.values, lower.values)], alpha)


def combine(*parts: Verdict) -> Verdict:
    """A claim made of several parts: "holds" if every part holds, "does not" if none does, "partly" if some
    hold and the others do not, "inconclusive" as soon as one part is (it could go either way)."""
    if not parts:
        raise ValueError("expected at least one verdict to combine, got none")
    results = {str(part) for part in parts}
    result = "inconclusive" if "inconclusive" in results else "holds" if results == {"holds"} else \
        "does not" if results == {"does not"} else "partly"
    return Verdict(result, min(part.support for part in parts), min(part.seeds for part in parts), tuple(parts))


def rate_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The exact (Clopper-Pearson) ``confidence`` interval of a success rate measured as ``successes`` of
    ``n`` independent runs (pooled seeds): 5 of 6 gives (0.36, 1.0)."""
    _check_positive(n=n)
    if not (isinstance(successes, int) and 0 <= successes <= n):
        raise ValueError(f"expected successes between 0 and n={n}, got {successes!r}")
    tail = (1 - confidence) / 2

    def solve(too_high: Callable[[float], bool]) -> float:
        low, high = 0.0, 1.0
        for _ in range(60):
            middle = (low + high) / 2
            low, high = (low, middle) if too_high(middle) else (middle, high)
        return (low + high) / 2

    lower = 0.0 if successes == 0 else solve(lambda p: _tail(n, successes, p) > tail)
    upper = 1.0 if successes == n else solve(lambda p: 1 - _tail(n, successes + 1, p) < tail)
    return lower, upper


@dataclass
class SeedRun:
    """What one seed's run of :func:`fit_side_by_side` recorded: the trained ``model`` (a standalone
    :func:`make_model` model, as it was when the run stopped), the loss and the gradient norm ‖∂L/∂θ‖
    (before clipping) of every optimizer step, and the training accuracy of every epoch (running, over the
    epoch's minibatches; empty for a regression)."""

    seed: int
    model: nn.Module
    losses: list[float]
    grad_norms: list[float]
    train_acc: list[float]

    @property
    def steps(self) -> int:
        return len(self.losses)


class _Blocks(nn.Module):
    """S models of one kind as one recurrent layer (S * I -> S * H) whose weights are block-diagonal, and S
    read-outs. ``owner[name]`` says, for every entry of a parameter, which seed it belongs to (S: none, an
    off-diagonal zero that must stay zero)."""

    def __init__(self, models: Sequence[SequenceClassifier], regression: bool) -> None:
        super().__init__()
        first = models[0].rnn
        S, I, H, C = len(models), first.input_size, first.hidden_size, models[0].out.out_features
        self.S, self.I, self.H, self.regression = S, I, H, regression
        self.kind = next(kind for kind, layer in LAYERS.items() if type(first) is layer)
        self.rnn = LAYERS[self.kind](S * I, S * H).to(first.weight_ih_l0.device)
        self.owner: dict[str, Tensor] = {}
        with torch.no_grad():
            for name, big in self.rnn.named_parameters():
                big.zero_()
                owner = torch.full(big.shape, S, dtype=torch.long, device=big.device)
                for s, model in enumerate(models):
                    small = getattr(model.rnn, name)
                    for gate, rows in enumerate(small.split(H)):
                        target = slice(gate * S * H + s * H, gate * S * H + (s + 1) * H)
                        if big.dim() == 1:
                            big[target], owner[target] = rows, s
                        else:
                            width = rows.shape[1]
                            big[target, s * width:(s + 1) * width] = rows
                            owner[target, s * width:(s + 1) * width] = s
                self.owner[f"rnn.{name}"] = owner
        self.weight = nn.Parameter(torch.stack([model.out.weight.detach() for model in models]))  # (S, C, H)
        self.bias = nn.Parameter(torch.stack([model.out.bias.detach() for model in models]))      # (S, C)
        seeds = torch.arange(S, device=self.weight.device)
        self.owner["weight"] = seeds[:, None, None].expand(S, C, H)
        self.owner["bias"] = seeds[:, None].expand(S, C)

    def forward(self, x: Tensor, last: Tensor) -> Tensor:
        """x (T, B, S * I), last (B, S): the step to read seed s's state at -> scores (B, S, C)."""
        output, _ = self.rnn(x)                                             # (T, B, S * H)
        T, B = output.shape[:2]
        states = output.view(T, B, self.S, self.H)
        final = states.gather(0, last[None, :, :, None].expand(1, B, self.S, self.H))[0]   # (B, S, H)
        scores = torch.einsum("bsh,sch->bsc", final, self.weight) + self.bias
        return scores if self.regression else scores.log_softmax(dim=-1)

    def clip_(self, max_norm: float | None) -> Tensor:
        """Zero the gradients that cross between seeds, clip each seed's gradient to ``max_norm`` on its own
        (as ``clip_grad_norm_`` would in a separate run) and return the S norms before clipping."""
        squares = torch.zeros(self.S + 1, dtype=torch.float64, device=self.weight.device)
        named = dict(self.named_parameters())
        for name, owner in self.owner.items():
            squares += torch.bincount(owner.flatten(), named[name].grad.flatten().double() ** 2,
                                      minlength=self.S + 1)
        norms = squares[:self.S].sqrt()
        scale = torch.ones(self.S + 1, dtype=torch.float64, device=norms.device)
        if max_norm is not None:
            scale[:self.S] = (max_norm / (norms + 1e-6)).clamp(max=1.0)
        scale[self.S] = 0.0
        for name, owner in self.owner.items():
            named[name].grad.mul_(scale[owner].to(named[name].grad.dtype))
        return norms

    def extract(self, s: int, model: SequenceClassifier) -> SequenceClassifier:
        """Copy seed ``s``'s block into ``model`` (a standalone model of the same sizes) and return it."""
        S, H = self.S, self.H
        with torch.no_grad():
            for name, big in self.rnn.named_parameters():
                rows = big.view(-1, S * H, *big.shape[1:])[:, s * H:(s + 1) * H]      # (gates, H, ...)
                if big.dim() == 2:
                    width = big.shape[1] // S
                    rows = rows[..., s * width:(s + 1) * width]
                getattr(model.rnn, name).copy_(rows.reshape(getattr(model.rnn, name).shape))
            model.out.weight.copy_(self.weight[s])
            model.out.bias.copy_(self.bias[s])
        return model


def _padded(inputs: Tensor | PackedSequence, T: int | None = None) -> tuple[Tensor, Tensor]:
    """(x (T, B, I), last (B,)): a batch padded with zeros and the index of each sequence's last step."""
    if isinstance(inputs, PackedSequence):
        x, lengths = pad_packed_sequence(inputs)
        return x, lengths.to(x.device) - 1
    return inputs, torch.full((inputs.shape[1],), inputs.shape[0] - 1, dtype=torch.long, device=inputs.device)


def fit_side_by_side(kind: Kind, seeds: Sequence[int], train_items: Callable[[int], Sequence[Any]], *,
                     input_size: int, hidden_size: int, n_outputs: int, collate: Callable[[list[Any]], Any],
                     epochs: int, batch_size: int, lr: float, clip_grad_norm: float | None = None,
                     forget_bias: float | None = None, regression: bool = False,
                     stop: Callable[[SeedRun], bool] | None = None, per_block: int | None = None,
                     device: torch.device | str = "cpu") -> list[SeedRun]:
    """Train one model per seed, all at once, and return a :class:`SeedRun` per seed, in order.

    Seed s's run is the run ``train.fit`` would make (up to rounding): its model is
    ``make_model(kind, input_size, hidden_size, n_outputs, ...)`` built right after ``seed_everything(s)``;
    its data are ``train_items(s)``, shuffled every epoch by a generator seeded with s, in minibatches of
    ``batch_size`` made by ``collate`` (``(x (T, B, I) or a PackedSequence, y)``, e.g.
    ``tasks.collate_steps`` or ``data.collate_names``); Adam with learning rate ``lr``; its own gradient
    clipped to ``clip_grad_norm``; cross-entropy on log-probabilities, or the mean squared error with
    ``regression=True``. ``stop(run)`` is asked after every epoch: once it says True, that seed's model is
    kept as it is and its record ends there. Every seed's data must have the same number of items.

    The S models run as one layer of S * hidden_size units whose weights are block-diagonal (a seed's
    units see only its own inputs and units, the zeros between blocks get no gradient), so one step costs
    far less than S steps of separate models. A block's matrices grow as S squared, so at most ``per_block``
    seeds share one (default :func:`seeds_per_block`); the blocks run one after the other.
    """
    _check_kind(kind)
    _check_positive(epochs=epochs, batch_size=batch_size)
    seeds = tuple(seeds)
    if not seeds:
        raise ValueError("expected at least one seed, got none")
    per_block = per_block or seeds_per_block(kind, hidden_size)
    options = dict(input_size=input_size, hidden_size=hidden_size, n_outputs=n_outputs, collate=collate,
                   epochs=epochs, batch_size=batch_size, lr=lr, clip_grad_norm=clip_grad_norm,
                   forget_bias=forget_bias, regression=regression, stop=stop, device=device)
    return [run for start in range(0, len(seeds), per_block)
            for run in _fit_block(kind, seeds[start:start + per_block], train_items, **options)]


def seeds_per_block(kind: Kind, hidden_size: int) -> int:
    """How many seeds :func:`fit_side_by_side` trains in one block by default: as many as keep the block's
    gate rows (gate blocks x seeds x hidden_size) at most 160, where one block still costs about as much
    as one model on a CPU (measured with torch 2.13 at hidden_size 16, where this gives RNN 10 seeds, LSTM 2, GRU 3)."""
    return max(1, 160 // (sizes.GATES[kind.upper()] * hidden_size))


def _fit_block(kind: Kind, seeds: tuple[int, ...], train_items: Callable[[int], Sequence[Any]], *,
               input_size: int, hidden_size: int, n_outputs: int, collate: Callable[[list[Any]], Any],
               epochs: int, batch_size: int, lr: float, clip_grad_norm: float | None, forget_bias: float | None,
               regression: bool, stop: Callable[[SeedRun], bool] | None,
               device: torch.device | str) -> list[SeedRun]:
    """:func:`fit_side_by_side` for the seeds of one block."""
    models, data = [], []
    for seed in seeds:
        seed_everything(seed)
        models.append(make_model(kind, input_size, hidden_size, n_outputs, forget_bias=forget_bias,
                                 regression=regression).to(device))
        data.append(train_items(seed))
    if len({len(items) for items in data}) != 1:
        raise ValueError(f"expected the same number of training items for every seed, got {[len(d) for d in data]}")
    blocks = _Blocks(models, regression).to(device)
    optimizer = torch.optim.Adam(blocks.parameters(), lr=lr)
    generators = [torch.Generator().manual_seed(seed) for seed in seeds]
    runs = [SeedRun(seed, model, [], [], []) for seed, model in zip(seeds, models)]
    active = list(range(len(seeds)))
    n = len(data[0])
    for _ in range(epochs):
        orders = [torch.randperm(n, generator=g) for g in generators]
        correct = torch.zeros(len(seeds))
        for start in range(0, n, batch_size):
            batches = [collate([items[i] for i in order[start:start + batch_size].tolist()])
                       for items, order in zip(data, orders)]
            padded = [_padded(inputs.to(device)) for inputs, _ in batches]
            T = max(x.shape[0] for x, _ in padded)
            x = torch.cat([F.pad(x, (0, 0, 0, 0, 0, T - x.shape[0])) for x, _ in padded], dim=2)
            last = torch.stack([last for _, last in padded], dim=1)                    # (B, S)
            y = torch.stack([targets.to(device) for _, targets in batches], dim=1)     # (B, S)
            scores = blocks(x, last)
            losses = [F.mse_loss(scores[:, s, 0], y[:, s]) if regression else F.nll_loss(scores[:, s], y[:, s])
                      for s in range(len(seeds))]
            optimizer.zero_grad()
            torch.stack(losses).sum().backward()
            norms = blocks.clip_(clip_grad_norm)
            optimizer.step()
            if not regression:
                correct += (scores.argmax(dim=-1) == y).sum(dim=0).cpu()
            for s in active:
                runs[s].losses.append(losses[s].item())
                runs[s].grad_norms.append(norms[s].item())
        for s in list(active):
            if not regression:
                runs[s].train_acc.append(correct[s].item() / n)
            if stop is not None and stop(runs[s]):
                blocks.extract(s, runs[s].model)
                active.remove(s)
        if not active:
            break
    for s in active:
        blocks.extract(s, runs[s].model)
    return runs


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
