"""Checks used by the test cells of every lesson.

Each check either returns quietly or raises :class:`CheckFailed` whose message is one plain
sentence a student can act on: what is wrong, where (shape, index, time step), and, when the
value matches a known mistake, which mistake it is.

Known mistakes are passed as ``mistakes``: a list of ``(wrong_value, sentence)`` pairs. When
the student's value equals a wrong value (within tolerance), the sentence is used as the
message, so a test can say "you forgot the bias gradient" instead of "values differ".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "CheckFailed",
    "check_type",
    "check_shape",
    "check_dtype",
    "check_finite",
    "check_close",
    "check_equal",
    "check_number",
    "check_true",
    "check_mcq_form",
    "check_text_answer",
    "rel_error",
    "passed",
    "form_ok",
    "check_earlier",
    "failure_sentence",
    "show_failures_as_sentences",
]


class CheckFailed(AssertionError):
    """A check did not pass; ``str(error)`` is the sentence shown to the student."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def _render_traceback_(self) -> list[str]:
        """IPython shows this instead of a traceback: the sentence alone."""
        return [f"✘ {self.message}"]


def passed(what: str) -> None:
    """Print a one-line confirmation (test cells end with it so success is visible)."""
    print(f"✔ {what}")


def form_ok(what: str) -> None:
    """End a visible test that can only check the form of an answer (a set of letters, an
    integer): it says so, and never that the answer is right."""
    print(f"✔ form OK — {what}; the answer itself is scored when graded.")


def check_earlier(exercise: str, check: Callable[[], None]) -> None:
    """Run ``check`` — the test of an earlier exercise this one builds on — first.

    If it fails, the failure says to fix that exercise first, so that a mistake there does not
    read as a fresh error here. ``exercise`` names it as the lesson does ("exercise 2,
    rnn_step_forward").
    """
    try:
        check()
    except CheckFailed as e:
        raise CheckFailed(f"this test calls your {exercise}, which is not right yet "
                          f"({e.message.rstrip('.')}): fix {exercise} first.") from None


_UNDEFINED = re.compile(r"name '(?P<name>[^']+)' is not defined")
_QUALNAME = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$")


def failure_sentence(ename: str, evalue: str = "", name: str | None = None,
                     where: str = "cell") -> str:
    """The one plain sentence shown for a cell that failed, everywhere the course shows one.

    ``ename``/``evalue``: the exception's class name and text; ``name``: the function (or
    ``Class.method``) that raised ``NotImplementedError`` when known; ``where``: ``"cell"``
    (the notebook or an answer cell in validate) or ``"test"`` (a test cell: the failure is
    in an exercise the test calls). A ``NotImplementedError`` whose text is a bare name (the
    notebook puts the stub's name there) names that stub. Used by the notebook itself (see
    :func:`show_failures_as_sentences`), by ``rnn-course validate`` and by the grader's feedback.
    """
    evalue = (evalue or "").strip()
    if ename == "CheckFailed":
        return evalue or "the check failed."
    if ename == "NotImplementedError":
        name = name or (evalue if _QUALNAME.match(evalue) else None)
        if name:
            return (f"{name} is not answered yet: write its body in its exercise cell, in place "
                    "of `raise NotImplementedError()`.")
        if where == "test":
            return "an exercise this test relies on is not answered yet."
        return ("this exercise is not answered yet: replace `raise NotImplementedError()` with "
                "your answer.")
    if ename == "NameError":
        m = _UNDEFINED.search(evalue)
        what = f"`{m.group('name')}`" if m else "a name this cell uses"
        if where == "test":  # the same words as for an exercise that raises NotImplementedError
            return f"an exercise this test relies on is not answered yet ({what} is not defined)."
        return (f"{what} is not defined yet: answer the exercise that defines it, or run the "
                "cell that does (Run All runs every cell in order).")
    return f"{ename}: {evalue}" if evalue else ename


_SENTENCE = "_rnnkit_sentence"  # set on an exception the notebook showed as one sentence


def _innermost(tb):
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb


def _person_at_keyboard(shell) -> bool:
    """True when the running request comes from a front end a person uses (JupyterLab,
    Notebook: they accept ``input()``); False for ``rnn-course validate``, nbconvert and the
    grader, which run a notebook unattended and must see every failure as one."""
    kernel = getattr(shell, "kernel", None)
    try:
        content = kernel.get_parent("shell").get("content", {})
    except Exception:
        return False
    return bool(content.get("allow_stdin")) and bool(content.get("stop_on_error", True))


