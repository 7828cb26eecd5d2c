"""Lesson 03 (the RNN cell): random cases, classic mistakes and visible cases of its tests.

The answers themselves are :mod:`autograder.impl.rnn_numpy`; every expected value and every
mistake here is computed from it (a mistake is the same function with ``mistake=...``).
Row-vector convention, batch first: ``x (N, D)``, ``h (N, H)``, ``X (N, T, D)``,
``H (N, T, H)`` with ``H[:, t]`` the state after reading ``X[:, t]``.

A softmax over the wrong axis is diagnosed by property (:func:`softmax_axis_sentence`: which
axis sums to 1), not by matching one wrong implementation.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path

import numpy as np

from autograder.impl import rnn_numpy as impl
from autograder.mistakes import Planted, plant
from autograder.render import cases, distinct_mistakes

HANDOUTS: list[str] = []

# ---------------------------------------------------------------------------- sentences

STEP_SENTENCES = {
    "whh_transposed": ("it matches h_prev @ Whh.T: with row vectors the recurrent term is "
                       "h_prev @ Whh (Whh has shape (h, h) and maps the old state's units, its "
                       "rows, to the new state's units, its columns)."),
    "no_tanh": "the tanh is missing: the new state is the tanh of the whole sum.",
    "no_bias": "the bias bh is missing.",
    "bias_after_tanh": ("the bias was added after the tanh; it belongs inside, with the two "
                        "products."),
    "no_h_prev": ("h_prev is not used: the new state must depend on the previous one through "
                  "the recurrent weights Whh."),
    "weights_swapped": ("the two weight matrices are swapped: the input x goes through Wxh "
                        "(d, h) and the previous state through Whh (h, h)."),
    "bias_column": ("the bias was added as a column (one value per row of the batch); bh has "
                    "one entry per hidden unit and is broadcast along each row, the same for "
                    "all n rows — it is a (1, h) row."),
}
FORWARD_SENTENCES = {
    "h0_every_step": ("every step used h0: the state must be carried, each step's h_prev is "
                      "the state computed at the step before."),
    "shifted": ("H is shifted by one step: H[:, t] should be the state after reading X[:, t] "
                "(h_{t+1} in 0-based time), not the state before it; h0 is not part of H."),
    "whh_transposed": "it matches h @ Whh.T: with row vectors the recurrent term is h_{t-1} @ Whh.",
    "no_tanh": "the tanh is missing from the step.",
}
SOFTMAX_SENTENCES = {
    "whole_array": ("it is normalised over the whole array (all its entries together sum to "
                    "1): each row — the scores of one prediction — must sum to 1 on its own, "
                    "so the max and the sum are taken over the last axis."),
    "first_axis": ("it is normalised over the first axis (each column sums to 1, not each "
                   "row); the classes are on the last axis."),
    "other_axis": ("its rows (the classes of one prediction, the last axis) do not sum to 1: "
                   "each row must be divided by its own sum over the last axis, kept as an axis "
                   "of size 1 (keepdims=True) — without it numpy broadcasts the row sums across "
                   "the columns (row i's sum divides column i)."),
    "max_wrong_axis": ("the rows sum to 1 but the values are wrong: the maximum was taken over "
                       "the wrong axis, so a different number is subtracted in each column of a "
                       "row, which changes the ratios; subtract each row's own maximum."),
    "no_max": ("exp of large scores overflows to inf (and inf / inf is nan): subtract the "
               "maximum of each row before taking exp."),
}
GENERATE_SENTENCES = {
    "no_feedback": ("the generated character is not fed back: the input of each new step must "
                    "be the character generated at the step before."),
    "reset_state": ("the hidden state was reset between steps, so the model forgot what it had "
                    "read: carry h from one step to the next."),
    "with_prefix": "return only the n generated ids, without the prefix.",
    "with_prefix_cut": "return only the n generated ids, without the prefix.",
}

# ---------------------------------------------------------------------------- mistakes


def step_mistakes(x, h_prev, Wxh, Whh, bh) -> list[tuple[np.ndarray, str]]:
    """What the classic wrong cells return (only those whose shapes fit this case)."""
    N, D = np.shape(x)
    H = np.shape(Whh)[0]
    out = []
    for name, sentence in STEP_SENTENCES.items():
        if name == "weights_swapped" and D != H:
            continue
        if name == "bias_column" and N != H:
            continue
        out.append((impl.rnn_step_forward(x, h_prev, Wxh, Whh, bh, mistake=name)[0], sentence))
    return distinct_mistakes(impl.rnn_step_forward(x, h_prev, Wxh, Whh, bh)[0], out)


def forward_mistakes(X, h0, Wxh, Whh, bh) -> list[tuple[np.ndarray, str]]:
    """Classic wrong sequence forwards (same shape as the right one) and their sentences."""
    right = impl.rnn_forward(X, h0, Wxh, Whh, bh)[0]
    return distinct_mistakes(right, [
        (impl.rnn_forward(X, h0, Wxh, Whh, bh, mistake=name)[0], sentence)
        for name, sentence in FORWARD_SENTENCES.items()])


def softmax_mistakes(logits) -> list[tuple[np.ndarray, str]]:
    """The wrong softmax whose rows still sum to 1 (the others are named by which axis sums to
    1, :func:`softmax_axis_sentence`): the maximum taken over the wrong axis."""
    z = np.asarray(logits, dtype=np.float64)
    return distinct_mistakes(impl.softmax(z), [
        (impl.softmax(z, mistake="max_wrong_axis"), SOFTMAX_SENTENCES["max_wrong_axis"])])


def softmax_axis_sentence(p) -> str | None:
    """What is wrong with ``p`` as a softmax over the last axis, judged by which axis sums to
    1; None when every row sums to 1 (or ``p`` is not an array of numbers)."""
    try:
        a = np.asarray(p, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if a.ndim == 0 or not np.all(np.isfinite(a)):
        return None
    if np.allclose(a.sum(axis=-1), 1.0, atol=1e-6):
        return None
    if np.isclose(a.sum(), 1.0, atol=1e-6):
        return SOFTMAX_SENTENCES["whole_array"]
    if a.ndim >= 2 and np.allclose(a.sum(axis=0), 1.0, atol=1e-6):
        return SOFTMAX_SENTENCES["first_axis"]
    return SOFTMAX_SENTENCES["other_axis"]


def generate_mistakes(params: dict, prefix: Sequence[int], n: int) -> list[tuple[list, str]]:
    """Classic wrong generators: no feeding back, state reset each step, prefix included."""
    right = impl.generate_greedy(params, prefix, n)
    return distinct_mistakes(right, [
        (impl.generate_greedy(params, prefix, n, mistake=name), sentence)
        for name, sentence in GENERATE_SENTENCES.items()])


# ---------------------------------------------------------------------------- random cases


def random_step(rng: np.random.Generator, n: int, d: int, h: int, row_bias: bool = False):
    """(x, h_prev, Wxh, Whh, bh) with bh of shape (h,) or (1, h)."""
    return (rng.normal(size=(n, d)), rng.normal(size=(n, h)), rng.normal(size=(d, h)),
            rng.normal(size=(h, h)), rng.normal(size=(1, h) if row_bias else h))


def random_sequence(rng: np.random.Generator, n: int, T: int, d: int, h: int):
    """(X, h0, Wxh, Whh, bh)."""
    return (rng.normal(size=(n, T, d)), rng.normal(size=(n, h)), rng.normal(size=(d, h)),
            0.8 * rng.normal(size=(h, h)), rng.normal(size=h))


def random_model(rng: np.random.Generator, V: int, h: int) -> dict[str, np.ndarray]:
    """A random one-hot character model whose greedy text does not settle at once."""
    return {"Wxh": 1.5 * rng.normal(size=(V, h)), "Whh": 1.2 * rng.normal(size=(h, h)) / np.sqrt(h),
            "bh": 0.3 * rng.normal(size=h), "Whq": 2.0 * rng.normal(size=(h, V)),
            "bq": 0.3 * rng.normal(size=V)}


def hello_params() -> dict[str, np.ndarray]:
    """The lesson's hand-set "hello" model over the vocabulary [h, e, l, o] (ids 0-3).

    Units 0-3 say which character was just read; unit 4 fires (≈ +1) only when an 'l' is read
    right after an 'l'. Greedy generation from 'h' gives "ellohello...".
    """
    a = 5.0
    Wxh = np.zeros((4, 5))
    Wxh[:, :4] = a * np.eye(4)
    Wxh[2, 4] = a
    Whh = np.zeros((5, 5))
    Whh[2, 4] = a
    bh = np.array([0.0, 0.0, 0.0, 0.0, -1.5 * a])
    Whq = np.zeros((5, 4))
    Whq[0, 1] = Whq[1, 2] = Whq[2, 2] = Whq[3, 0] = 6.0
    Whq[4, 2], Whq[4, 3] = -6.0, 6.0
    bq = np.array([0.0, 0.0, -6.0, 6.0])
    return {"Wxh": Wxh, "Whh": Whh, "bh": bh, "Whq": Whq, "bq": bq}


# ---------------------------------------------------------------------------- visible cases


def _step_case():
    """n = d = h = 3, so that a swapped pair of weights and a bias added as a column fit."""
    x = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, -1.0], [1.0, 1.0, 0.0]])
    h_prev = np.array([[0.5, -0.5, 0.0], [0.0, 0.0, 1.0], [0.2, 0.1, -0.3]])
    Wxh = np.array([[0.1, 0.2, 0.3], [-0.1, 0.0, 0.1], [0.4, -0.2, 0.0]])
    Whh = np.array([[0.5, 0.2, 0.0], [0.0, 0.1, 0.8], [0.3, 0.0, 0.4]])  # not symmetric
    bh = np.array([0.0, 0.1, -0.2])
    return x, h_prev, Wxh, Whh, bh


def _step_case_rect():
    """d = 2, h = 3, bias as a (1, h) row."""
    x = np.array([[1.0, 0.0], [0.0, 1.0]])
    h_prev = np.array([[0.5, -0.5, 0.0], [0.0, 0.0, 1.0]])
    Wxh = np.array([[0.1, 0.2, 0.3], [-0.1, 0.0, 0.1]])
    Whh = np.array([[0.5, 0.2, 0.0], [0.0, 0.1, 0.8], [0.3, 0.0, 0.4]])
    bh = np.array([[0.0, 0.1, -0.2]])
    return x, h_prev, Wxh, Whh, bh


def _step_dict(args, suffix=""):
    return dict(zip([f"_{k}{suffix}" for k in ("x", "h_prev", "Wxh", "Whh", "bh")], args))


@cases("t03_step")
def _t03_step():
    args, rect = _step_case(), _step_case_rect()
    h = impl.rnn_step_forward(*args)[0]
    return {**_step_dict(args), "_expected": h, "_mistakes": step_mistakes(*args),
            **_step_dict(rect, "2"), "_expected2": impl.rnn_step_forward(*rect)[0]}


def _forward_case():
    X = np.array([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [[0.0, 1.0], [0.0, 0.0], [1.0, -1.0]]])
    h0 = np.array([[0.1, -0.2], [0.0, 0.3]])
    Wxh = np.array([[0.5, -0.3], [0.2, 0.4]])
    Whh = np.array([[0.6, -0.4], [0.3, 0.2]])
    bh = np.array([0.05, -0.05])
    return X, h0, Wxh, Whh, bh


@cases("t03_forward")
def _t03_forward():
    args = _forward_case()
    step = _step_case()
    return {**dict(zip(("_X", "_h0", "_Wxh", "_Whh", "_bh"), args)),
            "_expected": impl.rnn_forward(*args)[0], "_mistakes": forward_mistakes(*args),
            **_step_dict(step, "_s"), "_step_expected": impl.rnn_step_forward(*step)[0]}


SOFTMAX_CASES = (
    np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [2.0, -1.0, 0.0]]),
    np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]),
    np.array([[1000.0, 1001.0, 1002.0], [-1000.0, 0.0, 1000.0]]),
)


@cases("t03_softmax")
def _t03_softmax():
    out: dict[str, object] = {}
    for i, z in enumerate(SOFTMAX_CASES, 1):
        out[f"_z{i}"] = z
        out[f"_p{i}_expected"] = impl.softmax(z)
        out[f"_p{i}_mistakes"] = softmax_mistakes(z)
    out["_axis_sentences"] = {k: SOFTMAX_SENTENCES[k]
                              for k in ("whole_array", "first_axis", "other_axis")}
    return out


@cases("t03_generate")
def _t03_generate():
    p = hello_params()
    step = _step_case()
    return {"_greedy_h": impl.generate_greedy(p, [0], 9),
            "_greedy_h_mistakes": generate_mistakes(p, [0], 9),
            "_greedy_hel": impl.generate_greedy(p, [0, 1, 2], 4),
            **_step_dict(step, "_s"), "_step_expected": impl.rnn_step_forward(*step)[0]}


# ---------------------------------------------------------------------------- short answers

# (n×d)(d×h) + (1×h) with n = 8, d = 5, h = 16 and q = 10 outputs.
SHAPES = {"shape_XW": (8, 16), "shape_XW_plus_b": (8, 16), "shape_H": (8, 16),
          "shape_O": (8, 10)}
SHAPE_MISTAKES = {
    "shape_XW": [((5, 16), ("X is (n×d) = (8×5) and W_xh is (d×h) = (5×16): the product keeps "
                            "the rows of X and the columns of W_xh.")),
                 ((16, 8), ("the product X W_xh keeps X's n rows and W_xh's h columns — "
                           "(n, h), not (h, n)."))],
    "shape_XW_plus_b": [((1, 16), ("broadcasting stretches the (1×h) bias over all n rows; "
                                  "adding it does not shrink the result to one row.")),
                        ((9, 16), ("the bias is not stacked as an extra row: the same (1×h) "
                                  "row is added to each of the n rows."))],
    "shape_H": [((1, 16), "tanh is applied elementwise: it does not change the shape."),
                ((9, 16), "tanh is applied elementwise: it does not change the shape.")],
    "shape_O": [((8, 16), ("the output layer O = H W_hq + b_q maps the h = 16 hidden units to "
                          "q = 10 outputs.")),
                ((10, 8), "O has one row per example: (n, q), not (q, n).")],
}

# A character model with V = 28 characters, h = 512 hidden units.
PARAMS_V, PARAMS_H = 28, 512
N_PARAMS = impl.num_params(PARAMS_V, PARAMS_H, PARAMS_V)  # 291356
N_PARAMS_SENTENCES = {
    "no_biases": ("the biases b_h (h entries) and b_q (q entries) are missing — the lecture "
                  "notes' count leaves them out, but they are learned parameters too."),
    "no_bh": "the hidden bias b_h (h = 512 entries) is missing.",
    "no_bq": "the output bias b_q (q = 28 entries) is missing.",
    "no_whh": "the recurrent weights W_hh (h × h) are missing.",
    "no_output_layer": ("the output layer W_hq, b_q is missing: the model predicts the next "
                        "character, so it has one."),
}
PER_STEP_SENTENCE = ("that is the count times T: the same weights are used at every step, so "
                     "the length of the sequence does not change the number of parameters.")
N_PARAMS_NO_BIASES = impl.num_params(PARAMS_V, PARAMS_H, PARAMS_V, mistake="no_biases")  # 290816
N_PARAMS_MISTAKES = [(N_PARAMS * 35, PER_STEP_SENTENCE), (N_PARAMS * 1000, PER_STEP_SENTENCE)] + [
    (impl.num_params(PARAMS_V, PARAMS_H, PARAMS_V, mistake=m), N_PARAMS_SENTENCES[m])
    for m in impl.NUM_PARAMS_MISTAKES]

D2L_1 = 28
D2L_1_SEED = 35  # the answer found online: "the length of the text sequence"
D2L_1_MISTAKES = [
    (35, ("35 is T, the number of time steps (the length of the text sequence). At each step "
         "the model outputs one score per possible next character, so the output has the "
         "vocabulary size.")),
    (512, ("512 is the hidden size h; the output layer maps the hidden state to one score per "
          "character of the vocabulary.")),
    (32, ("32 is the batch size n; the question asks for the size of the output vector of one "
         "sequence at one step.")),
    (1, ("the output is not a single character id: it is a vector of scores, one per "
        "character of the vocabulary, turned into probabilities by the softmax.")),
    (35 * 28, ("that is the size of the outputs of all T steps together; one step's output has "
              "one score per character.")),
]

SHARING = {"B", "D"}
SHARING_SEED = "C"  # the lecture notes' "not learned within a sequence"
SHARING_SENTENCES = {
    "A": "option A is wrong: there is one W_hh for all time steps, not a copy per step.",
    "C": "option C is the lecture notes' claim and it is wrong: every step of a sequence "
         "contributes a gradient, and these are summed into the update of the shared weights "
         "— the weights are learned from within the sequence. (What is true: they do not "
         "change while one forward pass runs.)",
    "B": "option B is right: the same W_xh, W_hh and b_h are used at every step.",
    "D": "option D is right: the gradient of a shared weight is the sum over all the steps "
         "where it was used.",
}

# ---------------------------------------------------------------------------- MCQs

MCQ_REASONS = {
    5: {
        "A": "option A is wrong: that is x_t; h_t also depends on every earlier input through "
             "h_{t-1}.",
        "B": "option B is right: unrolled, h_t is a function of x_1, ..., x_t (a lossy summary "
             "of a fixed size).",
        "C": "option C is wrong: the prediction is o_t = h_t W_hq + b_q followed by a softmax, "
             "computed from h_t but not h_t itself.",
        "D": "option D is right: h_t has h entries whatever t is — the context is stored in a "
             "vector of fixed size.",
    },
    6: {
        "A": "option A is right: without tanh the cell is linear, and a stack of linear steps "
             "is one linear map of the inputs.",
        "B": "option B is wrong: tanh squashes each pre-activation into (-1, 1), keeping the "
             "state bounded, but it does not normalise the input (nothing is divided by a sum "
             "or a norm).",
        "C": "option C is wrong: tanh takes values in (-1, 1), negative ones included (that is "
             "the sigmoid's (0, 1)).",
        "D": "option D is wrong: gradients flow through tanh, scaled by 1 - tanh^2; they shrink "
             "when it saturates (lesson 05) but are not stopped.",
    },
    7: {
        "A": "option A is right: softmax turns any real scores into positive numbers that sum "
             "to 1 — a probability distribution over the next token.",
        "B": "option B is wrong: softmax gives the whole distribution; picking the most likely "
             "token is a separate step (greedy decoding, an argmax), and sampling picks others.",
        "C": "option C is right: each output vector is divided by its own sum of exponentials, "
             "so it sums to 1 (over the last axis, row by row).",
        "D": "option D is wrong: the output keeps its dimension q = V, one probability per "
             "score.",
    },
    10: {
        "A": "option A is wrong: each token depends on the ones generated before it, so they "
             "cannot all be predicted at once.",
        "B": "option B is right: one token at a time, each chosen (sampled or greedy) and fed "
             "back as the next input, as in exercise 9.",
        "C": "option C is wrong: the model reads a prefix of any length and then its own "
             "outputs, one per step.",
        "D": "option D is wrong: the previous outputs are exactly what is fed back, and the "
             "state carries them along.",
    },
    12: {
        "A": "option A is right: the same cell is applied once per token, for any number of "
             "tokens.",
        "B": "option B is wrong: a vanilla (one-directional) RNN sees only the past; future "
             "inputs need a bidirectional RNN (lesson 07).",
        "C": "option C is right: the parameter count dh + h^2 + h + hq + q does not depend on "
             "the length T (exercise 4).",
        "D": "option D is wrong: it is the opposite — step t needs h_{t-1}, so the T steps run "
             "one after the other; a feed-forward layer or attention processes all positions "
             "at once (section 3 times it).",
    },
    17: {
        "A": "option A is wrong: one set of weights serves every step.",
        "B": "option B is right: W_xh, W_hh, b_h (and the output layer) are the same at every "
             "time step.",
        "C": "option C is right, compared with an unrolled network that had its own weights "
             "at each step: the count is T times smaller and independent of T.",
        "D": "option D is wrong: with shared weights the model size does not grow with the "
             "sequence length at all.",
    },
    19: {
        "A": "option A is right: each step computes a new h_t from h_{t-1} and x_t.",
        "B": "option B is wrong: h_t depends on x_t and on h_{t-1}, hence on every earlier "
             "input.",
        "C": "option C is right: through h_{t-1} it carries what the earlier steps read.",
        "D": "option D is wrong: the state is reset between sequences (or batches), not after "
             "each prediction — generation carries it from step to step.",
    },
}

# ---------------------------------------------------------------------------- planted mistakes

_NOTEBOOK = Path(__file__).resolve().parents[2] / "solutions" / "03-rnn-cell" / "03-rnn-cell.ipynb"
_plant = partial(plant, _NOTEBOOK)

_FEEDBACK = "        out.append(token)\n        h, _ = rnn_step_forward(np.eye(V)[[token]], h,"


def _planted() -> list[Planted]:
    if not _NOTEBOOK.exists():  # the reference used outside a course checkout
        return []
    st, fw, sm, gen = "q03_step", "q03_forward", "q03_softmax", "q03_generate"
    step_line = "h_next = np.tanh(x @ Wxh + h_prev @ Whh + bh)"
    loop_step = "h, step_cache = rnn_step_forward(X[:, t], h, Wxh, Whh, bh)"
    sm_max, sm_sum = "np.max(logits, axis=-1, keepdims=True)", "np.sum(e, axis=-1, keepdims=True)"
    return [
        _plant(st, "t03_step", "Whh.T", "whh_transposed",
               (step_line, "h_next = np.tanh(x @ Wxh + h_prev @ Whh.T + bh)")),
        _plant(st, "t03_step", "tanh is missing", "no_tanh",
               (step_line, "h_next = x @ Wxh + h_prev @ Whh + bh")),
        _plant(st, "t03_step", "bias bh is missing", "no_bias",
               (step_line, "h_next = np.tanh(x @ Wxh + h_prev @ Whh)")),
        _plant(st, "t03_step", "after the tanh", "bias_after_tanh",
               (step_line, "h_next = np.tanh(x @ Wxh + h_prev @ Whh) + bh")),
        _plant(st, "t03_step", "h_prev is not used", "no_h_prev",
               (step_line, "h_next = np.tanh(x @ Wxh + bh)")),
        _plant(st, "t03_step", "swapped", "weights_swapped",
               (step_line, "h_next = np.tanh(x @ Whh + h_prev @ Wxh + bh)")),
        _plant(st, "t03_step", "as a column", "bias_column",
               (step_line, "h_next = np.tanh(x @ Wxh + h_prev @ Whh + np.reshape(bh, (-1, 1)))")),
        _plant(st, "t03_forward", "fix exercise 2", "forward_sees_wrong_step",
               (step_line, "h_next = np.tanh(x @ Wxh + h_prev @ Whh.T + bh)")),
        _plant(st, "t03_generate", "fix exercise 2", "generate_sees_wrong_step",
               (step_line, "h_next = x @ Wxh + h_prev @ Whh + bh")),
        _plant(fw, "t03_forward", "every step used h0", "h0_every_step",
               (loop_step, "h, step_cache = rnn_step_forward(X[:, t], h0, Wxh, Whh, bh)")),
        _plant(fw, "t03_forward", "shifted by one step", "shifted",
               (f"{loop_step}\n        H[:, t] = h", f"H[:, t] = h\n        {loop_step}")),
        _plant(fw, "t03_forward", "Whh.T", "forward_whh_transposed",
               (loop_step, "h = np.tanh(X[:, t] @ Wxh + h @ Whh.T + bh)\n"
                           "        step_cache = (X[:, t], h, Wxh, Whh, h)")),
        _plant(fw, "t03_forward", "tanh is missing", "forward_no_tanh",
               (loop_step, "h = X[:, t] @ Wxh + h @ Whh + bh\n"
                           "        step_cache = (X[:, t], h, Wxh, Whh, h)")),
        _plant(sm, "t03_softmax", "whole array", "whole_array",
               (sm_max, "np.max(logits)"), (sm_sum, "np.sum(e)")),
        _plant(sm, "t03_softmax", "first axis", "first_axis",
               (sm_max, "np.max(logits, axis=0, keepdims=True)"),
               (sm_sum, "np.sum(e, axis=0, keepdims=True)")),
        _plant(sm, "t03_softmax", "first axis", "first_axis_sum_only",
               (sm_sum, "np.sum(e, axis=0, keepdims=True)")),
        _plant(sm, "t03_softmax", "keepdims", "no_keepdims", (sm_sum, "np.sum(e, axis=-1)")),
        _plant(sm, "t03_softmax", "maximum was taken over the wrong axis", "max_wrong_axis",
               (sm_max, "np.max(logits, axis=0, keepdims=True)")),
        _plant(sm, "t03_softmax", "subtract the maximum", "no_max",
               (f"z = logits - {sm_max}", "z = logits")),
        _plant(gen, "t03_generate", "not fed back", "no_feedback",
               (_FEEDBACK, _FEEDBACK.replace("np.eye(V)[[token]]", "np.eye(V)[[prefix[-1]]]"))),
        _plant(gen, "t03_generate", "reset between steps", "reset_state",
               (_FEEDBACK, _FEEDBACK.replace("[[token]], h,", "[[token]], np.zeros_like(h),"))),
        _plant(gen, "t03_generate", "without the prefix", "with_prefix",
               ("    out = []", "    out = list(prefix)")),
        _plant("q03_shapes", "t03_shapes", "keeps the rows of X", "shape_XW_is_W",
               ("shape_XW = (8, 16)", "shape_XW = (5, 16)"), hidden=True),
        _plant("q03_shapes", "t03_shapes", "does not shrink", "bias_shrinks",
               ("shape_XW_plus_b = (8, 16)", "shape_XW_plus_b = (1, 16)"), hidden=True),
        _plant("q03_shapes", "t03_shapes", "maps the h = 16 hidden units", "shape_O_hidden",
               ("shape_O = (8, 10)", "shape_O = (8, 16)"), hidden=True),
        _plant("q03_params", "t03_params", "biases", "params_no_biases",
               ("n_params_T35 = 28 * 512 + 512 * 512 + 512 + 512 * 28 + 28",
                "n_params_T35 = 28 * 512 + 512 * 512 + 512 * 28")),
        _plant("q03_params", "t03_params", "same weights are used at every step", "params_per_step",
               ("n_params_T1000 = n_params_T35", "n_params_T1000 = n_params_T35 * 1000 // 35")),
        _plant("q03_params", "t03_params", "recurrent weights", "params_no_whh",
               ("n_params_T35 = 28 * 512 + 512 * 512 + 512 + 512 * 28 + 28",
                "n_params_T35 = 28 * 512 + 512 + 512 * 28 + 28"), hidden=True),
        _plant("q03_params", "t03_params", "hidden bias", "params_no_bh",
               ("n_params_T35 = 28 * 512 + 512 * 512 + 512 + 512 * 28 + 28",
                "n_params_T35 = 28 * 512 + 512 * 512 + 512 * 28 + 28"), hidden=True),
        _plant("q03_sharing", "t03_sharing", "lecture notes' claim", "sharing_seed",
               ('sharing = {"B", "D"}', 'sharing = {"B", "C", "D"}')),
        _plant("q03_sharing", "t03_sharing", "copy per step", "sharing_copies",
               ('sharing = {"B", "D"}', 'sharing = {"A", "B", "D"}'), hidden=True),
        _plant("q03_sharing", "t03_sharing", "true statement is missing", "sharing_no_sum",
               ('sharing = {"B", "D"}', 'sharing = {"B"}'), hidden=True),
        _plant("q03_d2l_1", "t03_d2l_1", "number of time steps", "d2l_1_seed",
               ("d2l_1 = 28", "d2l_1 = 35")),
        _plant("q03_d2l_1", "t03_d2l_1", "hidden size", "d2l_1_hidden",
               ("d2l_1 = 28", "d2l_1 = 512"), hidden=True),
        _plant("q03_d2l_1", "t03_d2l_1", "batch size", "d2l_1_batch",
               ("d2l_1 = 28", "d2l_1 = 32"), hidden=True),
    ]


PLANTED: list[Planted] = _planted()
