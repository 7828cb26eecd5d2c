"""Lesson 04 (backpropagation through time): random cases, classic mistakes and visible cases
of its tests.

The answers themselves are :mod:`autograder.impl.bptt`; every expected value and every
mistake here is computed from it (a mistake is the same function with ``mistake=...``), and
the forward pass is lesson 03's :mod:`autograder.impl.rnn_numpy`, which the notebook gets as
the hand-out ``rnn_numpy.py`` (and lesson 02's ``best_ngram`` as ``ngram.py``).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from autograder.impl import bptt as impl
from autograder.impl.rnn_numpy import rnn_forward, rnn_step_forward
from autograder.mistakes import Planted, answer_source, plant
from autograder.render import cases, distinct_mistakes

HANDOUTS = ["rnn_numpy", "ngram"]  # lesson 03's forward pass, lesson 02's best_ngram

GRAD_NAMES = impl.GRAD_NAMES
STEP_NAMES = impl.STEP_NAMES
step_forward = rnn_step_forward

# ---------------------------------------------------------------------------- sentences

CE_LOSS_SENTENCES = {
    "mean_over_N": ("the loss is divided by the batch size N only; it is the mean over all "
                    "N*T predictions (every time step of every row)."),
    "mean_over_T": ("the loss is divided by the number of time steps T only; it is the mean "
                    "over all N*T predictions."),
    "sum": ("the loss is the sum over all predictions (as in the lecture's L = -sum_t y_t log "
            "y_hat_t); the course's loss is their mean (nats per token), so that it does not "
            "grow with N and T and exp(loss) is the perplexity."),
    "bits": "the loss is in bits (log base 2); the course measures it in nats (natural log).",
    "mean_over_vocab": ("the loss averages -log p over every vocabulary entry; only the "
                        "target id's -log p counts."),
}
CE_GRAD_SENTENCES = {
    "no_onehot": "dO is the softmax alone: the target's one-hot vector is not subtracted.",
    "not_averaged": ("dO is not divided by N*T, the number of predictions the loss "
                     "averages."),
    "grad_over_N": "dO is divided by N only; the loss averages over N*T predictions.",
    "sign": ("the sign is flipped: raising the target's logit lowers the loss, so dO is "
             "negative at the target."),
}
STEP_SENTENCES = {
    "tanh_prime_no_square": ("tanh' is written as 1 - np.tanh(a) (or 1 - h): the square is "
                             "missing, that is not the derivative of tanh."),
    "tanh_prime_prev": ("tanh' is taken at the wrong step: with h_prev, the state this step "
                        "started from; the derivative belongs to the state this step produced, "
                        "h_next (cache[4])."),
    "tanh_twice": ("tanh is applied twice: h_next already is tanh(a), so tanh'(a) needs no "
                   "further tanh of it."),
    "no_tanh_prime": ("the tanh derivative is missing: on its way from h to a the gradient is "
                      "scaled by tanh'(a)."),
    "sigmoid_prime": ("tanh' is written as h(1 - h): that is the derivative of the sigmoid, "
                      "not of tanh."),
    "dh_prev_no_T": ("dh_prev uses Whh untransposed: going back through h_prev @ Whh, the "
                     "gradient meets the transpose of the weights."),
    "dWhh_next": ("dWhh uses h_next; the recurrent weights multiply the previous state, so "
                  "their gradient is built from h_prev, not from the state this step produced."),
    "dWhh_transposed": ("dWhh is transposed: like Whh, its rows belong to the previous state's "
                        "units and its columns to this step's."),
    "dWxh_transposed": "dWxh is transposed: like Wxh, its rows belong to the inputs.",
    "dbh_zero": ("the bias gradient is zero: the bias feeds every row, so it collects the "
                 "gradient of every row."),
    "dbh_mean": ("dbh is averaged over the batch; the bias gets the sum (each row's loss "
                 "already carries its share of the mean)."),
    "dbh_first_row": "dbh holds only the first row; the bias collects every row of the batch.",
}
LOOP_SENTENCES = {
    "no_dh_next": ("the gradient from the next time step is missing: h_t feeds its output and "
                   "step t+1, so the state at step t gets dH[:, t] and what step t+1 sends "
                   "back."),
    "not_summed": ("the weight gradients hold only one step's contribution; the weights are "
                   "shared by all time steps, so their gradients add up over t."),
    "forward_order": ("the loop runs forward in time; step t needs the gradient coming from "
                      "step t+1, so BPTT goes from the last step back to the first."),
    "dh0_zero": ("dh0 is zero: the gradient reaching h0 is what step 0 passes back, "
                 "dh_prev of the first step."),
}


def truncation_sentences(k: int) -> dict[str, str]:
    return {
        "windows_from_end": (f"the windows are counted from the end; they start at step 0: "
                             f"[0, {k}), [{k}, {2 * k}), ... (the way consecutive batches cut a "
                             f"long text), so the short window, if any, is the last one."),
        "cut_off_by_one": (f"the cut is one step off: the windows are [0, {k}), [{k}, {2 * k}), "
                           f"..., so the gradient stops at a window's FIRST step (t = {k}, "
                           f"{2 * k}, ...), before it would pass into step t-1."),
        "not_truncated": "nothing is truncated: this is full BPTT.",
    }


CLIP_SENTENCES = {
    "by_value": ("each entry is clipped on its own (np.clip); that turns the gradient's "
                 "direction. Clipping by global norm shortens the whole gradient without "
                 "turning it."),
    "per_tensor": ("each parameter is clipped by its own norm; that turns the direction of the "
                   "whole gradient. The norm is one, global, over all parameters."),
    "always_rescale": ("the gradient is stretched although its norm is below max_norm; "
                       "clipping only ever shortens it."),
    "no_sqrt": "the norm is missing its square root: this is the sum of squares.",
    "max_param_norm": ("this is the largest parameter norm; the global norm takes the squares "
                       "of ALL entries of ALL parameters together."),
}
NUMERIC_SENTENCES = {
    "no_half": ("the difference is divided by eps; the two points x - eps and x + eps are "
                "2 * eps apart."),
    "not_restored": ("x is not restored after the entry is nudged, so later entries are "
                     "measured at a shifted point."),
    "one_sided": ("this is the one-sided difference (f(x + eps) - f(x)) / eps, whose error is "
                  "of the order of eps; the centred difference's is of the order of eps**2."),
}
LM_SENTENCES = {
    "sum": ("the loss is a sum; F.cross_entropy's default, the mean over all N*T predictions, "
            "is the loss of section 1."),
    "last_step": "the loss uses the last time step only; every step has a target.",
    "state_ignored": ("the second batch gives the same loss as the first: the carried state "
                      "did not reach the model."),
}

# ---------------------------------------------------------------------------- mistakes


def ce_loss_mistakes(O, Y) -> list[tuple[float, str]]:
    out = [(impl.softmax_cross_entropy(O, Y, m)[0], s) for m, s in CE_LOSS_SENTENCES.items()]
    return distinct_mistakes(impl.softmax_cross_entropy(O, Y)[0], out, atol=1e-9)


def ce_grad_mistakes(O, Y) -> list[tuple[np.ndarray, str]]:
    return [(impl.softmax_cross_entropy(O, Y, m)[1], s) for m, s in CE_GRAD_SENTENCES.items()]


def step_mistakes(dh_next, cache) -> dict[str, list[tuple[np.ndarray, str]]]:
    """For each output of rnn_step_backward, the classic wrong values and their sentences."""
    out: dict[str, list] = {n: [] for n in STEP_NAMES}
    for m, sentence in STEP_SENTENCES.items():
        for name, value in zip(STEP_NAMES, impl.rnn_step_backward(dh_next, cache, m)):
            out[name].append((value, sentence))
    return out


def backward_mistakes(dH, cache) -> dict[str, list[tuple[np.ndarray, str]]]:
    """For each output of rnn_backward, the loop's classic wrong values and their sentences
    (a wrong step is caught first, by the step's own test)."""
    out: dict[str, list] = {n: [] for n in GRAD_NAMES}
    for m, sentence in LOOP_SENTENCES.items():
        for name, value in zip(GRAD_NAMES, impl.rnn_backward(dH, cache, m)):
            out[name].append((value, sentence))
    return out


def truncated_mistakes(dH, cache, k: int) -> dict[str, list[tuple[np.ndarray, str]]]:
    out: dict[str, list] = {n: [] for n in GRAD_NAMES}
    for m, sentence in truncation_sentences(k).items():
        for name, value in zip(GRAD_NAMES, impl.rnn_backward_truncated(dH, cache, k, m)):
            out[name].append((value, sentence))
    return out


def clip_mistakes(grads: dict, max_norm: float) -> list[tuple[dict, str]]:
    return [(impl.clip_by_global_norm(grads, max_norm, m)[0], s)
            for m, s in CLIP_SENTENCES.items()]


def norm_mistakes(grads: dict, max_norm: float) -> list[tuple[float, str]]:
    return [(impl.clip_by_global_norm(grads, max_norm, m)[1], CLIP_SENTENCES[m])
            for m in ("no_sqrt", "max_param_norm")]


def numeric_grad_mistakes(f, x, eps: float) -> list[tuple[np.ndarray, str]]:
    return [(impl.numeric_grad(f, x, eps, m), s) for m, s in NUMERIC_SENTENCES.items()]


def flatten(grads: dict) -> np.ndarray:
    return np.concatenate([np.ravel(grads[k]) for k in sorted(grads)])


# ---------------------------------------------------------------------------- random cases


def random_rnn(rng: np.random.Generator, N: int, T: int, D: int, H: int):
    """Inputs, initial state and weights of a random RNN (weights small enough for tanh)."""
    X = rng.normal(size=(N, T, D))
    h0 = rng.normal(scale=0.5, size=(N, H))
    Wxh = rng.normal(scale=0.6, size=(D, H))
    Whh = rng.normal(scale=0.6, size=(H, H))
    bh = rng.normal(scale=0.3, size=H)
    return X, h0, Wxh, Whh, bh


def random_grads(rng: np.random.Generator) -> dict:
    return {
        "Wxh": rng.normal(size=(int(rng.integers(2, 6)), 4)) * rng.uniform(0.1, 5),
        "Whh": rng.normal(size=(4, 4)) * rng.uniform(0.1, 5),
        "bh": rng.normal(size=4) * rng.uniform(0.1, 5),
    }


def lm_loss_reference(logits, Y):
    """Mean cross-entropy of logits (N, T, V) against Y (N, T), as a float."""
    import torch

    return float(torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), Y.reshape(-1)))


