"""Homework 03 (dropout): every diagnosis the checks promise, each produced by a function that makes that
mistake; and the references pass."""
import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from recurrent_lib.dropout import inverted_dropout, locked_dropout
from recurrent_lib.homework import CheckFailure, check


def failure(exercise_id: str, *objects) -> str:
    """The message of the check's failure (the test fails if the check passes)."""
    with pytest.raises(CheckFailure) as caught:
        check(exercise_id, *objects)
    return str(caught.value)


def keep_mask(x: torch.Tensor, keep: float) -> torch.Tensor:
    return torch.bernoulli(torch.full_like(x, keep))


# ---------------------------------------------------------------- 3.1

def test_the_library_passes_3_1() -> None:
    check("3.1", lambda x, p, training=True: inverted_dropout(x, p, training))


@pytest.mark.parametrize("wrong, diagnosis", [
    (lambda x, p, training=True: x * keep_mask(x, 1 - p) if training else x, "the survivors are not scaled"),
    (lambda x, p, training=True: x * keep_mask(x, 1 - p) / p if training else x, "divided by p"),
    (lambda x, p, training=True: x * keep_mask(x, 1 - p) * p if training else x, "multiplied by p"),
    (lambda x, p, training=True: x * keep_mask(x, 1 - p) * (1 - p) if training else x, "old test-time rule"),
    (lambda x, p, training=True: x * keep_mask(x, p) / p if training else x, "probability of DROPPING"),
    (lambda x, p, training=True: x * keep_mask(x, p) / (1 - p) if training else x, "the KEEP mask is bernoulli(1 - p)"),
    (lambda x, p, training=True: keep_mask(x, 1 - p) / (1 - p) if training else x, "that is the mask"),
    (lambda x, p, training=True: keep_mask(x, 1 - p) if training else x, "that is the mask"),
    (lambda x, p, training=True: x, "nothing was dropped"),
    (lambda x, p, training=True: x * keep_mask(x, 1 - p) / (1 - p), "still active in evaluation"),
    (lambda x, p, training=True: x * keep_mask(x, 1 - p) / (1 - p) if training else x * (1 - p), "returned x * (1 - p)"),
    (lambda x, p, training=True: x.mul_(keep_mask(x, 1 - p) / (1 - p)) if training else x, "in place"),
])
def test_3_1_names_the_mistake(wrong, diagnosis: str) -> None:
    assert diagnosis in failure("3.1", wrong)


def test_3_1_a_re_seeded_mask_is_the_same_every_call() -> None:
    def reseeded(x, p, training=True):
        generator = torch.Generator().manual_seed(0)
        return x * torch.bernoulli(torch.full_like(x, 1 - p), generator=generator) / (1 - p) if training else x
    assert "dropped exactly the same elements" in failure("3.1", reseeded)


def test_3_1_a_stub_is_not_implemented_yet() -> None:
    def stub(x, p, training=True):
        raise NotImplementedError()
    assert "not implemented yet" in failure("3.1", stub)


# ---------------------------------------------------------------- 3.2

def test_the_library_passes_3_2() -> None:
    check("3.2", lambda x, p, training=True: locked_dropout(x, p, training))


@pytest.mark.parametrize("wrong, diagnosis", [
    (lambda x, p, training=True: inverted_dropout(x, p, training), "a new mask every step"),
    (lambda x, p, training=True: x * keep_mask(x[:1, :1], 1 - p) / (1 - p) if training else x, "not one for the whole batch"),
    (lambda x, p, training=True: x * keep_mask(x[:1], 1 - p) if training else x, "the survivors are not scaled"),
    (lambda x, p, training=True: x * keep_mask(x[:1], 1 - p) / (1 - p), "still active in evaluation"),
    (lambda x, p, training=True: keep_mask(x[:1], 1 - p) / (1 - p), "that is the shape of the mask"),
    (lambda x, p, training=True: x.mul_(keep_mask(x[:1], 1 - p) / (1 - p)) if training else x, "in place"),
])
def test_3_2_names_the_mistake(wrong, diagnosis: str) -> None:
    assert diagnosis in failure("3.2", wrong)


# ---------------------------------------------------------------- 3.3

def right_touches(num_layers: int):
    return num_layers > 1, [k >= 1 for k in range(num_layers)]


