"""Answer assembly on its own: only the student's answers come from a submission."""

from __future__ import annotations

import copy

import nbformat
import pytest

from autograder.assemble import assemble, defined_names

STUB = "def f(x):\n    raise NotImplementedError"
ANSWER = "def f(x):\n    return 2 * x"
VISIBLE = "check(f(1) == 2)"
HIDDEN = VISIBLE + "\n### BEGIN HIDDEN TESTS\ncheck(f(2) == 4)\n### END HIDDEN TESTS"


def cell(kind, source, gid=None, solution=False, grade=False, points=0):
    c = nbformat.v4.new_code_cell(source) if kind == "code" \
        else nbformat.v4.new_markdown_cell(source)
    if gid:
        c.metadata["nbgrader"] = {"grade_id": gid, "solution": solution, "grade": grade,
                                  "locked": not solution, "points": points}
    return c


def notebook(answer, test, mcq="mcq_1 = None"):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [cell("markdown", "# Lesson", "intro"),
                cell("code", "import numpy as np", "setup"),
                cell("code", answer, "answer_f", solution=True),
                cell("code", test, "test_f", grade=True, points=2),
                cell("code", mcq, "answer_mcq", solution=True),
                cell("code", "check(mcq_1 == 'b')", "test_mcq", grade=True, points=1)]
    for i, c in enumerate(nb.cells):
        c["id"] = f"lesson-{i}"
    return nb


RELEASE = notebook(STUB, VISIBLE)
SOURCE = notebook(ANSWER, HIDDEN, "mcq_1 = 'b'")


def submission(**answers):
    nb = copy.deepcopy(RELEASE)
    for c in nb.cells:
        gid = c.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            c.source = answers[gid]
    return nb


def sources(nb):
    return [c.source for c in nb.cells]


def by_gid(nb, gid):
    found = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == gid]
    assert len(found) == 1, (gid, found)
    return found[0]


def test_an_honest_submission_gets_its_answers_and_the_hidden_tests():
    nb = assemble(RELEASE, SOURCE, submission(answer_f=ANSWER, answer_mcq="mcq_1 = 'b'"))
    assert sources(nb) == ["# Lesson", "import numpy as np", ANSWER, HIDDEN, "mcq_1 = 'b'",
                           "check(mcq_1 == 'b')"]


def test_an_untouched_release_is_graded_as_the_stubs():
    nb = assemble(RELEASE, SOURCE, copy.deepcopy(RELEASE))
    assert by_gid(nb, "answer_f").source == STUB and by_gid(nb, "test_f").source == HIDDEN


@pytest.mark.parametrize("tamper", ["edit", "empty", "delete", "move", "duplicate", "demote"])
def test_read_only_cells_come_from_the_lesson_whatever_the_submission_did(tamper):
    sub = submission(answer_f=ANSWER)
    test = by_gid(sub, "test_f")
    i = sub.cells.index(test)
    if tamper == "edit":
        test.source = "pass"
        by_gid(sub, "setup").source = "check = lambda *a: None"
    elif tamper == "empty":
        test.source = ""
    elif tamper == "delete":
        del sub.cells[i]
    elif tamper == "move":
        sub.cells.insert(0, sub.cells.pop(i))
    elif tamper == "duplicate":
        sub.cells.insert(i, copy.deepcopy(test))
        sub.cells[i].source = "pass"
    elif tamper == "demote":  # make the test cell an answer cell, worth nothing
        test.metadata["nbgrader"].update(solution=True, grade=False, points=0)
        test.source = "pass"
    nb = assemble(RELEASE, SOURCE, sub)
    assert by_gid(nb, "test_f").source == HIDDEN
    assert by_gid(nb, "setup").source == "import numpy as np"
    assert "pass" not in sources(nb) and "check = lambda *a: None" not in sources(nb)
    assert by_gid(nb, "answer_f").source == ANSWER


def test_metadata_kernel_and_points_are_the_lessons():
    sub = submission(answer_f=ANSWER)
    sub.metadata["kernelspec"] = {"name": "evil", "display_name": "evil", "language": "python"}
    by_gid(sub, "test_f").metadata["nbgrader"]["points"] = 100
    by_gid(sub, "answer_f").metadata["nbgrader"].update(grade=True, points=50)
    nb = assemble(RELEASE, SOURCE, sub)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert by_gid(nb, "test_f").metadata["nbgrader"]["points"] == 2
    assert by_gid(nb, "answer_f").metadata["nbgrader"] == RELEASE.cells[2].metadata["nbgrader"]
    total = sum(c.metadata.get("nbgrader", {}).get("points", 0) for c in nb.cells)
    assert total == 3


def test_of_duplicated_answers_the_first_one_changed_from_the_stub_counts():
    sub = submission()
    ans = by_gid(sub, "answer_f")
    i = sub.cells.index(ans)
    for k, text in enumerate([ANSWER, "def f(x):\n    return 3 * x"]):
        extra = copy.deepcopy(ans)
        extra.source = text
        sub.cells.insert(i + 1 + k, extra)
    nb = assemble(RELEASE, SOURCE, sub)
    assert by_gid(nb, "answer_f").source == ANSWER
    assert "def f(x):\n    return 3 * x" in sources(nb)  # kept as the student's extra cell
    assert sources(nb).index("def f(x):\n    return 3 * x") > sources(nb).index(ANSWER)


