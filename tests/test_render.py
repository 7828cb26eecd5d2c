"""The visible tests' cases are rendered from the reference, and hand-outs from autograder.impl."""

from __future__ import annotations

import numpy as np
import pytest

from autograder import release as rel
from autograder import render as rd
from autograder.course import CourseError, lesson_ids


@pytest.mark.parametrize("value", [
    None, True, 3, -2.5, 0.1, "it's \"quoted\"\nand long", (1, 2), (7,), [1, [2.0, 3]],
    {"B", "A"}, set(), {"k": (1, 2)}, np.array([[0.1, -1.25], [3.0, 1e-12]]),
    np.array([1, 2, 3]), np.array([True, False]), np.array([1.5], dtype=np.float32),
    np.float64(0.25), np.int64(4),
])
def test_literal_evaluates_back_to_the_value(value):
    back = eval(rd.literal(value), {"np": np})
    if isinstance(value, np.ndarray):
        assert back.dtype == value.dtype and np.allclose(back, value, rtol=1e-9, atol=0)
    else:
        assert back == value and type(back) is type(value.item() if isinstance(value, np.generic)
                                                     else value)


def test_literal_keeps_ten_significant_digits():
    assert rd.literal(np.pi) == "3.141592654"
    assert rd.literal(np.array([-0.0])) == "np.array([0.0])"


def test_mistakes_equal_to_the_answer_or_to_each_other_are_dropped():
    expected = np.array([1.0, 2.0])
    pairs = [(np.array([1.0, 2.0 + 1e-9]), "equals the answer"), (np.array([2.0, 1.0]), "swapped"),
             (np.array([2.0, 1.0]), "swapped again"), (np.array([1.0, 2.0, 3.0]), "longer"),
             (None, "not applicable")]
    kept = rd.distinct_mistakes(expected, pairs)
    assert [s for _, s in kept] == ["swapped", "longer"]


def test_render_source_rewrites_only_the_block():
    @rd.cases("test:demo")
    def _demo():
        return {"_x": np.array([1.0, 2.0]), "_mistakes": [(np.array([2.0, 1.0]), "swapped")]}

    src = ("a = 1\n    # BEGIN CASES test:demo (do not edit)\n    _x = 'old'\n"
           "    # END CASES\nb = 2")
    out = rd.render_source(src)
    assert out == ("a = 1\n    # BEGIN CASES test:demo (do not edit)\n"
                   "    _x = np.array([1.0, 2.0])\n    _mistakes = [\n"
                   "        (np.array([2.0, 1.0]),\n         'swapped'),\n    ]\n"
                   "    # END CASES\nb = 2")
    assert rd.render_source(out) == out
    with pytest.raises(CourseError, match="no case function"):
        rd.render_source("# BEGIN CASES test:unknown\n# END CASES")
    with pytest.raises(CourseError, match="no '# END CASES'"):
        rd.render_source("# BEGIN CASES test:demo\nx = 1")


def test_every_source_notebook_equals_a_fresh_rendering():
    differ = rd.render(check=True)
    assert differ == [], (f"the visible cases of {differ} differ from the reference: "
                          "run `rnn-course render` (or `rnn-course release`) and commit.")


def test_standalone_imports_of_handouts():
    src = ("from autograder.impl import rnn_numpy, text\nfrom autograder.impl.bptt import a, b\n"
           "    import autograder.impl.gradients as g\n")
    assert rel._standalone(src) == ("import rnn_numpy\nimport text\nfrom bptt import a, b\n"
                                    "    import gradients as g\n")
    assert rel._impl_imports(src) == ["rnn_numpy", "text", "bptt", "gradients"]


def test_handouts_answer_only_earlier_lessons():
    import importlib

    for lesson in lesson_ids():
        for name in rel.handouts(lesson):
            module = importlib.import_module(f"autograder.impl.{name[:-3]}")
            assert module.LESSON < lesson, f"{lesson} hands out {name}, an answer of {module.LESSON}"
