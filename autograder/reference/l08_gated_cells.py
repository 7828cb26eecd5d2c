"""Lesson 08 (gated cells): random cases, classic mistakes and visible cases of its tests.

The answers themselves are :mod:`autograder.impl.gated`; every expected value and every
mistake here is computed from it (a mistake is the same function with ``mistake=...``).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from autograder.impl import gated as impl
from autograder.mistakes import Planted, answer_source, plant
from autograder.render import cases, distinct_mistakes

HANDOUTS: list[str] = []

LSTM_GRADS = ("dx", "dh_prev", "dc_prev", "dWx", "dWh", "db")
GRU_GRADS = ("dx", "dh_prev", "dWx", "dWh", "db")
GRAD_AXES = {"dx": ("row", "input"), "dh_prev": ("row", "unit"), "dc_prev": ("row", "unit"),
             "dWx": ("input", "gate column"), "dWh": ("previous unit", "gate column"),
             "db": ("gate column",)}

# ---------------------------------------------------------------------------- sentences

LSTM_FORWARD_SENTENCES = {
    "no_sigmoid": ("the gates i, f and o have no sigmoid: each gate is the sigmoid of its block "
                   "of x @ Wx + h_prev @ Wh + b, so that it lies between 0 and 1."),
    "forget_h": ("the forget gate is applied to the wrong state: it multiplies h_prev, but it "
                 "scales the previous cell state c_prev."),
    "squash_twice": ("the cell state is squashed twice: c itself is the plain sum of the kept "
                     "old cell and the new input (the additive path); tanh is applied to c only "
                     "on the way to h."),
    "no_tanh_c": ("h uses the cell state unsquashed: the output gate scales the tanh of the "
                  "cell state, not the cell state itself."),
    "output_inside": ("the output gate is applied inside the tanh: it scales the squashed cell "
                      "state, tanh(c), not the cell state before it is squashed."),
    "cs231n_order": ("the gate blocks are read in CS231n's order i, f, o, g; this course uses "
                     "torch's order i, f, g, o, so the third block of H columns is the candidate "
                     "g and the fourth the output gate o."),
    "candidate_sigmoid": ("the candidate g goes through a sigmoid; it is a tanh, with values in "
                          "(-1, 1), so that the cell state can also go down."),
    "no_bias": "the bias b is missing.",
    "forget_swapped": ("the input and forget gates are swapped: the first block of H columns is "
                       "the input gate i, the second the forget gate f."),
}
LSTM_BACKWARD_SENTENCES = {
    "no_dc_from_h": ("the gradient that reaches c through this step's h = o * tanh(c) is "
                     "missing: c gets a gradient from the next step (dc) and from h."),
    "dc_prev_no_f": ("dc_prev is the gradient of c passed back unchanged; c_prev enters c only "
                     "through the product f * c_prev, so on the way back it is scaled by the "
                     "forget gate."),
    "upstream_dc_ignored": ("the upstream dc is ignored: besides the gradient through h, the "
                            "cell state gets one from the later steps, the dc argument."),
    "sigmoid_prime_as_tanh": ("the gates' derivative is taken as 1 - s**2, tanh's; the "
                              "derivative of a sigmoid s is s * (1 - s)."),
    "tanh_prime_of_c": ("tanh'(c) is written as 1 - c**2; the derivative of tanh at c is "
                        "1 - tanh(c)**2."),
}
GRU_FORWARD_SENTENCES = {
    "update_swapped": ("the update gate interpolates the wrong way round: in this course (as in "
                       "d2l and torch) z is the share of the old state h_prev that is kept and "
                       "1 - z the share of the candidate n."),
    "reset_after": ("the reset gate multiplies h_prev @ Wh_n after the product — that is torch's "
                    "nn.GRU variant; this lesson's GRU (d2l's) resets the state before it "
                    "enters the product."),
    "no_reset": ("the reset gate is not used: the candidate sees the previous state only "
                 "through r * h_prev."),
    "no_sigmoid": ("the gates r and z have no sigmoid: each is the sigmoid of its block, so "
                   "that it lies between 0 and 1."),
    "candidate_sigmoid": "the candidate n goes through a sigmoid; it is a tanh.",
    "no_bias": "the bias b is missing.",
}
GRU_BACKWARD_SENTENCES = {
    "no_direct_path": ("dh_prev is missing the direct path: h_prev reaches h with no weight "
                       "at all, scaled by z — the GRU's additive path."),
    "update_swapped": ("dz has the wrong sign: raising z moves h towards h_prev and away from "
                       "the candidate n."),
    "no_reset_path": ("dh_prev is missing the path through the candidate: h_prev enters n as "
                      "r * h_prev, so part of the gradient of n flows back to h_prev."),
    "sigmoid_prime_as_tanh": ("the gates' derivative is taken as 1 - s**2, tanh's; the "
                              "derivative of a sigmoid s is s * (1 - s)."),
    "dWh_n_without_reset": ("the candidate block of dWh uses h_prev; the candidate's recurrent "
                            "weights multiply the reset state r * h_prev."),
}
NUMERIC_SENTENCES = {
    "only_first_output": ("the loss uses only the first output of step: L adds up every output "
                          "paired with its upstream gradient (an LSTM step's h and c)."),
    "one_sided": ("this is the one-sided difference (f(x + eps) - f(x)) / eps, whose error is "
                  "of the order of eps; the centred difference's is of the order of eps**2."),
    "no_half": "the centred difference is divided by eps; its two points are 2 eps apart.",
    "sign": "the sign is flipped: the difference goes from x - eps to x + eps.",
}

# ---------------------------------------------------------------------------- mistakes


def lstm_forward_mistakes(x, h_prev, c_prev, Wx, Wh, b) -> dict[str, list[tuple]]:
    """{"h": [(value, sentence)], "c": [...]}: the classic wrong LSTM forwards."""
    out: dict[str, list[tuple]] = {"h": [], "c": []}
    for name, sentence in LSTM_FORWARD_SENTENCES.items():
        h, c, _ = impl.lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b, mistake=name)
        out["h"].append((h, sentence))
        out["c"].append((c, sentence))
    return out


def lstm_backward_mistakes(dh, dc, cache) -> dict[str, list[tuple]]:
    """{gradient name: [(value, sentence)]} from the right forward's cache."""
    out: dict[str, list[tuple]] = {n: [] for n in LSTM_GRADS}
    for name, sentence in LSTM_BACKWARD_SENTENCES.items():
        for g, value in zip(LSTM_GRADS, impl.lstm_step_backward(dh, dc, cache, mistake=name)):
            out[g].append((value, sentence))
    return out


