"""Reference answers of lesson 03 (the RNN cell), and the classic wrong answers its tests name.

Row-vector convention, batch first: ``x (N, D)``, ``h (N, H)``, ``X (N, T, D)``,
``H (N, T, H)`` with ``H[:, t]`` the state after reading ``X[:, t]``. Nothing here imports
``rnnkit.rnn_numpy``: the hidden tests forbid that module while the student's code runs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# ---------------------------------------------------------------------------- the cell


def rnn_step_forward(x, h_prev, Wxh, Whh, bh):
    """h_next = tanh(x @ Wxh + h_prev @ Whh + bh), (N, H); cache (x, h_prev, Wxh, Whh, h_next)."""
    h_next = np.tanh(x @ Wxh + h_prev @ Whh + np.reshape(bh, (1, -1)))
    return h_next, (x, h_prev, Wxh, Whh, h_next)


def step_mistakes(x, h_prev, Wxh, Whh, bh) -> list[tuple[np.ndarray, str]]:
    """What the classic wrong versions of the cell return, with the sentence naming each."""
    b = np.reshape(bh, (1, -1))
    out = [
        (np.tanh(x @ Wxh + h_prev @ Whh.T + b),
         ("it matches h_prev @ Whh.T: with row vectors the recurrent term is h_prev @ Whh "
         "(Whh has shape (h, h) and maps the old state's units, its rows, to the new state's "
         "units, its columns).")),
        (x @ Wxh + h_prev @ Whh + b,
         "the tanh is missing: h_next = tanh(x @ Wxh + h_prev @ Whh + bh)."),
        (np.tanh(x @ Wxh + h_prev @ Whh),
         "the bias bh is missing."),
        (np.tanh(x @ Wxh + h_prev @ Whh) + b,
         "the bias was added after the tanh; it belongs inside: tanh(x @ Wxh + h_prev @ Whh + bh)."),
        (np.tanh(x @ Wxh + b),
         ("h_prev is not used: the new state must depend on the previous one through "
         "h_prev @ Whh.")),
    ]
    if x.shape[0] == b.shape[1]:  # a bias added down the columns only broadcasts when N == H
        out.append((np.tanh(x @ Wxh + h_prev @ Whh + b.T),
                    ("the bias was added as a column (one value per row of the batch); bh has "
                    "one entry per hidden unit and is broadcast along each row, the same for "
                    "all N rows — add it as a (1, h) row.")))
    return out


# ---------------------------------------------------------------------------- the sequence


def rnn_forward(X, h0, Wxh, Whh, bh):
    """H (N, T, H) with H[:, t] the state after X[:, t]; cache = list of step caches."""
    N, T, _ = X.shape
    H = np.zeros((N, T, Wxh.shape[1]))
    h, cache = h0, []
    for t in range(T):
        h, c = rnn_step_forward(X[:, t], h, Wxh, Whh, bh)
        H[:, t] = h
        cache.append(c)
    return H, cache


def forward_mistakes(X, h0, Wxh, Whh, bh) -> list[tuple[np.ndarray, str]]:
    """Classic wrong sequence forwards (same shape as the right one) and their sentences."""
    N, T, _ = X.shape
    b = np.reshape(bh, (1, -1))

    def run(step, carry=True, shift=False):
        H, h = np.zeros((N, T, Wxh.shape[1])), h0
        for t in range(T):
            new = step(X[:, t], h if carry else h0)
            H[:, t] = h if shift else new
            h = new
        return H

    return [
        (run(lambda x, h: np.tanh(x @ Wxh + h @ Whh + b), carry=False),
         ("every step used h0: the state must be carried, h_t = tanh(x_t @ Wxh + h_{t-1} @ Whh "
         "+ bh) with h_{t-1} the state computed at the step before.")),
        (run(lambda x, h: np.tanh(x @ Wxh + h @ Whh + b), shift=True),
         ("H is shifted by one step: H[:, t] should be the state after reading X[:, t] "
         "(h_{t+1} in 0-based time), not the state before it; h0 is not part of H.")),
        (run(lambda x, h: np.tanh(x @ Wxh + h @ Whh.T + b)),
         "it matches h @ Whh.T: with row vectors the recurrent term is h_{t-1} @ Whh."),
        (run(lambda x, h: x @ Wxh + h @ Whh + b),
         "the tanh is missing from the step."),
    ]


# ---------------------------------------------------------------------------- softmax


def softmax(logits):
    """Stable softmax over the last axis."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def softmax_mistakes(logits) -> list[tuple[np.ndarray, str]]:
    """Classic wrong softmaxes (computed stably, so they are finite) and their sentences."""
    z = np.asarray(logits, dtype=np.float64)
    e = np.exp(z - z.max())
    out = [
        (e / e.sum(),
         ("it is normalised over the whole array: each row (the scores of one prediction) must "
         "sum to 1 on its own — sum over the last axis with keepdims=True.")),
    ]
    if z.ndim >= 2:
        e0 = np.exp(z - z.max(axis=0, keepdims=True))
        out.append((e0 / e0.sum(axis=0, keepdims=True),
                    ("it is normalised over the first axis (down the columns); the classes are "
                    "on the last axis: use axis=-1.")))
    if z.ndim == 2 and z.shape[0] == z.shape[1]:
        e1 = np.exp(z - z.max(axis=-1, keepdims=True))
        out.append((e1 / e1.sum(axis=-1),
                    ("the row sums were divided without keepdims=True, so numpy broadcast them "
                    "across the columns (row i's sum divided column i).")))
    return out


