"""Shared fixtures: the repository root, every lesson's hand-outs written beside its
solution, and one graded class covering every lesson (or those named in
``RNN_COURSE_TEST_LESSONS``, e.g. ``RNN_COURSE_TEST_LESSONS=03-rnn-cell,04-bptt``).

``make test TEST_WORKERS=auto`` runs the suite on pytest-xdist workers (``--dist loadgroup``): the tests
that share a fixture made once for several tests (a graded class, a hub, a lab) are put in
one group, which one worker runs in the order written (:func:`pytest_collection_modifyitems`,
:func:`pytest_xdist_make_scheduler`).
"""

from __future__ import annotations

import fcntl
import inspect
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from support import BIN, ROOT, course_env


@pytest.fixture(scope="session", autouse=True)
def _handouts_beside_solutions():
    """Write each lesson's hand-outs into ``solutions/NN-name/`` (git-ignored there), as
    ``rnn-course release`` does, so that a solution notebook run by a test imports them.
    One pytest process at a time (the others then find them written and write nothing)."""
    from autograder.release import write_handouts

    folder = os.open(ROOT / "solutions", os.O_RDONLY)
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)
        for lesson in lessons():
            write_handouts(lesson)
    finally:
        os.close(folder)


def _shared_fixtures(item: pytest.Item) -> list[str]:
    """The fixtures of this suite that ``item`` uses and that live longer than one test
    (module or session scope; autouse ones, which every test has, left out), each named
    with its parameter when it has one."""
    tests = Path(__file__).parent
    shared = []
    for name in item.fixturenames:
        defs = item._fixtureinfo.name2fixturedefs.get(name)
        if not defs:
            continue
        fixture = defs[-1]
        if fixture.scope == "function" or getattr(fixture, "_autouse", False):
            continue
        if Path(inspect.getfile(fixture.func)).parent != tests:
            continue  # pytest's own (tmp_path_factory): one per worker costs nothing
        param = getattr(item, "callspec", None) and item.callspec.params.get(name)
        module = "" if fixture.scope == "session" else item.module.__name__ + "."
        shared.append(f"{module}{name}" + (f"[{param}]" if param is not None else ""))
    return shared


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Tests that share a fixture (:func:`_shared_fixtures`, transitively) get one
    ``xdist_group`` mark, named for the first such fixture."""
    group: dict[str, str] = {}

    def root(name: str) -> str:
        while group.setdefault(name, name) != name:
            name = group[name]
        return name

    uses = [(item, _shared_fixtures(item)) for item in items]
    for _, names in uses:
        for name in names[1:]:
            group[root(name)] = root(names[0])
    for item, names in uses:
        if names:
            item.add_marker(pytest.mark.xdist_group(root(names[0])))
    folder = getattr(config, "workerinput", {}).get(GROUPS)
    if folder:  # a pytest-xdist worker: for the scheduler (pytest_xdist_make_scheduler)
        marks = {item.nodeid: item.get_closest_marker("xdist_group") for item in items}
        groups = {nodeid: str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                  for nodeid, m in marks.items() if m is not None}
        Path(folder, f"{config.workerinput['workerid']}.json").write_text(json.dumps(groups))


GROUPS = "rnn_course_test_groups"  # the folder where each worker writes the tests' groups
_GROUPS_FOLDER = pytest.StashKey[str]()


def pytest_configure(config):
    if config.pluginmanager.hasplugin("xdist") and not hasattr(config, "workerinput"):
        config.stash[_GROUPS_FOLDER] = tempfile.mkdtemp(prefix="rnn-test-groups-")


def pytest_unconfigure(config):
    if _GROUPS_FOLDER in config.stash:
        shutil.rmtree(config.stash[_GROUPS_FOLDER], ignore_errors=True)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    node.workerinput[GROUPS] = node.config.stash[_GROUPS_FOLDER]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """``--dist loadgroup`` by the groups the workers wrote. (pytest-xdist's own finds a
    test's group in a suffix it adds to the test's id, which pytest 9 no longer takes.)"""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    folder = Path(config.stash[_GROUPS_FOLDER])

    class GroupScheduling(LoadScopeScheduling):
        """A worker runs all the tests of a scope, in order; a test's scope is its
        ``xdist_group``, or the test alone."""

        groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self.groups is None:  # every worker has collected when scheduling starts
                self.groups = json.loads(next(folder.glob("*.json")).read_text())
            return self.groups.get(nodeid, nodeid)

    return GroupScheduling(config, log)


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Every test runs torch on one thread from a fixed seed (as the notebooks do)."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(n)


def rnn_course(*args: str, cwd: Path = ROOT, timeout: int = 1800) -> subprocess.CompletedProcess:
    """Run the installed ``rnn-course`` command as a user would."""
    return subprocess.run([str(BIN / "rnn-course"), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env=course_env())


def lessons() -> list[str]:
    from autograder.course import lesson_ids

    return lesson_ids()


def graded_lessons() -> list[str]:
    """The lessons whose notebooks tests grade and run: all, or the comma-separated ids (or
    two-digit numbers) in ``RNN_COURSE_TEST_LESSONS``."""
    every = lessons()
    wanted = [w.strip() for w in os.environ.get("RNN_COURSE_TEST_LESSONS", "").split(",")
              if w.strip()]
    if not wanted:
        return every
    chosen = [lesson for lesson in every if lesson in wanted or lesson[:2] in wanted]
    unknown = [w for w in wanted if not any(w in (lesson, lesson[:2]) for lesson in every)]
    if unknown:
        raise pytest.UsageError(f"RNN_COURSE_TEST_LESSONS names no lesson {unknown} "
                                f"(lessons: {', '.join(every)})")
    return chosen


class NotebookKernel:
    """A notebook kernel started in a folder; :meth:`run` returns the error a cell raised."""

    def __init__(self, folder: Path, timeout: float = 120):
        from jupyter_client import KernelManager

        self.timeout = timeout
        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(cwd=str(folder))
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=90)

    def run(self, code: str) -> tuple[str, str] | None:
        errors: list[tuple[str, str]] = []

        def hook(msg):
            if msg["msg_type"] == "error":
                errors.append((msg["content"]["ename"], msg["content"]["evalue"]))

        reply = self.kc.execute_interactive(code, timeout=self.timeout, output_hook=hook,
                                            allow_stdin=False, stop_on_error=False)
        if reply["content"]["status"] == "error" and not errors:
            errors.append((reply["content"]["ename"], reply["content"]["evalue"]))
        return errors[0] if errors else None

    def value(self, expression: str):
        """Evaluate ``expression`` (which gives JSON text) in the kernel; its parsed value."""
        import ast
        import json

        reply = self.kc.execute_interactive("", timeout=self.timeout, allow_stdin=False,
                                            user_expressions={"r": expression},
                                            output_hook=lambda msg: None)
        result = reply["content"]["user_expressions"]["r"]
        if result.get("status") != "ok":
            raise RuntimeError(f"{result.get('ename')}: {result.get('evalue')}")
        return json.loads(ast.literal_eval(result["data"]["text/plain"]))

    def run_notebook(self, cells) -> str | None:
        """Run every code cell in order; the first failure as one line, or None."""
        for cell in cells:
            if cell.cell_type == "code":
                err = self.run(cell.source)
                if err:
                    gid = cell.metadata.get("nbgrader", {}).get("grade_id") or cell.get("id")
                    return f"cell {gid}: {err[0]}: {err[1]}"
        return None

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


@pytest.fixture(scope="session")
def solution_kernel(request) -> NotebookKernel:
    """A kernel that has run the whole solution notebook of the lesson it is parametrized
    with (``indirect=True``); ``.lesson`` and ``.cells`` say which. Shared by
    tests/test_mistakes.py and tests/test_copy.py, which each put every answer they replace
    back, so that each lesson's solution runs once."""
    import nbformat

    lesson = request.param
    source = ROOT / "solutions" / lesson / f"{lesson}.ipynb"
    kernel = NotebookKernel(source.parent, timeout=120)
    try:
        kernel.lesson = lesson
        kernel.cells = nbformat.read(str(source), as_version=4).cells
        failed = kernel.run_notebook(kernel.cells)
        assert failed is None, f"{lesson}: the solution itself fails in {failed}"
        yield kernel
    finally:
        kernel.close()


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory) -> dict:
    """``rnn-course grade`` on one batch: for every lesson (see :func:`graded_lessons`) a copy
    of the solution notebook (student ``solution``) and the untouched student notebook
    (student ``blank``)."""
    base = tmp_path_factory.mktemp("class")
    subs = base / "submitted"
    for lesson in graded_lessons():
        for student, src in (("solution", ROOT / "solutions"), ("blank", ROOT / "lessons")):
            dest = subs / student / lesson
            dest.mkdir(parents=True)
            shutil.copy(src / lesson / f"{lesson}.ipynb", dest)
    out = base / "out"
    proc = rnn_course("grade", str(subs), "--out", str(out), "--workers", "2")
    assert proc.returncode == 0, f"grading failed:\n{proc.stdout}\n{proc.stderr}"
    report = json.loads((out / "report.json").read_text())
    return {"out": out, "report": report, "stdout": proc.stdout}


