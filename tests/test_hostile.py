"""Grading that a hostile class cannot break or fool.

One batch holds honest students and one submission per threat (runaway code, tampering,
cheating from inside the kernel, structural damage, malformed files). None may earn a point
it did not earn, the batch must finish within its limits, and every honest grade must be
exactly right. A structural fuzzer and a kill-and-resume run follow.
"""

from __future__ import annotations

import copy
import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import nbformat
import pytest
from conftest import BIN, ROOT, rnn_course

LESSON = "01-sequences"
SOLUTION = nbformat.read(str(ROOT / "solutions" / LESSON / f"{LESSON}.ipynb"), as_version=4)
BLANK = nbformat.read(str(ROOT / "lessons" / LESSON / f"{LESSON}.ipynb"), as_version=4)
FULL = sum(c.metadata["nbgrader"]["points"] for c in SOLUTION.cells
           if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code")
ROOTED = os.geteuid() == 0


def gid(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def with_answer(nb, grade_id: str, source: str):
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if gid(cell) == grade_id:
            cell.source = source
            return nb
    raise KeyError(grade_id)


def add_cell(nb, source: str, after: str = "setup"):
    nb = copy.deepcopy(nb)
    at = next(i for i, c in enumerate(nb.cells) if gid(c) == after)
    nb.cells.insert(at + 1, nbformat.v4.new_code_cell(source))
    return nb


def graded_test_cells(nb):
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")
            and not c.metadata["nbgrader"].get("solution")]


WRONG_TOKENIZER = 'def word_tokens(text):\n    return text.split()\n'


def hostile_class() -> dict[str, tuple[object, float]]:
    """student id -> (notebook or raw bytes, the exact score it deserves)."""
    c: dict[str, tuple[object, float]] = {}
    c["honest-solution"] = (SOLUTION, FULL)
    warn = with_answer(SOLUTION, "q01_bow", (
        "import sys, warnings\n"
        "def bag_of_words(ids, vocab_size):\n"
        "    warnings.warn('an honest warning on stderr')\n"
        "    print('debug output', file=sys.stderr)\n"
        "    return np.bincount(np.asarray(ids), minlength=vocab_size).astype(float)\n"))
    c["honest-with-warnings"] = (warn, FULL)
    partial = with_answer(SOLUTION, "q01_tokenize", "import re\n" + WRONG_TOKENIZER)
    c["honest-partial"] = (partial, FULL - 2 - 1)  # tokenizer wrong; the cat test uses it
    # --- runaway code (each hack replaces one answer of the blank notebook)
    c["loop-forever"] = (with_answer(BLANK, "q01_tokenize", "while True:\n    pass\n"), 0)
    c["sleep-forever"] = (with_answer(BLANK, "q01_vocab", "import time\ntime.sleep(10**6)\n"), 0)
    c["memory-hog"] = (with_answer(BLANK, "q01_bow", "x = bytearray(64 * 1024**3)\n"), 0)
    c["output-flood"] = (with_answer(BLANK, "q01_cat", "print('x' * 30_000_000)\n"
                                     "for i in range(20000):\n    print(i)\n"), 0)
    c["exit-kernel"] = (with_answer(BLANK, "q01_padding", "import os\nos._exit(3)\n"), 0)
    c["segfault"] = (with_answer(BLANK, "q01_zipf", "import ctypes\nctypes.string_at(0)\n"), 0)
    c["system-exit"] = (with_answer(BLANK, "q01_embedding", "raise SystemExit(0)\n"), 0)
    c["keyboard-interrupt"] = (with_answer(BLANK, "q01_adam", "raise KeyboardInterrupt\n"), 0)
    if ROOTED:  # only bounded by a per-user process limit when the grader can change user
        c["fork-bomb"] = (with_answer(BLANK, "q01_bow", (
            "import os, time\n"
            "for _ in range(100000):\n"
            "    try:\n"
            "        if os.fork() == 0:\n"
            "            time.sleep(600)\n"
            "            os._exit(0)\n"
            "    except OSError:\n"
            "        break\n")), 0)
    # --- tampering with the notebook
    emptied = copy.deepcopy(BLANK)
    for cell in graded_test_cells(emptied):
        cell.source = ""
    c["tests-emptied"] = (emptied, 0)
    deleted = copy.deepcopy(BLANK)
    deleted.cells = [cell for cell in deleted.cells if cell not in graded_test_cells(deleted)]
    c["tests-deleted"] = (deleted, 0)
    meta = copy.deepcopy(BLANK)
    for cell in meta.cells:
        nbg = cell.metadata.get("nbgrader")
        if nbg:
            nbg.update(points=100, locked=False)
            if nbg.get("solution"):
                nbg.update(grade=True, solution=False, points=100)
    meta.metadata["kernelspec"] = {"name": "bash", "display_name": "Bash", "language": "bash"}
    c["metadata-changed"] = (meta, 0)
    fake_tests = copy.deepcopy(BLANK)
    for cell in graded_test_cells(fake_tests):
        cell.source = "print('all tests passed')\n2"
    c["tests-replaced"] = (fake_tests, 0)
    # --- cheating from inside the kernel
    c["patch-checks"] = (add_cell(BLANK, (
        "import rnnkit.checks as C\n"
        "for name in dir(C):\n"
        "    if name.startswith('check_'):\n"
        "        setattr(C, name, lambda *a, **k: None)\n"
        "        globals()[name] = lambda *a, **k: None\n"
        "class _Always(Exception):\n    pass\n"
        "C.CheckFailed = _Always\n"
        "import numpy\n"
        "numpy.allclose = lambda *a, **k: True\n"
        "numpy.isclose = lambda a, b, **k: numpy.ones(numpy.shape(a), bool)\n"
        "import builtins\nbuiltins.isinstance = lambda *a: True\n"
        "def word_tokens(text):\n    return []\n")), 0)
    c["read-caller-frame"] = (with_answer(BLANK, "q01_tokenize", (
        "import inspect\n"
        "def word_tokens(text):\n"
        "    f = inspect.currentframe().f_back\n"
        "    while f is not None:\n"
        "        for v in f.f_locals.values():\n"
        "            if isinstance(v, list) and v and all(isinstance(t, str) for t in v):\n"
        "                return v\n"
        "        f = f.f_back\n"
        "    return []\n")), 0)
    c["import-reference"] = (with_answer(BLANK, "q01_tokenize", (
        "try:\n"
        "    from autograder.reference.l01_sequences import word_tokens\n"
        "except Exception:\n"
        "    import sys\n"
        "    sys.path.insert(0, %r)\n"
        "    from autograder.reference.l01_sequences import word_tokens\n") % str(ROOT)), 0)
    c["read-files"] = (add_cell(BLANK, (
        "import glob, os\n"
        "found = []\n"
        "for pattern in ['%s/**/*.py', '/tmp/**/*.ipynb', '%s/**/*.ipynb']:\n"
        "    found += glob.glob(pattern, recursive=True)\n"
        "for path in found:\n"
        "    try:\n"
        "        text = open(path).read()\n"
        "    except OSError:\n"
        "        continue\n"
        "    if 'BEGIN SOLUTION' in text or 'def word_tokens' in text:\n"
        "        exec(text.split('### BEGIN SOLUTION')[-1].split('### END SOLUTION')[0]"
        " if 'BEGIN SOLUTION' in text else text, globals())\n"
        ) % (ROOT / "autograder", "@OUT@")), 0)
    c["write-output"] = (add_cell(BLANK, (
        "for name in ['grades.csv', 'report.json', 'gradebook.db']:\n"
        "    try:\n"
        "        open('@OUT@/' + name, 'w').write('hacked')\n"
        "    except OSError:\n"
        "        pass\n")), 0)
    c["fake-partial-credit"] = (with_answer(BLANK, "q01_tokenize", (
        "from IPython.display import display\n"
        "def word_tokens(text):\n"
        "    get_ipython().displayhook(100)\n"
        "    display({'text/plain': '100'}, raw=True)\n"
        "    return ['the']\n")), 0)
    # --- malformed input
    c["not-json"] = (b"{ this is not a notebook", 0)
    c["not-utf8"] = (b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5, '
                     b'"x": "\xff\xfe"}', 0)
    c["nbformat-3"] = (json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {},
                                   "worksheets": [{"cells": []}]}).encode(), 0)
    c["enormous"] = (b'{"cells": [], "padding": "' + b"x" * (51 * 1024 * 1024) + b'"}', 0)
    old = nbformat.v4.upgrade(copy.deepcopy(SOLUTION))
    old.nbformat_minor = 2
    for cell in old.cells:
        cell.pop("id", None)
    c["saved-by-old-jupyter"] = (old, FULL)
    stripped = copy.deepcopy(SOLUTION)
    for cell in stripped.cells:
        cell.metadata = {}
    c["metadata-stripped-by-editor"] = (stripped, FULL)  # answers found by what they define
    return c


