"""Course-wide tests: every lesson present is covered the moment it lands."""

from __future__ import annotations

import filecmp
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT, lessons

LESSONS = lessons()
BLOCKS = re.compile(
    r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1", re.DOTALL)


def test_there_are_lessons():
    assert "01-sequences" in LESSONS


def _cells(path: Path):
    return nbformat.read(str(path), as_version=4).cells


@pytest.mark.parametrize("lesson", LESSONS)
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


@pytest.mark.parametrize("lesson", LESSONS)
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
    for lesson in LESSONS:
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


def _secret_lines() -> dict[str, set[str]]:
    """Lines inside solution and hidden-test blocks that the course shows nowhere in the open
    (a generic line such as ``with torch.no_grad():`` printed in another lesson's public code
    is not a secret)."""
    public: set[str] = set()
    hidden: dict[str, set[str]] = {}
    for lesson in LESSONS:
        hidden[lesson] = set()
        for cell in _cells(ROOT / "solutions" / lesson / f"{lesson}.ipynb"):
            hidden[lesson] |= {ln.strip() for m in BLOCKS.finditer(cell.source)
                               for ln in m.group(2).splitlines()}
            public |= {ln.strip() for ln in BLOCKS.sub("", cell.source).splitlines()}
    return {lesson: {ln for ln in lines - public if len(ln) >= 16 and not ln.startswith("#")}
            for lesson, lines in hidden.items()}


def test_no_solution_or_hidden_test_line_is_in_the_release():
    """(d): nothing inside a solution or hidden-test block reaches lessons/."""
    released = "\n".join(
        line.strip()
        for path in sorted((ROOT / "lessons").rglob("*")) if path.is_file()
        for line in (
            "\n".join(c.source for c in _cells(path)) if path.suffix == ".ipynb"
            else path.read_text(errors="replace")
        ).splitlines()
    )
    released_lines = set(released.splitlines())
    for lesson, lines in _secret_lines().items():
        leaked = sorted(lines & released_lines)
        assert not leaked, f"{lesson}: solution/hidden lines in lessons/: {leaked[:3]}"
    assert "BEGIN HIDDEN TESTS" not in released and "BEGIN SOLUTION" not in released


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
    if len(LESSONS) == 7:
        assert sorted(found) == list(range(1, 21))