def show_failures_as_sentences(shell=None) -> bool:
    """Show a failed check, an unanswered exercise or an undefined name as one sentence.

    Installed in the notebook's IPython kernel by :func:`rnnkit.setup_notebook`: a
    :class:`CheckFailed`, a ``NotImplementedError`` raised by an exercise stub and a
    ``NameError`` in notebook code show :func:`failure_sentence` instead of a traceback (any
    other error keeps its traceback, which helps to debug one's own code). When a person runs
    the notebook (Run All in JupyterLab), such a failure does not stop the cells after it: the
    kernel answers the cell as finished, so the demonstrations and figures that follow still
    run. Unattended runs (``rnn-course validate``, nbconvert, grading) still see each failure.
    Returns False outside IPython.
    """
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:  # pragma: no cover - IPython comes with Jupyter
            return False
        shell = get_ipython()
    if shell is None or not hasattr(shell, "set_custom_exc"):
        return False
    cells = getattr(getattr(shell, "compile", None), "_filename_map", {})

    def handler(sh, etype, value, tb, tb_offset=None):
        last = _innermost(tb)
        code = last.tb_frame.f_code if last is not None else None
        in_cell = code is not None and code.co_filename in cells
        if issubclass(etype, CheckFailed):
            shown, sentence = value, failure_sentence("CheckFailed", str(value))
        elif in_cell and issubclass(etype, NotImplementedError | NameError):
            name = None
            if issubclass(etype, NotImplementedError) and code.co_name != "<module>":
                name = getattr(code, "co_qualname", code.co_name)
            # the function's name travels in the error's text, so that validate can say it too
            shown = etype(name) if name and not str(value) else value
            sentence = failure_sentence(etype.__name__, str(shown), name)
        else:
            sh.showtraceback((etype, value, tb), tb_offset=tb_offset)
            return None
        try:
            setattr(value, _SENTENCE, True)
        except AttributeError:  # pragma: no cover - every exception class allows it
            pass
        sh._showtraceback(etype, shown, [f"✘ {sentence}"])
        return None

    def after_cell(result) -> None:
        err = getattr(result, "error_in_exec", None)
        if err is not None and getattr(err, _SENTENCE, False) and _person_at_keyboard(shell):
            result.error_in_exec = None  # the reply says "ok": Run All goes on

    shell.set_custom_exc((CheckFailed, NotImplementedError, NameError), handler)
    previous = getattr(shell, "_rnnkit_after_cell", None)
    if previous is not None:
        try:
            shell.events.unregister("post_run_cell", previous)
        except ValueError:
            pass
    shell.events.register("post_run_cell", after_cell)
    shell._rnnkit_after_cell = after_cell
    return True


def _a(noun: str) -> str:
    """'a list', 'an int'."""
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def _fmt(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return f"{float(value):.6g}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _to_array(value: Any) -> np.ndarray | None:
    """Turn numpy arrays, torch tensors, lists and numbers into an array (None if impossible)."""
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value)
    except Exception:
        return None
    if arr.dtype == object:
        return None
    return arr


def _where(index: tuple[int, ...], axes: Sequence[str] | None) -> str:
    """Describe an index, naming axes when given: ``time step 3, row 0, column 2``."""
    if not index:
        return ""
    if axes and len(axes) == len(index):
        return ", ".join(f"{name} {i}" for name, i in zip(axes, index))
    return "index " + str(tuple(int(i) for i in index))


def _matches(value: Any, wrong: Any, rtol: float, atol: float) -> bool:
    if isinstance(wrong, set | frozenset | str | dict | list | tuple) and not isinstance(
        value, np.ndarray
    ):
        try:
            return value == wrong or (
                isinstance(wrong, list | tuple) and list(value) == list(wrong)
            )
        except Exception:
            return False
    a, b = _to_array(value), _to_array(wrong)
    if a is None or b is None or a.shape != b.shape:
        return False
    try:
        return bool(np.allclose(a, b, rtol=rtol, atol=atol))
    except TypeError:
        return bool(np.array_equal(a, b))


def _known_mistake(value: Any, mistakes, rtol: float = 1e-5, atol: float = 1e-8) -> str | None:
    for wrong, sentence in mistakes or ():
        if _matches(value, wrong, rtol, atol):
            return sentence
    return None


def check_type(value: Any, types: type | tuple[type, ...], name: str) -> None:
    """Fail unless ``value`` is an instance of ``types``."""
    if not isinstance(value, types):
        names = (
            " or ".join(t.__name__ for t in types) if isinstance(types, tuple) else types.__name__
        )
        raise CheckFailed(
            f"{name} should be {_a(names)}, but it is {_a(type(value).__name__)}."
        )