def gru_forward_mistakes(x, h_prev, Wx, Wh, b) -> list[tuple]:
    return [(impl.gru_step_forward(x, h_prev, Wx, Wh, b, mistake=name)[0], sentence)
            for name, sentence in GRU_FORWARD_SENTENCES.items()]


def gru_backward_mistakes(dh, cache) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = {n: [] for n in GRU_GRADS}
    for name, sentence in GRU_BACKWARD_SENTENCES.items():
        for g, value in zip(GRU_GRADS, impl.gru_step_backward(dh, cache, mistake=name)):
            out[g].append((value, sentence))
    return out


def numeric_mistakes(step, args, k, douts, eps) -> list[tuple]:
    return [(impl.numeric_step_grad(step, args, k, douts, eps, mistake=name), sentence)
            for name, sentence in NUMERIC_SENTENCES.items()]


def two_outputs(x, w):
    """The visible tests' step with two outputs, like an LSTM step's (h, c)."""
    return np.sin(x) * w, x * w


# ---------------------------------------------------------------------------- random cases


def random_lstm(rng: np.random.Generator, N: int, D: int, H: int):
    """(x, h_prev, c_prev, Wx, Wh, b) with weights of a size that keeps the gates unsaturated."""
    return (rng.normal(size=(N, D)), np.tanh(rng.normal(size=(N, H))), rng.normal(size=(N, H)),
            rng.normal(size=(D, 4 * H)) / np.sqrt(D), rng.normal(size=(H, 4 * H)) / np.sqrt(H),
            0.5 * rng.normal(size=4 * H))


