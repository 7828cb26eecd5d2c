"""Run test cells in the grader's process, out of the student's reach.

The judge executes the lesson's setup cell and then each test cell (visible and hidden parts)
in its own namespace, a fresh one for every notebook: a long-lived worker keeps only the
modules the setup imported, so running the setup again for the next notebook costs
milliseconds and starts that notebook from the setup's own seeds and objects. A name the
test uses that the judge does not have — the student's
functions and variables — is looked up in the student's kernel: data comes back by value
(see :mod:`rnnkit._grading.remote`), functions and other objects as :class:`Remote` proxies whose
calls run in the kernel. Checks, reference answers and scores stay here, so nothing the
student's code does (patching numpy or the checks, inspecting frames, printing fake results)
can turn a wrong answer into points.
"""

from __future__ import annotations

import ast
import base64
import builtins
import contextlib
import io
import pickle
import time
from dataclasses import dataclass
from typing import Any

import nbformat

from rnnkit._grading import remote
from rnnkit.errors import GradingTimeout
from rnnkit.errors import rebuild as _rebuild

from .guard import forbidden_modules
from .kernel import GradingKernel


class Connection:
    """The judge's side of the kernel: requests with a time budget, printed text kept."""

    def __init__(self, kernel: GradingKernel, timeout: float):
        self.kernel = kernel
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.printed: list = []
        self.functions: dict[str, Remote] = {}
        self.requests = 0  # requests sent, and the seconds they took (the worker's timing)
        self.request_seconds = 0.0

    def start_cell(self, timeout: float) -> None:
        self.deadline = time.monotonic() + timeout
        self.printed = []
        self.functions: dict[str, Remote] = {}  # names of the kernel's callables, this cell

    def ask(self, req: dict) -> Any:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise GradingTimeout(f"the test ran longer than {self.timeout:g} s")
        t0 = time.monotonic()
        reply, outputs = self.kernel.request(req, timeout=remaining)
        self.requests += 1
        self.request_seconds += time.monotonic() - t0
        self.printed.extend(o for o in outputs if o.get("output_type") == "stream")
        if not reply.get("ok"):
            raise _rebuild(str(reply.get("ename", "Error")), str(reply.get("evalue", "")))
        return remote.decode(reply["value"], self.resolve)

    def finish(self) -> tuple[str, str] | None:
        """End the test cell's requests: what the notebook printed is kept; returns the
        error when its kernel did not finish answering in time (or died)."""
        outputs, error = self.kernel.end_requests(max(0.0, self.deadline - time.monotonic()))
        self.printed.extend(o for o in outputs if o.get("output_type") == "stream")
        if error is not None:
            return GradingTimeout.__name__, error[1]
        return None

    def resolve(self, ref: int, kind: str, text: str) -> Remote:
        return Remote(self, ref, kind, text)


class Remote:
    """An object living in the student's kernel."""

    def __init__(self, conn: Connection, ref: int, kind: str, text: str):
        object.__setattr__(self, "_conn", conn)
        object.__setattr__(self, "_ref", ref)
        object.__setattr__(self, "_kind", kind)
        object.__setattr__(self, "_text", text)

    def _pack(self, args: tuple, kwargs: dict) -> str:
        refs: dict = {"args": {}, "kwargs": {}}
        plain_args = []
        for i, a in enumerate(args):
            if isinstance(a, Remote):
                refs["args"][i] = a._ref
                plain_args.append(None)
            else:
                plain_args.append(a)
        plain_kwargs = {}
        for k, v in kwargs.items():
            if isinstance(v, Remote):
                refs["kwargs"][k] = v._ref
            else:
                plain_kwargs[k] = v
        payload = (plain_args, plain_kwargs, refs)
        try:
            blob = pickle.dumps(payload)
        except (pickle.PicklingError, AttributeError, TypeError):
            import cloudpickle  # functions defined in a test cell, lambdas

            blob = cloudpickle.dumps(payload)
        return base64.b64encode(blob).decode()

    def __call__(self, *args, **kwargs):
        return self._conn.ask({"op": "call", "ref": self._ref, "args": self._pack(args, kwargs),
                               "forbid": list(forbidden_modules())})

    def __getattr__(self, name: str):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._conn.ask({"op": "getattr", "ref": self._ref, "name": name})

    def __getitem__(self, key):
        return self._conn.ask({"op": "getitem", "ref": self._ref,
                               "args": self._pack((key,), {})})

    def __len__(self) -> int:
        return int(self._conn.ask({"op": "len", "ref": self._ref}))

    def __iter__(self):
        return iter(self._conn.ask({"op": "list", "ref": self._ref}))

    def __repr__(self) -> str:
        return self._text

    def __setattr__(self, name, value):
        raise TypeError("the grader does not change objects in the notebook")


class _Builtins(dict):
    """Builtins first, then the student's kernel, for names the judge does not have.

    A name that stands for a function (or any callable) in the kernel is asked for once per
    test cell: a loop calling ``word_tokens`` sends the calls, not a lookup before each.
    Values are asked for at every use, since a call may have changed them."""

    def __init__(self, conn: Connection):
        super().__init__(vars(builtins))
        self.conn = conn

    def __missing__(self, name: str):
        if name.startswith("__") and name.endswith("__"):
            raise KeyError(name)
        known = self.conn.functions.get(name)
        if known is not None:
            return known
        try:
            value = self.conn.ask({"op": "name", "name": name})
        except NameError:
            raise NameError(f"name '{name}' is not defined") from None
        if isinstance(value, Remote) and value._kind == "callable":
            self.conn.functions[name] = value
        return value


