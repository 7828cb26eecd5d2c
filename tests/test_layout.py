"""The grader's shared tables, on their own and in seconds: the error -> sentence table, the
limits, nbgrader's cell predicates and the command line's entry points."""

from __future__ import annotations

import nbformat
import pytest

from rnnkit.errors import UNANSWERED, GradingTimeout, StudentCodeError, rebuild, student_sentence
from rnnkit.limits import LIMITS


def test_an_unanswered_exercise_reads_the_same_in_validate_and_grading():
    from autograder.worker import _message
    from rnnkit.validate import failed_test_sentence

    for evalue in ("", "rnn_step"):
        assert failed_test_sentence("NotImplementedError", evalue) == \
            _message("NotImplementedError", evalue)[1] == \
            "an exercise this test relies on is not answered yet."
    assert student_sentence("NotImplementedError", "", where="answer")[1] == UNANSWERED
    assert _message("NameError", "name 'f' is not defined")[1] == \
        failed_test_sentence("NameError", "name 'f' is not defined")


def test_the_judge_rebuilds_what_the_kernel_reported():
    from rnnkit.checks import CheckFailed

    assert isinstance(rebuild("CheckFailed", "x"), CheckFailed)
    assert isinstance(rebuild("KernelDied", ""), GradingTimeout)
    err = rebuild("ValueError", "bad")
    assert isinstance(err, StudentCodeError)
    assert student_sentence(type(err).__name__, str(err)) == ("Error", "your code raised ValueError: bad")
    assert student_sentence(GradingTimeout.__name__, "too long") == ("TimeoutError", "too long")


def test_one_set_of_limits():
    from autograder.grade import GradeSettings
    from autograder.kernel import MAX_MESSAGE_BYTES, Limits
    from rnnkit._grading.remote import MAX_REPLY_BYTES

    assert Limits().max_processes == LIMITS.max_processes == 256
    s = GradeSettings()
    assert (s.cell_timeout, s.notebook_timeout, s.memory_bytes) == (
        LIMITS.cell_seconds, LIMITS.notebook_seconds, LIMITS.memory_bytes)
    assert MAX_REPLY_BYTES < MAX_MESSAGE_BYTES


@pytest.mark.parametrize("meta", [None, {}, {"grade": True}, {"solution": True},
                                  {"grade": True, "solution": True}, {"grade": False}])
def test_cell_predicates_are_nbgraders(meta):
    from nbgrader import utils

    from rnnkit.validate import is_grade, is_solution

    cell = nbformat.v4.new_code_cell("x = 1")
    if meta is not None:
        cell.metadata["nbgrader"] = meta
    assert is_grade(cell) == bool(utils.is_grade(cell))
    assert is_solution(cell) == bool(utils.is_solution(cell))


def test_instructor_commands_come_from_the_entry_point(monkeypatch, capsys):
    import rnnkit.cli as cli

    assert {"release", "grade", "export", "hub"} <= set(
        cli._parser()._subparsers._group_actions[0].choices)
    monkeypatch.setattr(cli, "_add_instructor_commands", lambda sub: False)
    assert cli.main(["grade", "x", "--out", "y"]) == 2
    assert "for instructors" in capsys.readouterr().err
