"""From an error to the sentence a student reads: one table for validate, grading and the judge.

A failed cell reaches the student as one plain sentence, never a traceback. The same
exception gets the same words whether ``rnn-course validate`` (:mod:`rnnkit.validate`), the
grading worker (``autograder.worker``) or the grader's judge (``autograder.judge``) saw it:

* :func:`student_sentence` ``(ename, evalue, where)`` -> ``(ename shown, sentence)``, where
  ``where`` is ``"answer"`` (an answer cell, validate only), ``"test"`` (a test cell, in
  validate and in the feedback) or ``"cell"`` (any other cell);
* :func:`rebuild` turns an error the student's kernel reported (by name and text) back into
  the exception the judge raises in the test, so the test's failure gets its sentence here.

A test of an exercise not answered yet reads the same whatever the exercise holds (a function
or a value) and whichever stub raised: the grader does not see which stub it was, so
validate does not say it either. This module holds no answer and imports nothing heavy; it is
part of what students receive.
"""

from __future__ import annotations

__all__ = ["GradingTimeout", "StudentCodeError", "UNANSWERED", "rebuild", "student_sentence"]

UNANSWERED = "this exercise is not answered yet."


class StudentCodeError(Exception):
    """The student's code raised this exception (its name is kept)."""


class GradingTimeout(Exception):
    """A test ran out of time, or the student's kernel died under it."""


def _checks_sentence(ename: str, evalue: str, where: str) -> str:
    from .checks import failure_sentence

    return failure_sentence(ename, evalue, where=where)


def _unanswered(ename: str, evalue: str, where: str) -> tuple[str, str]:
    if where == "answer":
        return ename, UNANSWERED
    if where == "test":
        evalue = ""  # the grader does not see which stub raised it
    return ename, _checks_sentence(ename, evalue, where)


def _check_or_name(ename: str, evalue: str, where: str) -> tuple[str, str]:
    return ename, _checks_sentence(ename, evalue, where)


# ename -> (ename, evalue, where) -> (ename shown, sentence)
_TABLE = {
    "NotImplementedError": _unanswered,
    "CheckFailed": _check_or_name,
    "NameError": _check_or_name,
    GradingTimeout.__name__: lambda ename, evalue, where: ("TimeoutError", evalue),
    StudentCodeError.__name__: lambda ename, evalue, where: ("Error", f"your code raised {evalue}"),
}


def student_sentence(ename: str, evalue: str = "", where: str = "test") -> tuple[str, str]:
    """The error's name as shown and the one sentence the student reads for it."""
    evalue = (evalue or "").strip()
    rule = _TABLE.get(ename)
    if rule is not None:
        return rule(ename, evalue, where)
    return ename, _checks_sentence(ename, evalue, where)


def rebuild(ename: str, evalue: str) -> BaseException:
    """The exception the judge raises for an error the student's kernel reported."""
    if ename == "NotImplementedError":
        return NotImplementedError(evalue)
    if ename == "NameError":
        return NameError(evalue)
    if ename == "CheckFailed":
        from .checks import CheckFailed

        return CheckFailed(evalue)
    if ename in ("TimeoutError", "KernelDied"):
        return GradingTimeout(evalue)
    return StudentCodeError(f"{ename}: {evalue}" if evalue else ename)