def check_shape(value: Any, shape: Sequence[int], name: str, axes: Sequence[str] | None = None):
    """Fail unless ``value`` has exactly ``shape``; names a transposed or missing batch axis."""
    arr = _to_array(value)
    if arr is None:
        raise CheckFailed(
            f"{name} should be an array of shape {tuple(shape)}, "
            f"but it is a {type(value).__name__} that is not an array of numbers."
        )
    got, want = tuple(arr.shape), tuple(int(s) for s in shape)
    if got == want:
        return
    hint = ""
    if len(got) == len(want) == 2 and got == want[::-1]:
        hint = " — it looks transposed"
    elif len(got) + 1 == len(want) and got == want[1:]:
        hint = " — the leading (batch or time) axis is missing"
    elif len(got) == len(want) + 1 and got[1:] == want:
        hint = " — there is an extra leading axis"
    elif axes and len(got) == len(want):
        bad = [axes[i] for i in range(len(want)) if got[i] != want[i]]
        hint = f" — the {', '.join(bad)} axis is wrong"
    raise CheckFailed(f"{name} has shape {got} but should have shape {want}{hint}.")


def check_dtype(value: Any, kind: str, name: str) -> None:
    """Fail unless the array's dtype is of ``kind``: 'float', 'int', 'bool'."""
    arr = _to_array(value)
    kinds = {"float": "f", "int": "iu", "bool": "b"}
    if arr is None or arr.dtype.kind not in kinds[kind]:
        got = arr.dtype if arr is not None else type(value).__name__
        raise CheckFailed(f"{name} should hold {kind} values, but its dtype is {got}.")


def check_finite(value: Any, name: str, axes: Sequence[str] | None = None) -> None:
    """Fail if the array holds NaN or infinity, naming the first such entry."""
    arr = _to_array(value)
    if arr is None or arr.dtype.kind not in "fc":
        return
    bad = ~np.isfinite(arr)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        what = "NaN" if np.isnan(arr[index]) else "infinity"
        where = _where(index, axes)
        raise CheckFailed(
            f"{name} contains {what} at {where} ({int(bad.sum())} of {arr.size} entries are not "
            "finite) — look for an overflow, such as exp of a large number, or a division by zero."
        )


def check_close(
    value: Any,
    expected: Any,
    name: str,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    axes: Sequence[str] | None = None,
    mistakes: Iterable[tuple[Any, str]] | None = None,
) -> None:
    """Fail unless ``value`` equals ``expected`` within tolerance.

    The message names the first mismatching entry (with axis names when ``axes`` is given,
    e.g. ``("time step", "row", "unit")``), the two values there, the largest error and how
    many entries are off — or, when the value matches a known mistake, that mistake.
    """
    exp = _to_array(expected)
    check_shape(value, exp.shape, name, axes)
    arr = _to_array(value)
    check_finite(arr, name, axes)
    if arr.dtype.kind not in "biufc":
        raise CheckFailed(f"{name} should hold numbers, but its dtype is {arr.dtype}.")
    arr = arr.astype(np.float64)
    exp = exp.astype(np.float64)
    close = np.isclose(arr, exp, rtol=rtol, atol=atol)
    if close.all():
        return
    sentence = _known_mistake(value, mistakes)
    if sentence:
        raise CheckFailed(f"{name} is wrong: {sentence}")
    index = tuple(int(i) for i in np.argwhere(~close)[0]) if arr.ndim else ()
    err = np.abs(arr - exp)
    where = _where(index, axes)
    at = f" at {where}" if where else ""
    got, want = (arr[index], exp[index]) if index else (arr.item(), exp.item())
    count = f"; {int((~close).sum())} of {arr.size} entries are off" if arr.size > 1 else ""
    raise CheckFailed(
        f"{name} is wrong{at}: got {_fmt(got)}, expected {_fmt(want)} "
        f"(largest error {_fmt(float(err.max()))}{count})."
    )


