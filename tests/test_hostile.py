"""Grading that a hostile class cannot break or fool.

One batch holds honest students, one submission per threat (runaway code, tampering,
cheating from inside the kernel, structural damage, malformed files) and the notebooks of a
structural fuzzer. None may earn a point it did not earn, the batch must finish within its
limits, and every honest grade must be exactly right. A kill-and-resume run follows.
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
from conftest import rnn_course
from support import BIN, ROOT, course_env

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
    """The hostile class and the fuzzer's notebooks (:func:`fuzzed_class`), graded in one
    run; ``expected`` holds the scores of the first, ``fuzzed`` the bounds of the second."""
    base = tmp_path_factory.mktemp("hostile")
    out = base / "out"
    expected = hostile_class()
    fuzzed = fuzzed_class()
    for student, (content, _) in {**expected, **fuzzed}.items():
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
    return {"out": out, "report": report, "expected": expected, "fuzzed": fuzzed,
            "elapsed": elapsed, "stdout": proc.stdout}


def test_no_submission_earns_an_undeserved_point(hostile_batch):
    by = {s["student"]: s for s in hostile_batch["report"]["submissions"]}
    assert set(by) == set(hostile_batch["expected"]) | set(hostile_batch["fuzzed"])
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
    n = len(hostile_batch["expected"]) + len(hostile_batch["fuzzed"])
    assert hostile_batch["elapsed"] < n * 120 / 2 + 120
    assert "isolation" in hostile_batch["report"]
    if ROOTED:
        assert hostile_batch["report"]["isolation"] == "user+mounts"
        assert not lasting_leftovers(), "processes of the grading users remain"


def lasting_leftovers(seconds: float = 5) -> dict[int, list[int]]:
    """:func:`leftover_processes` still there after ``seconds``: a grader in another test
    running meanwhile kills a kernel's processes just before it gives its user id back, and
    a killed process may take a moment to go (a process the grader left running stays)."""
    deadline = time.monotonic() + seconds
    while (found := leftover_processes()) and time.monotonic() < deadline:
        time.sleep(0.5)
    return found


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


def fuzzed_class() -> dict[str, tuple[object, float]]:
    """student id -> (the solution or the blank notebook with random structural edits, the
    most it may earn: :func:`honest_bound`, or 0 for the blank; -1: at most full marks)."""
    rng = random.Random(20261201)
    fuzzed = {}
    for k in range(6):
        nb = fuzz(SOLUTION, rng, rng.randint(1, 6))
        fuzzed[f"fuzz-solution-{k}"] = (nb, honest_bound(nb))
        fuzzed[f"fuzz-blank-{k}"] = (fuzz(BLANK, rng, rng.randint(1, 6)), 0)
    return fuzzed


def test_structural_fuzzer(hostile_batch):
    by = {s["student"]: s for s in hostile_batch["report"]["submissions"]}
    for student, (_, bound) in hostile_batch["fuzzed"].items():
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
    proc = subprocess.Popen([str(BIN / "rnn-course"), "grade", str(subs), "--out", str(out)],
                            env=course_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
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


# ---------------------------------------------------------------- the sandbox
# One batch, submitted as a zip, in which each probe tries one escape and prints a line
# starting with "PWNED" only when the escape worked, and "RAN-<probe>" when it ran at all
# (so a probe that silently did nothing cannot pass). No "PWNED" may reach any output file.

PROBE_ESCAPE = r'''
import ctypes, glob, os, socket, sys
print("RAN-escape")
try:
    print("PWN" "ED-shadow", open("/etc/shadow").readline())
except OSError:
    pass
try:
    names = set(os.listdir("/root")) - set(ALLOWED_ROOT)
    if names:
        print("PWN" "ED-root", sorted(names)[:5])
except OSError:
    pass
for dotfile in ("/root/.bashrc", "/root/.profile", "/root/.gitconfig"):
    try:
        print("PWN" "ED-root-dotfile", open(dotfile).read(40))
    except OSError:
        pass
status = open("/proc/self/status").read()
caps = {ln.split(":")[0]: int(ln.split()[1], 16) for ln in status.splitlines()
        if ln.startswith("Cap")}
if any(caps.values()):
    print("PWN" "ED-caps", caps)
if "NoNewPrivs:\t1" not in status:
    print("PWN" "ED-new-privileges")
libc = ctypes.CDLL(None, use_errno=True)
class _FH(ctypes.Structure):
    _fields_ = [("n", ctypes.c_uint), ("kind", ctypes.c_int), ("b", ctypes.c_ubyte * 128)]
fh, mount_id = _FH(), ctypes.c_int()
fh.n = 128
if libc.name_to_handle_at(-100, sys.prefix.encode(), ctypes.byref(fh),
                          ctypes.byref(mount_id), 0) == 0:
    fd = os.open(sys.prefix, os.O_RDONLY)
    if libc.open_by_handle_at(fd, ctypes.byref(fh), os.O_RDONLY) >= 0:
        print("PWN" "ED-open-by-handle")
for path in HIDDEN:
    try:
        print("PWN" "ED-hidden", path, os.listdir(path)[:3])
    except OSError:
        pass
s = socket.socket()
s.settimeout(2)
try:
    s.connect(("127.0.0.1", LISTENER))
    print("PWN" "ED-tcp-to-the-host")
except OSError:
    pass
for sock in glob.glob("/run/rnn-course/*/*") + glob.glob("/tmp/rnn-ipc-*/*"):
    u = socket.socket(socket.AF_UNIX)
    try:
        u.connect(sock)
        print("PWN" "ED-ipc", sock)
    except OSError:
        pass
for folder in ("/dev/shm", "/var/tmp", "/tmp", "/run/lock"):
    try:
        open(os.path.join(folder, "rnn-probe-left-behind"), "w").write("x")
    except OSError:
        pass
'''

PROBE_HTML = r'''
from IPython.display import HTML, Javascript, Markdown, display
print("RAN-html")
display(HTML("<script>PWNED_SCRIPT()</script><b>x</b>"))
display(Javascript("PWN" "ED_JS()"))
display(Markdown("[click](javascript:PWNED_LINK())"))
class Tricky:
    def _repr_html_(self):
        return "<img src=x onerror=PWNED_IMG()>"
display(Tricky())
display({"application/vnd.jupyter.widget-view+json": {"version_major": 2}}, raw=True)
display({"image/svg+xml": "<svg onload=PWNED_SVG()></svg>", "text/html": "<iframe src=x>"},
        raw=True)
'''

MARKDOWN_ATTACK = ("<script>PWNED_MD()</script>\n\n[link](javascript:PWNED_MDLINK())\n\n"
                   "<img src=x onerror=PWNED_MDIMG()>\n\n" + "[" * 3000 + "]" * 3000)

HUGE_REPLY = r'''
_honest_rpc = __rnn_rpc__
def __rnn_rpc__(request):
    if '"word_tokens"' in request:
        return "x" * (100 * 1024 * 1024)
    return _honest_rpc(request)
print("RAN-huge-reply")
'''

LIVE = {  # what must never appear in a page: a live tag or link of a probe
    "script": "<script>PWNED", "js": "PWNED_JS()", "img": "<img src=x onerror",
    "svg": "<svg onload", "iframe": "<iframe", "link": 'href="javascript:',
}


def _sandbox_zip(path: Path, listener: int, out: Path) -> dict[str, tuple[str, float]]:
    """Write the zip; returns student -> (expected status, expected score)."""
    import zipfile

    allowed_root = []
    import sys

    for p in (Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()):
        if p.parts[:2] == ("/", "root") and len(p.parts) > 2:
            allowed_root.append(p.parts[2])
    hidden = [str(ROOT / "autograder"), str(ROOT / "solutions"), str(out / "nbgrader")]
    escape = PROBE_ESCAPE.replace("ALLOWED_ROOT", repr(allowed_root)).replace(
        "HIDDEN", repr(hidden)).replace("LISTENER", str(listener))
    html_nb = add_cell(BLANK, PROBE_HTML)
    at = next(i for i, c in enumerate(html_nb.cells) if gid(c) == "setup")
    html_nb.cells.insert(at + 2, nbformat.v4.new_markdown_cell(MARKDOWN_ATTACK))
    notebooks = {
        "honest-solution": (SOLUTION, "graded", FULL),
        "probe-escape": (add_cell(BLANK, escape), "graded", 0),
        "probe-html": (html_nb, "graded", 0),
        # its score: test_an_oversized_reply_fails_fast_and_the_connection_recovers
        "probe-huge-reply": (add_cell(SOLUTION, HUGE_REPLY), "graded", None),
        "probe-range": (with_answer(BLANK, "q01_tokenize",
                                    "def word_tokens(text):\n    return range(4 * 10**8)\n"),
                        "graded", 0),
        "honest-float64": (with_answer(SOLUTION, "q01_bow", (
            "def bag_of_words(ids, vocab_size):\n"
            "    counts = np.bincount(np.asarray(ids), minlength=vocab_size)\n"
            "    return counts.astype(np.float64)\n")), "graded", FULL),
    }
    raw = {
        "probe-report": json.dumps({"nbformat": "<img src=x onerror=PWNED_REPORT()>",
                                    "cells": []}).encode(),
        "probe-deep-json": b"[" * 100_000 + b"]" * 100_000,
        "probe-big-int": b'{"cells": [], "nbformat": ' + b"9" * 5000 + b"}",
    }
    expected = {s: (st, sc) for s, (_, st, sc) in notebooks.items()}
    expected.update({s: ("invalid", 0) for s in raw})
    member = f"{LESSON}/{LESSON}.ipynb"
    with zipfile.ZipFile(path, "w") as zf:
        for student, (nb, _, _) in notebooks.items():
            zf.writestr(f"{student}/{member}", nbformat.writes(nb))
        for student, data in raw.items():
            zf.writestr(f"{student}/{member}", data)
        good = nbformat.writes(SOLUTION)
        # bad entries: each makes its own student's submission invalid, nobody else's
        zf.writestr(f"zip-long-name/{member}", good)
        zf.writestr(f"zip-long-name/{LESSON}/{'n' * 300}/x.txt", "x")
        zf.writestr(f"zip-file-and-folder/{member}", good)
        zf.writestr(f"zip-file-and-folder/{member}/inside.txt", "x")
        zf.writestr(f"zip-duplicate/{member}", good)
        zf.writestr(f"zip-duplicate/{member}", nbformat.writes(BLANK))
        zf.writestr(f"zip-dotdot/{member}", good)
        zf.writestr(f"zip-dotdot/{LESSON}/../../../escaped.txt", "x")
        zf.writestr(f"zip-absolute/{member}", good)
        zf.writestr(f"/zip-absolute/{LESSON}/abs.txt", "x")
        zf.writestr(f"zip-symlink/{member}", good)
        link = zipfile.ZipInfo(f"zip-symlink/{LESSON}/data.txt")
        link.external_attr = (0o120777 << 16)
        zf.writestr(link, "/etc/shadow")
    for student in ("zip-long-name", "zip-file-and-folder", "zip-duplicate", "zip-dotdot",
                    "zip-absolute", "zip-symlink"):
        expected[student] = ("invalid", 0)
    return expected


@pytest.fixture(scope="module")
def sandbox_batch(tmp_path_factory):
    import socket

    base = tmp_path_factory.mktemp("sandbox")
    out = base / "out"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    for folder in ("/dev/shm", "/var/tmp", "/tmp", "/run/lock"):
        Path(folder, "rnn-probe-left-behind").unlink(missing_ok=True)
    expected = _sandbox_zip(base / "class.zip", listener.getsockname()[1], out)
    start = time.monotonic()
    proc = rnn_course("grade", str(base / "class.zip"), "--out", str(out), "--workers", "2",
                      "--timeout", "30", "--notebook-timeout", "200", timeout=1500)
    elapsed = time.monotonic() - start
    listener.close()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((out / "report.json").read_text())
    texts = {p: p.read_text(errors="replace") for p in out.rglob("*")
             if p.is_file() and p.suffix in (".html", ".json", ".ipynb", ".csv")}
    return {"out": out, "report": report, "expected": expected, "elapsed": elapsed,
            "by": {s["student"]: s for s in report["submissions"]}, "texts": texts,
            "stdout": proc.stdout}


def _autograded(batch, student: str) -> str:
    return (batch["out"] / "nbgrader" / "autograded" / student / LESSON /
            f"{LESSON}.ipynb").read_text()


def _feedback(batch, student: str) -> str:
    return (batch["out"] / "feedback" / student / LESSON / f"{LESSON}.html").read_text()


def _pwned(batch, marker: str) -> list[str]:
    return [f"{p}: {t[t.index(marker):][:120]!r}" for p, t in batch["texts"].items()
            if marker in t]


needs_root = pytest.mark.skipif(not ROOTED, reason="the sandbox needs a root grader")


def test_sandbox_batch_scores_and_statuses(sandbox_batch):
    by = sandbox_batch["by"]
    assert set(by) == set(sandbox_batch["expected"])
    for student, (status, score) in sandbox_batch["expected"].items():
        got = (by[student]["status"], by[student]["score"] if score is not None else None)
        assert got == (status, score), \
            (student, by[student]["status"], by[student]["score"], by[student]["reason"])


@needs_root
def test_root_only_files_are_unreadable(sandbox_batch):
    assert "RAN-escape" in _autograded(sandbox_batch, "probe-escape")
    for marker in ("PWNED-shadow", "PWNED-root"):
        assert not _pwned(sandbox_batch, marker)


@needs_root
def test_the_kernel_has_no_capability_and_cannot_open_by_handle(sandbox_batch):
    assert "RAN-escape" in _autograded(sandbox_batch, "probe-escape")
    for marker in ("PWNED-caps", "PWNED-new-privileges", "PWNED-open-by-handle",
                   "PWNED-hidden"):
        assert not _pwned(sandbox_batch, marker)


@needs_root
def test_no_kernel_reaches_the_network_or_another_kernel(sandbox_batch):
    assert "RAN-escape" in _autograded(sandbox_batch, "probe-escape")
    assert not _pwned(sandbox_batch, "PWNED-tcp")
    assert not _pwned(sandbox_batch, "PWNED-ipc")
    assert sandbox_batch["report"]["isolation"] == "user+mounts"
    assert "network" in sandbox_batch["report"]["isolation_detail"]


@needs_root
def test_scratch_folders_are_private(sandbox_batch):
    assert "RAN-escape" in _autograded(sandbox_batch, "probe-escape")
    left = [f for f in ("/dev/shm", "/var/tmp", "/tmp", "/run/lock")
            if Path(f, "rnn-probe-left-behind").exists()]
    assert not left, f"a notebook left files in the shared {left}"


def test_feedback_shows_student_output_as_text(sandbox_batch):
    page = _feedback(sandbox_batch, "probe-html")
    assert "RAN-html" in page  # the probe ran and its printed text is shown
    assert "PWNED_MDIMG" in page  # the added markdown cell is shown, as text
    for what, live in LIVE.items():
        assert live not in page, (what, page[page.index(live) - 200:][:400])
    assert "<script" not in page.lower()
    assert 'http-equiv="Content-Security-Policy"' in page and "script-src 'none'" in page


def test_report_page_escapes_every_field(sandbox_batch):
    page = (sandbox_batch["out"] / "report.html").read_text()
    assert "PWNED_REPORT" in page  # the invalid notebook's reason is there, escaped
    assert "<img src=x onerror" not in page
    assert "Content-Security-Policy" in page and "'unsafe-inline'" not in \
        page.split("script-src", 1)[1].split(";", 1)[0]


def test_an_oversized_reply_fails_fast_and_the_connection_recovers(sandbox_batch):
    by = sandbox_batch["by"]["probe-huge-reply"]
    assert "RAN-huge-reply" in _autograded(sandbox_batch, "probe-huge-reply")
    cells = {c["grade_id"]: c for c in by["cells"]}
    assert cells["t01_tokenize"]["status"] == "failed"
    assert "larger than" in cells["t01_tokenize"]["message"]
    # every other exercise still reached its full score through the recovered connection:
    # only the tests that call word_tokens lose points
    calls = {gid(c) for c in SOLUTION.cells if "word_tokens" in c.source}
    lost = {g: c for g, c in cells.items() if c["score"] < c["max_score"]}
    assert set(lost) <= calls, sorted(set(lost) - calls)
    assert by["score"] == FULL - sum(c["max_score"] for c in lost.values())
    assert by["seconds"] < 90, by["seconds"]


def test_a_range_is_not_expanded_by_the_grader(sandbox_batch):
    by = sandbox_batch["by"]["probe-range"]
    cells = {c["grade_id"]: c for c in by["cells"]}
    assert "more than" in cells["t01_tokenize"]["message"], cells["t01_tokenize"]
    assert by["seconds"] < 90


def test_numpy_scalars_score_like_plain_numbers(sandbox_batch):
    assert sandbox_batch["by"]["honest-float64"]["score"] == FULL


def test_unreadable_json_is_one_invalid_notebook(sandbox_batch):
    by = sandbox_batch["by"]
    assert "nested too deeply" in by["probe-deep-json"]["reason"]
    assert by["probe-big-int"]["status"] == "invalid"
    assert by["honest-solution"]["score"] == FULL  # graded in the same batch


def test_each_bad_zip_entry_invalidates_only_its_submission(sandbox_batch):
    by = sandbox_batch["by"]
    why = {"zip-long-name": "too long", "zip-file-and-folder": "cannot be unpacked",
           "zip-duplicate": "two entries", "zip-dotdot": "leaves the folder",
           "zip-absolute": "leaves the folder", "zip-symlink": "links are not accepted"}
    for student, words in why.items():
        assert by[student]["status"] == "invalid" and words in by[student]["reason"], \
            (student, by[student])
    assert not (sandbox_batch["out"].parent / "escaped.txt").exists()
    assert by["honest-solution"]["score"] == FULL


# ---------------------------------------------------------------- the codec's limits (fast)

def test_codec_round_trips_numbers_exactly():
    import enum

    import numpy as np

    from rnnkit._grading.remote import decode, encode

    class Kind(enum.IntEnum):
        A = 5

    class Odd(float):
        def __repr__(self):
            return "Odd!"

    for value in (np.float64(0.1), np.int64(-3), np.bool_(True), np.float32(2.5),
                  np.uint8(7), 0.1, -7, True, 10**30):
        back = decode(json.loads(json.dumps(encode(value))))
        assert back == value and type(back) is type(value), (value, back)
    assert decode(encode(Kind.A)) == 5 and type(decode(encode(Kind.A))) is int
    assert decode(encode(Odd(2.0))) == 2.0


def test_codec_refuses_what_is_too_large():
    from rnnkit._grading import remote

    with pytest.raises(remote.ValueTooLarge):
        remote.decode(remote.encode(range(4 * 10**8)))
    deep = {"t": "v", "v": None}
    for _ in range(remote.MAX_DEPTH + 5):
        deep = {"t": "list", "v": [deep]}
    with pytest.raises(remote.ValueTooLarge):
        remote.decode(deep)
    with pytest.raises(remote.ValueTooLarge):
        remote.decode({"t": "int", "v": "9" * 10_000})
    with pytest.raises(remote.ValueTooLarge):
        remote.decode({"t": "v", "v": "x" * (remote.MAX_STRING + 1)})
    with pytest.raises(remote.ValueTooLarge):
        remote.decode({"t": "nd", "dtype": "float64", "shape": [10**5, 10**5], "b64": ""})
    many = {"t": "list", "v": [{"t": "v", "v": None}] * (remote.MAX_ITEMS + 1)}
    with pytest.raises(remote.ValueTooLarge):
        remote.decode(many)


def test_feedback_rendering_of_hostile_markdown_is_fast_and_inert():
    from autograder.feedback import _as_text_cell, _safe_output, render_page

    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell("x")
    code.outputs = [o for o in map(_safe_output, [
        nbformat.v4.new_output("display_data", data={"text/html": "<script>PWNED()</script>"}),
        nbformat.v4.new_output("display_data", data={
            "application/vnd.jupyter.widget-view+json": {"version_major": 2}}),
    ]) if o is not None]
    nb.cells = [code, _as_text_cell(MARKDOWN_ATTACK + "[" * 40000 + "]" * 40000)]
    start = time.monotonic()
    page = render_page(nb)
    assert time.monotonic() - start < 10
    assert "<script" not in page.lower() and 'href="javascript:' not in page
    assert "&lt;script&gt;PWNED_MD()" in page