# ---------------------------------------------------------------------------- visible cases

_CE = (np.array([[[1.0, 2.0, 0.5, -1.0], [0.0, 0.0, 0.0, 0.0], [3.0, -2.0, 1.0, 0.5]],
                 [[-0.5, 0.5, 2.0, 1.0], [1.5, 1.5, -1.0, 0.0], [0.2, -0.3, 0.1, 2.5]]]),
       np.array([[1, 3, 0], [2, 0, 3]]))

_STEP = {"_x": np.array([[-1.14, -1.07, -0.76], [0.77, -1.04, -1.03]]),
         "_h_prev": np.array([[-0.2, 0.69, -0.46], [-0.35, 0.1, 0.07]]),
         "_Wxh": np.array([[0.23, -0.34, -0.56], [-0.8, 0.2, -0.12], [0.26, 0.03, 0.83]]),
         "_Whh": np.array([[0.35, 0.1, 0.03], [-0.31, -0.23, -0.19], [0.91, -0.11, -0.36]]),
         "_bh": np.array([0.07, 0.22, -0.34]),
         "_dh_next": np.array([[-2.33, -0.27, 1.02], [-0.69, 0.63, 0.33]])}

_SEQ = {"_X": np.array([[[-1.23, 0.27], [-0.01, 0.5], [-1.33, 1.11]],
                        [[0.09, -1.17], [-1.36, -1.31], [-0.72, 1.19]]]),
        "_h0": np.array([[0.45, -0.27, -0.27], [0.96, 0.45, -0.4]]),
        "_Wxh": np.array([[-0.09, -0.26, 0.09], [0.53, -0.16, 0.22]]),
        "_Whh": np.array([[0.34, 0.47, -0.38], [-0.13, 1.18, -0.11], [0.02, 0.26, -0.35]]),
        "_bh": np.array([-0.12, 0.5, 0.39]),
        "_dH": np.array([[[-1.1, 0.07, -1.29], [-1.53, 0.0, 1.52], [-0.08, 1.47, -1.06]],
                         [[0.14, 0.08, 0.09], [0.99, 0.57, -0.55], [-1.35, -0.55, -0.02]]])}


