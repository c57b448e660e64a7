"""The shortcut rule, the same in every homework: where an exercise says "write it yourself", a call to the
course library's or PyTorch's own version of the answer is recognised and scores zero, with a message that
says so.

Two halves, like every check (see :mod:`.exercise`):

- :func:`references` runs in the kernel, on the student's function: the dotted names of everything its code
  reaches through global names and attributes (``F.dropout`` -> ``torch.nn.functional.dropout``), through names
  bound by an ``import`` inside the function (``import torch.nn.functional as G; G.dropout``) and through
  ``getattr(module, "name")`` with a constant name, followed into the student's own helper functions, lambdas,
  nested functions and the methods of classes written next to it; it travels as a list of strings.
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


_LOCAL_LOADS = ("LOAD_FAST", "LOAD_DEREF", "LOAD_CLOSURE", "LOAD_NAME")
_STORES = ("STORE_FAST", "STORE_DEREF", "STORE_NAME", "STORE_GLOBAL")


def _import_aliases(code: types.CodeType, outer: Mapping[str, str]) -> dict[str, str]:
    """Local name -> the dotted name an ``import`` inside the code bound it to (``import torch.nn.functional as G``
    gives {'G': 'torch.nn.functional'}, ``from recurrent_lib import study as s`` {'s': 'recurrent_lib.study'}),
    plus ``outer``'s, the enclosing function's, which nested code reads through its closure."""
    aliases, module, fromlist, bound, constant = dict(outer), "", None, None, None
    for instruction in dis.get_instructions(code):
        if instruction.opname == "IMPORT_NAME":
            module, fromlist = instruction.argval, constant
            bound = module.split(".")[0] if fromlist is None else None  # `import a.b` binds a
        elif instruction.opname == "IMPORT_FROM":
            bound = module if fromlist is None else f"{module}.{instruction.argval}"  # `import a.b as m` binds a.b
        elif instruction.opname in _STORES and bound is not None:
            aliases[instruction.argval], bound = bound, None
        if instruction.opname == "LOAD_CONST":
            constant = instruction.argval
    return aliases


def _chains(code: types.CodeType, outer: Mapping[str, str] | None = None) -> Iterator[tuple[str, list[str], bool]]:
    """(name, [attribute, ...], imported) for every ``name.attr.attr`` the code object and the code nested in it
    load: ``F.dropout(x)`` gives ('F', ['dropout'], False), a global name; a name bound by an ``import`` inside
    the code comes as its dotted module name, ``G.dropout`` after ``import torch.nn.functional as G`` as
    ('torch.nn.functional', ['dropout'], True); ``getattr(torch, "dropout")`` reads as ``torch.dropout``."""
    aliases = _import_aliases(code, outer or {})
    head: tuple[str, bool] | None = None
    attributes: list[str] = []
    after_getattr = in_getattr = False
    for instruction in dis.get_instructions(code):
        op, value = instruction.opname, instruction.argval
        if head is not None and op in _ATTRIBUTE_OPS:
            attributes.append(value)
            continue
        if head is not None and in_getattr and op == "LOAD_CONST" and isinstance(value, str):
            attributes.append(value)  # getattr(module, "name") with a constant name
            continue
        if head is not None:
            yield head[0], attributes, head[1]
        head, attributes = None, []
        if op in ("LOAD_GLOBAL", "LOAD_NAME") and value == "getattr":
            after_getattr = True
            continue
        if op in _LOCAL_LOADS and value in aliases:
            head = (aliases[value], True)
        elif op in ("LOAD_GLOBAL", "LOAD_NAME"):
            head = (value, False)
        in_getattr, after_getattr = after_getattr and head is not None, False
    if head is not None:
        yield head[0], attributes, head[1]
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            yield from _chains(constant, aliases)


def _imported_object(dotted: str) -> Any:
    """The module or object ``dotted`` names (``torch.nn.utils.clip_grad_norm_``), or None."""
    try:
        return importlib.import_module(dotted)
    except ImportError:
        parent, _, name = dotted.rpartition(".")
        try:
            return getattr(importlib.import_module(parent), name)
        except (ImportError, AttributeError, ValueError):
            return None


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
    roots = [_functions_inside(f) for f in (vars(function).values() if isinstance(function, type) else [function])]
    roots = [root for root in roots if root is not None]
    if not roots:
        return found
    ours = roots[0].__globals__  # only functions written next to the student's (the notebook's) are read
    seen: set[int] = set()
    pending: list[Any] = list(roots)
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        reached = list(_cell_contents(current))
        found.update(name for contents in reached for name in _resolve(contents, []))
        found.update(_imported(current.__code__))
        for name, attributes, imported in _chains(current.__code__):
            if imported:
                target = _imported_object(name)
            elif name in current.__globals__:
                target = current.__globals__[name]
            else:  # a builtin, or a name not defined (yet)
                continue
            found.update(_resolve(target, attributes))
            reached.append(target)
        for target in reached:
            inner = list(vars(target).values()) if isinstance(target, type) else [target]
            for function in map(_functions_inside, inner):  # a class written next to it: read its methods
                if function is not None and function.__globals__ is ours:
                    pending.append(function)
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
