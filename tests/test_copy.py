"""Nothing a student receives answers an exercise: a test that tries to copy.

For every function or class exercise of every lesson, this test looks in what a student
receives up to and including that lesson — the ``rnnkit`` package, and every released lesson
folder up to it (its ``.py`` hand-outs and its notebook's cells other than answers) — for code
that passes the exercise's tests, hidden tests included:

* by name: a function or class of the exercise's name;
* by substitution: every public function (for a function exercise) or class (for a class
  exercise) whose signature accepts the exercise's positional arguments.

An exercise's tests are its test cells (after its answer cell, before the next answer) that
fail while it is unanswered; a test that passes anyway does not test it.

It copies as a student would: the candidate's source is run in a fresh namespace (so no
guard on the original objects can see it) and bound to the exercise's name in a kernel that
has run the whole solution notebook; then the exercise's test cells run whole. A candidate
that passes one of them earns points without an answer, and the test fails naming it. One
kernel per lesson (conftest's ``solution_kernel``, shared with tests/test_mistakes.py); each
candidate has ``SECONDS`` per test cell.

``RNN_COURSE_TEST_LESSONS=03-rnn-cell`` limits it to some lessons (see ``conftest.py``).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT, NotebookKernel, graded_lessons, lessons
from test_mistakes import _gid, _is_test

SECONDS = 10  # per candidate and test cell: a copy that passes does so in well under that
STUB = "def _rc_stub(*args, **kwargs):\n    raise NotImplementedError()\n"

RUNNER = r'''
import json as _rc_json, signal as _rc_signal, sys as _rc_sys, types as _rc_types
_rc_cache = {}

class _RcTimeout(BaseException):
    pass

def _rc_alarm(signum, frame):
    raise _RcTimeout()

def _rc_try(answer, origin, source, name, package, tests, restore, seconds):
    """Bind `answer` to a fresh copy of `name` from `source`, run each test, put the answer
    back; returns the indices of the tests that passed (or an error running the source)."""
    g = globals()
    ns = _rc_cache.get(origin)
    if ns is None:
        if package is None:  # notebook cells: they rely on what the notebook defined before
            ns = dict(g)
        else:
            module = _rc_types.ModuleType("_copied_" + origin.replace("/", "_").replace(".", "_"))
            module.__package__ = package
            _rc_sys.modules[module.__name__] = module
            ns = module.__dict__
        if package == "":  # a hand-out imports the hand-outs beside it
            _rc_sys.path.insert(0, origin.rsplit("/", 1)[0])
        try:
            exec(compile(source, origin, "exec"), ns)
        except BaseException as e:
            ns = {"__error__": f"{type(e).__name__}: {e}"}
        finally:
            if package == "":
                _rc_sys.path.remove(origin.rsplit("/", 1)[0])
        _rc_cache[origin] = ns
    if "__error__" in ns:
        return _rc_json.dumps({"error": ns["__error__"]})
    passed = []
    old = _rc_signal.signal(_rc_signal.SIGALRM, _rc_alarm)
    try:
        for i, test in enumerate(tests):
            g[answer] = ns[name]
            _rc_signal.alarm(seconds)
            try:
                exec(compile(test, "<test>", "exec"), g)
                passed.append(i)
            except BaseException:
                pass
            finally:
                _rc_signal.alarm(0)
    finally:
        _rc_signal.signal(_rc_signal.SIGALRM, old)
        exec(compile(restore, "<answer>", "exec"), g)
    return _rc_json.dumps({"passed": passed})
'''


@dataclass(frozen=True)
class Candidate:
    origin: str  # what the student receives: rnnkit/rnn_numpy.py, /…/lessons/04-bptt/rnn_numpy.py
    name: str
    kind: str  # "function" or "class"
    arity: tuple[int, float]  # (required positional, most positional) parameters
    source: str  # the code a student would copy (a module, or a notebook cell's definitions)
    package: str | None  # the package its relative imports need; None: notebook cells


def _arity(node: ast.FunctionDef | ast.ClassDef) -> tuple[int, float]:
    if isinstance(node, ast.ClassDef):
        init = next((n for n in node.body if isinstance(n, ast.FunctionDef)
                     and n.name == "__init__"), None)
        if init is None:
            return 0, float("inf")
        lo, hi = _arity(init)
        return max(0, lo - 1), hi - 1
    args = node.args
    positional = args.posonlyargs + args.args
    required = len(positional) - len(args.defaults)
    return required, float("inf") if args.vararg else len(positional)


def _definitions(source: str):
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)]


def _candidates_in(origin: str, source: str, package: str | None) -> list[Candidate]:
    return [Candidate(origin, n.name, "class" if isinstance(n, ast.ClassDef) else "function",
                      _arity(n), source, package) for n in _definitions(source)]


def _notebook_definitions(path: Path) -> str:
    """The definitions (with the imports they need) of a released notebook's cells other
    than answers, as one source text."""
    parts = []
    for cell in nbformat.read(str(path), as_version=4).cells:
        if cell.cell_type != "code" or cell.metadata.get("nbgrader", {}).get("solution"):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        keep = [n for n in tree.body if isinstance(
            n, ast.FunctionDef | ast.ClassDef | ast.Import | ast.ImportFrom)]
        if any(not isinstance(n, ast.Import | ast.ImportFrom) for n in keep):
            parts.append(ast.unparse(ast.Module(body=keep, type_ignores=[])))
    return "\n\n".join(parts)


def received_up_to(lesson: str) -> list[Candidate]:
    """Every function and class in what a student has received by ``lesson``."""
    found = []
    for path in sorted((ROOT / "rnnkit").rglob("*.py")):
        rel = path.relative_to(ROOT)
        package = ".".join(rel.parent.parts)
        found += _candidates_in(str(rel), path.read_text(encoding="utf-8"), package)
    for other in lessons():
        if other > lesson:
            continue
        folder = ROOT / "lessons" / other
        for path in sorted(folder.glob("*.py")):
            found += _candidates_in(str(path), path.read_text(encoding="utf-8"), "")
        notebook = folder / f"{other}.ipynb"
        if notebook.is_file():
            found += _candidates_in(str(notebook.relative_to(ROOT)),
                                    _notebook_definitions(notebook), None)
    return found


@dataclass
class Exercise:
    answer_cell: int
    name: str
    kind: str
    arity: tuple[int, float]
    tests: list[int]


def exercises(cells) -> list[Exercise]:
    """The function and class exercises of a solution notebook, with their test cells (those
    after the answer cell, before the next answer cell)."""
    out = []
    answers = [i for i, c in enumerate(cells) if c.cell_type == "code"
               and c.metadata.get("nbgrader", {}).get("solution")]
    for j, i in enumerate(answers):
        end = answers[j + 1] if j + 1 < len(answers) else len(cells)
        tests = [k for k in range(i + 1, end) if _is_test(cells[k])]
        for node in _definitions(cells[i].source):
            if not node.name.startswith("_"):
                kind = "class" if isinstance(node, ast.ClassDef) else "function"
                out.append(Exercise(i, node.name, kind, _arity(node), tests))
    return out


def compatible(ex: Exercise, cand: Candidate) -> bool:
    if cand.name == ex.name:
        return True
    if cand.name.startswith("_") or cand.kind != ex.kind:
        return False
    lo, hi = cand.arity
    return any(lo <= n <= hi for n in ex.arity if n != float("inf"))


def copies_that_pass(kernel: NotebookKernel) -> tuple[list[str], list[tuple[bool, str]]]:
    """(candidates passing a test of an exercise, sources that could not be run: (whether
    it is a module or hand-out, what went wrong)); ``kernel`` has run the solution of
    ``kernel.lesson`` (conftest's ``solution_kernel``) and is left with every answer back."""
    lesson, cells = kernel.lesson, kernel.cells
    todo = exercises(cells)
    if not todo:
        return [], []
    received = received_up_to(lesson)
    found, broken = [], set()
    assert kernel.run(RUNNER) is None
    for ex in todo:
        # the exercise's tests are those that fail while it is unanswered
        unanswered = kernel.value(
            f"_rc_try({ex.name!r}, '<unanswered {ex.name}>', {STUB!r}, '_rc_stub', None, "
            f"{[cells[k].source for k in ex.tests]!r}, {cells[ex.answer_cell].source!r}, "
            f"{SECONDS})")
        ex.tests = [k for i, k in enumerate(ex.tests) if i not in unanswered["passed"]]
        tests = [cells[k].source for k in ex.tests]
        if not tests:
            continue
        for cand in received:
            if not compatible(ex, cand):
                continue
            call = (f"_rc_try({ex.name!r}, {cand.origin!r}, {cand.source!r}, {cand.name!r}, "
                    f"{cand.package!r}, {tests!r}, {cells[ex.answer_cell].source!r}, "
                    f"{SECONDS})")
            reply = kernel.value(call)
            if "error" in reply:
                broken.add((cand.package is not None, f"{cand.origin}: {reply['error']}"))
                continue
            for i in reply["passed"]:
                found.append(f"{cand.origin}: {cand.name} passes {_gid(cells[ex.tests[i]])} "
                             f"as {lesson}'s {ex.name}")
    return found, sorted(broken)


@pytest.mark.parametrize("solution_kernel", graded_lessons(), indirect=True)
def test_nothing_received_passes_an_exercise(solution_kernel):
    lesson = solution_kernel.lesson
    found, broken = copies_that_pass(solution_kernel)
    assert not found, (f"{lesson}: what students receive answers exercises:\n  "
                       + "\n  ".join(found))
    # a module or hand-out runs on its own (a student can run it); a notebook's definitions
    # may need the cells before them, so those are only listed
    assert not [b for module, b in broken if module], [b for module, b in broken if module]
    print("\n".join(b for _, b in broken))


def test_candidates_and_signatures():
    src = ("def f(a, b, c=1):\n    pass\n\ndef _g(x):\n    pass\n\nclass K:\n"
           "    def __init__(self, n):\n        pass\n\ndef v(*args):\n    pass\n")
    found = {c.name: c for c in _candidates_in("m.py", src, "")}
    assert found["f"].arity == (2, 3) and found["K"].arity == (1, 1)
    assert found["v"].arity == (0, float("inf"))
    ex = Exercise(0, "rnn_step_forward", "function", (5, 5), [1])
    assert not compatible(ex, found["f"]) and compatible(ex, found["v"])
    assert not compatible(ex, found["_g"]) and not compatible(ex, found["K"])
    assert compatible(ex, Candidate("x", "rnn_step_forward", "function", (0, 0), "", None))
    assert compatible(Exercise(0, "f2", "function", (2, 3), []), found["f"])
