"""The shortcut rule, the same in every homework: where an exercise says "write it yourself", a call to the
course library's or PyTorch's own version of the answer is recognised and scores zero, with a message that
says so.

Two halves, like every check (see :mod:`.exercise`):

- :func:`references` runs in the kernel, on the student's function: the dotted names of everything its code
  reaches through global names and attributes (``F.dropout`` -> ``torch.nn.functional.dropout``), followed
  into the student's own helper functions, lambdas and nested functions; it travels as a list of strings.
- :func:`refuse` runs in the judge: it raises :class:`CheckFailure` when one of those names is forbidden.

Only the code is read, never run, so a name counts whether or not the call happens on the checked inputs.
"""
import dis
import functools
import importlib
import types
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from .feedback import CheckFailure

_ATTRIBUTE_OPS = ("LOAD_ATTR", "LOAD_METHOD")


def _canonical(obj: Any) -> str | None:
    """'torch.nn.functional.dropout' for a function or class, 'recurrent_lib.dropout' for a module; None for
    other objects (numbers, tensors, instances)."""
    if isinstance(obj, types.ModuleType):
        return obj.__name__
    module, name = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if isinstance(module, str) and isinstance(name, str) and callable(obj):
        return f"{module}.{name}"
    return None


def _chains(code: types.CodeType) -> Iterator[tuple[str, list[str]]]:
    """(global name, [attribute, ...]) for every ``name.attr.attr`` the code object and the code nested in it
    load: ``F.dropout(x)`` gives ('F', ['dropout'])."""
    head: str | None = None
    attributes: list[str] = []
    for instruction in dis.get_instructions(code):
        if instruction.opname in _ATTRIBUTE_OPS and head is not None:
            attributes.append(instruction.argval)
            continue
        if head is not None:
            yield head, attributes
        head, attributes = (instruction.argval, []) if instruction.opname in ("LOAD_GLOBAL", "LOAD_NAME") else (None, [])
    if head is not None:
        yield head, attributes
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            yield from _chains(constant)


def _imported(code: types.CodeType) -> Iterator[str]:
    """What ``import`` statements inside the code (and the code nested in it) name: ``from recurrent_lib
    import study`` gives 'recurrent_lib' and 'recurrent_lib.study'."""
    module = ""
    for instruction in dis.get_instructions(code):
        if instruction.opname == "IMPORT_NAME":
            module = instruction.argval
            yield module
        elif instruction.opname == "IMPORT_FROM":
            yield f"{module}.{instruction.argval}"
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            yield from _imported(constant)


def _resolve(head: Any, attributes: list[str]) -> Iterator[str]:
    """The names under which ``head.attr.attr...`` is known: the path as written through modules, and the
    canonical name of each object along it."""
    obj, path = head, _canonical(head)
    if path:
        yield path
    for attribute in attributes:
        try:
            obj = getattr(obj, attribute)
        except Exception:  # an attribute of an instance, or a property that raises: stop following
            return
        path = f"{path}.{attribute}" if path else None
        for name in (path, _canonical(obj)):
            if name:
                yield name


def _functions_inside(obj: Any) -> Callable[..., Any] | None:
    """The Python function to read for ``obj``: itself, a partial's function, a bound method's function."""
    if isinstance(obj, functools.partial):
        return _functions_inside(obj.func)
    if isinstance(obj, types.MethodType):
        return _functions_inside(obj.__func__)
    return obj if isinstance(obj, types.FunctionType) else None


def _cell_contents(function: types.FunctionType) -> Iterator[Any]:
    """What the closure of ``function`` holds (the variables of enclosing functions it uses)."""
    for cell in function.__closure__ or ():
        try:
            yield cell.cell_contents
        except ValueError:  # a cell not filled yet
            continue


def references(function: Any) -> list[str]:
    """Sorted dotted names (modules, functions, classes) of ``function`` itself and of what its code reaches,
    following into the functions it calls that were written next to it (same globals, e.g. the notebook's) and
    into the functions its closure holds. Never raises: what cannot be read is left out."""
    found = {name for name in [_canonical(function)] if name}  # the library's own function, passed as the answer
    try:
        found.update(_reached(function))
    except Exception:  # an object the reader cannot follow: its results alone are judged
        pass
    return sorted(found)


def _reached(function: Any) -> set[str]:
    """What :func:`references` finds in the code of ``function`` and of the functions it leads to."""
    found: set[str] = set()
    root = _functions_inside(function)
    if root is None:
        return found
    ours = root.__globals__  # only functions written next to the student's (the notebook's) are read
    seen: set[int] = set()
    pending: list[Any] = [root]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        reached = list(_cell_contents(current))
        found.update(name for contents in reached for name in _resolve(contents, []))
        found.update(_imported(current.__code__))
        for head, attributes in _chains(current.__code__):
            if head in current.__globals__:  # else a builtin, or a name not defined (yet)
                target = current.__globals__[head]
                found.update(_resolve(target, attributes))
                reached.append(target)
        for target in reached:
            inner = _functions_inside(target)
            if inner is not None and inner.__globals__ is ours:
                pending.append(inner)
    return found


@functools.cache
def _known_as(dotted: str) -> str:
    """The canonical name of the object ``dotted`` names (``torch.nn.utils.clip_grad_norm_`` ->
    ``torch.nn.utils.clip_grad.clip_grad_norm_``), or ``dotted`` itself when it cannot be imported here."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        try:
            for attribute in parts[split:]:
                obj = getattr(obj, attribute)
        except AttributeError:
            return dotted
        return _canonical(obj) or dotted
    return dotted


def _matches(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def refuse(used: Any, forbidden: Mapping[str, str], task: str) -> None:
    """Raise CheckFailure if a name in ``used`` (from :func:`references`) is or lies under a key of
    ``forbidden`` (dotted name or module -> how the student would have written it, e.g.
    ``{"torch.nn.functional.dropout": "F.dropout"}``). ``task`` completes "this exercise asks you to ...".
    """
    if not isinstance(used, list):
        return
    for prefix, shown in forbidden.items():
        targets = {prefix, _known_as(prefix)}
        hit = next((name for name in used if isinstance(name, str) and any(_matches(name, t) for t in targets)), None)
        if hit is not None:
            raise CheckFailure(
                f"your code calls {shown} ({hit}): this exercise asks you to {task}; a call to the course "
                f"library's or PyTorch's own version scores zero here (the exercise text says so)")
