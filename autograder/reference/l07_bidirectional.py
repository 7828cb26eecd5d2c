"""Lesson 07 (bidirectional RNNs): random cases, classic mistakes and visible cases.

The answers are :mod:`autograder.impl.birnn`; every expected value and every mistake here is
computed from it (a mistake is the same function with ``mistake=...``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from autograder.impl import birnn as impl
from autograder.mistakes import Planted, plant
from autograder.render import cases, distinct_mistakes

# rnn_forward (lesson 03) is what the BiRNN is built on; Vocab (lesson 01) builds the data.
HANDOUTS: list[str] = ["rnn_numpy", "text"]

NAMES = impl.BIRNN_PARAM_NAMES

# ---------------------------------------------------------------------------- sentences

BIRNN_SENTENCES = {
    "not_flipped_back": ("the backward states are in reversed order: flip them back so that "
                         "position t holds the backward state that has just read x_t."),
    "backward_first": "the forward features come first: H[:, t] = [f_t ; b_t].",
    "not_reversed": ("the backward RNN must read the sequence from the end (reverse the time "
                     "axis); yours reads it left to right, so it is a second forward RNN."),
    "forward_weights_twice": ("the backward RNN uses the forward weights: each direction has its "
                              "own Wxh, Whh and bh (the *_b entries)."),
    "initial_states_swapped": ("the initial states are swapped: h0_f starts the forward RNN and "
                               "h0_b the backward one."),
}
TORCH_PARAMS_SENTENCES = {
    "no_transpose": ("weight_ih_l0 has shape (H, D) and torch multiplies W h; the course's Wxh "
                     "is (D, H) and Whh multiplies from the right: both are the transposes."),
    "bias_ih_only": "torch has two biases, bias_ih_l0 and bias_hh_l0: bh is their sum.",
    "bias_hh_only": "torch has two biases, bias_ih_l0 and bias_hh_l0: bh is their sum.",
    "directions_swapped": ("the directions are swapped: the backward direction's parameters are "
                           "the *_reverse ones, the forward ones have no suffix."),
}
INFLUENCE_SENTENCES = {
    "final_state": ("use the outputs at position t, not the final state h_n (that is position "
                    "T-1)."),
    "all_positions": ("backpropagate the sum of the outputs at position t only, not of the "
                      "outputs at every position."),
    "sum_not_norm": ("take the Euclidean norm of the gradient over the feature axis, not its "
                     "sum (a sum can cancel and is signed)."),
}
LEAK_SENTENCES = {
    "leak_free_position": {
        0: ("position 0 is the worst, not the leak-free one: its backward half has read the "
            "whole window, the target x_1 included. Only at the last position has the backward "
            "half read nothing beyond the current input."),
        32: "positions run from 0 to 31.",
    },
    "can_beat_floor": {
        True: ("the floor is the entropy of the text itself: no predictor of the next token "
               "from the past can beat it on long held-out text; a score below it means the "
               "model read the answer."),
    },
    "bi_uses_future_tagging_ok": {
        False: ("for tagging, the whole sentence is given before any tag is needed, so reading "
                "to the right is fair; only predicting the next token forbids it."),
    },
}


# ---------------------------------------------------------------------------- mistakes


def birnn_mistakes(X, h0_f, h0_b, params) -> list[tuple[np.ndarray, str]]:
    """Outputs of the classic wrong BiRNNs, with the sentence naming each mistake."""
    return [(impl.birnn_forward(X, h0_f, h0_b, params, mistake=m), s)
            for m, s in BIRNN_SENTENCES.items()]


def torch_params_mistakes(rnn) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = {k: [] for k in NAMES}
    for m, s in TORCH_PARAMS_SENTENCES.items():
        wrong = impl.torch_birnn_params(rnn, mistake=m)
        for k in NAMES:
            out[k].append((wrong[k], s))
    return out


def influence_mistakes(rnn, X, t) -> list[tuple]:
    return [(impl.input_influence(rnn, X, t, mistake=m), s) for m, s in INFLUENCE_SENTENCES.items()]


def leak_mistakes(name: str) -> list[tuple]:
    return list((v, s) for v, s in LEAK_SENTENCES[name].items())


# ---------------------------------------------------------------------------- random cases


def random_case(rng: np.random.Generator):
    N, T, D, H = (int(v) for v in rng.integers(1, 6, size=4))
    T += 1
    s = 1.2 / np.sqrt(H)
    params = {
        "Wxh_f": rng.uniform(-s, s, (D, H)), "Whh_f": rng.uniform(-s, s, (H, H)),
        "bh_f": rng.uniform(-s, s, H), "Wxh_b": rng.uniform(-s, s, (D, H)),
        "Whh_b": rng.uniform(-s, s, (H, H)), "bh_b": rng.uniform(-s, s, H),
    }
    return rng.normal(size=(N, T, D)), rng.normal(size=(N, H)), rng.normal(size=(N, H)), params


def random_torch_rnn(rng: np.random.Generator) -> tuple[torch.nn.RNN, np.ndarray]:
    D, H = (int(v) for v in rng.choice(np.arange(2, 8), size=2, replace=False))
    torch.manual_seed(int(rng.integers(1 << 30)))
    rnn = torch.nn.RNN(D, H, batch_first=True, bidirectional=True)
    X = rng.normal(size=(int(rng.integers(1, 4)), int(rng.integers(2, 7)), D))
    return rnn, X


def torch_output(rnn: torch.nn.RNN, X: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        out, _ = rnn.double()(torch.as_tensor(X, dtype=torch.float64))
    rnn.float()
    return out.numpy()


def random_influence_case(rng: np.random.Generator):
    D, H, T = int(rng.integers(1, 5)), int(rng.integers(1, 5)), int(rng.integers(3, 8))
    torch.manual_seed(int(rng.integers(1 << 30)))
    rnn = torch.nn.RNN(D, H, batch_first=True, bidirectional=bool(rng.integers(0, 2)))
    X = torch.as_tensor(rng.normal(size=(1, T, D)), dtype=torch.float32)
    return rnn, X, int(rng.integers(0, T))


# ---------------------------------------------------------------------------- visible cases


def visible_birnn():
    """One sequence x = (1, 0, 2), D = H = 1."""
    p = {"Wxh_f": np.array([[1.0]]), "Whh_f": np.array([[0.5]]), "bh_f": np.array([0.0]),
         "Wxh_b": np.array([[-1.0]]), "Whh_b": np.array([[0.5]]), "bh_b": np.array([0.1])}
    X = np.array([[[1.0], [0.0], [2.0]]])
    h0_f, h0_b = np.zeros((1, 1)), np.array([[0.3]])
    return X, h0_f, h0_b, p


@cases("t07_birnn_forward")
def _t07_birnn_forward():
    X, h0_f, h0_b, p = visible_birnn()
    want = impl.birnn_forward(X, h0_f, h0_b, p)
    return {"_want": want, "_mistakes": distinct_mistakes(want, birnn_mistakes(X, h0_f, h0_b, p)),
            "_last_backward": float(np.tanh(-1.0 * 2.0 + 0.5 * 0.3 + 0.1))}


def visible_torch_rnn() -> torch.nn.RNN:
    """D = 3, H = 2; the i-th parameter tensor holds i + 0.0, i + 0.1, ... in row-major order."""
    rnn = torch.nn.RNN(3, 2, batch_first=True, bidirectional=True)
    with torch.no_grad():
        for i, q in enumerate(rnn.parameters()):
            q.copy_(i + torch.arange(q.numel(), dtype=torch.float32).reshape(q.shape) / 10)
    return rnn


@cases("t07_torch_params")
def _t07_torch_params():
    rnn = visible_torch_rnn()

    def r(params):  # torch holds float32: 0.1 is 0.10000000149; six digits read better
        return {k: np.round(v, 6) for k, v in params.items()}

    want, mis = r(impl.torch_birnn_params(rnn)), torch_params_mistakes(rnn)
    return {"_want": want,
            "_mistakes": {k: distinct_mistakes(want[k], [(np.round(v, 6), s) for v, s in mis[k]],
                                               atol=1e-6) for k in NAMES}}


def visible_influence():
    rnn = torch.nn.RNN(1, 1, batch_first=True)
    with torch.no_grad():
        rnn.weight_ih_l0.fill_(1.0)
        rnn.weight_hh_l0.fill_(0.5)
        rnn.bias_ih_l0.zero_()
        rnn.bias_hh_l0.zero_()
    bi = torch.nn.RNN(1, 1, batch_first=True, bidirectional=True)
    with torch.no_grad():
        for q in bi.parameters():
            q.fill_(0.5)
    X = torch.tensor([[[0.5], [0.2], [-0.3], [0.1]]])
    return rnn, bi, X


@cases("t07_influence")
def _t07_influence():
    rnn, bi, X = visible_influence()

    def r(a):
        return np.round(np.asarray(a, dtype=np.float64), 6)

    want2, want0, want_bi = (r(impl.input_influence(rnn, X, 2)), r(impl.input_influence(rnn, X, 0)),
                             r(impl.input_influence(bi, X, 1)))
    return {"_want2": want2,
            "_mistakes2": distinct_mistakes(want2, [(r(v), s) for v, s in influence_mistakes(rnn, X, 2)],
                                            atol=1e-5),
            "_want0": want0, "_want_bi": want_bi,
            "_mistakes_bi": distinct_mistakes(want_bi, [(r(v), s) for v, s in influence_mistakes(bi, X, 1)],
                                              atol=1e-5)}


@cases("t07_leak")
def _t07_leak():
    return {"_leak_seed_mistake": 0, "_leak_seed_reason": LEAK_SENTENCES["leak_free_position"][0]}


# ---------------------------------------------------------------------------- MCQ

MCQ_REASONS = {
    18: {
        "A": ("option A is right: a one-way RNN reads left to right, so its state at t has not "
              "read x_{t+1}, ...; a BiRNN of the same cells can, by adding a right-to-left pass."),
        "B": ("option B is wrong: an LSTM has memory cells and still cannot see the future; memory "
              "is about the past."),
        "C": ("option C is wrong: the softmax turns each step's scores into probabilities; it does "
              "not decide which inputs the state has read."),
        "D": ("option D is wrong: RNNs are trained on sequences, not static inputs; what limits "
              "them is the direction of reading."),
    },
}

# ---------------------------------------------------------------------------- planted mistakes

_NOTEBOOK = Path(__file__).resolve().parents[2] / "solutions" / "07-bidirectional" / \
    "07-bidirectional.ipynb"


def _plant(*args, **kw) -> Planted:
    return plant(_NOTEBOOK, *args, **kw)


def _planted() -> list[Planted]:
    if not _NOTEBOOK.exists():
        return []
    bf, tp, inf, lk = "q07_birnn_forward", "q07_torch_params", "q07_influence", "q07_leak"
    return [
        _plant(bf, "t07_birnn_forward", "flip them back", "not_flipped_back",
               ("Hb_reversed[:, ::-1]]", "Hb_reversed]")),
        _plant(bf, "t07_birnn_forward", "forward features come first", "backward_first",
               ("[Hf, Hb_reversed[:, ::-1]]", "[Hb_reversed[:, ::-1], Hf]")),
        _plant(bf, "t07_birnn_forward", "read the sequence from the end", "not_reversed",
               ("rnn_forward(X[:, ::-1], h0_b", "rnn_forward(X, h0_b"),
               ("Hb_reversed[:, ::-1]]", "Hb_reversed]")),
        _plant(bf, "t07_birnn_forward", "its own Wxh", "forward_weights_twice",
               ('h0_b, params["Wxh_b"], params["Whh_b"], params["bh_b"]',
                'h0_b, params["Wxh_f"], params["Whh_f"], params["bh_f"]')),
        _plant(bf, "t07_birnn_forward", "initial states are swapped", "initial_states_swapped",
               ("rnn_forward(X, h0_f,", "rnn_forward(X, h0_b,"),
               ("rnn_forward(X[:, ::-1], h0_b,", "rnn_forward(X[:, ::-1], h0_f,")),
        _plant(tp, "t07_torch_params", "transposed", "no_transpose",
               ('get(f"weight_ih_l0{suffix}").T', 'get(f"weight_ih_l0{suffix}")')),
        _plant(tp, "t07_torch_params", "two biases", "bias_ih_only",
               (' + get(f"bias_hh_l0{suffix}")', "")),
        _plant(tp, "t07_torch_params", "directions are swapped", "directions_swapped",
               ('(("f", ""), ("b", "_reverse"))', '(("f", "_reverse"), ("b", ""))')),
        _plant(inf, "t07_influence", "not the final state h_n", "final_state",
               ("out, _ = rnn(X)\n    out[0, t].sum().backward()",
                "out, h_n = rnn(X)\n    h_n.sum().backward()")),
        _plant(inf, "t07_influence", "at position t only", "all_positions",
               ("out[0, t].sum().backward()", "out.sum().backward()")),
        _plant(inf, "t07_influence", "not its sum", "sum_not_norm",
               ("X.grad[0].norm(dim=-1)", "X.grad[0].sum(dim=-1)"), hidden=True),
        _plant(lk, "t07_leak", "position 0 is the worst", "leak_seed_position_0",
               ("leak_free_position = 31", "leak_free_position = 0")),
        _plant(lk, "t07_leak", "entropy of the text itself", "leak_beats_floor",
               ("can_beat_floor = False", "can_beat_floor = True"), hidden=True),
        _plant(lk, "t07_leak", "reading to the right is fair", "leak_tagging_forbidden",
               ("bi_uses_future_tagging_ok = True", "bi_uses_future_tagging_ok = False"),
               hidden=True),
    ]


PLANTED: list[Planted] = _planted()


@cases("t07_influence_earlier")
def _t07_influence_earlier():
    rnn, _, X = visible_influence()
    return {"_earlier_want": np.round(impl.input_influence(rnn, X, 2).astype(np.float64), 6)}
