"""Multiple choice questions: the score rule, and feedback that says why for every option."""

from __future__ import annotations

import importlib
import re

import nbformat
import pytest
from conftest import ROOT, lessons

from autograder.reference import mcq


@pytest.fixture
def reasons(monkeypatch):
    fake = {5: {"A": "a state is not a weight.", "B": "the same Whh at every step.",
                "C": "training is not per step.", "D": "one gradient sums all steps."},
            2: {"A": "fixed input size.", "B": "a concatenating MLP does see order.",
                "C": "they can be trained.", "D": "no sharing across positions."}}
    monkeypatch.setattr(mcq, "_REASONS", fake)
    return fake


def test_score_rule_is_kept():
    assert mcq.mcq_fraction(5, {"B", "D"}) == 1.0
    assert mcq.mcq_fraction(5, {"B"}) == 0.5
    assert mcq.mcq_fraction(5, {"B", "C"}) == 0.0
    assert mcq.mcq_fraction(5, {"A", "C"}) == 0.0  # never below zero
    assert mcq.mcq_fraction(5, "BD") == 0.0 and mcq.mcq_fraction(5, ["B", "D"]) == 0.0


def test_q2_b_and_q8_a_are_neutral():
    for k, option in ((2, "B"), (8, "A")):
        right = mcq.KEY[k]
        assert option in mcq.NEUTRAL[k] and option not in right
        assert mcq.mcq_fraction(k, right) == 1.0
        assert mcq.mcq_fraction(k, right | {option}) == 1.0  # costs nothing
        assert mcq.mcq_fraction(k, {option}) == 0.0  # earns nothing
    assert "Q2 B" in mcq.__doc__ and "Q8 A" in mcq.__doc__


def test_feedback_gives_the_reason_of_every_wrong_missed_or_debatable_option(reasons, capsys):
    points = mcq.grade_mcq(5, {"B", "C"}, points=2)
    lines = capsys.readouterr().out.rstrip().splitlines()
    assert points == 0
    assert lines == ["  C (chosen, but wrong): training is not per step.",
                     "  D (right, but not chosen): one gradient sums all steps.",
                     "mcq_5: 1 of 2 right options chosen, 1 wrong option chosen — 0 of 2 points."]
    mcq.grade_mcq(2, {"A", "B", "D"}, points=1)
    out = capsys.readouterr().out
    assert "B (debatable, neither earns nor costs): a concatenating MLP does see order." in out
    assert out.strip().endswith("— 1 of 1 points.")
    mcq.grade_mcq(5, {"B", "D"}, points=1)
    assert capsys.readouterr().out.strip() == \
        "mcq_5: 2 of 2 right options chosen — 1 of 1 points."
    mcq.grade_mcq(5, {"B", "D", "E"}, points=1)
    assert "'E' is not one of the options A, B, C, D." in capsys.readouterr().out


def _asked_in() -> dict[int, str]:
    found = {}
    for lesson in lessons():
        for c in nbformat.read(str(ROOT / "solutions" / lesson / f"{lesson}.ipynb"),
                               as_version=4).cells:
            for k in re.findall(r"grade_mcq\((\d+),", c.source):
                found[int(k)] = lesson
    return found


@pytest.mark.parametrize("lesson", lessons())
def test_every_option_of_every_mcq_has_a_reason_in_the_lesson_that_asks_it(lesson):
    """``MCQ_REASONS`` of the reference module of the lesson that asks question k gives a
    one-line reason for every option of k."""
    missing = []
    for k, asked_in in sorted(_asked_in().items()):
        if asked_in != lesson:
            continue
        module = importlib.import_module("autograder.reference.l" + lesson.replace("-", "_"))
        given = getattr(module, "MCQ_REASONS", {}).get(k, {})
        absent = [o for o in mcq.OPTIONS[k] if not str(given.get(o, "")).strip()]
        if absent:
            missing.append(f"mcq_{k} ({lesson}): {', '.join(absent)}")
        assert set(given) <= set(mcq.OPTIONS[k]), f"mcq_{k}: reasons for unknown options"
        for option, reason in given.items():
            assert "\n" not in reason.strip(), f"mcq_{k} {option}: one line, please"
    assert not missing, "options without a reason in MCQ_REASONS: " + "; ".join(missing)


def test_every_mcq_is_asked_by_one_lesson():
    assert sorted(_asked_in()) == sorted(mcq.OPTIONS), "an MCQ of the lecture is asked nowhere"
