"""A vanilla RNN in numpy, the forward half: cell, sequence, output layer, softmax, generation.

Row-vector convention with a batch of ``N`` rows, as in the course::

    h_t = tanh(x_t @ Wxh + h_{t-1} @ Whh + bh)      x_t (N, D), h_t (N, H)
    o_t = h_t @ Whq + bq                            o_t (N, Q)

Shapes: ``Wxh (D, H)``, ``Whh (H, H)``, ``bh (H,)`` or ``(1, H)``, ``Whq (H, Q)``, ``bq (Q,)``
or ``(1, Q)``. Sequences are stored **batch first**: ``X (N, T, D)``, ``H (N, T, H)``,
``O (N, T, Q)``; ``H[:, t]`` is the state *after* reading ``X[:, t]`` (so ``h_0`` is not in
``H``).

Every forward function returns ``(out, cache)`` in the CS231n style; the cache holds exactly
what the backward pass (lesson 04) needs. Cache formats (stable):

* ``rnn_step_forward``  -> ``(x, h_prev, Wxh, Whh, h_next)``
* ``rnn_forward``       -> ``list`` of ``T`` step caches, in time order
* ``output_forward``    -> ``(H, Whq)`` (``H`` of shape (N, H) or (N, T, H))
* ``model_forward``     -> ``(rnn_cache, out_cache)``

Parameters of a whole model are a dict with keys ``Wxh, Whh, bh, Whq, bq`` (see
:func:`init_params`). Inputs of the character models are one-hot vectors, so ``D = Q = V``.

The exercise functions take ``mistake``: ``None`` gives the right answer, a name from the
matching ``*_MISTAKES`` tuple gives what a student who makes that classic mistake computes
(lesson 03's tests build their cases and sentences on these). Lessons 04, 06 and 07 receive
this file as the hand-out ``rnn_numpy.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

LESSON = "03-rnn-cell"

PARAM_NAMES: tuple[str, ...] = ("Wxh", "Whh", "bh", "Whq", "bq")

STEP_MISTAKES = ("whh_transposed", "no_tanh", "no_bias", "bias_after_tanh", "no_h_prev",
                 "weights_swapped", "bias_column")
FORWARD_MISTAKES = ("h0_every_step", "shifted", "whh_transposed", "no_tanh")
SOFTMAX_MISTAKES = ("whole_array", "first_axis", "no_keepdims", "max_wrong_axis", "no_max")
NUM_PARAMS_MISTAKES = ("no_biases", "no_bh", "no_bq", "no_whh", "no_output_layer")
GENERATE_MISTAKES = ("no_feedback", "reset_state", "with_prefix", "with_prefix_cut")

StepCache = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def rnn_step_forward(x: np.ndarray, h_prev: np.ndarray, Wxh: np.ndarray, Whh: np.ndarray,
                     bh: np.ndarray, mistake: str | None = None
                     ) -> tuple[np.ndarray, StepCache]:
    """One step of the cell: ``h_next = tanh(x @ Wxh + h_prev @ Whh + bh)``.

    Args:
        x: inputs at this step, (N, D).
        h_prev: previous hidden state, (N, H).
        Wxh: input-to-hidden weights, (D, H).
        Whh: hidden-to-hidden weights, (H, H).
        bh: hidden bias, (H,) or (1, H); broadcast over the N rows.
        mistake: None, or a name from :data:`STEP_MISTAKES` (``"weights_swapped"`` needs
            D == H, ``"bias_column"`` N == H; otherwise their shapes do not fit).

    Returns:
        ``h_next`` (N, H) and the cache ``(x, h_prev, Wxh, Whh, h_next)``.
    """
    b = np.reshape(bh, (1, -1))
    if mistake == "bias_column":
        b = b.T
    recurrent = h_prev @ (Whh.T if mistake == "whh_transposed" else Whh)
    if mistake == "no_h_prev":
        recurrent = 0.0
    inp = x @ Wxh
    if mistake == "weights_swapped":
        inp, recurrent = x @ Whh, h_prev @ Wxh
    a = inp + recurrent + (0.0 if mistake in ("no_bias", "bias_after_tanh") else b)
    h_next = a if mistake == "no_tanh" else np.tanh(a)
    if mistake == "bias_after_tanh":
        h_next = h_next + b
    return h_next, (x, h_prev, Wxh, Whh, h_next)


def rnn_forward(X: np.ndarray, h0: np.ndarray, Wxh: np.ndarray, Whh: np.ndarray,
                bh: np.ndarray, mistake: str | None = None
                ) -> tuple[np.ndarray, list[StepCache]]:
    """Run the cell over a sequence, carrying the state from step to step.

    Args:
        X: inputs, batch first, (N, T, D).
        h0: initial hidden state, (N, H).
        Wxh, Whh, bh: as in :func:`rnn_step_forward` — the same weights at every step.
        mistake: None, or a name from :data:`FORWARD_MISTAKES`: ``"h0_every_step"`` (the state
            is not carried), ``"shifted"`` (``H[:, t]`` holds the state before step t),
            ``"whh_transposed"`` and ``"no_tanh"`` (the step's mistakes).

    Returns:
        ``H`` (N, T, H) with ``H[:, t] = h_{t+1}``, the state after reading ``X[:, t]``, and
        the cache: the list of the ``T`` step caches.
    """
    step_mistake = mistake if mistake in STEP_MISTAKES else None
    N, T, _ = X.shape
    H = np.zeros((N, T, Wxh.shape[1]), dtype=np.result_type(X, h0, Wxh, Whh, bh, np.float64))
    h, cache = h0, []
    for t in range(T):
        before = h
        h, step_cache = rnn_step_forward(X[:, t], h0 if mistake == "h0_every_step" else h,
                                         Wxh, Whh, bh, mistake=step_mistake)
        H[:, t] = before if mistake == "shifted" else h
        cache.append(step_cache)
    return H, cache


def output_forward(H: np.ndarray, Whq: np.ndarray, bq: np.ndarray
                   ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """The output layer ``O = H @ Whq + bq`` (logits, before the softmax).

    Args:
        H: hidden states, (N, H) for one step or (N, T, H) for a sequence.
        Whq: hidden-to-output weights, (H, Q).
        bq: output bias, (Q,) or (1, Q).

    Returns:
        ``O`` of shape (N, Q) or (N, T, Q), and the cache ``(H, Whq)``.
    """
    return H @ Whq + np.reshape(bq, (-1,)), (H, Whq)


def model_forward(params: dict[str, np.ndarray], X: np.ndarray, h0: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Cell over the sequence, then the output layer at every step.

    Args:
        params: dict with ``Wxh, Whh, bh, Whq, bq``.
        X: inputs (N, T, D); h0: initial state (N, H).

    Returns:
        logits ``O`` (N, T, Q), hidden states ``H`` (N, T, H), cache ``(rnn_cache, out_cache)``.
    """
    H, rnn_cache = rnn_forward(X, h0, params["Wxh"], params["Whh"], params["bh"])
    O, out_cache = output_forward(H, params["Whq"], params["bq"])
    return O, H, (rnn_cache, out_cache)


def softmax(logits: np.ndarray, axis: int = -1, mistake: str | None = None) -> np.ndarray:
    """Numerically stable softmax along ``axis`` (the class axis, last by default).

    Subtracting the maximum of each row leaves the result unchanged (the factor
    ``exp(-max)`` cancels) but keeps every exponent at most 0, so ``exp`` cannot overflow.

    ``mistake`` (from :data:`SOFTMAX_MISTAKES`): ``"whole_array"`` (normalised over every
    entry), ``"first_axis"`` (max and sum over axis 0), ``"no_keepdims"`` (the row sums
    divided without keepdims: needs a square 2-d array), ``"max_wrong_axis"`` (the max over
    axis 0, the sum over the right axis: the rows still sum to 1 but the values are wrong),
    ``"no_max"`` (no max subtracted: overflows for large scores; computed here without the
    warning).
    """
    z = np.asarray(logits, dtype=np.float64)
    if mistake == "whole_array":
        e = np.exp(z - np.max(z))
        return e / np.sum(e)
    if mistake == "first_axis":
        axis = 0
    if mistake == "no_max":
        with np.errstate(over="ignore", invalid="ignore"):
            e = np.exp(z)
            return e / np.sum(e, axis=axis, keepdims=True)
    shift_axis = 0 if mistake == "max_wrong_axis" else axis
    e = np.exp(z - np.max(z, axis=shift_axis, keepdims=True))
    if mistake == "no_keepdims":
        return e / np.sum(e, axis=axis)
    return e / np.sum(e, axis=axis, keepdims=True)


def init_params(d: int, h: int, q: int, rng: np.random.Generator, scale: float | None = None
                ) -> dict[str, np.ndarray]:
    """Random weights and zero biases for a model with D = d inputs, H = h units, Q = q outputs.

    Weights are drawn from N(0, scale²); by default ``scale = 1 / sqrt(fan_in)`` (``1/sqrt(d)``
    for ``Wxh``, ``1/sqrt(h)`` for ``Whh`` and ``Whq``). Biases have shape (h,) and (q,).
    """
    def weight(fan_in: int, fan_out: int) -> np.ndarray:
        s = scale if scale is not None else 1.0 / np.sqrt(fan_in)
        return rng.normal(0.0, s, size=(fan_in, fan_out))

    return {
        "Wxh": weight(d, h),
        "Whh": weight(h, h),
        "bh": np.zeros(h),
        "Whq": weight(h, q),
        "bq": np.zeros(q),
    }


def num_params(d: int, h: int, q: int, mistake: str | None = None) -> int:
    """Number of parameters ``d·h + h·h + h + h·q + q`` — independent of the sequence length.

    ``mistake`` (from :data:`NUM_PARAMS_MISTAKES`) leaves out the biases (``"no_biases"``),
    one of them (``"no_bh"``, ``"no_bq"``), the recurrent weights (``"no_whh"``) or the
    output layer (``"no_output_layer"``).
    """
    parts = {"Wxh": d * h, "Whh": h * h, "bh": h, "Whq": h * q, "bq": q}
    left_out = {"no_biases": ("bh", "bq"), "no_bh": ("bh",), "no_bq": ("bq",),
                "no_whh": ("Whh",), "no_output_layer": ("Whq", "bq")}.get(mistake or "", ())
    return int(sum(v for k, v in parts.items() if k not in left_out))


def count_params(params: dict[str, np.ndarray]) -> int:
    """Total number of entries in a parameter dict."""
    return int(sum(np.size(v) for v in params.values()))


def generate_greedy(params: dict[str, np.ndarray], prefix: Sequence[int], n: int,
                    mistake: str | None = None) -> list[int]:
    """Read ``prefix`` from h0 = 0, then n times: take the arg max id and feed it back.

    ``mistake`` (from :data:`GENERATE_MISTAKES`): ``"no_feedback"`` (the last prefix id is
    fed at every step), ``"reset_state"`` (the state is set to zero before each generated
    step), ``"with_prefix"`` (the prefix is returned too), ``"with_prefix_cut"`` (prefix and
    generated ids, cut to n).
    """
    return sample(params, prefix, n, np.random.default_rng(0), temperature=0.0,
                  mistake=mistake)


def sample(params: dict[str, np.ndarray], prefix: Sequence[int], n: int,
           rng: np.random.Generator, temperature: float = 1.0, h0: np.ndarray | None = None,
           mistake: str | None = None) -> list[int]:
    """Generate ``n`` token ids after ``prefix``, feeding each sampled token back as input.

    The prefix is read first (the *warm-up*); then each step draws the next id from
    ``softmax(o_t / temperature)`` and uses its one-hot vector as the next input.
    ``temperature < 1`` sharpens the distribution, ``> 1`` flattens it, and ``0`` means
    greedy decoding (always the most likely id).

    Args:
        params: dict with ``Wxh (V, H), Whh, bh, Whq (H, V), bq``; inputs are one-hot.
        prefix: at least one token id.
        n: how many ids to generate.
        rng: the random generator used for every draw.
        temperature: >= 0.
        h0: initial state (1, H); zeros by default.
        mistake: as in :func:`generate_greedy`.

    Returns:
        The ``n`` generated ids (the prefix is not included).
    """
    if len(prefix) == 0:
        raise ValueError("sample needs a prefix of at least one token id.")
    if temperature < 0:
        raise ValueError("temperature must be at least 0.")
    Wxh, Whh, bh, Whq, bq = (params[k] for k in PARAM_NAMES)
    V = Wxh.shape[0]
    h = np.zeros((1, Whh.shape[0])) if h0 is None else np.asarray(h0, dtype=np.float64)
    eye = np.eye(V)

    def step(token: int, h: np.ndarray) -> np.ndarray:
        return rnn_step_forward(eye[[token]], h, Wxh, Whh, bh)[0]

    for token in prefix:
        h = step(int(token), h)
    generated: list[int] = []
    for _ in range(n):
        o = output_forward(h, Whq, bq)[0][0]
        if temperature == 0:
            token = int(np.argmax(o))
        else:
            token = int(rng.choice(len(o), p=softmax(o / temperature)))
        generated.append(token)
        if mistake == "no_feedback":
            token = int(prefix[-1])
        h = step(token, np.zeros_like(h) if mistake == "reset_state" else h)
    if mistake == "with_prefix":
        return [int(t) for t in prefix] + generated
    if mistake == "with_prefix_cut":
        return ([int(t) for t in prefix] + generated)[:n]
    return generated
