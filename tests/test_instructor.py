"""The instructor's side after grading: Formgrader, the grades with the points given by hand,
and the lab's Validate button.

* ``rnn-course export`` counts a score given by hand in the gradebook (nbgrader's Gradebook
  API, no server).
* In a real browser (headless Debian Chromium through Playwright, as in
  ``tests/test_browser.py``), on ``make instructor`` (as in ``tests/test_readme.py``) run on
  127.0.0.1 with a random port and token and temporary Jupyter folders, with ``GRADING`` and
  ``SUBMITTED`` naming a class graded by ``rnn-course grade`` (one student, one lesson):
  the instructor opens *Nbgrader → Formgrader* and sees every lesson and the submission,
  scores the free-text answer on Formgrader's grading page, and ``rnn-course export`` writes
  that score into ``grades.csv``; *Validate* on a notebook with one wrong answer shows
  exactly the lines ``rnn-course validate`` prints for it, the wrong answer's one-line
  message among them.

Screenshots go to ``test-artifacts/``. The browser tests are skipped only when
/usr/bin/chromium is missing and CI is not set.
"""

from __future__ import annotations

import csv
import importlib
import json
import re
import shutil
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from conftest import rnn_course
from support import ROOT
from test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, _write_settings, needs_browser
from test_readme import _get, _start_make, _stop

LESSON = "07-bidirectional"
FREE_TEXT = "q07_why_no_lm"  # the lesson's free-text answer, graded by hand
SOLUTION_MARK = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[^\n]*\n?", re.M)


# --- rnn-course export, on a gradebook written through nbgrader's API -----------------------

