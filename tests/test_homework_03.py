"""Homework 03 (dropout): every diagnosis the checks promise, each produced by a function that makes that
mistake; unusual correct answers pass; the library's and PyTorch's own dropout are refused where the text says
"write it yourself"."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from recurrent_lib.dropout import WeightDropout, inverted_dropout, locked_dropout, weight_drop
from recurrent_lib.homework import CheckFailure, check


def failure(exercise_id: str, *objects) -> str:
    """The message of the check's failure (the test fails if the check passes)."""
    with pytest.raises(CheckFailure) as caught:
        check(exercise_id, *objects)
    return str(caught.value)


def keep_mask(x: torch.Tensor, keep: float) -> torch.Tensor:
    return torch.bernoulli(torch.full_like(x, keep))


# ---------------------------------------------------------------- 3.1

def own_dropout(x, p, training=True):
    return x * keep_mask(x, 1 - p) / (1 - p) if training else x


def shared_row(x, p, training=True):
    """One mask row with exactly round(p * columns) zeros, shared by every row: the exact rate, not independent."""
    if not training:
        return x
    row = torch.ones(x.shape[1])
    row[torch.randperm(x.shape[1])[:round(p * x.shape[1])]] = 0
    return x * row / (1 - p)


def test_a_correct_dropout_passes_3_1() -> None:
    check("3.1", own_dropout)
    check("3.1", lambda x, p, training=True: x * (torch.rand_like(x) >= p) / (1 - p) if training else x)


@pytest.mark.parametrize("shortcut, named", [
    (lambda x, p, training=True: inverted_dropout(x, p, training), "the course library's recurrent_lib.dropout"),
    (lambda x, p, training=True: F.dropout(x, p, training), "F.dropout"),
    (lambda x, p, training=True: nn.Dropout(p)(x) if training else x, "nn.Dropout"),
    (lambda x, p, training=True: torch.dropout(x, p, training), "torch.dropout"),
])
def test_3_1_refuses_the_library_and_pytorchs_dropout(shortcut, named: str) -> None:
    message = failure("3.1", shortcut)
    assert f"your code calls {named}" in message and "write inverted dropout yourself" in message


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
    (lambda x, p, training=True: x * torch.from_numpy(np.random.binomial(1, 1 - p, tuple(x.shape)) / (1 - p))
     if training else x, "expected dropout(x of shape (40, 50), p=0.25) of dtype torch.float32, got torch.float64"),
    (lambda x, p, training=True: x * keep_mask(x, 1 - p).double() / (1 - p) if training else x, "a float64 mask"),
    (shared_row, "every row lost the same elements"),
    (lambda x, p, training=True: x * keep_mask(x[:1], 1 - p) / (1 - p) if training else x, "one mask row is shared"),
    (lambda x, p, training=True: x * keep_mask(x[:, :1], 1 - p) / (1 - p) if training else x,
     "whole rows are dropped or kept together"),
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

def own_locked(x, p, training=True):
    return x * keep_mask(x[:1], 1 - p) / (1 - p) if training else x


def test_a_correct_locked_dropout_passes_3_2() -> None:
    check("3.2", own_locked)


@pytest.mark.parametrize("shortcut, named", [
    (lambda x, p, training=True: locked_dropout(x, p, training), "the course library's recurrent_lib.dropout"),
    (lambda x, p, training=True: x * F.dropout(torch.ones_like(x[:1]), p, training), "F.dropout"),
])
def test_3_2_refuses_the_library_and_pytorchs_dropout(shortcut, named: str) -> None:
    message = failure("3.2", shortcut)
    assert f"your code calls {named}" in message and "write locked dropout yourself" in message


def batch_first_mask(x, p, training=True):
    return x * keep_mask(x[:1].transpose(0, 1), 1 - p) / (1 - p) if training else x   # (N, 1, H)


@pytest.mark.parametrize("wrong, diagnosis", [
    (own_dropout, "a new mask every step"),
    (batch_first_mask, "(N, 1, H) = (8, 1, 50) is the batch-first layout"),
    (lambda x, p, training=True: x * keep_mask(x[:1], 1 - p).double() / (1 - p) if training else x,
     "of dtype torch.float32, got torch.float64: x is float32"),
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
    (lambda n: (torch.tensor(float(n > 1)), [k >= 1 for k in range(n)]), "(use .item() or bool(...))"),
    (lambda n: (1 if n > 1 else 0, [k >= 1 for k in range(n)]), "to be True or False, got a int (0)"),
    (lambda n: (n > 1, [False]), "one True/False per layer"),
])
def test_3_3_names_the_mistake(wrong, diagnosis: str) -> None:
    check("3.3", right_touches)
    assert diagnosis in failure("3.3", wrong)


@pytest.mark.parametrize("unusual", [
    lambda n: (torch.tensor(n > 1), [torch.tensor(k >= 1) for k in range(n)]),   # 0-d bool tensors
    lambda n: (np.bool_(n > 1), [np.bool_(k >= 1) for k in range(n)]),           # numpy bools
    lambda n: (n > 1, tuple(k >= 1 for k in range(n))),                          # a tuple of bools
])
def test_3_3_accepts_unusual_correct_answers(unusual) -> None:
    check("3.3", unusual)


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