# ---------------------------------------------------------------------------- generation


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


def generate_greedy(params: dict, prefix: Sequence[int], n: int) -> list[int]:
    """Read ``prefix`` from h0 = 0, then n times: take the argmax id and feed it back."""
    Wxh, Whh, bh, Whq, bq = (params[k] for k in ("Wxh", "Whh", "bh", "Whq", "bq"))
    V = Wxh.shape[0]
    h = np.zeros((1, Whh.shape[0]))
    for token in prefix:
        h, _ = rnn_step_forward(np.eye(V)[[token]], h, Wxh, Whh, bh)
    out = []
    for _ in range(n):
        token = int(np.argmax(h @ Whq + np.reshape(bq, (1, -1))))
        out.append(token)
        h, _ = rnn_step_forward(np.eye(V)[[token]], h, Wxh, Whh, bh)
    return out


def generate_mistakes(params: dict, prefix: Sequence[int], n: int) -> list[tuple[list, str]]:
    """Classic wrong generators: no feeding back, state reset each step, prefix included."""
    Wxh, Whh, bh, Whq, bq = (params[k] for k in ("Wxh", "Whh", "bh", "Whq", "bq"))
    V = Wxh.shape[0]

    def step(token, h):
        return rnn_step_forward(np.eye(V)[[token]], h, Wxh, Whh, bh)[0]

    def logits(h):
        return h @ Whq + np.reshape(bq, (1, -1))

    # 1. the last prefix token is fed at every step (outputs are never fed back)
    h = np.zeros((1, Whh.shape[0]))
    for token in prefix:
        h = step(token, h)
    no_feedback = []
    for _ in range(n):
        no_feedback.append(int(np.argmax(logits(h))))
        h = step(prefix[-1], h)
    # 2. the state is reset to zero before each generated step
    h = np.zeros((1, Whh.shape[0]))
    for token in prefix:
        h = step(token, h)
    reset = []
    for _ in range(n):
        token = int(np.argmax(logits(h)))
        reset.append(token)
        h = step(token, np.zeros_like(h))
    right = generate_greedy(params, prefix, n)
    return [
        (no_feedback,
         ("the sampled character is not fed back: the input of each new step must be the "
         "character generated at the step before.")),
        (reset,
         ("the hidden state was reset between steps, so the model forgot what it had read: "
         "carry h from one step to the next.")),
        (list(prefix) + right,
         "return only the n generated ids, without the prefix."),
        ((list(prefix) + right)[:n],
         "return only the n generated ids, without the prefix."),
    ]


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
N_PARAMS = 28 * 512 + 512 * 512 + 512 + 512 * 28 + 28  # 291356
N_PARAMS_MISTAKES = [
    (N_PARAMS * 35, ("that is the count times T = 35: the same weights are used at every step, "
                    "so the length of the sequence does not change the number of parameters.")),
    (N_PARAMS * 1000, ("that is the count times T = 1000: the same weights are used at every "
                      "step, so the length of the sequence does not change the number of "
                      "parameters.")),
    (N_PARAMS - 512 - 28, "the biases b_h (h entries) and b_q (q entries) are missing."),
    (N_PARAMS - 512, "the hidden bias b_h (h = 512 entries) is missing."),
    (N_PARAMS - 28, "the output bias b_q (q = 28 entries) is missing."),
    (N_PARAMS - 512 * 512, "the recurrent weights W_hh (h × h) are missing."),
]

D2L_1 = 28
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
