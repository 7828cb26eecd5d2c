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

    def start_cell(self, timeout: float) -> None:
        self.deadline = time.monotonic() + timeout
        self.printed = []

    def ask(self, req: dict) -> Any:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise GradingTimeout(f"the test ran longer than {self.timeout:g} s")
        reply, outputs = self.kernel.request(req, timeout=remaining)
        self.printed.extend(o for o in outputs if o.get("output_type") == "stream")
        if not reply.get("ok"):
            raise _rebuild(str(reply.get("ename", "Error")), str(reply.get("evalue", "")))
        return remote.decode(reply["value"], self.resolve)

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
    """Builtins first, then the student's kernel, for names the judge does not have."""

    def __init__(self, conn: Connection):
        super().__init__(vars(builtins))
        self.conn = conn

    def __missing__(self, name: str):
        if name.startswith("__") and name.endswith("__"):
            raise KeyError(name)
        try:
            return self.conn.ask({"op": "name", "name": name})
        except NameError:
            raise NameError(f"name '{name}' is not defined") from None


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
        outputs = list(self.conn.printed)
        text = buf.getvalue()
        if text:
            outputs.append(nbformat.v4.new_output("stream", name="stdout", text=text))
        return TestResult(outputs, error, value)