def check_equal(
    value: Any,
    expected: Any,
    name: str,
    mistakes: Iterable[tuple[Any, str]] | None = None,
) -> None:
    """Fail unless ``value == expected`` exactly (lists, strings, ints, dicts, sets).

    For sequences the message names the first differing position.
    """
    if isinstance(expected, list | tuple) and isinstance(value, np.ndarray):
        value = value.tolist()
    try:
        same = value == expected
        if isinstance(same, np.ndarray):
            same = bool(same.all()) and np.shape(value) == np.shape(expected)
        same = bool(same)
    except Exception:
        same = False
    if isinstance(expected, list | tuple) and isinstance(value, list | tuple):
        same = list(value) == list(expected)
    if same:
        return
    sentence = _known_mistake(value, mistakes)
    if sentence:
        raise CheckFailed(f"{name} is wrong: {sentence}")
    if isinstance(expected, list | tuple):
        if not isinstance(value, list | tuple):
            raise CheckFailed(
                f"{name} should be a {type(expected).__name__}, "
                f"but it is a {type(value).__name__}."
            )
        for i, (a, b) in enumerate(zip(value, expected)):
            if a != b:
                raise CheckFailed(
                    f"{name} differs first at position {i}: got {_fmt(a)}, expected {_fmt(b)}."
                )
        raise CheckFailed(
            f"{name} has {len(value)} items but should have {len(expected)}"
            + (
                f"; the first missing item is {_fmt(expected[len(value)])}."
                if len(value) < len(expected)
                else f"; the first extra item is {_fmt(value[len(expected)])}."
            )
        )
    if isinstance(expected, dict) and isinstance(value, dict):
        missing = [k for k in expected if k not in value]
        if missing:
            raise CheckFailed(f"{name} is missing the key {_fmt(missing[0])}.")
        extra = [k for k in value if k not in expected]
        if extra:
            raise CheckFailed(f"{name} has an unexpected key {_fmt(extra[0])}.")
        for k in expected:
            if value[k] != expected[k]:
                raise CheckFailed(
                    f"{name}[{_fmt(k)}] is {_fmt(value[k])} but should be {_fmt(expected[k])}."
                )
    raise CheckFailed(f"{name} is {_fmt(value)} but should be {_fmt(expected)}.")


def check_number(
    value: Any,
    expected: float,
    name: str,
    rtol: float = 1e-4,
    atol: float = 1e-8,
    mistakes: Iterable[tuple[Any, str]] | None = None,
) -> None:
    """Fail unless ``value`` is a single real number close to ``expected``."""
    arr = _to_array(value)
    if isinstance(value, bool) or arr is None or arr.size != 1 or arr.dtype.kind not in "iuf":
        raise CheckFailed(f"{name} should be a single number, but it is {_fmt(value)}.")
    x = float(arr.reshape(()))
    if not np.isfinite(x):
        raise CheckFailed(f"{name} is {x}, not a finite number.")
    if np.isclose(x, expected, rtol=rtol, atol=atol):
        return
    for wrong, sentence in mistakes or ():
        if np.isclose(x, float(wrong), rtol=max(rtol, 1e-3), atol=atol):
            raise CheckFailed(f"{name} is wrong: {sentence}")
    raise CheckFailed(f"{name} is {_fmt(x)} but should be {_fmt(float(expected))}.")


def check_true(condition: Any, sentence: str) -> None:
    """Fail with ``sentence`` unless ``condition`` holds."""
    if not bool(condition):
        raise CheckFailed(sentence)


def check_mcq_form(answer: Any, k: int, options: str = "ABCD") -> None:
    """Check only the form of the answer to multiple choice question ``k``.

    An answer is a non-empty set of option letters, e.g. ``{"B", "D"}``.
    """
    name = f"mcq_{k}"
    if isinstance(answer, str):
        raise CheckFailed(
            f"{name} should be a set of letters such as {{'{answer[:1] or 'A'}'}}, not a string."
        )
    if not isinstance(answer, set | frozenset):
        raise CheckFailed(
            f"{name} should be a set of letters such as {{'A', 'C'}}, "
            f"but it is a {type(answer).__name__}."
        )
    if not answer:
        raise CheckFailed(f"{name} is an empty set: choose at least one option.")
    bad = sorted(str(a) for a in answer if not (isinstance(a, str) and a in options))
    if bad:
        raise CheckFailed(
            f"{name} contains {', '.join(repr(b) for b in bad)}; "
            f"the options are the capital letters {', '.join(options)}."
        )


def check_text_answer(answer: Any, name: str, min_words: int = 5) -> None:
    """Check that a free-text answer is a string of at least ``min_words`` words."""
    if not isinstance(answer, str):
        raise CheckFailed(f"{name} should be a string, but it is a {type(answer).__name__}.")
    if len(answer.split()) < min_words:
        raise CheckFailed(f"{name} should be at least {min_words} words; write a full sentence.")


def rel_error(a: Any, b: Any) -> float:
    """Relative error max |a - b| / max(|a| + |b|, 1e-8), used by gradient checks."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))