def _trunc_case():
    """N = 2, T = 7, D = 2, H = 3 and k = 3: T is not a multiple of k, so windows counted
    from the end ([0, 1), [1, 4), [4, 7)) differ from the right ones ([0, 3), [3, 6), [6, 7))."""
    rng = np.random.default_rng(404)
    r = lambda *shape, s=1.0: np.round(s * rng.normal(size=shape), 2)  # noqa: E731
    return {"_X": r(2, 7, 2), "_h0": r(2, 3, s=0.3), "_Wxh": r(2, 3, s=0.6),
            "_Whh": r(3, 3, s=0.5), "_bh": r(3, s=0.2), "_dH": r(2, 7, 3), "_k": 3}


_NUMERIC = (np.array([[1.0, 2.0, -1.0], [0.5, -2.0, 3.0]]), 1e-3)
_CLIP = ({"Wxh": np.array([[3.0, -1.0], [0.5, 2.0]]), "Whh": np.array([[0.1, 4.0], [-2.0, 0.0]]),
          "bh": np.array([6.0, -0.2])}, 2.0)


def _step_cache():
    s = _STEP
    return rnn_step_forward(s["_x"], s["_h_prev"], s["_Wxh"], s["_Whh"], s["_bh"])[1]


def _seq_cache(case=_SEQ):
    return rnn_forward(case["_X"], case["_h0"], case["_Wxh"], case["_Whh"], case["_bh"])[1]


