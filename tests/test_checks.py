import numpy as np
import pytest

from rnnkit.checks import (
    CheckFailed,
    check_close,
    check_dtype,
    check_equal,
    check_finite,
    check_mcq_form,
    check_number,
    check_shape,
    check_text_answer,
    check_true,
    check_type,
    rel_error,
)


def message(fn, *args, **kwargs) -> str:
    with pytest.raises(CheckFailed) as info:
        fn(*args, **kwargs)
    text = str(info.value)
    assert text.endswith("."), text  # one sentence
    assert "\n" not in text
    return text


def test_shape_names_transposed_and_missing_axis():
    assert "transposed" in message(check_shape, np.zeros((3, 2)), (2, 3), "W")
    assert "leading" in message(check_shape, np.zeros((4,)), (2, 4), "h")
    assert "(2, 4)" in message(check_shape, np.zeros((2, 5)), (2, 4), "h")
    check_shape(np.zeros((2, 4)), (2, 4), "h")


def test_close_reports_first_mismatch_with_axis_names_and_error_size():
    want = np.zeros((3, 2, 2))
    got = want.copy()
    got[1, 0, 1] = 0.5
    text = message(check_close, got, want, "H", axes=("time step", "row", "unit"))
    assert "time step 1, row 0, unit 1" in text
    assert "got 0.5, expected 0" in text and "1 of 12" in text
    check_close(want + 1e-9, want, "H")


def test_close_recognises_known_mistakes():
    want = np.array([1.0, 2.0])
    text = message(check_close, np.array([1.0, 3.0]), want, "db",
                   mistakes=[(np.array([1.0, 3.0]), "you forgot to sum over the batch.")])
    assert "forgot to sum over the batch" in text


def test_finite_names_nan_position():
    x = np.ones((2, 3))
    x[1, 2] = np.nan
    assert "NaN at index (1, 2)" in message(check_finite, x, "p")


def test_close_accepts_torch_tensors_and_lists():
    import torch

    check_close(torch.tensor([1.0, 2.0]), [1.0, 2.0], "t")
    message(check_close, torch.tensor([1.0, 2.5]), [1.0, 2.0], "t")


def test_equal_sequences_and_dicts():
    assert "position 1" in message(check_equal, ["a", "x"], ["a", "b"], "tokens")
    assert "first missing item is 'b'" in message(check_equal, ["a"], ["a", "b"], "tokens")
    assert "missing the key 'k'" in message(check_equal, {}, {"k": 1}, "d")
    check_equal({"B", "C"}, {"C", "B"}, "s")
    check_equal(np.array([1, 2]), [1, 2], "ids")


def test_number_dtype_type_true():
    check_number(np.float64(2.0), 2.0, "x")
    assert "single number" in message(check_number, [1, 2], 1.0, "x")
    assert "not a number" not in message(check_number, 3.0, 2.0, "x")
    assert "was squared" in message(check_number, 4.0, 2.0, "x", mistakes=[(4.0, "it was squared.")])
    message(check_dtype, np.array([1, 2]), "float", "x")
    message(check_type, [1], dict, "x")
    message(check_true, False, "Something is wrong.")


def test_mcq_form():
    check_mcq_form({"A", "C"}, 1)
    assert "not a string" in message(check_mcq_form, "A", 1)
    assert "empty" in message(check_mcq_form, set(), 1)
    assert "'E'" in message(check_mcq_form, {"E"}, 1)
    assert "set" in message(check_mcq_form, ["A"], 1)


def test_text_answer_and_rel_error():
    check_text_answer("the hidden state summarises the past tokens", "d2l_2")
    message(check_text_answer, "yes", "d2l_2")
    assert rel_error([1.0], [1.0]) == 0
    assert rel_error([1.0], [1.1]) == pytest.approx(0.1 / 2.1)
