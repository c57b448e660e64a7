"""What a student's code returned, as JSON: the form in which observations leave the kernel.

The grader runs the student's functions inside the student's kernel but judges what they returned in
its own process, so a submission cannot tamper with the judging. Values travel as tagged JSON:

    Tensor        {"tensor": flat values, "shape": [...], "dtype": "float32"}
    torch.Size    {"size": [...]}
    tuple, list   {"tuple": [...]}, {"list": [...]}
    PackedSequence {"packed": [data, batch_sizes, sorted_indices, unsorted_indices]}
    exception     {"raised": "ValueError", "message": "..."}
    numpy scalar  {"scalar": 3, "type": "numpy.int64"}
    anything else {"object": "numpy.ndarray"}   (only its type is kept)

None, bool, int, float and str stay as they are. :func:`decode` turns the tags back into tensors
and into :class:`Raised` / :class:`Scalar` / :class:`Foreign` markers that the checks diagnose.
"""
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor
from torch.nn.utils.rnn import PackedSequence

JSON = Any  # what json.dumps accepts


@dataclass(frozen=True)
class Raised:
    """The student's code raised ``type`` (an exception class name) with ``message``."""

    type: str
    message: str


@dataclass(frozen=True)
class Foreign:
    """The student's code returned an object of a type that does not travel (only its name does)."""

    type: str


@dataclass(frozen=True)
class Scalar:
    """The student's code returned a numpy scalar (e.g. ``numpy.int64(3)``): its type name and value."""

    type: str
    value: int | float | bool


def _is_numpy_scalar(value: Any) -> bool:
    return type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0 and hasattr(value, "item")


def encode(value: Any) -> JSON:
    """A JSON-able description of ``value`` (see the module docstring)."""
    if isinstance(value, PackedSequence):
        return {"packed": [encode(field) for field in value]}
    if isinstance(value, torch.Size):
        return {"size": list(value)}
    if isinstance(value, Tensor):
        t = value.detach().cpu()
        return {"tensor": t.flatten().tolist(), "shape": list(t.shape), "dtype": str(t.dtype).removeprefix("torch.")}
    if value is None or type(value) in (bool, int, float, str):
        return value
    if type(value) in (tuple, list):
        return {type(value).__name__: [encode(item) for item in value]}
    if _is_numpy_scalar(value) and type(value.item()) in (bool, int, float):
        return {"scalar": value.item(), "type": f"numpy.{type(value).__name__}"}
    return {"object": f"{type(value).__module__}.{type(value).__qualname__}"}


def decode(data: JSON) -> Any:
    """The inverse of :func:`encode` (objects of other types come back as :class:`Foreign`)."""
    if not isinstance(data, dict):
        return data
    if "tensor" in data:
        return torch.tensor(data["tensor"], dtype=getattr(torch, data["dtype"])).reshape(data["shape"])
    if "size" in data:
        return torch.Size(data["size"])
    if "tuple" in data:
        return tuple(decode(item) for item in data["tuple"])
    if "list" in data:
        return [decode(item) for item in data["list"]]
    if "packed" in data:
        return PackedSequence(*(decode(field) for field in data["packed"]))
    if "raised" in data:
        return Raised(data["raised"], data["message"])
    if "scalar" in data:
        return Scalar(data["type"], data["scalar"])
    return Foreign(data["object"])


def call(function: Callable[..., Any], *args: Any, **kwargs: Any) -> JSON:
    """``encode(function(*args, **kwargs))``, or the exception it raised, encoded."""
    try:
        return encode(function(*args, **kwargs))
    except (Exception, SystemExit) as error:
        return {"raised": type(error).__name__, "message": str(error).strip().split("\n")[0]}