def _step_earlier() -> dict:
    """The step case and its right answer, for check_earlier in the tests built on it."""
    grads = impl.rnn_step_backward(_STEP["_dh_next"], _step_cache())
    return {"_s" + k[1:]: v for k, v in _STEP.items()} | {"_s_expected": tuple(grads)}


@cases("t04_ce_loss")
def _t04_ce_loss():
    O, Y = _CE
    loss = impl.softmax_cross_entropy(O, Y)[0]
    return {"_O": O, "_Y": Y, "_loss_expected": loss,
            "_loss_mistakes": distinct_mistakes(loss, ce_loss_mistakes(O, Y), atol=1e-9)}


@cases("t04_ce_grad")
def _t04_ce_grad():
    O, Y = _CE
    dO = impl.softmax_cross_entropy(O, Y)[1]
    return {"_O": O, "_Y": Y, "_dO_expected": dO,
            "_dO_mistakes": distinct_mistakes(dO, ce_grad_mistakes(O, Y))}


def _step_block(names):
    grads = impl.rnn_step_backward(_STEP["_dh_next"], _step_cache())
    mis = step_mistakes(_STEP["_dh_next"], _step_cache())
    out = dict(_STEP)
    for i, name in enumerate(STEP_NAMES):
        if name in names:
            out[f"_{name}_expected"] = grads[i]
            out[f"_{name}_mistakes"] = distinct_mistakes(grads[i], mis[name])
    return out