def random_gru(rng: np.random.Generator, N: int, D: int, H: int):
    """(x, h_prev, Wx, Wh, b)."""
    return (rng.normal(size=(N, D)), np.tanh(rng.normal(size=(N, H))),
            rng.normal(size=(D, 3 * H)) / np.sqrt(D), rng.normal(size=(H, 3 * H)) / np.sqrt(H),
            0.5 * rng.normal(size=3 * H))


def _small(rng, shape):
    return np.round(rng.normal(size=shape), 2)


def _visible_lstm():
    rng = np.random.default_rng(808)
    N, D, H = 2, 3, 2
    return (_small(rng, (N, D)), np.round(np.tanh(rng.normal(size=(N, H))), 2),
            _small(rng, (N, H)), np.round(0.6 * rng.normal(size=(D, 4 * H)), 2),
            np.round(0.6 * rng.normal(size=(H, 4 * H)), 2), np.round(0.5 * rng.normal(size=4 * H), 2))


def _visible_gru():
    rng = np.random.default_rng(818)
    N, D, H = 2, 3, 2
    return (_small(rng, (N, D)), np.round(np.tanh(rng.normal(size=(N, H))), 2),
            np.round(0.6 * rng.normal(size=(D, 3 * H)), 2),
            np.round(0.6 * rng.normal(size=(H, 3 * H)), 2), np.round(0.5 * rng.normal(size=3 * H), 2))


def _lstm_args_dict(args):
    return dict(zip(("_x", "_h_prev", "_c_prev", "_Wx", "_Wh", "_b"), args))


def _gru_args_dict(args):
    return dict(zip(("_x", "_h_prev", "_Wx", "_Wh", "_b"), args))


@cases("t08_lstm_forward")
def _t08_lstm_forward():
    args = _visible_lstm()
    h, c, _ = impl.lstm_step_forward(*args)
    mis = lstm_forward_mistakes(*args)
    return {**_lstm_args_dict(args), "_h_expected": h, "_c_expected": c,
            "_h_mistakes": distinct_mistakes(h, mis["h"]),
            "_c_mistakes": distinct_mistakes(c, mis["c"])}


def _lstm_upstream():
    rng = np.random.default_rng(809)
    return _small(rng, (2, 2)), _small(rng, (2, 2))


@cases("t08_lstm_backward")
def _t08_lstm_backward():
    args = _visible_lstm()
    h, c, cache = impl.lstm_step_forward(*args)
    dh, dc = _lstm_upstream()
    grads = impl.lstm_step_backward(dh, dc, cache)
    mis = lstm_backward_mistakes(dh, dc, cache)
    out = {**_lstm_args_dict(args), "_dh": dh, "_dc": dc, "_h_expected": h, "_c_expected": c}
    for name, value in zip(LSTM_GRADS, grads):
        out[f"_{name}_expected"] = value
    for name, value in zip(LSTM_GRADS, grads):
        out[f"_{name}_mistakes"] = distinct_mistakes(value, mis[name])
    return out


def _numeric_case():
    x = np.array([[0.3, -1.2, 2.0], [0.5, 0.0, -0.7]])
    w = np.array([[1.5, -0.5, 0.2], [2.0, -1.0, 0.4]])
    d1 = np.array([[1.0, -2.0, 0.5], [3.0, 1.0, -1.0]])
    d2 = np.array([[0.5, 1.0, -1.0], [2.0, -0.5, 1.0]])
    return x, w, d1, d2, 1e-2


