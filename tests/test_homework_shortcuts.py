"""The shortcut rule: references() finds the library's and PyTorch's functions however they are reached, and
refuse() names the one a "write it yourself" exercise forbids."""
import functools

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import clip_grad_norm_

import recurrent_lib
from recurrent_lib.dropout import inverted_dropout
from recurrent_lib.homework import CheckFailure
from recurrent_lib.homework.shortcuts import references, refuse

FORBIDDEN = {"torch.nn.functional.dropout": "F.dropout", "recurrent_lib.dropout": "the course library's dropout",
             "torch.nn.Dropout": "nn.Dropout",
             "torch.nn.utils.clip_grad_norm_": "clip_grad_norm_", "torch.lstm_cell": "torch.lstm_cell",
             "torch.nn.LSTM": "nn.LSTM"}


def own_dropout(x: torch.Tensor, p: float) -> torch.Tensor:
    return x * torch.bernoulli(torch.full_like(x, 1 - p)) / (1 - p)


def through_a_helper(x: torch.Tensor, p: float) -> torch.Tensor:
    return helper(x, p)


def helper(x: torch.Tensor, p: float) -> torch.Tensor:
    return F.dropout(x, p)


def nested() -> object:
    def inner(parameters: list) -> None:
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
    return inner


def imports_inside(x: torch.Tensor, p: float) -> torch.Tensor:
    from recurrent_lib.dropout import inverted_dropout as mine
    return mine(x, p)


def module_alias_inside(x: torch.Tensor, p: float) -> torch.Tensor:
    import torch.nn.functional as G
    return G.dropout(x, p)


def library_module_alias_inside(parameters: list) -> None:
    from torch.nn import utils as u
    u.clip_grad_norm_(parameters, 1.0)


def alias_in_a_nested_function(x: torch.Tensor, p: float) -> torch.Tensor:
    import torch.nn.functional as G
    return (lambda: G.dropout(x, p))()


def getattr_with_a_name(x: torch.Tensor, h: torch.Tensor) -> object:
    return getattr(torch, "lstm_cell")(x, (h, h), h, h)


class WithDropout(nn.Module):
    def __init__(self, p: float) -> None:
        super().__init__()
        self.drop = nn.Dropout(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(x)


def uses_a_class(x: torch.Tensor, p: float) -> torch.Tensor:
    return WithDropout(p)(x)


def closure() -> object:
    shortcut = inverted_dropout
    return lambda x, p: shortcut(x, p)


@pytest.mark.parametrize("function, hit", [
    (through_a_helper, "torch.nn.functional.dropout"),
    (lambda x, p: inverted_dropout(x, p), "recurrent_lib.dropout.inverted_dropout"),
    (lambda x, p: recurrent_lib.dropout.locked_dropout(x, p), "recurrent_lib.dropout"),
    (lambda parameters: clip_grad_norm_(parameters, 1.0), "clip_grad_norm_"),
    (nested(), "clip_grad_norm_"),
    (closure(), "recurrent_lib.dropout.inverted_dropout"),
    (functools.partial(helper, p=0.5), "torch.nn.functional.dropout"),
    (imports_inside, "recurrent_lib.dropout"),
    (lambda: torch.lstm_cell, "lstm_cell"),
    (lambda: nn.LSTM(3, 4), "torch.nn.LSTM"),
    (module_alias_inside, "torch.nn.functional.dropout"),
    (library_module_alias_inside, "clip_grad_norm_"),
    (alias_in_a_nested_function, "torch.nn.functional.dropout"),
    (getattr_with_a_name, "lstm_cell"),
    (uses_a_class, "torch.nn.Dropout"),
    (WithDropout, "torch.nn.Dropout"),
], ids=["helper", "imported", "module path", "from-import", "nested", "closure", "partial", "import inside", "torch op",
        "class", "module alias inside", "from-import alias inside", "alias in a nested function", "getattr",
        "a class written next to it", "the class itself"])
def test_a_shortcut_is_found_and_refused(function: object, hit: str) -> None:
    with pytest.raises(CheckFailure, match="asks you to write it yourself; a call to the course library's") as caught:
        refuse(references(function), FORBIDDEN, "write it yourself")
    assert hit in str(caught.value)


def test_own_code_passes() -> None:
    used = references(own_dropout)
    assert "torch.bernoulli" in used
    refuse(used, FORBIDDEN, "write it yourself")


def test_a_module_prefix_does_not_match_a_longer_name() -> None:
    refuse(["torch.nn.functional", "recurrent_lib.dropouts"], FORBIDDEN, "write it yourself")


def test_observations_that_are_not_a_list_are_ignored() -> None:
    refuse(None, FORBIDDEN, "write it yourself")