@dataclass
class TestResult:
    outputs: list
    error: tuple[str, str] | None  # (ename, message) when the test failed
    value: Any = None  # the cell's last expression (partial credit)


class Judge:
    def __init__(self, kernel: GradingKernel, timeout: float):
        self.conn = Connection(kernel, timeout)
        self.ns: dict = {"__name__": "__grader__", "__builtins__": _Builtins(self.conn)}
        self.timeout = timeout

    def run_trusted(self, source: str) -> None:
        """Run a read-only course cell (the setup cell) in the judge's namespace."""
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(source, "<setup>", "exec"), self.ns)

    def run_test(self, source: str) -> TestResult:
        import ast

        self.conn.start_cell(self.timeout)
        buf = io.StringIO()
        value = None
        error = None
        try:
            tree = ast.parse(source)
            last = None
            if tree.body and isinstance(tree.body[-1], ast.Expr):
                last = ast.Expression(tree.body.pop().value)
            with contextlib.redirect_stdout(buf):
                exec(compile(tree, "<test>", "exec"), self.ns)
                if last is not None:
                    value = eval(compile(last, "<test>", "eval"), self.ns)
        except Exception as e:
            error = (type(e).__name__, str(e))
        ended = self.conn.finish()
        error = error or ended
        outputs = list(self.conn.printed)
        text = buf.getvalue()
        if text:
            outputs.append(nbformat.v4.new_output("stream", name="stdout", text=text))
        return TestResult(outputs, error, value)


# Names whose use makes a cell's reads impossible to know from its text (it could read any
# variable): when a cell that always runs uses one, every cell runs.
_DYNAMIC = frozenset({"eval", "exec", "globals", "locals", "vars", "get_ipython", "__import__",
                      "compile", "getattr", "setattr", "delattr", "__builtins__", "builtins",
                      "importlib", "sys", "inspect", "__main__", "__dict__", "runpy",
                      "Out"})
# IPython's output history: reading one of these (without binding it in the same cell) reads
# what an earlier cell showed, so it counts as a dynamic read (``Out``).
_HISTORY = frozenset({"_", "__", "___", "_i", "_ii", "_iii", "In", "Out", "_ih", "_oh", "_dh"})


def _names(tree: ast.AST) -> set[str]:
    """Every name a cell's code reads, binds or deletes, at any depth (attribute bases,
    function and class names, import aliases, ``global`` statements)."""
    found: set[str] = set()
    history_read: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            found.add(node.id)
            if node.id in _HISTORY and isinstance(node.ctx, ast.Load):
                history_read.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for a in node.names:
                found.add(a.asname or a.name.split(".")[0])
        elif isinstance(node, ast.Global | ast.Nonlocal):
            found.update(node.names)
        elif isinstance(node, ast.Attribute) and node.attr in _DYNAMIC:
            found.add(node.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                node.value in _DYNAMIC:
            found.add(node.value)
    stored = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
              and not isinstance(n.ctx, ast.Load)}
    found -= _HISTORY - stored  # an unbound history name is marked by "Out" alone
    if history_read - stored:
        found.add("Out")
    return found


def needless_cells(nb) -> set[int]:
    """Indices of the lesson's read-only demonstration cells whose work no later cell can
    use: nothing they read or bind is named by any cell that runs after them (answers, test
    cells with their hidden parts, cells the student added, the setup, and demonstrations
    that are kept). Such a cell (a training run shown for the lesson, a figure) cannot
    change a score, so grading skips it; a blank then costs its tests, not the lesson's
    training. Conservative: a name counts whether it is read or written, at any depth (a
    method call may change the object), so a demonstration that touches ``torch`` or
    ``np`` runs whenever a later cell touches them too; builtins count only where a cell
    rebinds them. If any cell that runs cannot be analysed (a syntax error, an IPython
    magic) or could read names by text (``eval``, ``globals()``, ``getattr`` ...), nothing
    is skipped."""
    from .assemble import is_answer, is_test

    parsed: list[tuple[int, object, set[str] | None]] = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        try:
            names = _names(ast.parse(cell.source))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            names = None
        parsed.append((i, cell, names))
    plain_builtins = set(dir(builtins)) - _DYNAMIC
    plain_builtins -= _rebound(parsed, plain_builtins)
    skip: set[int] = set()
    needed: set[str] = set()
    for i, cell, names in reversed(parsed):
        meta = cell.metadata.get("nbgrader", {})
        gid = meta.get("grade_id")
        demo = isinstance(gid, str) and gid != "setup" and not is_test(cell) \
            and not is_answer(cell) and meta.get("locked", True) is not False
        if names is None:
            if not demo:
                return set()
            names = set()
            demo = False  # a lesson cell that does not parse runs (and shows its error)
        if not demo and names & _DYNAMIC:
            return set()
        touched = names - plain_builtins
        if demo and not touched & needed and not names & _DYNAMIC:
            skip.add(i)
            continue
        needed |= touched
    return skip


def _rebound(parsed, plain_builtins: set[str]) -> set[str]:
    """Builtin names some cell assigns (``list = ...``): they are ordinary names there."""
    out: set[str] = set()
    for _, cell, names in parsed:
        if not names or not names & plain_builtins:
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                out.add(node.id)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                out.add(node.name)
            elif isinstance(node, ast.Import | ast.ImportFrom):
                out |= {a.asname or a.name.split(".")[0] for a in node.names}
    return out & plain_builtins