def test_an_answer_whose_metadata_was_stripped_is_found_by_the_names_it_defines():
    sub = submission()
    for gid, text in (("answer_f", "import math\n" + ANSWER), ("answer_mcq", "mcq_1 = 'b'")):
        c = by_gid(sub, gid)
        c.metadata = {}
        c.source = text
    nb = assemble(RELEASE, SOURCE, sub)
    assert by_gid(nb, "answer_f").source == "import math\n" + ANSWER
    assert by_gid(nb, "answer_mcq").source == "mcq_1 = 'b'"
    assert sources(nb).count("mcq_1 = 'b'") == 1


def test_a_deleted_answer_is_the_unanswered_stub():
    sub = submission()
    sub.cells.remove(by_gid(sub, "answer_f"))
    nb = assemble(RELEASE, SOURCE, sub)
    assert by_gid(nb, "answer_f").source == STUB


def test_added_cells_are_kept_in_order_after_the_lesson_cell_they_followed():
    sub = submission(answer_f=ANSWER)
    i = sub.cells.index(by_gid(sub, "answer_f"))
    sub.cells[i + 1:i + 1] = [cell("code", "helper = 1"), cell("markdown", "my notes")]
    sub.cells.insert(0, cell("code", "early = 2"))
    nb = assemble(RELEASE, SOURCE, sub)
    s = sources(nb)
    assert s.index("early = 2") == s.index("import numpy as np") + 1  # runs after the setup
    assert s.index(ANSWER) + 1 == s.index("helper = 1") == s.index("my notes") - 1
    assert s.index("my notes") < s.index(HIDDEN)
    ids = [c["id"] for c in nb.cells]
    assert len(set(ids)) == len(ids)


def test_an_added_cell_claiming_an_unknown_grade_id_is_only_an_extra_cell():
    sub = submission(answer_f=ANSWER)
    fake = cell("code", "extra_points = 1", "bonus", grade=True, points=10)
    sub.cells.append(fake)
    nb = assemble(RELEASE, SOURCE, sub)
    assert "extra_points = 1" in sources(nb)
    assert all(c.metadata.get("nbgrader", {}).get("grade_id") != "bonus" for c in nb.cells)
    total = sum(c.metadata.get("nbgrader", {}).get("points", 0) for c in nb.cells)
    assert total == 3


def test_copies_of_lesson_cells_without_metadata_are_not_run_twice():
    sub = submission(answer_f=ANSWER)
    stray = cell("code", VISIBLE)  # the visible test pasted again
    sub.cells.append(stray)
    nb = assemble(RELEASE, SOURCE, sub)
    assert sources(nb).count(VISIBLE) == 0 and sources(nb).count(HIDDEN) == 1


def test_outputs_are_cleared_and_a_list_source_is_read():
    sub = submission()
    ans = by_gid(sub, "answer_f")
    ans["source"] = ["def f(x):\n", "    return 2 * x"]
    test = by_gid(sub, "test_f")
    test.outputs = [nbformat.v4.new_output("stream", name="stdout", text="all passed")]
    test.execution_count = 3
    nb = assemble(RELEASE, SOURCE, sub)
    assert by_gid(nb, "answer_f").source == ANSWER
    assert all(c.outputs == [] and c.execution_count is None
               for c in nb.cells if c.cell_type == "code")


def test_the_inputs_are_not_changed():
    sub = submission(answer_f=ANSWER)
    before = [copy.deepcopy(x) for x in (RELEASE, SOURCE, sub)]
    assemble(RELEASE, SOURCE, sub)
    assert [RELEASE, SOURCE, sub] == before


@pytest.mark.parametrize("text, names", [
    ("def f(x):\n    pass\nclass K:\n    pass\nw = 1\na, (b, c) = 1, (2, 3)\n_p = 0",
     {"f", "K", "w", "a", "b", "c"}),
    ("import os\nfrom math import pi\nx: int = 3\ny += 1", {"x", "y"}),
    ("def f(x):\n    return (\nmcq_2 = 'a'", {"f", "mcq_2"}),  # does not parse
    ("if True:\n    hidden = 1", set()),
])
def test_defined_names(text, names):
    assert defined_names(text) == names


def test_cell_ids_are_unique_whatever_the_lesson_and_the_submission_carry():
    release = copy.deepcopy(RELEASE)
    release.cells[1]["id"] = release.cells[0]["id"]  # two lesson cells with one id
    del release.cells[2]["id"]
    sub = submission(answer_f=ANSWER)
    added = [cell("code", "helper = 1"), cell("code", "more = 2")]
    added[1]["id"] = added[0]["id"] = release.cells[0]["id"]
    sub.cells[3:3] = added
    nb = assemble(release, SOURCE, sub)
    ids = [c.get("id") for c in nb.cells]
    assert all(ids) and len(set(ids)) == len(ids), ids
    assert ids[0] == "lesson-0" and by_gid(nb, "test_f")["id"] == "lesson-3"  # kept as they were
    nbformat.validate(nb)
