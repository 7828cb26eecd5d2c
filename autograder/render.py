"""``rnn-course render``: write the literal cases of visible tests from the reference.

A visible test cell shows a student small fixed cases with their expected values and the
values of the classic mistakes. Those literals are not typed by hand: each block between

    # BEGIN CASES <key>
    ...
    # END CASES

in a source notebook is produced from the function registered for ``<key>`` with
:func:`cases` in ``autograder/reference/lNN_*.py``. That function returns an ordered mapping
of variable names to values, computed from the one implementation of the exercise and its
mistake variants; :func:`literal` writes each value as Python source. A test re-renders every
notebook and fails on any difference, so the notebooks never drift from the reference.
"""

from __future__ import annotations

import importlib
import json
import math
import pkgutil
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import numpy as np

from .course import ROOT, CourseError, lesson_ids, source_notebook

BEGIN = re.compile(r"^(?P<indent>[ \t]*)# BEGIN CASES (?P<key>\S+)[^\n]*$")
END = re.compile(r"^[ \t]*# END CASES\b")
DIGITS = 10  # significant digits of every rendered float: exact enough for atol 1e-9

_REGISTRY: dict[str, Callable[[], Mapping[str, object]]] = {}


def cases(key: str):
    """Register ``fn() -> {name: value}`` as the source of the block ``# BEGIN CASES key``."""

    def register(fn):
        if key in _REGISTRY and _REGISTRY[key] is not fn:
            raise ValueError(f"two case functions for {key!r}")
        _REGISTRY[key] = fn
        return fn

    return register


def _same(a, b, atol: float) -> bool:
    try:
        a_arr, b_arr = np.asarray(a), np.asarray(b)
    except Exception:
        return a == b
    if a_arr.dtype == object or b_arr.dtype == object:
        return a == b
    if a_arr.shape != b_arr.shape:
        return False
    if a_arr.dtype.kind in "fc" or b_arr.dtype.kind in "fc":
        return bool(np.allclose(a_arr, b_arr, rtol=0, atol=atol, equal_nan=True))
    return bool(np.array_equal(a_arr, b_arr))


def distinct_mistakes(expected, pairs: Iterable[tuple[object, str]], atol: float = 1e-7
                      ) -> list[tuple[object, str]]:
    """The ``(value, sentence)`` mistakes that a test can tell from ``expected``.

    Drops every mistake whose value equals the right answer (it could never fire) and every
    later one whose value equals an earlier mistake's (its sentence could never be reached).
    """
    kept: list[tuple[object, str]] = []
    for value, sentence in pairs:
        if value is None or _same(value, expected, atol):
            continue
        if any(_same(value, v, atol) for v, _ in kept):
            continue
        kept.append((value, sentence))
    return kept


def _float(x: float) -> str:
    if math.isnan(x):
        return "float('nan')"
    if math.isinf(x):
        return "float('inf')" if x > 0 else "-float('inf')"
    text = repr(float(f"{x:.{DIGITS}g}"))
    return "0.0" if text == "-0.0" else text


def _nested(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_nested(v) for v in value) + "]"
    if isinstance(value, bool):
        return repr(value)
    if isinstance(value, float):
        return _float(value)
    return repr(value)


def literal(value) -> str:
    """Python source that evaluates (with ``np`` imported) to ``value``."""
    if value is None or isinstance(value, bool | str | bytes):
        return repr(value)
    if isinstance(value, np.ndarray):
        body = _nested(value.tolist())
        if value.dtype.kind == "f" and value.dtype != np.float64:
            return f"np.array({body}, dtype=np.{value.dtype.name})"
        return f"np.array({body})"
    if isinstance(value, np.generic):
        return literal(value.item())
    if isinstance(value, int):
        return repr(int(value))
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, tuple):
        inner = ", ".join(literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, set | frozenset):
        if not value:
            return "set()"
        return "{" + ", ".join(literal(v) for v in sorted(value, key=repr)) + "}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot render a {type(value).__name__} as a literal")


def _assignment(name: str, value, indent: str) -> list[str]:
    """``name = value`` lines; a list of (value, sentence) mistakes gets one entry per line."""
    if (isinstance(value, list) and value and all(isinstance(v, tuple) and len(v) == 2
                                                  and isinstance(v[1], str) for v in value)):
        lines = [f"{indent}{name} = ["]
        for v, sentence in value:
            lines.append(f"{indent}    ({literal(v)},")
            lines.append(f"{indent}     {literal(sentence)}),")
        lines.append(f"{indent}]")
        return lines
    return [f"{indent}{name} = {literal(value)}"]


def load_references(package: str = "autograder.reference") -> None:
    """Import every reference module so that their :func:`cases` are registered."""
    pkg = importlib.import_module(package)
    for info in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"{package}.{info.name}")


def render_source(source: str, where: str = "cell") -> str:
    """``source`` with every CASES block rewritten from its registered function."""
    out: list[str] = []
    lines = source.split("\n")
    i = 0
    while i < len(lines):
        m = BEGIN.match(lines[i])
        if not m:
            if END.match(lines[i]):
                raise CourseError(f"{where}: '# END CASES' without '# BEGIN CASES' before it.")
            out.append(lines[i])
            i += 1
            continue
        key, indent = m.group("key"), m.group("indent")
        j = i + 1
        while j < len(lines) and not END.match(lines[j]):
            if BEGIN.match(lines[j]):
                raise CourseError(f"{where}: CASES block {key} is not closed before the next.")
            j += 1
        if j == len(lines):
            raise CourseError(f"{where}: CASES block {key} has no '# END CASES'.")
        if key not in _REGISTRY:
            raise CourseError(f"{where}: no case function is registered for {key!r} "
                              "(decorate one with autograder.render.cases).")
        values = _REGISTRY[key]()
        out.append(lines[i])
        for name, value in values.items():
            out.extend(_assignment(name, value, indent))
        out.append(lines[j])
        i = j + 1
    return "\n".join(out)


def render_notebook(path: Path) -> tuple[str, str]:
    """(current text, rendered text) of a source notebook file; only CASES lines change."""
    text = Path(path).read_text(encoding="utf-8")
    nb = json.loads(text)
    for cell in nb.get("cells", []):
        src = cell.get("source", "")
        joined = "".join(src) if isinstance(src, list) else src
        if "# BEGIN CASES" not in joined:
            continue
        cell_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") or cell.get("id")
        new = render_source(joined, f"{path} cell {cell_id}")
        cell["source"] = new.splitlines(keepends=True)
    rendered = json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
    return text, rendered


def render(lessons: list[str] | None = None, root: Path = ROOT, check: bool = False,
           log=print) -> list[str]:
    """Rewrite the CASES blocks of each lesson's source notebook (all by default).

    With ``check=True`` nothing is written; returns the lessons whose notebook differs.
    """
    load_references()
    differ = []
    for lesson in lessons or lesson_ids(root):
        path = source_notebook(lesson, root)
        old, new = render_notebook(path)
        if old != new:
            differ.append(lesson)
            if not check:
                path.write_text(new, encoding="utf-8")
                log(f"rendered the visible cases of {lesson}")
    return differ
