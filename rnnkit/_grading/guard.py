"""Keep an exercise honest: while a hidden test runs, rnnkit's own version of the exercise
cannot be used to answer it.

``with forbid(rnnkit.ngram): ...`` swaps the code of every function and method defined in
the given modules for code that raises :class:`rnnkit.checks.CheckFailed`. Swapping the code
object (not the module attribute) also catches names imported earlier with
``from rnnkit.ngram import ...``. Everything is restored on exit.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from types import FunctionType, ModuleType

__all__ = ["forbid"]


def _blocked(*args, **kwargs):  # its code object is what blocked functions run
    name = __import__("sys")._getframe(0).f_code.co_qualname
    raise __import__("rnnkit.checks", fromlist=["CheckFailed"]).CheckFailed(
        f"your answer calls rnnkit's {name}; this exercise asks you to write the computation "
        "yourself."
    )


def _functions(module: ModuleType) -> Iterator[FunctionType]:
    for obj in vars(module).values():
        if isinstance(obj, FunctionType) and obj.__module__ == module.__name__:
            yield obj
        elif inspect.isclass(obj) and obj.__module__ == module.__name__:
            for member in vars(obj).values():
                func = getattr(member, "__func__", getattr(member, "fget", member))
                if isinstance(func, FunctionType):
                    yield func


@contextmanager
def forbid(*modules: ModuleType) -> Iterator[None]:
    """Make every function of ``modules`` raise while the block runs."""
    saved = []
    try:
        for module in modules:
            for func in _functions(module):
                if func.__code__.co_freevars:  # closures (e.g. super()) cannot be swapped
                    continue
                saved.append((func, func.__code__))
                func.__code__ = _blocked.__code__.replace(
                    co_name=func.__name__, co_qualname=f"{module.__name__}.{func.__qualname__}"
                )
        yield
    finally:
        for func, code in reversed(saved):
            func.__code__ = code
