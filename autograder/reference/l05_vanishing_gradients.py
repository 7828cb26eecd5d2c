"""Lesson 05 (vanishing gradients): random cases, classic mistakes and visible cases of its tests.

The answers themselves are :mod:`autograder.impl.gradients`; every expected value and every
mistake here is computed from it (a mistake is the same function with ``mistake=...``).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from autograder.impl import gradients as impl
from autograder.mistakes import Planted, answer_source, plant
from autograder.render import cases, distinct_mistakes

HANDOUTS: list[str] = []

ACTIVATIONS = ("identity", "tanh", "sigmoid", "relu")

# ---------------------------------------------------------------------------- sentences

DERIVATIVE_SENTENCES = {
    "tanh_itself": "that is tanh(a) itself, not its derivative.",
    "tanh_no_square": ("that is 1 - tanh(a): the square is missing (tanh' is never negative and "
                       "equals 1 only at a = 0; yours goes up to 2 for negative a)."),
    "one_minus_a_squared": ("that is 1 - a**2: tanh' is written in terms of tanh(a), not of a "
                            "(yours goes negative for |a| > 1)."),
    "sigmoid_itself": "that is sigmoid(a) itself, not its derivative.",
    "sigmoid_as_tanh": ("that is 1 - s**2 with s = sigmoid(a), tanh's formula applied to the "
                        "sigmoid; the sigmoid's derivative never exceeds 1/4."),
    "relu_at_zero": "ReLU's derivative at exactly 0 is taken as 0 in this course; yours gives 1 there.",
    "relu_itself": "that is relu(a) itself, not its derivative.",
}
JACOBIAN_SENTENCES = {
    "frobenius": ("that is the Frobenius norm (the root of the sum of all squared entries); the "
                  "spectral norm asked for is the largest singular value."),
    "frobenius_all": ("that is the Frobenius norm (the root of the sum of all squared entries); "
                      "the spectral norm asked for is the largest singular value."),
    "no_derivative": ("the activation derivative is missing: each step's Jacobian is "
                      "diag(φ'(a_t)) W_hhᵀ, not W_hhᵀ alone."),
    "no_transpose": ("W_hh is used without its transpose: for h_t = φ(h_{t-1} W_hh + ...) with "
                     "row vectors, entry [i, j] of the step Jacobian is φ'(a_t)[i] W_hh[j, i]."),
    "left_multiply": ("the Jacobians are multiplied in the wrong order: ∂h_T/∂h_t is "
                      "J_T J_{T-1} ... J_{t+1}, so each earlier step's Jacobian joins on the right."),
    "activation_not_derivative": "the diagonal holds the activation φ(a_t), not its derivative φ'(a_t).",
    "reversed": ("yours is reversed: entry t is ||∂h_T/∂h_t||, so the last entry (t = T) is 1 "
                 "and the first (t = 0) is the longest chain."),
}
DECAY_ORTHOGONAL_SENTENCES = {
    "one_step_short": "after 20 steps the factor 0.9 has been applied 20 times, not 19.",
    "one_step_more": "after 20 steps the factor 0.9 has been applied 20 times, not 21.",
    "times_not_power": "the factors multiply, one per step; yours adds them up (0.9 times 20).",
    "lost": "the question asks for the norm that is left after 20 steps, not for how much was lost.",
}
BOUND_SIGMOID_SENTENCES = {
    "no_gamma": ("that is σ₁**10, the lecture's rule 'σ₁ > 1: gradients grow exponentially', "
                 "which forgets the activation: every step also multiplies by diag(σ'(a)), and "
                 "σ' ≤ 1/4, so with σ₁ = 2 each step's factor is at most 1/2 — this RNN cannot "
                 "explode."),
    "gamma_once": "the factor 1/4 applies at every step, not once for the whole chain.",
    "no_sigma": "the bound is (γ σ₁)**k: the factor σ₁ = 2 of W_hh is missing.",
}
STEPS_TO_VANISH_SENTENCES = {
    "round_down": ("at that k the bound is still just above 1e-3; the smallest k with the bound "
                   "below 1e-3 is one more (round up)."),
    "no_log_divide": ("that is -ln(1e-3) rounded up: the bound is 0.9**k, so k comes from "
                      "ln(1e-3) divided by ln(0.9)."),
    "sigmoid_gamma": "that uses the sigmoid's γ = 1/4; tanh's largest derivative is 1.",
}
SLOPE_SENTENCES = {
    "log10": "the plot uses the natural log (ln); your slope is in log10 units.",
    "sign": "the line goes down, so the slope is negative.",
    "rho_itself": "that is |λ₁| itself; the slope of ln‖·‖ is ln|λ₁|.",
    "sigma_slope": "ln σ₁ is the slope of the bound, not of the curve; read the plotted line.",
}
LAMBDA_SENTENCES = {
    "pow10": "undo the natural log with exp, not with 10**.",
    "sigma_1": "that is the largest singular value σ₁; the slope gives the spectral radius |λ₁|.",
    "slope_itself": "that is the slope ln|λ₁|; lambda_1 is the spectral radius itself.",
}
CLIP_SENTENCES = {
    "per_entry": ("each entry was clipped to [-max_norm, max_norm], which changes the gradient's "
                  "direction; all arrays must be scaled by one common factor."),
    "per_array": ("each array was scaled by its own norm, which changes the direction of the "
                  "whole gradient; the factor comes from one global norm over all arrays."),
    "always_scale": ("gradients whose global norm is already below max_norm were scaled up; "
                     "they must stay unchanged."),
    "squared_norm": "that is the sum of squares; the norm is its square root.",
    "norm_after": "that is the norm after clipping; return the global norm before clipping.",
}


def _mistakes(fn, sentences, *args) -> list[tuple]:
    return [(fn(*args, mistake=name), s) for name, s in sentences.items()]


def derivative_mistakes(a, name) -> list[tuple]:
    return _mistakes(impl.activation_derivative, DERIVATIVE_SENTENCES, a, name)


def jacobian_norms_mistakes(Whh, a, name) -> list[tuple]:
    """Classic wrong answers to jacobian_norms, each with the sentence that names it."""
    return _mistakes(impl.jacobian_norms, JACOBIAN_SENTENCES, Whh, a, name)


def decay_mistakes() -> dict[str, list[tuple]]:
    return {"decay_orthogonal": _mistakes(impl.decay_orthogonal, DECAY_ORTHOGONAL_SENTENCES),
            "bound_sigmoid": _mistakes(impl.bound_sigmoid, BOUND_SIGMOID_SENTENCES),
            "steps_to_vanish": _mistakes(impl.steps_to_vanish, STEPS_TO_VANISH_SENTENCES)}


def _flat(gs) -> np.ndarray:
    return np.concatenate([np.ravel(g) for g in gs])


def clip_mistakes(grads, max_norm) -> list[tuple]:
    """Classic wrong clipped gradients (the list, concatenated) with their sentences."""
    return [(_flat(impl.clip_grads(grads, max_norm, mistake=name)[0]), s)
            for name, s in CLIP_SENTENCES.items() if name not in ("squared_norm", "norm_after")]


def clip_norm_mistakes(grads, max_norm) -> list[tuple]:
    return [(impl.clip_grads(grads, max_norm, mistake=name)[1], CLIP_SENTENCES[name])
            for name in ("squared_norm", "norm_after")]


# ---------------------------------------------------------------------------- random cases


def random_case(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, str]:
    H = int(rng.integers(2, 7))
    T = int(rng.integers(2, 9))
    Whh = rng.normal(size=(H, H)) * float(rng.uniform(0.3, 0.9))
    a = rng.normal(size=(T, H)) * 2.0
    name = str(rng.choice(ACTIVATIONS))
    return Whh, a, name


def random_grads(rng: np.random.Generator) -> list[np.ndarray]:
    shapes = [(int(rng.integers(1, 5)), int(rng.integers(1, 5))) for _ in range(int(rng.integers(2, 5)))]
    scale = float(rng.choice([0.1, 1.0, 10.0]))
    return [rng.normal(size=s) * scale for s in shapes]


# Exercise 3: the three predictions
DECAY_ORTHOGONAL = impl.decay_orthogonal()
BOUND_SIGMOID = impl.bound_sigmoid()
STEPS_TO_VANISH = impl.steps_to_vanish()  # 66

# Exercise 4: the slope of the plot. W_READ is Q P diag(0.8, -0.55, 0.35, 0.1) P^-1 Q^T
# (P upper triangular, Q a random rotation), rounded: spectral radius 0.8, sigma_1 2.52.
W_READ = np.array([
    [-0.56, 0.407, -0.54, 1.199],
    [0.505, 0.088, 0.372, -0.975],
    [0.704, -0.44, 0.637, -1.238],
    [-0.077, -0.067, -0.32, 0.535],
])
LAMBDA_1 = impl.lambda_1(W_READ)
SLOPE = impl.slope(W_READ)
SLOPE_MISTAKES = _mistakes(impl.slope, SLOPE_SENTENCES, W_READ)
LAMBDA_MISTAKES = _mistakes(impl.lambda_1, LAMBDA_SENTENCES, W_READ)


# ---------------------------------------------------------------------------- visible cases

_DPHI_A = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])


@cases("t05_dphi")
def _t05_dphi():
    out = {"_a": _DPHI_A}
    for name in ACTIVATIONS:
        out[f"_{name}"] = impl.activation_derivative(_DPHI_A, name)
    for name in ("tanh", "sigmoid", "relu"):
        out[f"_{name}_mistakes"] = distinct_mistakes(out[f"_{name}"],
                                                     derivative_mistakes(_DPHI_A, name))
    return out


_JAC_W = np.array([[0.5, -1.0], [0.8, 0.3]])
_JAC_A = np.array([[0.2, -1.0], [1.5, 0.3], [-0.4, 0.9]])  # T = 3 steps, H = 2 units
_ROT = np.array([[0.6, -0.8], [0.8, 0.6]])  # a rotation: both singular values 1


@cases("t05_jacobian")
def _t05_jacobian():
    out = {"_Whh": _JAC_W, "_a": _JAC_A,
           "_dphi_tanh": impl.activation_derivative(_JAC_A, "tanh"),
           "_dphi_relu": impl.activation_derivative(_JAC_A, "relu")}
    for name in ("tanh", "relu"):
        out[f"_{name}"] = impl.jacobian_norms(_JAC_W, _JAC_A, name)
        out[f"_{name}_mistakes"] = distinct_mistakes(out[f"_{name}"],
                                                     jacobian_norms_mistakes(_JAC_W, _JAC_A, name))
    out["_Q"] = _ROT
    out["_linear"] = impl.jacobian_norms(0.9 * _ROT, np.zeros((4, 2)), "identity")
    return out


_CLIP_G = [np.array([3.0, 4.0]), np.array([[12.0]])]  # global norm sqrt(9 + 16 + 144) = 13


@cases("t05_clip")
def _t05_clip():
    big, small = 2.6, 20.0
    clipped, norm = impl.clip_grads(_CLIP_G, big)
    kept, _ = impl.clip_grads(_CLIP_G, small)
    return {"_g": _CLIP_G, "_norm_expected": norm,
            "_norm_mistakes": distinct_mistakes(norm, clip_norm_mistakes(_CLIP_G, big)),
            "_clipped_expected": _flat(clipped),
            "_clipped_mistakes": distinct_mistakes(_flat(clipped), clip_mistakes(_CLIP_G, big)),
            "_kept_expected": _flat(kept),
            "_kept_mistakes": distinct_mistakes(_flat(kept), clip_mistakes(_CLIP_G, small))}


# ---------------------------------------------------------------------------- d2l exercise 3

D2L_3_KEY = {"B", "C", "E"}
D2L_3_WRONG = {"A", "D"}
D2L_3_SEED = ("A is the forum's answer 'it reaches 0', and it is wrong: the gradient vanishes "
              "when the step Jacobians shrink but explodes when they stretch (σ₁ > 1 with ReLU "
              "or no activation, section 2's figure).")


def grade_d2l_3(answer, points: float) -> float:
    """Partial credit like the MCQs: (right chosen - wrong chosen) / 3, never below zero."""
    if not isinstance(answer, set | frozenset):
        print(f"d2l_3: not a set of letters — 0 of {points:g} points.")
        return 0.0
    chosen = {a for a in answer if isinstance(a, str)}
    hits, wrong = len(chosen & D2L_3_KEY), len(chosen - D2L_3_KEY)
    frac = max(0.0, (hits - wrong) / len(D2L_3_KEY))
    notes = []
    if "A" in chosen:
        notes.append("the gradient does not always reach 0: it explodes when the step Jacobians "
                     "stretch (e.g. σ₁ > 1 with ReLU or no activation)")
    if "C" not in chosen:
        notes.append("exploding gradients are the other half of the answer")
    if "D" in chosen:
        notes.append("shared weights are multiplied again at every step, which is exactly why "
                     "the size changes geometrically")
    print(f"d2l_3: {hits} of 3 right statements, {wrong} wrong — {frac * points:g} of "
          f"{points:g} points." + (" Note: " + "; ".join(notes) + "." if notes else ""))
    return round(frac * points, 6)


# ---------------------------------------------------------------------------- MCQs

MCQ_REASONS = {
    13: {
        "A": "wrong: an RNN applies the same cell at every step, so it reads sequences of any length.",
        "B": "right: BPTT multiplies one step Jacobian per step, so the gradient vanishes or explodes geometrically (sections 2-3).",
        "C": "wrong: an RNN is trained on data like any network; its weights are learned by BPTT.",
        "D": "wrong: a vanilla RNN sees only past inputs; seeing future ones is what a bidirectional RNN adds (lesson 07).",
    },
    14: {
        "A": "right: the gradient is multiplied by W_hhᵀ (and φ') at every step, and singular values below 1 shrink it geometrically.",
        "B": "wrong: softmax is used once, at the output; it is not in the product that runs back through time.",
        "C": "wrong: a large learning rate makes updates too big; it does not shrink the gradient itself.",
        "D": "wrong: singular values above 1 allow the gradient to grow: that is the cause of exploding gradients, not vanishing ones.",
    },
    20: {
        "A": "right, with care: the additive cell path greatly reduces vanishing gradients rather than abolishing it (f_t < 1 still multiplies); the key counts it right.",
        "B": "right: the cell state carries information and gradient across many steps, so longer dependencies can be learned (section 6).",
        "C": "wrong: an LSTM still ends with the same output layer and softmax; gates use sigmoids inside the cell.",
        "D": "wrong: an LSTM is trained by backpropagation through time like any RNN.",
    },
}

# ---------------------------------------------------------------------------- planted mistakes

_NOTEBOOK = Path(__file__).resolve().parents[2] / "solutions" / "05-vanishing-gradients" / \
    "05-vanishing-gradients.ipynb"


_answer_source = partial(answer_source, _NOTEBOOK)
_plant = partial(plant, _NOTEBOOK)


def _planted() -> list[Planted]:
    if not _NOTEBOOK.exists():  # the reference used outside a course checkout
        return []
    d, j, k, s, c = "q05_dphi", "q05_jacobian", "q05_decay", "q05_slope", "q05_clip"
    tanh, sig = "return 1.0 - np.tanh(a) ** 2", "return s * (1.0 - s)"
    chain = "G = G @ np.diag(activation_derivative(a[t], name)) @ Whh.T"
    return [
        _plant(d, "t05_dphi", "the square is missing", "tanh_no_square",
               (tanh, "return 1.0 - np.tanh(a)")),
        _plant(d, "t05_dphi", "tanh(a) itself", "tanh_itself", (tanh, "return np.tanh(a)")),
        _plant(d, "t05_dphi", "in terms of tanh(a)", "one_minus_a_squared",
               (tanh, "return 1.0 - a ** 2")),
        _plant(d, "t05_dphi", "sigmoid(a) itself", "sigmoid_itself", (sig, "return s")),
        _plant(d, "t05_dphi", "tanh's formula", "sigmoid_as_tanh", (sig, "return 1.0 - s ** 2")),
        _plant(d, "t05_dphi", "at exactly 0", "relu_at_zero", ("a > 0", "a >= 0")),
        _plant(d, "t05_dphi", "relu(a) itself", "relu_itself",
               ("return (a > 0).astype(float)", "return np.maximum(a, 0.0)")),
        _plant(j, "t05_jacobian", "Frobenius", "frobenius",
               ("np.linalg.norm(G, 2)", "np.linalg.norm(G)")),
        _plant(j, "t05_jacobian", "derivative is missing", "no_derivative",
               (chain, "G = G @ Whh.T")),
        _plant(j, "t05_jacobian", "without its transpose", "no_transpose",
               (chain, "G = G @ np.diag(activation_derivative(a[t], name)) @ Whh")),
        _plant(j, "t05_jacobian", "wrong order", "left_multiply",
               (chain, "G = np.diag(activation_derivative(a[t], name)) @ Whh.T @ G")),
        _plant(j, "t05_jacobian", "not its derivative", "activation_not_derivative",
               (chain, "G = G @ np.diag(np.tanh(a[t]) if name == 'tanh' else np.maximum(a[t], 0) "
                       "if name == 'relu' else a[t] * 0 + 1) @ Whh.T")),
        _plant(j, "t05_jacobian", "reversed", "reversed", ("return norms", "return norms[::-1]")),
        _plant(k, "t05_decay", "the lecture's rule", "bound_sigmoid_seed",
               ("bound_sigmoid = (0.25 * 2.0) ** 10", "bound_sigmoid = 2.0 ** 10")),
        _plant(k, "t05_decay", "applies at every step", "bound_sigmoid_gamma_once",
               ("bound_sigmoid = (0.25 * 2.0) ** 10", "bound_sigmoid = 0.25 * 2.0 ** 10"),
               hidden=True),
        _plant(k, "t05_decay", "not 19", "decay_one_step_short",
               ("0.9 ** 20", "0.9 ** 19"), hidden=True),
        _plant(k, "t05_decay", "round up", "steps_round_down",
               ("math.ceil(", "math.floor("), hidden=True),
        _plant(s, "t05_slope", "log10", "slope_log10",
               ("slope = (-8.15 - (-1.47)) / (40 - 10)",
                "slope = (-8.15 - (-1.47)) / (40 - 10) / np.log(10)"),
               ("lambda_1 = math.exp(slope)", "lambda_1 = 10 ** slope"), hidden=True),
        _plant(s, "t05_slope", "largest singular value", "lambda_sigma_1",
               ("lambda_1 = math.exp(slope)", "lambda_1 = float(np.linalg.norm(W_read, 2))"),
               hidden=True),
        _plant(c, "t05_clip", "clipped to [-max_norm, max_norm]", "per_entry",
               ("return [g * scale for g in grads], norm",
                "return [np.clip(g, -max_norm, max_norm) for g in grads], norm")),
        _plant(c, "t05_clip", "its own norm", "per_array",
               ("return [g * scale for g in grads], norm",
                "return [g * min(1.0, max_norm / np.linalg.norm(g)) for g in grads], norm")),
        _plant(c, "t05_clip", "already below max_norm", "always_scale",
               ("scale = min(1.0, max_norm / norm) if norm > 0 else 1.0",
                "scale = max_norm / norm")),
        _plant(c, "t05_clip", "square root", "squared_norm",
               ("norm = math.sqrt(sum(", "norm = (sum(")),
        _plant(c, "t05_clip", "must not change", "in_place",
               ("return [g * scale for g in grads], norm",
                "for g in grads:\n        g *= scale\n    return grads, norm")),
        _plant("q05_d2l_3", "t05_d2l_3", "reaches 0", "d2l_seed_reaches_0",
               ('d2l_3 = {"B", "C", "E"}', 'd2l_3 = {"A"}')),
        _plant("q05_d2l_3", "t05_d2l_3", "reaches 0", "d2l_seed_with_others",
               ('d2l_3 = {"B", "C", "E"}', 'd2l_3 = {"A", "B", "E"}')),
        _plant("q05_d2l_3", "t05_d2l_3", "does not only vanish", "d2l_only_vanish",
               ('d2l_3 = {"B", "C", "E"}', 'd2l_3 = {"B"}')),
    ]


PLANTED: list[Planted] = _planted()
