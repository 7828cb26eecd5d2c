"""The judge on its own: test cells run in the grader and reach the student's kernel only
through requests, here answered in-process by a :class:`rnnkit._grading.remote.KernelServer` (or by a
hostile stand-in replying whatever it likes)."""

from __future__ import annotations

import contextlib
import io
import json
import sys
import types

import nbformat
import numpy as np
import pytest

from autograder import guard
from autograder.judge import Judge, Remote
from rnnkit._grading.remote import KernelServer
from rnnkit.checks import CheckFailed
from rnnkit.errors import GradingTimeout, StudentCodeError

CHECK = "from rnnkit.checks import check_close\n"


class _Requests:
    def end_requests(self, timeout: float):
        return [], None


class FakeKernel(_Requests):
    """Answers the judge's requests from a namespace, as the grading kernel would."""

    def __init__(self, namespace: dict):
        self.server = KernelServer(namespace)
        self.requests: list[dict] = []

    def request(self, req: dict, timeout: float):
        self.requests.append(req)
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            text = self.server.handle(json.dumps(req))
        outputs = [nbformat.v4.new_output("stream", name="stdout", text=buf.getvalue())] \
            if buf.getvalue() else []
        return json.loads(text), outputs


class ScriptedKernel(_Requests):
    """A hostile kernel: every request gets the same reply."""

    def __init__(self, reply):
        self.reply = reply

    def request(self, req, timeout):
        return self.reply, []


def student(source: str) -> dict:
    ns: dict = {"__name__": "__main__"}
    exec(source, ns)
    return ns


def judge_for(source: str, timeout: float = 30) -> tuple[Judge, FakeKernel]:
    kernel = FakeKernel(student(source))
    judge = Judge(kernel, timeout)
    judge.run_trusted("import numpy as np\nfrom rnnkit.checks import check_close")
    return judge, kernel


def test_a_passing_test_has_no_error_and_keeps_its_last_value():
    judge, _ = judge_for("def double(x):\n    return 2 * x\n")
    result = judge.run_test("check_close(double(np.arange(3.0)), [0, 2, 4], 'double')\n1 + 1")
    assert result.error is None and result.value == 2


def test_data_comes_by_value_functions_as_proxies():
    judge, kernel = judge_for("import numpy as np\nW = np.eye(2)\ndef f(a):\n    return a @ W\n")
    judge.run_test("got_W = W\ngot_f = f\nout = f(np.ones(2))")
    assert isinstance(judge.ns["got_W"], np.ndarray)
    assert isinstance(judge.ns["got_f"], Remote)
    np.testing.assert_array_equal(judge.ns["out"], [1.0, 1.0])
    assert [r["op"] for r in kernel.requests] == ["name", "name", "call"]  # f asked once


def test_a_function_is_looked_up_once_per_cell_a_value_at_every_use():
    judge, kernel = judge_for("n = [0]\ndef bump():\n    n[0] += 1\n    return n[0]\n")
    result = judge.run_test("seen = []\nfor _ in range(3):\n    bump()\n    seen.append(n[0])\nseen")
    assert result.error is None and result.value == [1, 2, 3]  # n read after every call
    assert [r.get("name") for r in kernel.requests if r["op"] == "name"] == \
        ["bump", "n", "n", "n"]
    judge.run_test("bump()")
    assert kernel.requests[-2] == {"op": "name", "name": "bump"}  # a new cell asks again


def test_a_wrong_answer_fails_the_check_in_the_grader():
    judge, _ = judge_for("def double(x):\n    return 3 * x\n")
    result = judge.run_test("check_close(double(np.arange(3.0)), [0, 2, 4], 'double')")
    assert result.error is not None and result.error[0] == "CheckFailed"


def test_a_missing_name_is_a_name_error():
    judge, _ = judge_for("")
    result = judge.run_test("double(1)")
    assert result.error == ("NameError", "name 'double' is not defined")


@pytest.mark.parametrize("raised, expected", [
    ("NotImplementedError('todo')", "NotImplementedError"),
    ("KeyError('k')", "StudentCodeError"),
    ("SystemExit(0)", "StudentCodeError"),
    ("__import__('rnnkit.checks').checks.CheckFailed('no')", "CheckFailed"),
])
def test_the_students_exceptions_come_back_as_failures(raised, expected):
    judge, _ = judge_for(f"def f():\n    raise {raised}\n")
    result = judge.run_test("f()")
    assert result.error is not None and result.error[0] == expected


def test_a_student_exception_is_never_one_a_test_would_catch():
    # a test catching ValueError (say) must not mistake the student's exception for its own
    judge, _ = judge_for("def f():\n    raise ValueError('mine')\n")
    result = judge.run_test("try:\n    f()\nexcept ValueError:\n    pass")
    assert result.error is not None and result.error[0] == "StudentCodeError"
    assert "ValueError: mine" in result.error[1]


@pytest.mark.parametrize("ename, exc", [("TimeoutError", GradingTimeout),
                                        ("KernelDied", GradingTimeout),
                                        ("CheckFailed", CheckFailed),
                                        ("NameError", NameError),
                                        ("Whatever", StudentCodeError)])