@pytest.fixture(scope="session")
def blank_validated() -> subprocess.CompletedProcess:
    """The README's ``rnn-course validate lessons/01-sequences/01-sequences.ipynb``, run as
    written in the course root (tests/test_readme.py and tests/test_cli.py read it)."""
    return subprocess.run("rnn-course validate lessons/01-sequences/01-sequences.ipynb",
                          shell=True, cwd=ROOT, capture_output=True, text=True,
                          env=course_env(), timeout=1200)


def small_class(folder: Path) -> None:
    """Lesson 01 for four students, each graded differently: ``amy`` and ``di`` the
    solution, ``bo`` the untouched release, ``cy`` the solution with one wrong answer
    (``zipf_exponent``, 2 of 16 points)."""
    import nbformat

    lesson = "01-sequences"
    sol = ROOT / "solutions" / lesson / f"{lesson}.ipynb"
    blank = ROOT / "lessons" / lesson / f"{lesson}.ipynb"
    partial = nbformat.read(str(sol), as_version=4)
    for cell in partial.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "q01_zipf":
            cell.source = "def zipf_exponent(counts):\n    return -1.0\n"
    for student, src in (("amy", sol), ("bo", blank), ("cy", None), ("di", sol)):
        d = folder / student / lesson
        d.mkdir(parents=True)
        if src is None:
            nbformat.write(partial, str(d / f"{lesson}.ipynb"))
        else:
            shutil.copy(src, d)