def _write(folder: Path, student: str, content, out: Path) -> None:
    d = folder / student / LESSON
    d.mkdir(parents=True)
    path = d / f"{LESSON}.ipynb"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        text = nbformat.writes(content).replace("@OUT@", str(out))
        path.write_text(text)


@pytest.fixture(scope="module")
def hostile_batch(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    out = base / "out"
    expected = hostile_class()
    for student, (content, _) in expected.items():
        _write(base / "subs", student, content, out)
    # wrong file name (graded as missing) and an extra notebook (ignored)
    wrong = base / "subs" / "wrong-name" / LESSON
    wrong.mkdir(parents=True)
    nbformat.write(SOLUTION, str(wrong / "my-work.ipynb"))
    expected["wrong-name"] = (None, 0)
    nbformat.write(BLANK, str(base / "subs" / "honest-solution" / LESSON / "scratch.ipynb"))
    start = time.monotonic()
    proc = rnn_course("grade", str(base / "subs"), "--out", str(out), "--workers", "2",
                      "--timeout", "15", "--notebook-timeout", "120", timeout=1500)
    elapsed = time.monotonic() - start
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((out / "report.json").read_text())
    return {"out": out, "report": report, "expected": expected, "elapsed": elapsed,
            "stdout": proc.stdout}


def test_no_submission_earns_an_undeserved_point(hostile_batch):
    by = {s["student"]: s for s in hostile_batch["report"]["submissions"]}
    assert set(by) == set(hostile_batch["expected"])
    for student, (_, deserved) in hostile_batch["expected"].items():
        assert by[student]["score"] == deserved, (student, by[student]["score"], deserved,
                                                  by[student]["reason"])


def test_every_problem_has_a_status_and_a_reason(hostile_batch):
    by = {s["student"]: s for s in hostile_batch["report"]["submissions"]}
    assert by["not-json"]["status"] == "invalid" and "JSON" in by["not-json"]["reason"]
    assert by["not-utf8"]["status"] == "invalid" and "UTF-8" in by["not-utf8"]["reason"]
    assert by["nbformat-3"]["status"] == "invalid" and "nbformat 3" in by["nbformat-3"]["reason"]
    assert by["enormous"]["status"] == "invalid" and "limit" in by["enormous"]["reason"]
    assert by["wrong-name"]["status"] == "missing"
    problems = " ".join(hostile_batch["report"]["problems"])
    assert "my-work.ipynb" in problems and "scratch.ipynb" in problems
    assert by["exit-kernel"]["status"] == "graded" and "kernel stopped" in \
        by["exit-kernel"]["reason"]
    graded = json.loads((hostile_batch["out"] / "nbgrader" / "autograded" / "loop-forever" /
                         LESSON / f"{LESSON}.ipynb").read_text())
    answer = next(c for c in graded["cells"]
                  if c["metadata"].get("nbgrader", {}).get("grade_id") == "q01_tokenize")
    assert any("longer than 15 s" in o.get("evalue", "") for o in answer["outputs"])
    loop = {c["grade_id"]: c for c in by["loop-forever"]["cells"]}
    assert "word_tokens" in loop["t01_tokenize"]["message"]
    for s in by.values():
        for cell in s["cells"]:
            if cell["kind"] == "test" and cell["status"] != "passed":
                assert cell["message"], (s["student"], cell)


def test_the_batch_finishes_within_its_limits(hostile_batch):
    n = len(hostile_batch["expected"])
    assert hostile_batch["elapsed"] < n * 120 / 2 + 120
    assert "isolation" in hostile_batch["report"]
    if ROOTED:
        assert hostile_batch["report"]["isolation"] == "user+mounts"
        assert not leftover_processes(), "processes of the grading users remain"


def leftover_processes() -> dict[int, list[int]]:
    """Processes of sandbox user ids that no grader holds now (another grader running on
    this machine holds its ids locked, and its kernels are not leftovers)."""
    import fcntl

    from autograder.kernel import UidPool

    pool = UidPool()
    found: dict[int, list[int]] = {}
    for uid in range(UidPool.FIRST, UidPool.FIRST + 16):
        lock = pool.folder / f"{uid}.lock"
        if not lock.exists():
            continue
        fd = os.open(lock, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue  # in use by a grader right now
        try:  # held while looking, so no grader can start a kernel with this id meanwhile
            pids = [int(p.name) for p in Path("/proc").iterdir()
                    if p.name.isdigit() and _uid_of(p) == uid]
        finally:
            os.close(fd)
        if pids:
            found[uid] = pids
    return found


def _uid_of(proc: Path) -> int | None:
    try:
        return proc.stat().st_uid
    except OSError:
        return None


def test_outputs_were_not_overwritten_by_student_code(hostile_batch):
    out = hostile_batch["out"]
    assert (out / "grades.csv").read_text().startswith("assignment,")
    assert json.loads((out / "report.json").read_text())
    feedback = (out / "feedback" / "honest-solution" / LESSON / f"{LESSON}.html").read_text()
    assert "BEGIN HIDDEN TESTS" not in feedback and "autograder.reference" not in feedback


def fuzz(nb, rng: random.Random, n_edits: int):
    nb = copy.deepcopy(nb)
    for _ in range(n_edits):
        op = rng.choice(["delete", "duplicate", "swap", "metadata", "empty-test", "split"])
        i = rng.randrange(len(nb.cells))
        cell = nb.cells[i]
        if op == "delete" and len(nb.cells) > 3:
            del nb.cells[i]
        elif op == "duplicate":
            nb.cells.insert(i, copy.deepcopy(cell))
        elif op == "swap":
            j = rng.randrange(len(nb.cells))
            nb.cells[i], nb.cells[j] = nb.cells[j], nb.cells[i]
        elif op == "metadata" and "nbgrader" in cell.metadata:
            key = rng.choice(["points", "grade", "solution", "locked", "grade_id"])
            cell.metadata["nbgrader"][key] = {"points": 99, "grade": True, "solution": False,
                                              "locked": False, "grade_id": "t01_fake"}[key]
        elif op == "empty-test":
            for c in graded_test_cells(nb):
                if rng.random() < 0.5:
                    c.source = ""
        elif op == "split" and cell.cell_type == "code" and "\n" in cell.source:
            a, b = cell.source.split("\n", 1)
            cell.source = a
            nb.cells.insert(i + 1, nbformat.v4.new_code_cell(b))
    return nb


def honest_bound(nb) -> float:
    """Full marks when every answer cell is still there, unchanged and with its grade id, in
    the order of the lesson; otherwise the fuzzed notebook may earn less but never more."""
    answers = [c.source for c in SOLUTION.cells if c.metadata.get("nbgrader", {}).get(
        "solution")]
    seen = []
    for cell in nb.cells:
        g = gid(cell)
        if g and g.startswith("q01_") and cell.source in answers and cell.source not in seen:
            seen.append(cell.source)
    intact = seen == answers and len({gid(c) for c in nb.cells if gid(c)}) >= len(answers)
    return FULL if intact else -1


def test_structural_fuzzer(tmp_path):
    rng = random.Random(20261201)
    expected = {}
    for k in range(6):
        nb = fuzz(SOLUTION, rng, rng.randint(1, 6))
        expected[f"fuzz-solution-{k}"] = (nb, honest_bound(nb))
        expected[f"fuzz-blank-{k}"] = (fuzz(BLANK, rng, rng.randint(1, 6)), 0)
    out = tmp_path / "out"
    for student, (nb, _) in expected.items():
        _write(tmp_path / "subs", student, nb, out)
    proc = rnn_course("grade", str(tmp_path / "subs"), "--out", str(out), "--workers", "2",
                      "--timeout", "30", timeout=1500)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    by = {s["student"]: s for s in json.loads((out / "report.json").read_text())["submissions"]}
    assert set(by) == set(expected)
    for student, (_, bound) in expected.items():
        score = by[student]["score"]
        if bound == -1:  # answers damaged: whatever survived may count, nothing more
            assert 0 <= score <= FULL, (student, score)
        else:
            assert score == bound, (student, score, bound, by[student]["reason"])


def test_kill_and_resume(tmp_path):
    subs = tmp_path / "subs"
    for k in range(4):
        _write(subs, f"s{k}", SOLUTION if k % 2 == 0 else BLANK, tmp_path / "out")
    out = tmp_path / "out"
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    proc = subprocess.Popen([str(BIN / "rnn-course"), "grade", str(subs), "--out", str(out)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 300
    while not list((out / "results").rglob("*.json")):
        assert proc.poll() is None and time.monotonic() < deadline, "no result appeared"
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = len(list((out / "results").rglob("*.json")))
    assert 1 <= finished < 4
    again = rnn_course("grade", str(subs), "--out", str(out))
    assert again.returncode == 0, again.stderr
    assert f"{finished} notebooks already graded" in again.stdout
    rows = (out / "grades.csv").read_text().strip().splitlines()[1:]
    assert sorted(r.split(",")[3] for r in rows) == ["s0", "s1", "s2", "s3"]
    scores = {r.split(",")[3]: float(r.split(",")[-2]) for r in rows}
    assert scores == {"s0": FULL, "s1": 0, "s2": FULL, "s3": 0}