@cases("t04_step_backward_dx")
def _t04_step_dx():
    return _step_block(("dx", "dh_prev"))


@cases("t04_step_backward_dW")
def _t04_step_dW():
    return _step_block(("dWxh", "dWhh"))


@cases("t04_step_backward_dbh")
def _t04_step_dbh():
    return _step_block(("dbh",))


def _seq_block(names):
    grads = impl.rnn_backward(_SEQ["_dH"], _seq_cache())
    mis = backward_mistakes(_SEQ["_dH"], _seq_cache())
    out = dict(_SEQ)
    for i, name in enumerate(GRAD_NAMES):
        if name in names:
            out[f"_{name}_expected"] = grads[i]
            out[f"_{name}_mistakes"] = distinct_mistakes(grads[i], mis[name])
    return out | _step_earlier()


@cases("t04_rnn_backward_dX")
def _t04_seq_dX():
    return _seq_block(("dX", "dh0"))


@cases("t04_rnn_backward_dW")
def _t04_seq_dW():
    return _seq_block(("dWxh", "dWhh", "dbh"))


@cases("t04_numeric_grad")
def _t04_numeric():
    x, eps = _NUMERIC
    g = impl.numeric_grad(np.linalg.norm, x, eps)
    return {"_x": x, "_eps": eps, "_expected": g,
            "_mistakes": distinct_mistakes(g, numeric_grad_mistakes(np.linalg.norm, x, eps))}


@cases("t04_gradcheck")
def _t04_gradcheck():
    x, eps = _NUMERIC
    return ({"_nx": x, "_neps": eps, "_nexpected": impl.numeric_grad(np.linalg.norm, x, eps)}
            | _SEQ | {"_expected": tuple(impl.rnn_backward(_SEQ["_dH"], _seq_cache()))}
            | _step_earlier())


@cases("t04_truncated")
def _t04_truncated():
    case = _trunc_case()
    k = case["_k"]
    cache = _seq_cache(case)
    grads = impl.rnn_backward_truncated(case["_dH"], cache, k)
    full = impl.rnn_backward(case["_dH"], cache)
    mis = truncated_mistakes(case["_dH"], cache, k)
    out = dict(case)
    out["_full_expected"] = tuple(full)
    for i, name in enumerate(GRAD_NAMES):
        out[f"_{name}_expected"] = grads[i]
        out[f"_{name}_mistakes"] = distinct_mistakes(grads[i], mis[name])
    return out | _step_earlier()


@cases("t04_clip")
def _t04_clip():
    g, max_norm = _CLIP
    clipped, norm = impl.clip_by_global_norm(g, max_norm)
    small = {k: v * 0.01 for k, v in g.items()}
    kept = impl.clip_by_global_norm(small, max_norm)[0]
    return {"_g": g, "_max_norm": max_norm, "_norm_expected": norm,
            "_norm_mistakes": distinct_mistakes(norm, norm_mistakes(g, max_norm)),
            "_clipped_expected": flatten(clipped),
            "_clipped_mistakes": distinct_mistakes(
                flatten(clipped), [(flatten(w), s) for w, s in clip_mistakes(g, max_norm)]),
            "_small": small, "_kept_expected": flatten(kept),
            "_kept_mistakes": distinct_mistakes(
                flatten(kept), [(flatten(w), s) for w, s in clip_mistakes(small, max_norm)])}


