"""Dropout for recurrent networks: inverted dropout, locked (variational) dropout and weight dropping.

- :func:`inverted_dropout`: zero each element with probability ``p`` and scale the survivors by
  ``1 / (1 - p)``, so that the expected value is unchanged; the identity in evaluation. On the CPU,
  with the default generator, it draws exactly what ``torch.nn.functional.dropout`` draws.
- :func:`locked_dropout` / :class:`LockedDropout`: one mask per sequence, the same at every time step
  (Gal & Ghahramani 2016, "variational" dropout; "locked" in AWD-LSTM).
- :class:`WeightDropout` / :func:`weight_drop`: DropConnect on a weight (AWD-LSTM drops ``weight_hh``),
  registered with ``torch.nn.utils.parametrize``: a new dropped weight for every forward, none in eval,
  and gradients flow to the original weight.

Masks hold 0 or ``1 / (1 - p)``. With ``generator`` given they are drawn on the generator's device (a
seeded CPU generator gives the same masks on any machine) and then moved to the input's device;
without it they come from the default generator of the input's device.
"""
import numbers
from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize


def check_p(p: float) -> float:
    """``p`` as a float if it is a probability in [0, 1); ValueError otherwise."""
    if not isinstance(p, numbers.Real) or isinstance(p, bool) or not 0 <= p < 1:
        raise ValueError(f"expected a dropout probability p in [0, 1), got {p!r}"
                         + (" (p = 1 would zero everything and divide by 0)" if p == 1 else ""))
    return float(p)


def dropout_mask(shape: Sequence[int], p: float, like: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """A mask of ``shape`` whose elements are 0 with probability p and 1 / (1 - p) otherwise, with the
    dtype and device of ``like``."""
    p = check_p(p)
    device = generator.device if generator is not None else like.device
    mask = torch.empty(tuple(shape), dtype=like.dtype, device=device).bernoulli_(1 - p, generator=generator)
    return mask.div_(1 - p).to(like.device)


def apply_mask(x: Tensor, mask: Tensor) -> Tensor:
    """``x * mask`` (a new tensor; ``x`` is left as it was), after checking that ``mask`` broadcasts to ``x``
    without changing its shape."""
    try:
        shape = torch.broadcast_shapes(x.shape, mask.shape)
    except RuntimeError:
        shape = None
    if shape != x.shape:
        raise ValueError(f"expected a mask that broadcasts to the input's shape {tuple(x.shape)}, "
                         f"got a mask of shape {tuple(mask.shape)}")
    return x * mask


def inverted_dropout(x: Tensor, p: float, training: bool = True, generator: torch.Generator | None = None) -> Tensor:
    """x: any shape -> same shape. Training: ``x * m / (1 - p)`` with m ~ Bernoulli(1 - p) drawn per element;
    evaluation (``training=False``) or p = 0: ``x`` itself."""
    p = check_p(p)
    if not training or p == 0:
        return x
    return apply_mask(x, dropout_mask(x.shape, p, x, generator))


def locked_mask(x: Tensor, p: float, batch_first: bool = False, generator: torch.Generator | None = None) -> Tensor:
    """One mask per sequence for x of shape (L, N, H) ((N, L, H) when batch_first): shape (1, N, H)
    ((N, 1, H)), so that it broadcasts over the time dimension."""
    if x.dim() != 3:
        layout = "(N, L, H)" if batch_first else "(L, N, H)"
        raise ValueError(f"expected a 3-D sequence batch {layout}, got a tensor of shape {tuple(x.shape)}")
    shape = (x.shape[0], 1, x.shape[2]) if batch_first else (1, x.shape[1], x.shape[2])
    return dropout_mask(shape, p, x, generator)


def locked_dropout(x: Tensor, p: float, training: bool = True, batch_first: bool = False,
                   generator: torch.Generator | None = None) -> Tensor:
    """x: (L, N, H) ((N, L, H) when batch_first) -> same shape, every time step multiplied by the same mask
    (1, N, H): a unit dropped in a sequence is dropped at every step of it. ``x`` itself in evaluation."""
    p = check_p(p)
    if not training or p == 0:
        return x
    return apply_mask(x, locked_mask(x, p, batch_first, generator))


class LockedDropout(nn.Module):
    """:func:`locked_dropout` as a module: active in ``train()`` mode, the identity in ``eval()`` mode."""

    def __init__(self, p: float = 0.5, batch_first: bool = False) -> None:
        super().__init__()
        self.p, self.batch_first = check_p(p), batch_first

    def forward(self, x: Tensor) -> Tensor:
        return locked_dropout(x, self.p, self.training, self.batch_first)

    def extra_repr(self) -> str:
        return f"p={self.p}" + (", batch_first=True" if self.batch_first else "")


class WeightDropout(nn.Module):
    """A parametrization (``torch.nn.utils.parametrize``): weight -> inverted_dropout(weight, p) in training,
    the weight itself in evaluation. Each access in training draws a new mask."""

    def __init__(self, p: float = 0.5, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.p, self.generator = check_p(p), generator

    def forward(self, weight: Tensor) -> Tensor:
        return inverted_dropout(weight, self.p, self.training, self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}"


def weight_drop(module: nn.Module, names: str | Sequence[str] = "weight_hh_l0", p: float = 0.5,
                generator: torch.Generator | None = None) -> nn.Module:
    """Register :class:`WeightDropout` on the parameters ``names`` of ``module`` (in place; returns ``module``).

    E.g. ``weight_drop(nn.LSTM(10, 20), "weight_hh_l0", 0.5)``: the recurrent weight is dropped once per
    forward, the same dropped matrix at every time step; ``module.parametrizations.weight_hh_l0.original``
    is the trained parameter. ``torch.nn.utils.parametrize.remove_parametrizations`` undoes it.
    """
    p = check_p(p)
    names = [names] if isinstance(names, str) else list(names)
    parameters = dict(module.named_parameters(recurse=False))
    for name in names:
        if name not in parameters and not parametrize.is_parametrized(module, name):
            known = ", ".join(parameters) or "none"
            raise ValueError(f"{type(module).__name__} has no parameter {name!r}; its parameters are {known}")
    for name in names:
        parametrize.register_parametrization(module, name, WeightDropout(p, generator))
    return module