def test_export_counts_the_points_given_by_hand(tmp_path):
    from nbgrader.api import Gradebook

    from autograder.course import tools_on_path

    tools_on_path()
    grading = tmp_path / "grading"
    grading.mkdir()
    url = f"sqlite:///{grading / 'gradebook.db'}"
    with Gradebook(url) as gb:
        gb.add_assignment(LESSON)
        gb.add_notebook(LESSON, LESSON)
        gb.add_grade_cell("t07_test", LESSON, LESSON, max_score=3, cell_type="code")
        gb.add_grade_cell(FREE_TEXT, LESSON, LESSON, max_score=2, cell_type="markdown")
        gb.add_solution_cell(FREE_TEXT, LESSON, LESSON)
        for student in ("ann", "ben"):
            gb.add_student(student)
            gb.add_submission(LESSON, student)
            gb.find_grade("t07_test", LESSON, LESSON, student).auto_score = 3
        gb.find_grade(FREE_TEXT, LESSON, LESSON, "ann").manual_score = 1.5
        gb.db.commit()
    proc = rnn_course("export", "--grading", "grading", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == ("wrote grading/grades.csv: 2 rows (one per student and "
                                   "lesson); scores given by hand in Formgrader: 1")
    rows = {r["student_id"]: r for r in csv.DictReader((grading / "grades.csv").open())}
    assert float(rows["ann"]["score"]) == 4.5 and float(rows["ben"]["score"]) == 3.0
    assert float(rows["ann"]["max_score"]) == 5.0


def test_export_without_a_gradebook_says_to_grade_first(tmp_path):
    proc = rnn_course("export", "--grading", str(tmp_path / "nope"), cwd=tmp_path)
    assert proc.returncode == 2
    [line] = proc.stderr.strip().splitlines()
    assert "no gradebook.db here; grade first: rnn-course grade submitted/" in line


# --- the instructor's lab in a real browser ---------------------------------------------------

def _solution_answers() -> dict[str, str]:
    nb = nbformat.read(str(ROOT / "solutions" / LESSON / f"{LESSON}.ipynb"), 4)
    return {c.metadata["nbgrader"]["grade_id"]: SOLUTION_MARK.sub("", c.source)
            for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")}


def _planted():
    """The lesson's first planted mistake that the visible test names."""
    ref = importlib.import_module("autograder.reference.l07_bidirectional")
    return next(p for p in ref.PLANTED if not p.hidden)


def student_notebook(wrong=None):
    """The lesson as released with every answer filled in from the solution; ``wrong`` (a
    Planted mistake) replaces its answer cell."""
    answers = _solution_answers()
    nb = nbformat.read(str(ROOT / "lessons" / LESSON / f"{LESSON}.ipynb"), 4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell.source = answers[gid]
        if wrong is not None and gid == wrong.answer:
            cell.source = wrong.code
    return nb


def grade_a_class(tmp: Path) -> Path:
    """``tmp`` made a class folder: ``submitted/ann/LESSON`` (every answer right) graded
    into ``grading/``."""
    sub = tmp / "submitted" / "ann" / LESSON
    sub.mkdir(parents=True)
    nbformat.write(student_notebook(), str(sub / f"{LESSON}.ipynb"))
    graded = rnn_course("grade", "submitted/", "--out", "grading/", cwd=tmp)  # README
    assert graded.returncode == 0, graded.stdout + graded.stderr
    return tmp


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    return grade_a_class(tmp_path_factory.mktemp("class"))


@pytest.fixture(scope="module")
def instructor_lab(graded_class):
    """``make instructor`` with GRADING and SUBMITTED set to the graded class; yields
    (base URL, token, class folder)."""
    tmp = graded_class
    home = tmp / "jupyter"
    _write_settings(home / "settings")
    log = (tmp / "lab.log").open("w")
    proc, base, token = _start_make(
        "instructor", home, log=log,
        env={"GRADING": str(tmp / "grading"), "SUBMITTED": str(tmp / "submitted"),
             "JUPYTER_CONFIG_DIR": str(home / "config"), "IPYTHONDIR": str(home / "ipython")},
        flags=f"--LabApp.user_settings_dir={home / 'settings'} "
              f"--LabApp.workspaces_dir={home / 'workspaces'}")
    try:
        try:
            _get(f"{base}/api/status", token, proc, wait=120)
        except (OSError, AssertionError):
            pytest.fail("make instructor did not start:\n" + (tmp / "lab.log").read_text()[-3000:])
        yield base, token, tmp
    finally:
        _stop(proc)
        log.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))


def _api(base: str, token: str, path: str):
    req = urllib.request.Request(f"{base}{path}", headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=30) as r:  # noqa: S310 - loopback only
        return json.loads(r.read())


@needs_browser
def test_formgrader_lists_the_lessons_and_a_score_given_there_reaches_the_grades(
        instructor_lab, browser):
    base, token, tmp = instructor_lab
    lessons = sorted(p.name for p in (ROOT / "solutions").iterdir()
                     if (p / f"{p.name}.ipynb").is_file())
    report = json.loads((tmp / "grading" / "report.json").read_text())
    [graded] = report["submissions"]
    assert graded["status"] == "graded", graded
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"{base}/lab?token={token}", wait_until="domcontentloaded", timeout=60_000)
        page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").first.click(timeout=90_000)
        page.locator(".lm-Menu-itemLabel", has_text="Formgrader").first.click()
        frame = page.frame_locator("#formgrader-iframe iframe").first
        for lesson in lessons:
            frame.locator("td.name", has_text=lesson).first.wait_for(timeout=60_000)
        row = frame.locator("tr", has=frame.locator("td.name", has_text=LESSON)).first
        assert row.locator("td.num-submissions").inner_text().strip() == "1"
        assert frame.locator(".alert-warning").count() == 0, \
            frame.locator(".alert-warning").first.inner_text()  # e.g. no exchange
        _shot(page, "instructor-formgrader.png")

        [nb] = _api(base, token, f"/formgrader/api/submitted_notebooks/{LESSON}/{LESSON}")
        grades = {g["name"]: g for g in
                  _api(base, token, f"/formgrader/api/grades?submission_id={nb['id']}")}
        given = grades[FREE_TEXT]["max_score"] / 2
        # Formgrader's grading page, in the lab's session (its cookie)
        page.goto(f"{base}/formgrader/submissions/{nb['id']}/", wait_until="load",
                  timeout=60_000)
        page.wait_for_function("() => window.formgrader && formgrader.grades && "
                               "formgrader.grades.loaded", timeout=60_000)
        score = page.locator(f"input.score#{FREE_TEXT}")
        score.fill(f"{given:g}", timeout=60_000)
        score.press("Tab")  # Formgrader saves on change
        deadline = time.monotonic() + 30
        while True:
            grades = {g["name"]: g for g in
                      _api(base, token, f"/formgrader/api/grades?submission_id={nb['id']}")}
            if grades[FREE_TEXT]["manual_score"] == given:
                break
            assert time.monotonic() < deadline, f"the score was not saved: {grades[FREE_TEXT]}"
            time.sleep(0.5)
        _shot(page, "instructor-manual-grade.png")
    finally:
        page.close()

    out = rnn_course("export", "--grading", "grading/", cwd=tmp, timeout=300)  # README
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip().endswith("scores given by hand in Formgrader: 1"), out.stdout
    [row] = list(csv.DictReader((tmp / "grading" / "grades.csv").open()))
    assert row["student_id"] == "ann" and row["assignment"] == LESSON
    assert float(row["score"]) == pytest.approx(graded["score"] + given)


@needs_browser
def test_validate_in_the_lab_says_what_rnn_course_validate_says(instructor_lab, browser):
    base, token, _ = instructor_lab
    wrong = _planted()
    folder = ARTIFACTS / "instructor-validate" / LESSON
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(ROOT / "lessons" / LESSON, folder)  # with the lesson's hand-outs
    path = folder / f"{LESSON}.ipynb"
    nbformat.write(student_notebook(wrong), str(path))

    cli = rnn_course("validate", str(path), timeout=600)
    assert cli.returncode == 1 and cli.stderr == "", cli.stderr
    expected = cli.stdout.strip().splitlines()
    line = next(ln for ln in expected if ln.startswith(f"✘ {wrong.test}: failed — "))
    assert wrong.says.lower() in line.lower(), line
    assert expected[-1].endswith(" failed")

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        rel = path.relative_to(ROOT).as_posix()
        page.goto(f"{base}/lab/tree/{rel}?token={token}", wait_until="domcontentloaded",
                  timeout=60_000)
        page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=90_000)
        page.locator(".validate-button").first.click(timeout=60_000)
        dialog = page.locator("#validation-message")
        dialog.wait_for(timeout=600_000)
        shown = [ln.strip() for ln in dialog.inner_text().splitlines() if ln.strip()]
        _shot(page, "instructor-validate.png")
    finally:
        page.close()
    assert shown == expected
