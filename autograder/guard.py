"""``forbid`` for hidden tests: rnnkit's own version of an exercise cannot answer it.

In a notebook kernel it patches the modules there (see :mod:`rnnkit._grading.guard`). When
the grader runs the test (see :mod:`autograder.judge`), the student's functions live in another
process, so the modules are also recorded here and every call into the student's kernel made
inside the block asks the kernel to forbid them for the duration of the call.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from types import ModuleType

from rnnkit._grading.guard import forbid as _forbid_here

__all__ = ["forbid", "forbidden_modules"]

_FORBIDDEN: ContextVar[tuple[str, ...]] = ContextVar("forbidden", default=())


def forbidden_modules() -> tuple[str, ...]:
    return _FORBIDDEN.get()


@contextmanager
def forbid(*modules: ModuleType) -> Iterator[None]:
    token = _FORBIDDEN.set(_FORBIDDEN.get() + tuple(m.__name__ for m in modules))
    try:
        with _forbid_here(*modules):
            yield
    finally:
        _FORBIDDEN.reset(token)
