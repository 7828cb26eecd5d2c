"""Course-wide tests: every lesson present is covered the moment it lands.

The tests that grade notebooks (full marks for the solution, zero for the untouched release)
cover every lesson, or only those named in the environment variable
``RNN_COURSE_TEST_LESSONS`` (lesson ids or their two-digit numbers, comma-separated), e.g.

    RNN_COURSE_TEST_LESSONS=03-rnn-cell,04-bptt pytest tests/test_course.py

The checks that read files (``lessons/`` equals a fresh release, no solution line in it,
conventions, MCQs) always cover the whole course.
"""

from __future__ import annotations

import filecmp
import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT, graded_lessons, lessons

LESSONS = lessons()
GRADED = graded_lessons()
BLOCKS = re.compile(
    r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1", re.DOTALL)


def test_there_are_lessons():
    """The lessons are numbered 01, 02, ... without a gap, each released in lessons/."""
    assert LESSONS and LESSONS[0] == "01-sequences"
    assert [int(lesson[:2]) for lesson in LESSONS] == list(range(1, len(LESSONS) + 1))
    released = sorted(p.name for p in (ROOT / "lessons").iterdir()
                      if p.is_dir() and (p / f"{p.name}.ipynb").is_file())
    assert released == LESSONS


def _cells(path: Path):
    return nbformat.read(str(path), as_version=4).cells


@pytest.mark.parametrize("lesson", GRADED)
def test_solution_runs_without_error_and_earns_full_marks(graded_class, lesson):
    """(a) + (b): the solution copy, graded, has no error in any cell and full marks."""
    sub = next(s for s in graded_class["report"]["submissions"]
               if s["student"] == "solution" and s["lesson"] == lesson)
    assert sub["status"] == "graded", sub["reason"]
    executed = graded_class["out"] / "nbgrader" / "autograded" / "solution" / lesson / \
        f"{lesson}.ipynb"
    for cell in _cells(executed):
        for out in cell.get("outputs", []):
            assert out.get("output_type") != "error", (
                f"{lesson}: cell {cell.get('id')} raised {out.get('ename')}: {out.get('evalue')}")
    tests = [c for c in sub["cells"] if c["kind"] == "test"]
    assert tests, f"{lesson} has no autograded tests"
    for c in tests:
        assert c["score"] == c["max_score"], f"{lesson} {c['grade_id']}: {c['message']}"


@pytest.mark.parametrize("lesson", GRADED)
def test_untouched_student_notebook_earns_zero(graded_class, lesson):
    """(b): every autograded cell of the blank release scores zero."""
    sub = next(s for s in graded_class["report"]["submissions"]
               if s["student"] == "blank" and s["lesson"] == lesson)
    assert sub["status"] == "graded", sub["reason"]
    for c in sub["cells"]:
        if c["kind"] == "test":
            assert c["score"] == 0, f"{lesson} {c['grade_id']} gives a blank notebook points"
            assert c["message"], f"{lesson} {c['grade_id']} fails without saying why"


def test_grading_writes_the_contract_files(graded_class):
    out = graded_class["out"]
    assert (out / "gradebook.db").is_file()
    header = (out / "grades.csv").read_text().splitlines()[0]
    assert header.startswith("assignment,duedate,timestamp,student_id")
    assert (out / "report.html").is_file()
    for lesson in GRADED:
        for student in ("solution", "blank"):
            page = (out / "feedback" / student / lesson / f"{lesson}.html").read_text()
            assert "BEGIN HIDDEN TESTS" not in page and "autograder.reference" not in page
            assert "Traceback" not in page


def test_lessons_equal_a_fresh_release(tmp_path):
    """(c): lessons/ is exactly what `rnn-course release` makes from solutions/."""
    from autograder.release import release

    shutil.copytree(ROOT / "solutions", tmp_path / "solutions")
    release(root=tmp_path, log=lambda *_: None)
    cmp = filecmp.dircmp(ROOT / "lessons", tmp_path / "lessons")

    def diffs(c, prefix=""):
        out = [prefix + n for n in c.left_only + c.right_only + c.diff_files]
        for name, sub in c.subdirs.items():
            out += diffs(sub, f"{prefix}{name}/")
        return out

    assert not diffs(cmp), f"lessons/ differs from a fresh release: {diffs(cmp)}; " \
                           "run `rnn-course release` and commit lessons/"


def _secret_lines() -> dict[str, dict[str, set[str]]]:
    """Per lesson, the lines inside its solution blocks and its hidden-test blocks that the
    course shows nowhere in the open (a generic line such as ``with torch.no_grad():`` printed
    in another lesson's public code is not a secret)."""
    public: set[str] = set()
    hidden: dict[str, dict[str, set[str]]] = {}
    for lesson in LESSONS:
        hidden[lesson] = {"SOLUTION": set(), "HIDDEN TESTS": set()}
        for cell in _cells(ROOT / "solutions" / lesson / f"{lesson}.ipynb"):
            for m in BLOCKS.finditer(cell.source):
                hidden[lesson][m.group(1)] |= {ln.strip() for ln in m.group(2).splitlines()}
            public |= {ln.strip() for ln in BLOCKS.sub("", cell.source).splitlines()}
    return {lesson: {kind: {ln for ln in lines - public if len(ln) >= 16 and not ln.startswith("#")}
                     for kind, lines in kinds.items()}
            for lesson, kinds in hidden.items()}


def _released_lines(lesson: str, suffix: str) -> set[str]:
    lines: set[str] = set()
    for path in sorted((ROOT / "lessons" / lesson).rglob(f"*{suffix}")):
        text = ("\n".join(c.source for c in _cells(path)) if suffix == ".ipynb"
                else path.read_text(errors="replace"))
        lines |= {ln.strip() for ln in text.splitlines()}
    return lines


def test_no_solution_or_hidden_test_line_is_in_the_release():
    """(d): nothing inside a solution or hidden-test block reaches lessons/ — except that a
    lesson's hand-outs (``.py`` files beside a later lesson's notebook) carry the answers of
    the earlier lessons they come from, never of their own lesson or a later one."""
    released = {lesson: {suffix: _released_lines(lesson, suffix) for suffix in (".ipynb", ".py")}
                for lesson in os.listdir(ROOT / "lessons") if (ROOT / "lessons" / lesson).is_dir()}
    for lesson, secrets in _secret_lines().items():
        for where, files in released.items():
            shown = files[".ipynb"] | files[".py"] if where <= lesson else files[".ipynb"]
            leaked = sorted(secrets["SOLUTION"] & shown)
            assert not leaked, f"{lesson}: solution lines in lessons/{where}/: {leaked[:3]}"
            leaked = sorted(secrets["HIDDEN TESTS"] & (files[".ipynb"] | files[".py"]))
            assert not leaked, f"{lesson}: hidden-test lines in lessons/{where}/: {leaked[:3]}"
    text = "\n".join(p.read_text(errors="replace") for p in (ROOT / "lessons").rglob("*")
                     if p.is_file())
    assert "BEGIN HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text


def test_lessons_hold_exactly_their_handouts():
    """Each released lesson's ``.py`` files are exactly its hand-outs; every other file in it
    comes from the lesson's source folder."""
    from autograder.release import handouts

    for lesson in LESSONS:
        released = [p for p in (ROOT / "lessons" / lesson).iterdir() if p.is_file()]
        py = sorted(p.name for p in released if p.suffix == ".py")
        assert py == sorted(handouts(lesson)), \
            f"lessons/{lesson}/ holds {py}; run `rnn-course release` and commit lessons/"
        others = [p.name for p in released if p.suffix != ".py"
                  and not (ROOT / "solutions" / lesson / p.name).is_file()]
        assert not others, f"lessons/{lesson}/ holds {others}, which its source does not"


@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_follows_the_conventions(lesson):
    cells = _cells(ROOT / "solutions" / lesson / f"{lesson}.ipynb")
    nn = lesson[:2]
    code = [c for c in cells if c.cell_type == "code"]
    first = code[0].metadata.get("nbgrader", {})
    assert first.get("locked") and not first.get("solution"), "the setup cell must be read-only"
    assert "setup_notebook" in code[0].source
    assert "summary" in cells[-1].source.lower(), "a lesson ends with a summary"
    for c in cells:
        meta = c.metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            assert re.match(rf"^t{nn}_", meta["grade_id"]), meta["grade_id"]
            assert "assert " not in c.source, f"{meta['grade_id']}: use rnnkit.checks"
        elif meta.get("solution"):
            assert re.match(rf"^q{nn}_", meta["grade_id"]), meta["grade_id"]


def test_grade_ids_are_unique_across_the_course():
    seen: dict[str, str] = {}
    for lesson in LESSONS:
        for c in _cells(ROOT / "solutions" / lesson / f"{lesson}.ipynb"):
            gid = c.metadata.get("nbgrader", {}).get("grade_id")
            if gid and gid != "setup" and not re.match(r"^(md|code|scratch)-\d+$", gid):
                assert gid not in seen, f"{gid} is used in {seen[gid]} and {lesson}"
                seen[gid] = lesson


def test_every_lecture_mcq_is_asked_exactly_once():
    found: dict[int, str] = {}
    for lesson in LESSONS:
        for c in _cells(ROOT / "solutions" / lesson / f"{lesson}.ipynb"):
            for k in re.findall(r"grade_mcq\((\d+),", c.source):
                assert int(k) not in found, f"mcq_{k} graded in {found[int(k)]} and {lesson}"
                found[int(k)] = lesson
    from autograder.reference.mcq import KEY

    assert sorted(found) == sorted(KEY), (
        f"the lecture's MCQs {sorted(set(KEY) - set(found))} are asked in no lesson"
        if set(KEY) - set(found) else f"mcq {sorted(set(found) - set(KEY))} has no key")