@cases("t04_lm_loss")
def _t04_lm_loss():
    import torch

    from rnnkit.models import CharRNN

    X = torch.tensor([[0, 1, 2, 3], [4, 3, 2, 1]])
    Y = torch.tensor([[1, 2, 3, 4], [3, 2, 1, 0]])

    def model():
        torch.manual_seed(0)
        return CharRNN(vocab_size=5, hidden_size=4)

    m = model()
    loss, state = impl.lm_loss(m, X, Y, None)
    loss2, _ = impl.lm_loss(m, X, Y, state)
    first = float(loss.detach())
    mistakes = [(float(impl.lm_loss(model(), X, Y, None, k)[0].detach()), LM_SENTENCES[k])
                for k in ("sum", "last_step")]
    second = [(float(impl.lm_loss(m, X, Y, state, "state_ignored")[0].detach()),
               LM_SENTENCES["state_ignored"])]
    return {"_X": X.tolist(), "_Y": Y.tolist(), "_loss_expected": first,
            "_loss_mistakes": distinct_mistakes(first, mistakes),
            "_loss2_expected": float(loss2.detach()),
            "_loss2_mistakes": distinct_mistakes(float(loss2.detach()), second)}


# ---------------------------------------------------------------------------- MCQ reasons

MCQ_REASONS = {
    8: {
        "A": ("debatable, neutral: BPTT computes the gradient from the errors at every time "
              "step, but it sums them into ONE gradient and the weights get one update per "
              "sequence or window (lesson 03's training step), not one update per time step."),
        "B": ("right: BPTT unfolds the RNN over the time steps into a deep graph with shared "
              "weights and backpropagates through it (section 2)."),
        "C": "wrong: BPTT is the backward pass; it needs a forward pass first but is not one.",
        "D": ("wrong: truncation is a variant of BPTT that cuts long sequences into windows "
              "(section 5), not its purpose; variable lengths are handled by padding and "
              "masking."),
    },
    9: {
        "A": ("wrong: mean squared error is for real-valued targets; the next word is one of V "
              "classes."),
        "B": ("right: cross-entropy of the softmax over the vocabulary against the next token "
              "(section 1); its exponential is the perplexity."),
        "C": "wrong: the hinge loss is a margin loss for classifiers like SVMs, not probabilities.",
        "D": "wrong: the absolute error is also a regression loss, not for a choice among V tokens.",
    },
    15: {
        "A": ("right: clipping by global norm bounds the length of every update whatever the "
              "gradient's size (section 6)."),
        "B": ("right, with care: truncation caps the product of Jacobians at k factors, but "
              "within a window the gradient can still explode (section 5's run shows it); it "
              "is chiefly a cost device, and clipping is what bounds the step."),
        "C": ("wrong: a larger learning rate makes each step longer, so an exploding gradient "
              "does more damage."),
        "D": ("debatable, neutral: a careful initialisation (singular values of Whh near 1) "
              "makes explosion less likely at the start, but nothing stops it later in "
              "training, unlike clipping."),
    },
    16: {
        "A": ("wrong: it drops every gradient path longer than k steps, so it updates the "
              "weights with a biased gradient, not perfectly."),
        "B": ("right: no gradient crosses a window boundary, so dependencies longer than k "
              "steps get no training signal (section 5's figure)."),
        "C": ("wrong: it needs less memory: only the k steps of the window are kept for the "
              "backward pass."),
        "D": ("wrong: short dependencies lie inside the windows, where the gradient is exact; "
              "it is the long ones that suffer."),
    },
}

# ---------------------------------------------------------------------------- planted mistakes

_NOTEBOOK = Path(__file__).resolve().parents[2] / "solutions" / "04-bptt" / "04-bptt.ipynb"

_answer_source = partial(answer_source, _NOTEBOOK)
_plant = partial(plant, _NOTEBOOK)


