"""Diagnosing a student's result: the building blocks every exercise's check is made of.

Each helper either returns the (validated) value or raises :class:`CheckFailure` with a message that
says what was expected, what arrived, and, where a known mistake explains the difference, which one:
a check recomputes the answer *with* the mistake (forgotten bias, sigmoid instead of tanh, ...) and
looks whether the student's result matches that.
"""
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from .wire import Foreign, Raised, Scalar

# Raw PyTorch errors that students meet again and again: (a piece of the message, what the course says).
COMMON_ERRORS: dict[str, str] = {
    "a leaf Variable that requires grad is being used in an in-place operation":
        "update parameters inside `with torch.no_grad():`, where autograd lets you change them in place",
    "does not require grad and does not have a grad_fn":
        "the loss is not connected to the parameters: was it computed under torch.no_grad(), or from "
        "a detached tensor (.detach(), .item(), torch.tensor(...))?",
    "to match target batch_size (0)":
        "the target must be a batch of one class index, torch.tensor([label]) with brackets, of shape (1,)",
    "multi-target not supported": "the target must have shape (batch,): one class index per example",
    "to have the same dtype": "it mixes float64 and float32 tensors: keep everything float32, torch's default",
    "expected scalar type": "it mixes tensors of different dtypes: keep everything float32, torch's default",
    "Can't call numpy() on Tensor that requires grad": "call .detach() before .numpy()",
}


def course_hint(message: str, hints: Mapping[str, str] | None = None) -> str:
    """The hint for an exception's ``message``: the first of ``hints`` (piece of message -> hint), then of
    COMMON_ERRORS, whose piece occurs in the message; '' when none does."""
    for piece, hint in {**(hints or {}), **COMMON_ERRORS}.items():
        if piece in message:
            return hint
    return ""


class CheckFailure(Exception):
    """A check's verdict on a wrong answer; Jupyter shows only the message, not a traceback."""

    def _render_traceback_(self) -> list[str]:
        return str(self).splitlines()


def describe(value: Any) -> str:
    """'a list', 'None', 'a numpy.ndarray', 'a Tensor of shape (2, 4)': how a value reads in a message."""
    if value is None:
        return "None: your function returned None (return the value instead of printing it)"
    if isinstance(value, Tensor):
        return f"a Tensor of shape {shape_text(value.shape)}"
    if isinstance(value, Foreign):
        return f"a {value.type.removeprefix('builtins.')}"
    if isinstance(value, Scalar):
        return f"a {value.type} ({value.value!r})"
    return f"a {type(value).__name__} ({value!r})" if isinstance(value, (bool, int, float, str)) else f"a {type(value).__name__}"


def shape_text(shape: Any) -> str:
    """(2, 4) for torch.Size([2, 4]); (4,) for a single dimension."""
    return str(tuple(shape))


def index_text(index: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(i) for i in index) + "]"


def returned(value: Any, call: str, shape_hint: str = "", hints: Mapping[str, str] | None = None) -> Any:
    """``value`` unless the call raised: a stub's NotImplementedError reads 'not implemented yet'; any
    other exception is reported with its message, plus the course's hint for it: the first of ``hints``
    (a piece of the message -> hint) or of :data:`COMMON_ERRORS` found in the message, else
    ``shape_hint`` when the message is about shapes (prefer ``hints``: a shape word alone diagnoses little)."""
    if isinstance(value, Raised):
        if value.type == "NotImplementedError":
            raise CheckFailure(f"not implemented yet ({call} raised NotImplementedError)")
        hint = course_hint(value.message, hints)
        if not hint and shape_hint and any(word in value.message for word in ("shape", "size", "dimension")):
            hint = shape_hint
        raise CheckFailure(f"{call} raised {value.type}: {value.message}" + (f" ({hint})" if hint else ""))
    return value


def expect_tensor(value: Any, what: str, shape: tuple[int, ...], dims: str,
                  hints: Mapping[tuple[int, ...], str] | None = None, floating: bool = True,
                  dtype: torch.dtype | None = None, dtype_reason: str = "") -> Tensor:
    """``value`` if it is a Tensor of ``shape`` (floating-point unless ``floating=False``; of ``dtype``
    when given) without NaN or inf.

    dims names the dimensions, e.g. "(batch, hidden_size)"; hints maps a wrong shape to its likely cause;
    dtype_reason says why the rest of the notebook needs ``dtype`` ("the model's weights are float32").
    """
    if not isinstance(value, Tensor):
        raise CheckFailure(f"expected {what} to be a torch.Tensor, got {describe(value)}")
    if tuple(value.shape) != tuple(shape):
        hint = (hints or {}).get(tuple(value.shape))
        raise CheckFailure(
            f"expected {what} of shape {shape_text(shape)} = {dims}, got {shape_text(value.shape)}"
            + (f": {hint}" if hint else "")
        )
    if floating and not value.is_floating_point():
        raise CheckFailure(f"expected {what} to hold floating-point numbers, got dtype {value.dtype}")
    if dtype is not None and value.dtype != dtype:
        raise CheckFailure(f"expected {what} of dtype {dtype}, got {value.dtype}"
                           + (f": {dtype_reason}" if dtype_reason else ""))
    if value.is_floating_point():
        expect_finite(value, what)
    return value