@cases("t08_numeric_grad")
def _t08_numeric_grad():
    x, w, d1, d2, eps = _numeric_case()
    expected = impl.numeric_step_grad(two_outputs, [x, w], 0, (d1, d2), eps)
    return {"_x": x, "_w": w, "_d1": d1, "_d2": d2, "_eps": eps, "_expected": expected,
            "_mistakes": distinct_mistakes(expected, numeric_mistakes(two_outputs, [x, w], 0,
                                                                      (d1, d2), eps))}


@cases("t08_lstm_gradcheck")
def _t08_lstm_gradcheck():
    x, w, d1, d2, eps = _numeric_case()
    return {"_nx": x, "_nw": w, "_nd1": d1, "_nd2": d2, "_neps": eps,
            "_nexpected": impl.numeric_step_grad(two_outputs, [x, w], 0, (d1, d2), eps),
            "_h_expected": impl.lstm_step_forward(*_visible_lstm())[0],
            "_c_expected": impl.lstm_step_forward(*_visible_lstm())[1],
            **_lstm_args_dict(_visible_lstm())}


@cases("t08_gru_gradcheck")
def _t08_gru_gradcheck():
    x, w, d1, d2, eps = _numeric_case()
    return {"_nx": x, "_nw": w, "_nd1": d1, "_nd2": d2, "_neps": eps,
            "_nexpected": impl.numeric_step_grad(two_outputs, [x, w], 0, (d1, d2), eps),
            "_h_expected": impl.gru_step_forward(*_visible_gru())[0],
            **_gru_args_dict(_visible_gru())}


@cases("t08_gru_forward")
def _t08_gru_forward():
    args = _visible_gru()
    h, _ = impl.gru_step_forward(*args)
    return {**_gru_args_dict(args), "_h_expected": h,
            "_mistakes": distinct_mistakes(h, gru_forward_mistakes(*args))}


@cases("t08_gru_backward")
def _t08_gru_backward():
    args = _visible_gru()
    h, cache = impl.gru_step_forward(*args)
    dh = _small(np.random.default_rng(819), (2, 2))
    grads = impl.gru_step_backward(dh, cache)
    mis = gru_backward_mistakes(dh, cache)
    out = {**_gru_args_dict(args), "_dh": dh, "_h_expected": h}
    for name, value in zip(GRU_GRADS, grads):
        out[f"_{name}_expected"] = value
    for name, value in zip(GRU_GRADS, grads):
        out[f"_{name}_mistakes"] = distinct_mistakes(value, mis[name])
    return out


# ---------------------------------------------------------------------------- parameter counts

# One cell (no output layer) reading d = 28 one-hot characters with h = 512 units.
PARAMS_D, PARAMS_H = 28, 512
N_PARAMS = {k: impl.n_params(k, PARAMS_D, PARAMS_H) for k in ("rnn", "lstm", "gru")}


def params_mistakes(kind: str) -> list[tuple[int, str]]:
    d, h = PARAMS_D, PARAMS_H
    blocks = {"rnn": 1, "lstm": 4, "gru": 3}[kind]
    other = {"lstm": 3, "gru": 4}.get(kind)
    out = [
        (blocks * (d * h + h * h), "the biases are missing: each gate block has its own bias "
                                   "of h entries."),
        (blocks * (d * h + h * h + 2 * h), "that is torch's count, which keeps two bias vectors "
                                           "per block (bias_ih and bias_hh); their sum acts as "
                                           "one bias, so the course counts one."),
        (blocks * (d * h + h * h + h) + h * 28 + 28, "the question counts the cell alone, without "
                                                     "an output layer."),
        (blocks * d * h + h * h + blocks * h, "the recurrent weights are counted once; every "
                                              "gate block has its own h × h recurrent weights."),
    ]
    if other:
        out.append((other * (d * h + h * h + h), {
            "lstm": "that is a GRU's count (3 blocks); an LSTM has 4 blocks: i, f, g and o.",
            "gru": "that is an LSTM's count (4 blocks); a GRU has 3 blocks: r, z and n."}[kind]))
    return out