@pytest.mark.parametrize("wrong, diagnosis", [
    (lambda n: (True, [True] * n), "nothing changes"),
    (lambda n: (n > 1, [n > 1] * n), "computed before any mask"),
    (lambda n: (False, [0 < k < n - 1 for k in range(n)]), "that layer reads dropped inputs"),
    (lambda n: (n > 1, [k == n - 1 and n > 1 for k in range(n)]), "every layer after the first"),
    (lambda n: (torch.tensor(n > 1), [k >= 1 for k in range(n)]), "(use .item() or bool(...))"),
    (lambda n: (n > 1, [False]), "one True/False per layer"),
])
def test_3_3_names_the_mistake(wrong, diagnosis: str) -> None:
    check("3.3", right_touches)
    assert diagnosis in failure("3.3", wrong)


# ---------------------------------------------------------------- 3.4

class Drop(nn.Module):
    """A configurable weight-dropping parametrization: right by default, each flag one mistake."""

    def __init__(self, p: float, *, scale: bool = True, in_eval: bool = False, fixed: bool = False,
                 detach: bool = False, in_place: bool = False) -> None:
        super().__init__()
        self.p, self.scale, self.in_eval, self.detach, self.in_place = p, scale, in_eval, detach, in_place
        self.fixed_mask = None
        if fixed:
            self.fixed_mask = torch.bernoulli(torch.full((128, 32), 1 - p))

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        if not self.training and not self.in_eval:
            return weight
        mask = self.fixed_mask if self.fixed_mask is not None else keep_mask(weight, 1 - self.p)
        mask = mask / (1 - self.p) if self.scale else mask
        if self.in_place:
            with torch.no_grad():
                return weight.mul_(mask)
        return weight.detach() * mask if self.detach else weight * mask


def adder(name: str = "weight_hh_l0", **mistakes):
    def add_weight_drop(lstm, p):
        parametrize.register_parametrization(lstm, name, Drop(p, **mistakes))
        return lstm
    return add_weight_drop


def test_the_reference_passes_3_4() -> None:
    check("3.4", adder())


def zero_in_place(lstm, p):
    with torch.no_grad():
        lstm.weight_hh_l0.mul_(keep_mask(lstm.weight_hh_l0, 1 - p) / (1 - p))
    return lstm


def forgot_return(lstm, p):
    parametrize.register_parametrization(lstm, "weight_hh_l0", Drop(p))


@pytest.mark.parametrize("wrong, diagnosis", [
    (zero_in_place, "changed weight_hh_l0 once, in place"),
    (lambda lstm, p: lstm, "use parametrize.register_parametrization"),
    (adder("weight_ih_l0"), "the recurrent weight is weight_hh_l0"),
    (adder(in_eval=True), "still active in evaluation"),
    (adder(scale=False), "the survivors are not scaled"),
    (adder(fixed=True), "not once in __init__"),
    (adder(detach=True), "no .detach()"),
    (adder(in_place=True), "not modify its input in place"),
    (forgot_return, "should return the lstm"),
])
def test_3_4_names_the_mistake(wrong, diagnosis: str) -> None:
    assert diagnosis in failure("3.4", wrong)


# ---------------------------------------------------------------- 3.5

def best(results, which: int = 1, last: bool = False, offset: int = 0, give_loss: bool = False):
    candidates = []
    for p, losses in results.items():
        for epoch, loss in enumerate(losses[which], start=1):
            if not last or epoch == len(losses[which]):
                candidates.append((loss, p, epoch))
    loss, p, epoch = min(candidates)
    return (loss if give_loss else p), epoch + offset


def test_the_reference_passes_3_5() -> None:
    check("3.5", best)


@pytest.mark.parametrize("wrong, diagnosis", [
    (lambda results: best(results, which=0), "lowest TRAINING loss"),
    (lambda results: best(results, last=True), "after the LAST epoch"),
    (lambda results: best(results, offset=-1), "off by one"),
    (lambda results: best(results, give_loss=True), "that is a loss"),
    (lambda results: [best(results)], "a pair (p, epoch)"),
])
def test_3_5_names_the_mistake(wrong, diagnosis: str) -> None:
    assert diagnosis in failure("3.5", wrong)