def expect_finite(value: Tensor, what: str) -> None:
    """No NaN or inf in ``value``; otherwise say where the first one is and how many there are."""
    for name, bad in (("NaN", torch.isnan(value)), ("inf", torch.isinf(value))):
        if bad.any():
            first = tuple(bad.nonzero()[0].tolist())
            raise CheckFailure(
                f"{what} contains {name}: element {index_text(first)} is {value[first].item()} "
                f"({int(bad.sum())} of {value.numel()} elements)"
            )


def close(actual: Tensor, expected: Tensor, atol: float = 1e-5, rtol: float = 1e-4) -> bool:
    """Same shape and every element within ``atol + rtol * |expected|`` (compared in float64)."""
    return actual.shape == expected.shape and torch.allclose(actual.double(), expected.double(), rtol, atol)


def expect_close(actual: Tensor, expected: Tensor, what: str, mistakes: Mapping[str, Tensor] | None = None,
                 atol: float = 1e-5, rtol: float = 1e-4) -> None:
    """``actual`` equals ``expected`` within tolerance; otherwise name the mistake that explains it
    (the first of ``mistakes`` -- description: what that mistake computes -- that ``actual`` matches)
    or, failing that, the first element that differs and the largest difference."""
    if close(actual, expected, atol, rtol):
        return
    for description, wrong in (mistakes or {}).items():
        if close(actual, wrong, atol, rtol):
            raise CheckFailure(f"{what} is wrong: {description}")
    raise CheckFailure(f"{what} is wrong: {difference(actual, expected, atol, rtol)}")


def difference(actual: Tensor, expected: Tensor, atol: float = 1e-5, rtol: float = 1e-4) -> str:
    """'2 of 8 elements differ: element [1, 3] is 0.1234, expected 0.5678 (max abs difference 0.4444)'."""
    actual, expected = actual.double(), expected.double()
    error = (actual - expected).abs()
    differs = error > atol + rtol * expected.abs()
    first = tuple(differs.nonzero()[0].tolist())
    return (
        f"{int(differs.sum())} of {expected.numel()} elements differ: element {index_text(first)} is "
        f"{actual[first].item():.4f}, expected {expected[first].item():.4f} "
        f"(max abs difference {error.max().item():.4f})"
    )


INTEGER_DTYPES = (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)


def integer(value: Any) -> int | None:
    """``value`` as a Python int if it is an integer: an int, a numpy integer or a one-element integer
    Tensor (a bool is not an integer here); None otherwise."""
    if type(value) is int:
        return value
    if isinstance(value, Scalar) and type(value.value) is int:
        return value.value
    if isinstance(value, Tensor) and value.numel() == 1 and value.dtype in INTEGER_DTYPES:
        return int(value.item())
    return None


def expect_int(value: Any, what: str) -> int:
    """``value`` as an int if it is an integer (see :func:`integer`: numpy and torch integers are
    accepted, a bool or a float is not)."""
    number = integer(value)
    if number is None:
        hint = " (use int(...) or .item())" if isinstance(value, (float, Tensor, Scalar)) else ""
        raise CheckFailure(f"expected {what} to be an int, got {describe(value)}{hint}")
    return number


def expect_float(value: Any, what: str) -> float:
    """``value`` if it is a finite Python float or int (not a Tensor: those belong to the graph)."""
    if isinstance(value, Tensor):
        raise CheckFailure(f"expected {what} to be a Python float, got {describe(value)}: return .item() of it")
    if isinstance(value, Scalar) and type(value.value) in (int, float):
        value = value.value  # a numpy float behaves like a Python float
    if type(value) not in (int, float):
        raise CheckFailure(f"expected {what} to be a Python float, got {describe(value)}")
    if value != value or value in (float("inf"), float("-inf")):
        raise CheckFailure(f"{what} is {value}: expected a finite number")
    return float(value)


def expect_pair(value: Any, what: str) -> tuple[Any, Any]:
    """``value`` if it is a tuple (or list) of exactly two items."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        got = f"{len(value)} items" if isinstance(value, (tuple, list)) else describe(value)
        raise CheckFailure(f"expected {what}, a tuple of two, got {got}")
    return value[0], value[1]