# ---------------------------------------------------------------------------- gates quiz

GATES_QUIZ = {"A", "C", "E"}
GATES_QUIZ_REASONS = {
    "A": ("option A is true: c_t = 1 * c_{t-1} + 0 * g_t copies the cell, and the cell path's "
          "Jacobian diag(f_t) is then the identity."),
    "B": ("option B is false: gates in (0, 1) do not bound the gradient — the cell also feeds the "
          "gates through h, and section 5's figure shows the norm growing above 1; LSTMs are "
          "still trained with clipping."),
    "C": ("option C is true: with z = 1, h_t = h_{t-1} at every step, whatever the input, so "
          "the state stays h_0."),
    "D": ("option D is false: the cell state is not squashed — it adds a write in (-1, 1) at "
          "every step and can grow beyond 1; only tanh(c_t), on the way to h_t, is bounded."),
    "E": ("option E is true: sigmoid(b_f) near 1 keeps the forget gates open at the start, so "
          "the product of forget gates along the cell path shrinks slowly (section 5)."),
}


# ---------------------------------------------------------------------------- planted mistakes

_NOTEBOOK = Path(__file__).resolve().parents[2] / "solutions" / "08-gated-cells" / \
    "08-gated-cells.ipynb"


_answer_source = partial(answer_source, _NOTEBOOK)
_plant = partial(plant, _NOTEBOOK)