def _planted() -> list[Planted]:
    if not _NOTEBOOK.exists():  # the reference used outside a course checkout
        return []
    ce, st, bw = "q04_cross_entropy", "q04_step_backward", "q04_rnn_backward"
    ng, tr, cl, lm = "q04_numeric_grad", "q04_truncated", "q04_clip", "q04_lm_loss"
    loss_line = "loss = float(-(logp * onehot).sum() / n)"
    do_line = "dO = (np.exp(logp) - onehot) / n"
    da_line = "da = dh_next * (1.0 - h_next**2)"
    cut = "(t > 0 and t % k == 0)"
    step_call = "rnn_step_backward(dH[:, t] + dh_next, cache[t])"
    scale = "scale = min(1.0, max_norm / norm) if norm > 0 else 1.0"
    sumsq = "np.sqrt(sum(np.sum(g**2) for g in grads.values()))"
    return [
        _plant(ce, "t04_ce_loss", "sum over all predictions", "sum",
               (loss_line, "loss = float(-(logp * onehot).sum())")),
        _plant(ce, "t04_ce_loss", "batch size N only", "mean_over_N",
               ("n = Y.size", "n = Y.shape[0]")),
        _plant(ce, "t04_ce_loss", "time steps T only", "mean_over_T",
               ("n = Y.size", "n = Y.shape[1]")),
        _plant(ce, "t04_ce_loss", "in bits", "bits",
               (loss_line, "loss = float(-(logp * onehot).sum() / n / np.log(2))")),
        _plant(ce, "t04_ce_loss", "every vocabulary entry", "mean_over_vocab",
               (loss_line, "loss = float(-logp.mean())")),
        _plant(ce, "t04_ce_loss", "overflow", "no_stabilise",
               ("Z = O - O.max(axis=-1, keepdims=True)", "Z = O")),
        _plant(ce, "t04_ce_grad", "one-hot vector is not subtracted", "no_onehot",
               (do_line, "dO = np.exp(logp) / n")),
        _plant(ce, "t04_ce_grad", "not divided by N*T", "not_averaged",
               (do_line, "dO = np.exp(logp) - onehot")),
        _plant(ce, "t04_ce_grad", "sign is flipped", "sign",
               (do_line, "dO = (onehot - np.exp(logp)) / n")),
        _plant(st, "t04_step_backward_dx", "1 - np.tanh(a)", "tanh_prime_no_square",
               (da_line, "da = dh_next * (1.0 - h_next)")),
        _plant(st, "t04_step_backward_dx", "wrong step", "tanh_prime_prev",
               (da_line, "da = dh_next * (1.0 - h_prev**2)")),
        _plant(st, "t04_step_backward_dx", "tanh is applied twice", "tanh_twice",
               (da_line, "da = dh_next * (1.0 - np.tanh(h_next)**2)")),
        _plant(st, "t04_step_backward_dx", "tanh derivative is missing", "no_tanh_prime",
               (da_line, "da = dh_next")),
        _plant(st, "t04_step_backward_dx", "derivative of the sigmoid", "sigmoid_prime",
               (da_line, "da = dh_next * h_next * (1.0 - h_next)")),
        _plant(st, "t04_step_backward_dx", "untransposed", "dh_prev_no_T",
               ("dh_prev = da @ Whh.T", "dh_prev = da @ Whh")),
        _plant(st, "t04_step_backward_dW", "dWhh uses h_next", "dWhh_next",
               ("dWhh = h_prev.T @ da", "dWhh = h_next.T @ da")),
        _plant(st, "t04_step_backward_dW", "dWhh is transposed", "dWhh_transposed",
               ("dWhh = h_prev.T @ da", "dWhh = da.T @ h_prev")),
        _plant(st, "t04_step_backward_dW", "dWxh is transposed", "dWxh_transposed",
               ("dWxh = x.T @ da", "dWxh = da.T @ x")),
        _plant(st, "t04_step_backward_dbh", "averaged over the batch", "dbh_mean",
               ("dbh = da.sum(axis=0)", "dbh = da.mean(axis=0)")),
        _plant(st, "t04_step_backward_dbh", "only the first row", "dbh_first_row",
               ("dbh = da.sum(axis=0)", "dbh = da[0]")),
        _plant(st, "t04_step_backward_dbh", "one row per batch row", "dbh_not_summed",
               ("dbh = da.sum(axis=0)", "dbh = da")),
        _plant(bw, "t04_rnn_backward_dX", "next time step is missing", "no_dh_next",
               (step_call, "rnn_step_backward(dH[:, t], cache[t])")),
        _plant(bw, "t04_rnn_backward_dX", "runs forward in time", "forward_order",
               ("reversed(range(T))", "range(T)")),
        _plant(bw, "t04_rnn_backward_dX", "dh0 is zero", "dh0_zero",
               ("return dX, dh_next,", "return dX, np.zeros((N, H)),")),
        _plant(bw, "t04_rnn_backward_dW", "one step's contribution", "not_summed",
               ("dWxh += dWxh_t", "dWxh = dWxh_t"), ("dWhh += dWhh_t", "dWhh = dWhh_t"),
               ("dbh += dbh_t", "dbh = dbh_t")),
        # a wrong step (exercise 2) is named by exercise 3's test as exercise 2's fault
        _plant(st, "t04_rnn_backward_dX", "fix exercise 2", "wrong_step",
               (da_line, "da = dh_next")),
        _plant(st, "t04_truncated", "fix exercise 2", "wrong_step_truncated",
               (da_line, "da = dh_next * (1.0 - h_next)")),
        _plant(st, "t04_gradcheck", "fix exercise 2", "wrong_step_gradcheck",
               (da_line, "da = dh_next * h_next * (1.0 - h_next)")),
        _plant(bw, "t04_gradcheck", "fix exercise 3", "wrong_backward_gradcheck",
               (step_call, "rnn_step_backward(dH[:, t], cache[t])")),
        _plant(ng, "t04_numeric_grad", "2 * eps apart", "no_half",
               ("(2 * eps)", "eps")),
        _plant(ng, "t04_numeric_grad", "not restored", "not_restored",
               ("        x[i] = old\n        grad[i]", "        grad[i]")),
        _plant(ng, "t04_numeric_grad", "one-sided", "one_sided",
               ("x[i] = old - eps", "x[i] = old"), ("(2 * eps)", "eps")),
        _plant(tr, "t04_truncated", "counted from the end", "windows_from_end",
               (cut, "(t > 0 and (T - t) % k == 0)")),
        _plant(tr, "t04_truncated", "one step off", "cut_off_by_one",
               (cut, "((t + 1) % k == 0)")),
        _plant(tr, "t04_truncated", "nothing is truncated", "not_truncated",
               (f"np.zeros_like(dh_prev) if {cut} else dh_prev", "dh_prev")),
        _plant(cl, "t04_clip", "clipped on its own", "by_value",
               ("{name: g * scale for", "{name: np.clip(g, -max_norm, max_norm) for")),
        _plant(cl, "t04_clip", "by its own norm", "per_tensor",
               ("{name: g * scale for",
                "{name: g * min(1.0, max_norm / np.linalg.norm(g)) for")),
        _plant(cl, "t04_clip", "stretched", "always_rescale",
               (scale, "scale = max_norm / norm")),
        _plant(cl, "t04_clip", "square root", "no_sqrt",
               (sumsq, "sum(np.sum(g**2) for g in grads.values())")),
        _plant(cl, "t04_clip", "largest parameter norm", "max_param_norm",
               (sumsq, "max(np.linalg.norm(g) for g in grads.values())")),
        _plant(lm, "t04_lm_loss", "loss is a sum", "sum",
               ("Y.reshape(-1))", 'Y.reshape(-1), reduction="sum")')),
        _plant(lm, "t04_lm_loss", "last time step only", "last_step",
               ("F.cross_entropy(logits.reshape(-1, logits.shape[-1]), Y.reshape(-1))",
                "F.cross_entropy(logits[:, -1], Y[:, -1])")),
        _plant(lm, "t04_lm_loss", "still carries the graph", "not_detached",
               ("return loss, state.detach()", "return loss, state")),
        _plant(lm, "t04_lm_loss", "did not reach the model", "state_ignored",
               ("model(X, state)", "model(X, None)")),
    ]


PLANTED: list[Planted] = _planted()
