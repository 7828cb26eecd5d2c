"""`rnn-course` on good and bad input: one clear line, non-zero exit, nothing changed."""

from __future__ import annotations

import json
import zipfile

from conftest import ROOT, rnn_course

LESSON = "01-sequences"
NB = ROOT / "solutions" / LESSON / f"{LESSON}.ipynb"


def _one_error_line(proc, *words):
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def test_grade_missing_path_changes_nothing(tmp_path):
    out = tmp_path / "out"
    _one_error_line(rnn_course("grade", str(tmp_path / "nope"), "--out", str(out)), "nope",
                    "no such file")
    assert not out.exists()


def test_grade_folder_of_the_wrong_shape(tmp_path):
    (tmp_path / "subs" / "alice").mkdir(parents=True)
    (tmp_path / "subs" / "alice" / "01-sequences.ipynb").write_text("{}")
    out = tmp_path / "out"
    _one_error_line(rnn_course("grade", str(tmp_path / "subs"), "--out", str(out)),
                    "no submissions found", "<student>/<lesson>/<lesson>.ipynb")
    assert not out.exists()


def test_grade_not_a_zip(tmp_path):
    f = tmp_path / "subs.zip"
    f.write_text("hello")
    _one_error_line(rnn_course("grade", str(f), "--out", str(tmp_path / "o")), "subs.zip")


def test_release_unknown_lesson_and_bad_source(tmp_path):
    _one_error_line(rnn_course("release", "99-nope"), "99-nope", "no such lesson")
    from autograder.course import CourseError
    from autograder.release import release

    (tmp_path / "solutions" / "01-bad").mkdir(parents=True)
    (tmp_path / "solutions" / "01-bad" / "01-bad.ipynb").write_text("{not json")
    try:
        release(["01-bad"], root=tmp_path, log=lambda *_: None)
    except CourseError as e:
        assert "01-bad.ipynb" in str(e) and "not valid JSON" in str(e)
    else:
        raise AssertionError("release accepted a notebook that is not JSON")
    assert not (tmp_path / "lessons").exists()


def test_validate_bad_input(tmp_path):
    _one_error_line(rnn_course("validate", str(tmp_path / "x.ipynb")), "x.ipynb", "no such file")
    bad = tmp_path / "bad.ipynb"
    bad.write_text('{"cells": [')
    _one_error_line(rnn_course("validate", str(bad)), "bad.ipynb", "not valid JSON")


def test_validate_passes_the_solution_and_fails_the_blank(blank_validated):
    good = rnn_course("validate", str(NB))
    assert good.returncode == 0, good.stdout + good.stderr
    assert "0 failed" in good.stdout
    blank = blank_validated  # conftest: the README's command on the released lesson 01
    assert blank.returncode == 1
    assert "t01_tokenize: failed" in blank.stdout and "not answered yet" in blank.stdout


def test_grade_zip_with_malformed_and_dangerous_entries(tmp_path):
    """A zip holding a good notebook, a notebook that is not JSON, and a '../' entry: the
    batch finishes, the bad notebook gets zero with a reason, the '../' entry is skipped."""
    z = tmp_path / "class.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(ROOT / "lessons" / LESSON / f"{LESSON}.ipynb", f"carol/{LESSON}/{LESSON}.ipynb")
        zf.writestr(f"dave/{LESSON}/{LESSON}.ipynb", "{ this is not json")
        zf.writestr("../evil.txt", "x")
        link = zipfile.ZipInfo(f"erin/{LESSON}/{LESSON}.ipynb")
        link.external_attr = (0o120777 << 16)  # a symbolic link to a file outside
        zf.writestr(link, "/etc/passwd")
    out = tmp_path / "out"
    proc = rnn_course("grade", str(z), "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not (tmp_path / "evil.txt").exists()
    report = json.loads((out / "report.json").read_text())
    by = {s["student"]: s for s in report["submissions"]}
    assert by["dave"]["status"] == "invalid" and "not valid JSON" in by["dave"]["reason"]
    assert by["dave"]["score"] == 0 and by["carol"]["status"] == "graded"
    assert any("evil.txt" in p for p in report["problems"])
    assert any("erin" in p and "links" in p for p in report["problems"])
    assert "erin" not in by
    csv = (out / "grades.csv").read_text()
    assert "dave" in csv and "carol" in csv


def test_grade_is_idempotent(sequential_class):
    """Grading the same folder into the same output again (the first run: conftest's
    sequential_class, amy's solution among four) grades nothing again, says so, changes no
    grade, adds no row and leaves every graded notebook as it was."""
    subs, out = sequential_class["subs"], sequential_class["out"]
    first = (out / "grades.csv").read_text().strip().splitlines()
    # the students' notebooks as submitted, autograded and fed back (not the lesson's own
    # release, which nbgrader writes again on every run)
    graded = sorted(p for p in out.rglob(f"{LESSON}.ipynb") if "lessons" not in p.parts)
    assert graded, sorted(out.rglob("*"))
    stamps = {p: p.stat().st_mtime_ns for p in graded}
    again = rnn_course("grade", str(subs), "--out", str(out))
    assert sequential_class["proc"].returncode == again.returncode == 0, again.stderr
    assert "4 notebooks already graded" in again.stdout, again.stdout
    assert "already graded" not in sequential_class["proc"].stdout
    assert {p: p.stat().st_mtime_ns for p in graded} == stamps
    rows = (out / "grades.csv").read_text().strip().splitlines()
    assert len(rows) == 5 and sorted(rows) == sorted(first), (first, rows)
    amy = next(r for r in rows if ",amy," in r)
    assert amy.endswith("16.0,16.0"), rows
