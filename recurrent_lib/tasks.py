"""Synthetic long-range tasks (Hochreiter & Schmidhuber 1997), generated from a seed, shared by lessons 04-07.

Both are sequence-first, like ``torch.nn.RNN``'s default layout: inputs ``(T, N, features)``.

- :func:`temporal_order`: a sequence of random distractor symbols in which two relevant symbols,
  each ``X`` or ``Y``, appear once each; the class is their order (XX, XY, YX, YY). With
  ``positions="early"`` the first appears in the first 10-20 % of the sequence, the second in 50-60 %,
  so the answer lies far back from the last step; with ``positions="late"`` both lie in the last 10
  steps, a short-range version of the same task.
- :func:`adding_problem`: two channels, a random value in [0, 1) and a marker that is 1 at exactly two
  steps (one in each half); the target is the sum of the two marked values. Always predicting the
  mean, 1, gives the mean squared error :data:`ADDING_BASELINE_MSE` = Var(U + U') = 1/6.

Everything is drawn from a ``torch.Generator`` on the CPU seeded with ``seed``: the same data on any
machine, with or without a GPU (move it with ``.to(device)`` afterwards).
"""
from typing import Literal

import torch
from torch import Tensor

TEMPORAL_SYMBOLS = ("X", "Y", "a", "b", "c", "d")  # one-hot index = position here; X and Y are relevant
TEMPORAL_CLASSES = ("XX", "XY", "YX", "YY")         # class = 2 * (first is Y) + (second is Y)
ADDING_BASELINE_MSE = 1 / 6


def _check_sizes(n: int, T: int, least_T: int) -> None:
    for name, value, least in (("n", n, 1), ("T", T, least_T)):
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise ValueError(f"expected {name} to be an integer >= {least}, got {value!r}")


def _positions(n: int, low: int, high: int, generator: torch.Generator) -> Tensor:
    """(n,) integers drawn uniformly from [low, high)."""
    return torch.randint(low, high, (n,), generator=generator)


def temporal_order(n: int, T: int, *, seed: int, positions: Literal["early", "late"] = "early") -> tuple[Tensor, Tensor]:
    """``n`` temporal-order sequences of length ``T``.

    Returns x (T, n, 6) float32 one-hot over :data:`TEMPORAL_SYMBOLS` and y (n,) int64 in [0, 4)
    indexing :data:`TEMPORAL_CLASSES`. ``T`` must be at least 20.
    """
    _check_sizes(n, T, 20)
    if positions not in ("early", "late"):
        raise ValueError(f"expected positions 'early' or 'late', got {positions!r}")
    generator = torch.Generator().manual_seed(seed)
    symbols = torch.randint(2, len(TEMPORAL_SYMBOLS), (T, n), generator=generator)  # distractors a-d
    if positions == "early":
        first = _positions(n, T // 10, 2 * T // 10, generator)
        second = _positions(n, 5 * T // 10, 6 * T // 10, generator)
    else:
        first = _positions(n, T - 10, T - 5, generator)
        second = _positions(n, T - 5, T, generator)
    which = torch.randint(0, 2, (2, n), generator=generator)  # 0: X, 1: Y
    columns = torch.arange(n)
    symbols[first, columns] = which[0]
    symbols[second, columns] = which[1]
    x = torch.nn.functional.one_hot(symbols, len(TEMPORAL_SYMBOLS)).float()
    return x, 2 * which[0] + which[1]


def adding_problem(n: int, T: int, *, seed: int) -> tuple[Tensor, Tensor]:
    """``n`` adding-problem sequences of length ``T`` (at least 2).

    Returns x (T, n, 2) float32 -- channel 0 the values in [0, 1), channel 1 the two markers -- and
    y (n,) float32, the sum of the two marked values.
    """
    _check_sizes(n, T, 2)
    generator = torch.Generator().manual_seed(seed)
    values = torch.rand(T, n, generator=generator)
    first = _positions(n, 0, T // 2, generator)
    second = _positions(n, T // 2, T, generator)
    markers = torch.zeros(T, n)
    columns = torch.arange(n)
    markers[first, columns] = 1.0
    markers[second, columns] = 1.0
    return torch.stack((values, markers), dim=2), values[first, columns] + values[second, columns]


def as_items(x: Tensor, y: Tensor) -> list[tuple[Tensor, Tensor]]:
    """A task's batch (x (T, n, F), y (n, ...)) as n examples ``(x_i (T, F), y_i)``, for ``train.fit``."""
    if x.dim() != 3 or y.shape[0] != x.shape[1]:
        raise ValueError(f"expected x (T, n, F) and y (n, ...) with the same n, got {tuple(x.shape)} and {tuple(y.shape)}")
    return list(zip(x.unbind(1), y.unbind(0)))


def collate_steps(items: list[tuple[Tensor, Tensor]]) -> tuple[Tensor, Tensor]:
    """The inverse of :func:`as_items` for a minibatch: examples -> (x (T, B, F), y (B, ...)); fit's ``collate``."""
    xs, ys = zip(*items)
    return torch.stack(xs, dim=1), torch.stack(ys)