SMALL_CLASS_GRADES = {"amy": "16.0", "bo": "0.0", "cy": "14.0", "di": "16.0"}


def read_grades(out: Path) -> dict[str, str]:
    """student -> score in ``out/grades.csv``."""
    import csv

    with open(out / "grades.csv", newline="") as f:
        return {row["student_id"]: row["score"] for row in csv.DictReader(f)}


@pytest.fixture(scope="session")
def sequential_class(tmp_path_factory) -> dict:
    """The :func:`small_class` in ``submitted/``, graded once by the README's command
    ``rnn-course grade submitted/ --out grading/`` (one local worker, SQLite): the reference
    that the parallel, Dask and regrading tests compare with (tests/test_cluster.py,
    tests/test_readme.py, tests/test_cli.py), so the class is graded sequentially once."""
    base = tmp_path_factory.mktemp("sequential")
    small_class(base / "submitted")
    proc = subprocess.run("rnn-course grade submitted/ --out grading/", shell=True, cwd=base,
                          capture_output=True, text=True, env=course_env(), timeout=1200)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    grades = read_grades(base / "grading")
    assert grades == SMALL_CLASS_GRADES, grades
    return {"base": base, "subs": base / "submitted", "out": base / "grading", "proc": proc,
            "grades": grades}


@pytest.fixture(scope="session")
def zipped_class(sequential_class, tmp_path_factory) -> dict:
    """The same class as ``submissions.zip``, graded by the README's command ``rnn-course
    grade submissions.zip --out grading/ --workers 2`` (two local workers)."""
    import zipfile

    base = tmp_path_factory.mktemp("zipped")
    subs = sequential_class["subs"]
    with zipfile.ZipFile(base / "submissions.zip", "w") as zf:
        for nb in sorted(subs.rglob("*.ipynb")):
            zf.write(nb, nb.relative_to(subs).as_posix())
    proc = subprocess.run("rnn-course grade submissions.zip --out grading/ --workers 2",
                          shell=True, cwd=base, capture_output=True, text=True, env=course_env(),
                          timeout=1200)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {"base": base, "out": base / "grading", "proc": proc}