class DropByF(nn.Module):
    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, weight):
        return F.dropout(weight, self.p, self.training)


@pytest.mark.parametrize("shortcut, named", [
    (lambda lstm, p: weight_drop(lstm, "weight_hh_l0", p), "the course library's weight_drop"),
    (lambda lstm, p: parametrize.register_parametrization(lstm, "weight_hh_l0", WeightDropout(p)) or lstm,
     "the course library's weight_drop"),
    (lambda lstm, p: parametrize.register_parametrization(lstm, "weight_hh_l0", DropByF(p)) or lstm, "F.dropout"),
])
def test_3_4_refuses_the_library_and_pytorchs_dropout(shortcut, named: str) -> None:
    message = failure("3.4", shortcut)
    assert f"your code calls {named}" in message and "write weight dropping yourself" in message


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


def tie_breaker(results, latest: bool = False, largest_p: bool = False):
    """The lowest validation loss, ties broken by the latest epoch or the largest p (not the text's rule)."""
    candidates = [(loss, -p if largest_p else p, -epoch if latest else epoch)
                  for p, (_, val) in results.items() for epoch, loss in enumerate(val, start=1)]
    _, p, epoch = min(candidates)
    return abs(p), abs(epoch)


def smallest_gap(results):
    _, p, epoch = min((v - t, p, epoch) for p, (train, val) in results.items()
                      for epoch, (t, v) in enumerate(zip(train, val), start=1))
    return p, epoch


def by_mean(results):
    p = min((sum(val) / len(val), p) for p, (_, val) in results.items())[1]
    return p, min((loss, epoch) for epoch, loss in enumerate(results[p][1], start=1))[1]


def test_the_reference_passes_3_5() -> None:
    check("3.5", best)


@pytest.mark.parametrize("wrong, diagnosis", [
    (lambda results: best(results, which=0), "lowest TRAINING loss"),
    (lambda results: best(results, last=True), "after the LAST epoch"),
    (lambda results: best(results, offset=-1), "off by one"),
    (lambda results: best(results, give_loss=True), "that is a loss"),
    (lambda results: [best(results)], "a pair (p, epoch)"),
    (lambda results: best(results)[::-1], "return them the other way round, (p, epoch), p first"),
    (lambda results: tie_breaker(results, latest=True), "on a tie take the smallest p, then the earliest epoch"),
    (lambda results: tie_breaker(results, largest_p=True), "on a tie take the smallest p, then the earliest epoch"),
    (smallest_gap, "the smallest gap between validation and training loss"),
    (by_mean, "p chosen by the mean validation loss over all epochs"),
])
def test_3_5_names_the_mistake(wrong, diagnosis: str) -> None:
    assert diagnosis in failure("3.5", wrong)


def test_3_5_accepts_numpy_numbers() -> None:
    check("3.5", lambda results: (np.float64(best(results)[0]), np.int64(best(results)[1])))


# ---------------------------------------------------------------- 3.6

def backward(grad_out, keep, p):
    return grad_out * keep / (1 - p)


def factor(p, layers, scaled):
    return 1.0 if scaled else (1 - p) ** layers


def test_the_reference_passes_3_6() -> None:
    check("3.6", backward, factor)
    check("3.6", backward, lambda p, layers, scaled: np.float64(1 if scaled else (1 - p) ** layers))


def autograd_backward(grad_out, keep, p):
    x = torch.zeros_like(grad_out, requires_grad=True)
    return torch.autograd.grad(x * keep / (1 - p), x, grad_out)[0]


@pytest.mark.parametrize("wrong, diagnosis", [
    (lambda grad_out, keep, p: grad_out, "the gradient passes unchanged"),
    (lambda grad_out, keep, p: grad_out * keep, "the mask is applied but not the scaling"),
    (lambda grad_out, keep, p: grad_out / (1 - p), "the scaling is applied but not the mask"),
    (lambda grad_out, keep, p: grad_out * (1 - keep) / (1 - p), "the gradient goes to the DROPPED units"),
    (lambda grad_out, keep, p: grad_out * keep * (1 - p), "the forward pass DIVIDED by 1 - p"),
    (lambda grad_out, keep, p: grad_out * keep / p, "divided by p"),
    (lambda grad_out, keep, p: grad_out * keep / (1 - p) + 1, "should be grad_out * keep / (1 - p)"),
    (lambda grad_out, keep, p: (grad_out * keep / (1 - p))[0], "of shape (6, 20)"),
    (autograd_backward, "your code calls torch.autograd"),
])
def test_3_6_backward_names_the_mistake(wrong, diagnosis: str) -> None:
    assert diagnosis in failure("3.6", wrong, factor)