def _planted() -> list[Planted]:
    if not _NOTEBOOK.exists():  # the reference used outside a course checkout
        return []
    lf, lb, gf, gb = "q08_lstm_forward", "q08_lstm_backward", "q08_gru_forward", "q08_gru_backward"
    nm = "q08_numeric_grad"
    return [
        _plant(lf, "t08_lstm_forward", "forget gate is applied to the wrong state", "forget_h",
               ("f * c_prev", "f * h_prev")),
        _plant(lf, "t08_lstm_forward", "squashed twice", "squash_twice",
               ("c = f * c_prev + i * g", "c = np.tanh(f * c_prev + i * g)")),
        _plant(lf, "t08_lstm_forward", "no sigmoid", "no_sigmoid",
               ("i, f, o = sigmoid(ai), sigmoid(af), sigmoid(ao)", "i, f, o = ai, af, ao")),
        _plant(lf, "t08_lstm_forward", "unsquashed", "no_tanh_c",
               ("h = o * tc", "h = o * c")),
        _plant(lf, "t08_lstm_forward", "inside the tanh", "output_inside",
               ("h = o * tc", "h = np.tanh(o * c)")),
        _plant(lf, "t08_lstm_forward", "CS231n's order", "cs231n_order",
               ("ai, af, ag, ao = ", "ai, af, ao, ag = ")),
        _plant(lf, "t08_lstm_forward", "candidate g goes through a sigmoid", "candidate_sigmoid",
               ("g = np.tanh(ag)", "g = sigmoid(ag)")),
        _plant(lf, "t08_lstm_forward", "input and forget gates are swapped", "forget_swapped",
               ("ai, af, ag, ao = ", "af, ai, ag, ao = ")),
        _plant(lb, "t08_lstm_backward", "through this step's h", "no_dc_from_h",
               ("dc_total = dc + dh * o * (1 - tc ** 2)", "dc_total = dc")),
        _plant(lb, "t08_lstm_backward", "scaled by the forget gate", "dc_prev_no_f",
               ("dc_prev = dc_total * f", "dc_prev = dc_total")),
        _plant(lb, "t08_lstm_backward", "upstream dc is ignored", "upstream_dc_ignored",
               ("dc_total = dc + dh * o * (1 - tc ** 2)", "dc_total = dh * o * (1 - tc ** 2)")),
        _plant(lb, "t08_lstm_backward", "1 - tanh(c)**2", "tanh_prime_of_c",
               ("dc_total = dc + dh * o * (1 - tc ** 2)", "dc_total = dc + dh * o * (1 - c ** 2)")),
        _plant(lb, "t08_lstm_backward", "derivative of a sigmoid", "sigmoid_prime_as_tanh",
               ("di * i * (1 - i), df * f * (1 - f)", "di * (1 - i ** 2), df * (1 - f ** 2)"),
               ("do * o * (1 - o)", "do * (1 - o ** 2)")),
        _plant(gf, "t08_gru_forward", "wrong way round", "update_swapped",
               ("h = z * h_prev + (1 - z) * n", "h = (1 - z) * h_prev + z * n")),
        _plant(gf, "t08_gru_forward", "torch's nn.GRU variant", "reset_after",
               ("(r * h_prev) @ Wh[:, 2 * H:]", "r * (h_prev @ Wh[:, 2 * H:])")),
        _plant(gf, "t08_gru_forward", "reset gate is not used", "no_reset",
               ("(r * h_prev) @ Wh[:, 2 * H:]", "h_prev @ Wh[:, 2 * H:]")),
        _plant(gf, "t08_gru_forward", "no sigmoid", "no_sigmoid",
               ("r = sigmoid(ax[:, :H] + h_prev @ Wh[:, :H])", "r = ax[:, :H] + h_prev @ Wh[:, :H]"),
               ("z = sigmoid(ax[:, H:2 * H] + h_prev @ Wh[:, H:2 * H])",
                "z = ax[:, H:2 * H] + h_prev @ Wh[:, H:2 * H]")),
        _plant(gb, "t08_gru_backward", "direct path", "no_direct_path",
               ("dh_prev = dh * z", "dh_prev = 0 * dh")),
        _plant(gb, "t08_gru_backward", "wrong sign", "update_swapped",
               ("dz = dh * (h_prev - n)", "dz = dh * (n - h_prev)")),
        _plant(gb, "t08_gru_backward", "path through the candidate", "no_reset_path",
               ("dh_prev = dh_prev + drh * r", "dh_prev = dh_prev")),
        _plant(gb, "t08_gru_backward", "multiply the reset state", "dWh_n_without_reset",
               ("(r * h_prev).T @ dan", "h_prev.T @ dan")),
        _plant(nm, "t08_numeric_grad", "one-sided", "one_sided",
               ("x[idx] = old - eps", "x[idx] = old"),
               ("(plus - minus) / (2 * eps)", "(plus - minus) / eps")),
        _plant(nm, "t08_numeric_grad", "2 eps apart", "no_half",
               ("(plus - minus) / (2 * eps)", "(plus - minus) / eps")),
        _plant(nm, "t08_numeric_grad", "only the first output", "only_first_output",
               ("zip(outs, douts)", "zip(outs[:1], douts[:1])")),
        _plant("q08_params", "t08_params", "biases are missing", "params_no_bias",
               ("n_params_lstm = 4 * (28 * 512 + 512 * 512 + 512)",
                "n_params_lstm = 4 * (28 * 512 + 512 * 512)"), hidden=True),
        _plant("q08_params", "t08_params", "torch's count", "params_torch_biases",
               ("n_params_gru = 3 * (28 * 512 + 512 * 512 + 512)",
                "n_params_gru = 3 * (28 * 512 + 512 * 512 + 2 * 512)"), hidden=True),
        _plant("q08_gates_quiz", "t08_gates_quiz", "option B is false", "quiz_gates_stop_explosions",
               ('{"A", "C", "E"}', '{"A", "B", "C", "E"}'), hidden=True),
        _plant("q08_gates_quiz", "t08_gates_quiz", "missing: option E", "quiz_forget_bias_missed",
               ('{"A", "C", "E"}', '{"A", "C"}'), hidden=True),
    ]


PLANTED: list[Planted] = _planted()
