"""Lesson 07's exercises: a numpy BiRNN, torch's bidirectional weights mapped onto it, the
influence of each input on one output, and the answers about the language-model leak.

Two independent RNNs read the same sequence, one left to right and one right to left::

    f_t = tanh(x_t @ Wxh_f + f_{t-1} @ Whh_f + bh_f)      t = 1 .. T
    b_t = tanh(x_t @ Wxh_b + b_{t+1} @ Whh_b + bh_b)      t = T .. 1
    h_t = [f_t ; b_t]                                      (N, 2H)

``b_t`` is stored at position t (the input it has just read), as torch does. Parameters are a
dict with keys :data:`BIRNN_PARAM_NAMES` in the row-vector convention of lesson 03:
``Wxh_* (D, H)``, ``Whh_* (H, H)``, ``bh_* (H,)``. The one-way forward is lesson 03's
:func:`autograder.impl.rnn_numpy.rnn_forward` (the notebook gets it as the hand-out
``rnn_numpy``).

Each function takes ``mistake``: ``None`` gives the right answer, a name from ``*_MISTAKES``
what a student who makes that classic mistake computes.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from autograder.impl.rnn_numpy import rnn_forward

LESSON = "07-bidirectional"

BIRNN_PARAM_NAMES: tuple[str, ...] = ("Wxh_f", "Whh_f", "bh_f", "Wxh_b", "Whh_b", "bh_b")

BIRNN_MISTAKES = ("not_flipped_back", "backward_first", "not_reversed", "forward_weights_twice",
                  "initial_states_swapped")
TORCH_PARAMS_MISTAKES = ("no_transpose", "bias_ih_only", "bias_hh_only", "directions_swapped")
INFLUENCE_MISTAKES = ("final_state", "all_positions", "sum_not_norm")

# Exercise 4: in a window of T = 32 positions, only the last one's backward half has not read
# the next character; a predictor from the past cannot beat the entropy floor; a tagger may
# read to the right.
LEAK_T = 32
LEAK_ANSWERS = {"leak_free_position": LEAK_T - 1, "can_beat_floor": False,
                "bi_uses_future_tagging_ok": True}


def birnn_forward(X: np.ndarray, h0_f: np.ndarray, h0_b: np.ndarray,
                  params: dict[str, np.ndarray], mistake: str | None = None) -> np.ndarray:
    """(N, T, D) inputs -> (N, T, 2H) states ``[f_t ; b_t]`` (forward features first)."""
    p = dict(params)
    if mistake == "forward_weights_twice":
        p.update(Wxh_b=p["Wxh_f"], Whh_b=p["Whh_f"], bh_b=p["bh_f"])
    if mistake == "initial_states_swapped":
        h0_f, h0_b = h0_b, h0_f
    Hf, _ = rnn_forward(X, h0_f, p["Wxh_f"], p["Whh_f"], p["bh_f"])
    Xb = X if mistake == "not_reversed" else X[:, ::-1]
    Hb, _ = rnn_forward(Xb, h0_b, p["Wxh_b"], p["Whh_b"], p["bh_b"])
    if mistake not in ("not_flipped_back", "not_reversed"):
        Hb = Hb[:, ::-1]  # back to input order: Hb[:, t] has read X[:, t:]
    parts = [Hb, Hf] if mistake == "backward_first" else [Hf, Hb]
    return np.concatenate(parts, axis=-1)


def torch_birnn_params(rnn: nn.RNN, mistake: str | None = None) -> dict[str, np.ndarray]:
    """The weights of a one-layer ``nn.RNN(..., bidirectional=True)`` in the course's form:
    ``Wxh = weight_ih_l0.T``, ``Whh = weight_hh_l0.T``, ``bh = bias_ih_l0 + bias_hh_l0``, the
    backward direction's ending in ``_reverse``."""
    if not (isinstance(rnn, nn.RNN) and rnn.bidirectional and rnn.num_layers == 1):
        raise ValueError("expected a one-layer nn.RNN with bidirectional=True.")

    def get(name: str) -> np.ndarray:
        q = getattr(rnn, name, None)
        return np.zeros(rnn.hidden_size) if q is None else q.detach().double().numpy().copy()

    def t(a: np.ndarray) -> np.ndarray:
        return a.copy() if mistake == "no_transpose" else a.T.copy()

    out = {}
    suffixes = (("f", "_reverse"), ("b", "")) if mistake == "directions_swapped" else \
        (("f", ""), ("b", "_reverse"))
    for d, sfx in suffixes:
        out[f"Wxh_{d}"] = t(get(f"weight_ih_l0{sfx}"))
        out[f"Whh_{d}"] = t(get(f"weight_hh_l0{sfx}"))
        b_ih, b_hh = get(f"bias_ih_l0{sfx}"), get(f"bias_hh_l0{sfx}")
        out[f"bh_{d}"] = b_ih if mistake == "bias_ih_only" else \
            b_hh if mistake == "bias_hh_only" else b_ih + b_hh
    return out


def input_influence(rnn: nn.RNN, X: torch.Tensor, t: int,
                    mistake: str | None = None) -> np.ndarray:
    """``g[s] = || d(sum_j out[0, t, j]) / d X[0, s] ||_2`` for ``rnn`` (batch first) on ``X``
    of shape (1, T, D); returns (T,)."""
    X = X.detach().clone().requires_grad_(True)
    out, h_n = rnn(X)
    if mistake == "final_state":
        h_n.sum().backward()
    elif mistake == "all_positions":
        out.sum().backward()
    else:
        out[0, t].sum().backward()
    if mistake == "sum_not_norm":
        return X.grad[0].sum(dim=-1).numpy()
    return X.grad[0].norm(dim=-1).numpy()