def test_a_failed_reply_is_rebuilt_into_the_graders_own_exception(ename, exc):
    judge = Judge(ScriptedKernel({"ok": False, "ename": ename, "evalue": "x" * 10}), 30)
    with pytest.raises(exc):
        judge.conn.ask({"op": "name", "name": "f"})


@pytest.mark.parametrize("reply", [
    {"ok": True, "value": {"t": "pickle", "v": "gASVAAAA"}},
    {"ok": True, "value": {"t": "int", "v": "9" * 100_000}},
    {"ok": True, "value": {"t": "nd", "dtype": "object", "shape": [1], "b64": ""}},
    {"ok": True, "value": {"t": "range", "v": [0, 10**100, 1]}},
    {"ok": True},
    {"ok": True, "value": "passed"},
])
def test_a_hostile_reply_fails_the_test(reply):
    judge = Judge(ScriptedKernel(reply), 30)
    result = judge.run_test(CHECK + "check_close(answer, 1.0, 'answer')")
    assert result.error is not None


def test_a_reply_of_true_cannot_pass_a_check_by_being_strange():
    judge = Judge(ScriptedKernel({"ok": True, "value": {"t": "v", "v": True}}), 30)
    result = judge.run_test(CHECK + "check_close(answer, 2.0, 'answer')")
    assert result.error is not None


def test_a_proxy_cannot_be_changed_nor_probed_for_dunders():
    judge, _ = judge_for("class Model:\n    size = 3\nm = Model()\n")
    judge.run_test("m_ = m")
    m = judge.ns["m_"]
    assert isinstance(m, Remote) and m.size == 3
    with pytest.raises(TypeError):
        m.size = 4
    with pytest.raises(AttributeError):
        m.__code__  # noqa: B018 - the attribute lookup is the test


def test_dunder_names_are_never_asked_of_the_kernel():
    judge, kernel = judge_for("__rnn_rpc__ = 1\n")
    result = judge.run_test("__rnn_rpc__")
    assert result.error is not None and result.error[0] == "NameError"
    assert kernel.requests == []


def test_the_students_printing_is_kept_apart_from_the_tests():
    judge, _ = judge_for("def f():\n    print('all tests passed')\n    return 1\n")
    result = judge.run_test("print('grader:', f())")
    texts = [o["text"] for o in result.outputs]
    assert texts == ["all tests passed\n", "grader: 1\n"]


def test_each_cell_starts_with_its_own_time_budget_and_printed_text():
    judge, _ = judge_for("def f():\n    print('hi')\n    return 1\n", timeout=30)
    assert judge.run_test("f()").error is None
    judge.conn.deadline = 0  # the previous cell used it all up
    second = judge.run_test("f()")
    assert second.error is None and [o["text"] for o in second.outputs] == ["hi\n"]
    judge.timeout = 0
    result = judge.run_test("f()")
    assert result.error is not None and result.error[0] == "GradingTimeout"


def test_calls_made_under_forbid_carry_the_forbidden_modules(monkeypatch):
    mod = types.ModuleType("fake_rnnkit_part")
    exec("def helper(x):\n    return x + 1\n", mod.__dict__)
    monkeypatch.setitem(sys.modules, "fake_rnnkit_part", mod)
    kernel = FakeKernel(student("import fake_rnnkit_part\n"
                                "def answer(x):\n    return fake_rnnkit_part.helper(x)\n"))
    judge = Judge(kernel, 30)
    judge.ns["forbid"] = guard.forbid
    judge.ns["mod"] = mod
    assert judge.run_test("answer(1)").value == 2
    result = judge.run_test("with forbid(mod):\n    answer(1)")
    assert result.error is not None and result.error[0] == "CheckFailed"
    assert kernel.requests[-1]["forbid"] == ["fake_rnnkit_part"]
    assert judge.run_test("answer(1)").value == 2
    assert kernel.requests[-1]["forbid"] == []


def test_the_setup_is_trusted_code_run_silently_in_the_judges_namespace():
    judge = Judge(ScriptedKernel({"ok": False, "ename": "NameError", "evalue": ""}), 30)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        judge.run_trusted("print('setup')\nSEED = 4")
    assert out.getvalue() == "" and judge.ns["SEED"] == 4
    assert judge.run_test("SEED * 2").value == 8


def test_arguments_go_to_the_kernel_by_value_and_proxies_by_reference():
    judge, kernel = judge_for(
        "def apply(f, x, *, scale):\n    return f(x) * scale\n"
        "def inc(x):\n    return x + 1\n")
    result = judge.run_test("apply(inc, np.float64(2.0), scale=inc(1))")
    assert result.error is None and result.value == 6.0
    assert type(result.value) is np.float64


def test_a_student_value_that_is_not_a_student_error_still_fails_cleanly():
    judge, _ = judge_for("def f():\n    return object()\n")
    result = judge.run_test("check_close(f(), 1.0, 'f')")
    assert result.error is not None


def test_student_errors_keep_their_name():
    err = StudentCodeError("KeyError: 'x'")
    assert str(err) == "KeyError: 'x'"
