"""``forbid`` on its own: rnnkit._grading.guard (in a kernel) and autograder.guard (in the grader)."""

from __future__ import annotations

import sys
import types

import pytest

from autograder import guard as grader_guard
from rnnkit._grading.guard import forbid
from rnnkit.checks import CheckFailed

SOURCE = '''
import math
from math import sqrt

def area(r):
    return math.pi * r * r

def _helper():
    return 1

class Shape:
    def __init__(self, n):
        self.n = n

    def sides(self):
        return self.n

    @staticmethod
    def unit():
        return 1

    @classmethod
    def make(cls):
        return cls(3)

    @property
    def double(self):
        return 2 * self.n

def outer():
    x = 2
    def inner():
        return x
    return inner

closure = outer()
'''


@pytest.fixture
def mod(monkeypatch):
    """A module, ``fake_exercises``, made fresh for each test and importable by name."""
    module = types.ModuleType("fake_exercises")
    exec(compile(SOURCE, "fake_exercises.py", "exec"), module.__dict__)
    monkeypatch.setitem(sys.modules, "fake_exercises", module)
    return module


def test_every_function_and_method_of_the_module_raises_inside_the_block(mod):
    shape = mod.Shape(4)
    with forbid(mod):
        for call in (lambda: mod.area(1), mod._helper, lambda: mod.Shape(2), shape.sides,
                     mod.Shape.unit, mod.Shape.make, lambda: shape.double):
            with pytest.raises(CheckFailed, match="write the computation yourself"):
                call()


def test_the_message_names_what_was_called(mod):
    with forbid(mod), pytest.raises(CheckFailed, match=r"rnnkit's fake_exercises\.area;"):
        mod.area(2)
    shape = mod.Shape(1)
    with forbid(mod), pytest.raises(CheckFailed, match=r"fake_exercises\.Shape\.sides"):
        shape.sides()


def test_a_name_imported_earlier_is_caught_too(mod):
    area, Shape = mod.area, mod.Shape  # as ``from rnnkit.x import area`` would
    with forbid(mod):
        with pytest.raises(CheckFailed):
            area(1)
        with pytest.raises(CheckFailed):
            Shape.unit()


def test_everything_is_restored_on_exit_even_after_an_error(mod):
    area = mod.area
    code = area.__code__
    with pytest.raises(ZeroDivisionError), forbid(mod):
        raise ZeroDivisionError
    assert area.__code__ is code
    assert mod.area(1) == pytest.approx(3.14159, rel=1e-5)
    assert mod.Shape(3).sides() == 3 and mod.Shape.make().n == 3 and mod.Shape(3).double == 6


def test_forbid_nests_and_unwinds_in_order(mod):
    with forbid(mod):
        with forbid(mod):
            with pytest.raises(CheckFailed):
                mod.area(1)
        with pytest.raises(CheckFailed):  # the inner exit must not restore early
            mod.area(1)
    assert mod.area(1) > 3


def test_other_modules_are_untouched(mod):
    import math

    with forbid(mod):
        assert mod.sqrt(4.0) == 2.0 == math.sqrt(4.0)  # imported into it, not defined there
        assert math.pi > 3


def test_closures_are_skipped_not_broken(mod):
    with forbid(mod):
        assert mod.closure() == 2


def test_the_grader_records_the_forbidden_modules_for_calls_into_the_kernel(mod):
    assert grader_guard.forbidden_modules() == ()
    with grader_guard.forbid(mod):
        assert grader_guard.forbidden_modules() == ("fake_exercises",)
        with pytest.raises(CheckFailed):
            mod.area(1)  # and forbids them here too
        with grader_guard.forbid(types):
            assert grader_guard.forbidden_modules() == ("fake_exercises", "types")
        assert grader_guard.forbidden_modules() == ("fake_exercises",)
    assert grader_guard.forbidden_modules() == ()
    with pytest.raises(RuntimeError), grader_guard.forbid(mod):
        raise RuntimeError
    assert grader_guard.forbidden_modules() == () and mod.area(1) > 3


def test_the_kernel_server_forbids_the_named_modules_for_one_call(mod):
    import json

    from rnnkit._grading.remote import KernelServer, decode

    def student_answer(r):
        return mod.area(r)  # calls rnnkit's version

    server = KernelServer({"answer": student_answer})
    ref = json.loads(server.handle(json.dumps({"op": "name", "name": "answer"})))["value"]["ref"]

    def call(forbid_list):
        import base64
        import pickle

        args = base64.b64encode(pickle.dumps(([1.0], {}, {}))).decode()
        return json.loads(server.handle(json.dumps(
            {"op": "call", "ref": ref, "args": args, "forbid": forbid_list})))

    blocked = call(["fake_exercises"])
    assert blocked["ok"] is False and blocked["ename"] == "CheckFailed"
    assert "fake_exercises.area" in blocked["evalue"]
    allowed = call([])
    assert allowed["ok"] and decode(allowed["value"]) > 3


def test_a_module_named_twice_is_restored_to_its_own_code(mod):
    with forbid(mod, mod), pytest.raises(CheckFailed):
        mod.area(1)
    assert mod.area(1) > 3 and mod.Shape(2).sides() == 2