@pytest.mark.parametrize("wrong, diagnosis", [
    (lambda p, layers, scaled: (1 - p) ** layers, "the scaling cancels the keep probability"),
    (lambda p, layers, scaled: (1 / (1 - p)) ** layers if scaled else (1 - p) ** layers, "the mean SQUARE"),
    (lambda p, layers, scaled: 1.0 if scaled else 1 - p, "(1 - p) ** layers"),
    (lambda p, layers, scaled: 1.0 if scaled else p ** layers, "probability of DROPPING"),
    (lambda p, layers, scaled: 1.0, "the expectation shrinks by (1 - p) per layer"),
    (lambda p, layers, scaled: 1.0 if scaled else (1 - p) * layers, "not (1 - p) * layers"),
    (lambda p, layers, scaled: torch.tensor(1.0) if scaled else (1 - p) ** layers, "return .item() of it"),
    (lambda p, layers, scaled: None, "returned None"),
])
def test_3_6_factor_names_the_mistake(wrong, diagnosis: str) -> None:
    assert diagnosis in failure("3.6", backward, wrong)


# ---------------------------------------------------------------- a second battery of mistakes (issue 25)

def imported_inside(x, p, training=True):
    import torch.nn.functional as G
    return G.dropout(x, p, training)


def precedence(x, p, training=True):
    return x * keep_mask(x, 1 - p) / 1 - p if training else x


def inverted_flag(x, p, training=True):
    return x * keep_mask(x, 1 - p) / (1 - p) if not training else x


def default_false(x, p, training=False):
    return x * keep_mask(x, 1 - p) / (1 - p) if training else x


def time_batch_swapped(x, p, training=True):
    return x * keep_mask(torch.empty(1, x.shape[0], x.shape[2]), 1 - p) / (1 - p) if training else x


class RowDrop(nn.Module):
    """Drops whole rows of the weight (one decision per unit), not single weights."""

    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, weight):
        return weight * keep_mask(weight[:, :1], 1 - self.p) / (1 - self.p) if self.training else weight


class DropoutInside(nn.Module):
    def __init__(self, p):
        super().__init__()
        self.drop = nn.Dropout(p)

    def forward(self, weight):
        return self.drop(weight)


class ImportsInForward(nn.Module):
    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, weight):
        import torch.nn.functional as G
        return G.dropout(weight, self.p, self.training)


def registers(parametrization, name: str = "weight_hh_l0"):
    """add_weight_drop registering ``parametrization(p)`` on ``name``."""
    return lambda lstm, p: parametrize.register_parametrization(lstm, name, parametrization(p)) or lstm


def sorts_in_place(results):
    best = None
    for p, (_, val) in results.items():
        val.sort()
        if best is None or val[0] < best[0]:
            best = (val[0], p, 1)
    return best[1], best[2]


def positions(results):
    _, k, epoch = min((loss, k, e) for k, (_, v) in enumerate(results.values()) for e, loss in enumerate(v, 1))
    return k, epoch


def backward_in_place(grad_out, keep, p):
    grad_out *= keep / (1 - p)
    return grad_out


def backward_by_autograd(grad_out, keep, p):
    x = torch.ones_like(grad_out, requires_grad=True)
    (x * keep / (1 - p)).backward(grad_out)
    return x.grad


@pytest.mark.parametrize("exercise_id, objects, words", [
    ("3.1", (imported_inside,), "your code calls F.dropout"),
    ("3.1", (lambda x, p, training=True: getattr(torch, "dropout")(x, p, training),), "your code calls torch.dropout"),
    ("3.1", (precedence,), "which Python reads as (x * mask / 1) - p; put the brackets in, x * mask / (1 - p)"),
    ("3.1", (inverted_flag,), "the test of `training` is the wrong way round"),
    ("3.1", (default_false,), "the check calls dropout(x, p) without `training`, so `training` must default to True"),
    ("3.2", (time_batch_swapped,), "the mask's second dimension is the batch: (1, N, H) = (1, 8, 50)"),
    ("3.2", (lambda x, p, training=True: own_locked(x, p) if training else x * (1 - p),), "returned x * (1 - p)"),
    ("3.3", (lambda n: (n > 1, np.array([k >= 1 for k in range(n)])),), "got a numpy.ndarray: return a list"),
    ("3.4", (registers(Drop, "weight_hh"),), "layer 0's recurrent weight is named weight_hh_l0"),
    ("3.4", (registers(lambda p: Drop),), "register an instance of your module, WeightDrop(p), not the class"),
    ("3.4", (registers(RowDrop),), "whole rows are dropped or kept together"),
    ("3.4", (registers(DropoutInside),), "your code calls nn.Dropout"),
    ("3.4", (registers(ImportsInForward),), "your code calls F.dropout"),
    ("3.5", (sorts_in_place,), "it changed the loss lists in results (e.g. with .sort())"),
    ("3.5", (positions,), "the position of p among the keys of results: return the key itself"),
    ("3.6", (backward_in_place, factor), "changed grad_out or keep in place"),
    ("3.6", (backward_by_autograd, factor), "the check runs dropout_backward under torch.no_grad()"),
])
def test_a_second_battery_of_mistakes_is_named(exercise_id, objects, words: str) -> None:
    assert words in failure(exercise_id, *objects)
