"""Counting n-gram language models: add-k smoothing, log-probability, perplexity, sampling.

An n-gram model predicts each token from the ``n - 1`` tokens before it:

    P(w | ctx) = (c(ctx, w) + k) / (c(ctx) + k V)

where ``c(ctx, w)`` counts the n-gram ``ctx + (w,)`` in the training text, ``c(ctx)`` is the
sum of those counts over every ``w`` and ``V`` is the number of tokens the model can predict.
The start of every sequence is padded with ``n - 1`` copies of :data:`BOS`, so every token of
a sequence is predicted (and ``BOS`` itself never is: it is not part of ``V``).

Perplexity over held-out text is ``exp(total negative log-likelihood / number of predicted
tokens)`` over the whole text; a uniform model over ``V`` tokens has perplexity exactly ``V``.

The module also holds this lesson's plotly figures (sparsity, perplexity against n) and the
n-slider dashboard.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
import plotly.graph_objects as go

LESSON = "02-ngrams"

__all__ = [
    "BOS",
    "NGramModel",
    "best_ngram",
    "distinct_ngrams",
    "ngram_dashboard",
    "pad_start",
    "perplexity_figure",
    "perplexity_table",
    "sparsity_figure",
    "unseen_fraction",
]

BOS = "<s>"
"""The start-of-sequence token that pads the first ``n - 1`` positions."""

DEFAULT_KS = (1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0)


def pad_start(tokens: Sequence[str], n: int) -> list[str]:
    """``[BOS] * (n - 1) + tokens``: the context of the first token is all padding."""
    return [BOS] * (n - 1) + list(tokens)


def _windows(tokens: Sequence[str], n: int) -> Iterable[tuple[str, ...]]:
    """Every run of ``n`` consecutive tokens, as tuples (``n = 1`` gives 1-tuples)."""
    return zip(*(tokens[i:] for i in range(n)))


def _as_sequences(tokens_or_sequences) -> list[list[str]]:
    """One token list, or a list of token lists, as a list of token lists."""
    items = list(tokens_or_sequences)
    if all(isinstance(t, str) for t in items):
        return [items]
    return [list(s) for s in items]


class NGramModel:
    """An n-gram language model with add-k smoothing, fitted by counting.

    >>> m = NGramModel(2, k=0.5).fit(list("abab"))
    >>> round(m.prob("b", ("a",)), 4)  # (2 + 0.5) / (2 + 0.5 * 2)
    0.8333

    Attributes after :meth:`fit`: ``vocab`` (list of the ``V`` predictable tokens),
    ``counts`` (``ctx -> Counter(next token -> count)``) and ``ctx_totals``
    (``ctx -> c(ctx)``), where ``ctx`` is a tuple of ``n - 1`` tokens.
    """

    def __init__(self, n: int, k: float = 1.0):
        if int(n) < 1:
            raise ValueError(f"n must be at least 1, not {n}.")
        if k < 0:
            raise ValueError(f"k must be non-negative, not {k}.")
        self.n = int(n)
        self.k = float(k)
        self.vocab: list[str] = []
        self.index: dict[str, int] = {}
        self.counts: dict[tuple[str, ...], Counter] = {}
        self.ctx_totals: dict[tuple[str, ...], int] = {}

    def __repr__(self) -> str:
        return f"NGramModel(n={self.n}, k={self.k:g}, V={len(self.vocab)})"

    @property
    def V(self) -> int:
        return len(self.vocab)

    def fit(
        self,
        sequences: Sequence[str] | Sequence[Sequence[str]],
        vocab: Iterable[str] | None = None,
    ) -> NGramModel:
        """Count the n-grams of one token list, or of several (each padded at its start).

        ``vocab`` defaults to the sorted distinct training tokens.
        """
        seqs = _as_sequences(sequences)
        types = set().union(*map(set, seqs)) if seqs else set()
        self.vocab = sorted(set(vocab) if vocab is not None else types)
        if BOS in self.vocab:
            raise ValueError(f"{BOS!r} pads the start of a sequence and cannot be a token.")
        self.index = {t: i for i, t in enumerate(self.vocab)}
        unknown = types - set(self.vocab)
        if unknown:
            raise ValueError(f"training token {min(unknown)!r} is not in vocab.")
        grams: Counter = Counter()
        for seq in seqs:
            grams.update(_windows(pad_start(seq, self.n), self.n))
        self.counts, self.ctx_totals = {}, Counter()
        for gram, c in grams.items():
            ctx = gram[:-1]
            self.counts.setdefault(ctx, Counter())[gram[-1]] = c
            self.ctx_totals[ctx] += c
        self.ctx_totals = dict(self.ctx_totals)
        return self

    def _check_token(self, token: str) -> None:
        if token not in self.index:
            raise ValueError(
                f"token {token!r} is not in the model's vocabulary of {self.V} tokens; "
                "fit with a vocab that includes it."
            )

    def prob(self, word: str, context: Sequence[str]) -> float:
        """``P(word | context)``; only the last ``n - 1`` tokens of ``context`` are used."""
        self._check_token(word)
        ctx = self._context(context)
        c = self.counts.get(ctx, {}).get(word, 0)
        return (c + self.k) / (self.ctx_totals.get(ctx, 0) + self.k * self.V)

    def _context(self, history: Sequence[str]) -> tuple[str, ...]:
        """The last ``n - 1`` tokens of ``history``, padded with BOS on the left."""
        m = self.n - 1
        if m == 0:
            return ()
        hist = list(history)[-m:]
        return tuple([BOS] * (m - len(hist)) + hist)

    def next_probs(self, context: Sequence[str]) -> np.ndarray:
        """Distribution over ``vocab`` of the next token, shape ``(V,)``; sums to 1."""
        ctx = self._context(context)
        p = np.full(self.V, self.k, dtype=np.float64)
        for w, c in self.counts.get(ctx, {}).items():
            p[self.index[w]] += c
        total = self.ctx_totals.get(ctx, 0) + self.k * self.V
        if total == 0:
            raise ValueError(
                f"context {ctx!r} was never seen and k = 0: the next token has no distribution."
            )
        return p / total

    def heldout_counts(self, tokens: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """For each token of ``tokens`` (padded at the start): ``c(ctx, w)`` and ``c(ctx)``.

        Both arrays have shape ``(T,)``; ``P = (c + k) / (c_ctx + k V)`` for any ``k``.
        """
        for t in set(tokens):
            self._check_token(t)
        c = np.empty(len(tokens), dtype=np.float64)
        cc = np.empty(len(tokens), dtype=np.float64)
        empty: dict = {}
        for t, gram in enumerate(_windows(pad_start(tokens, self.n), self.n)):
            ctx = gram[:-1]
            c[t] = self.counts.get(ctx, empty).get(gram[-1], 0)
            cc[t] = self.ctx_totals.get(ctx, 0)
        return c, cc

    def logprob(self, tokens: Sequence[str]) -> float:
        """Natural log of ``P(tokens)``: the sum of ``log P(w_t | previous n - 1 tokens)``."""
        c, cc = self.heldout_counts(tokens)
        with np.errstate(divide="ignore"):
            return float(np.sum(np.log(c + self.k) - np.log(cc + self.k * self.V)))

    def perplexity(self, sequences: Sequence[str] | Sequence[Sequence[str]]) -> float:
        """``exp(-sum of log-probabilities / number of predicted tokens)`` over all of the
        text (one token list, or a list of token lists each padded at its start)."""
        seqs = _as_sequences(sequences)
        total = sum(len(s) for s in seqs)
        if total == 0:
            raise ValueError("perplexity of an empty text is undefined.")
        return float(math.exp(-sum(self.logprob(s) for s in seqs) / total))

    def sample(
        self, length: int, rng: np.random.Generator, context: Sequence[str] = ()
    ) -> list[str]:
        """``length`` tokens drawn one at a time, each with ``rng.choice(V, p=next_probs)``
        from the last ``n - 1`` tokens (``context`` first, padded with BOS)."""
        history = list(context)
        out: list[str] = []
        for _ in range(int(length)):
            i = int(rng.choice(self.V, p=self.next_probs(history)))
            history.append(self.vocab[i])
            out.append(self.vocab[i])
        return out

    def greedy(self, length: int, context: Sequence[str] = ()) -> list[str]:
        """``length`` tokens, each the most probable next token (ties: first in vocab)."""
        history = list(context)
        out: list[str] = []
        for _ in range(int(length)):
            w = self.vocab[int(np.argmax(self.next_probs(history)))]
            history.append(w)
            out.append(w)
        return out


def distinct_ngrams(tokens: Sequence[str], ns: Iterable[int]) -> list[int]:
    """How many different n-grams occur in ``tokens`` (no padding), for each ``n``."""
    return [len(set(_windows(list(tokens), int(n)))) for n in ns]


def unseen_fraction(train: Sequence[str], valid: Sequence[str], n: int) -> float:
    """Fraction of the n-grams of ``valid`` (with repeats) that never occur in ``train``."""
    seen = set(_windows(list(train), n))
    grams = list(_windows(list(valid), n))
    if not grams:
        raise ValueError(f"valid has fewer than n = {n} tokens.")
    return sum(g not in seen for g in grams) / len(grams)


def _vocab(train: Sequence[str], valid: Sequence[str]) -> list[str]:
    return sorted(set(train) | set(valid))


def perplexity_table(
    train: Sequence[str],
    valid: Sequence[str],
    ns: Iterable[int] = range(1, 8),
    ks: Iterable[float] = DEFAULT_KS,
) -> tuple[list[int], list[float], np.ndarray, np.ndarray]:
    """Train and held-out perplexity of every ``(n, k)``.

    Returns ``(ns, ks, train_ppl, valid_ppl)`` with the two tables of shape
    ``(len(ns), len(ks))``. The vocabulary is every token of either text (a closed
    vocabulary), so no held-out token is unknown.
    """
    ns, ks = [int(n) for n in ns], [float(k) for k in ks]
    vocab = _vocab(train, valid)
    V = len(vocab)
    k_arr = np.asarray(ks)[None, :]
    tables = []
    models = [NGramModel(n).fit(list(train), vocab=vocab) for n in ns]
    for text in (train, valid):
        table = np.empty((len(ns), len(ks)))
        for row, model in enumerate(models):
            c, cc = model.heldout_counts(list(text))
            with np.errstate(divide="ignore"):
                logp = np.log(c[:, None] + k_arr) - np.log(cc[:, None] + k_arr * V)
            table[row] = np.exp(-logp.mean(axis=0))
        tables.append(table)
    return ns, ks, tables[0], tables[1]


def best_ngram(
    train_tokens: Sequence[str],
    valid_tokens: Sequence[str],
    ns: Iterable[int] = range(1, 8),
    ks: Iterable[float] = DEFAULT_KS,
) -> tuple[int, float, float]:
    """The ``(n, k, perplexity)`` with the lowest perplexity on ``valid_tokens``.

    n and k are chosen on the same held-out text they are scored on, so the number is a
    slightly optimistic estimate of what a counting model can do: a fair, strong baseline.
    """
    ns, ks, _, valid_ppl = perplexity_table(train_tokens, valid_tokens, ns, ks)
    row, col = np.unravel_index(int(np.argmin(valid_ppl)), valid_ppl.shape)
    return ns[row], ks[col], float(valid_ppl[row, col])


def sparsity_figure(
    tokens: Sequence[str],
    ns: Iterable[int] = range(1, 8),
    V: int | None = None,
    title: str = "Sparsity: n-grams seen in the text against n-grams possible",
) -> go.Figure:
    """Distinct n-grams in ``tokens`` against the ``V ** n`` possible ones (log scale)."""
    ns = [int(n) for n in ns]
    tokens = list(tokens)
    V = V if V is not None else len(set(tokens))
    seen = distinct_ngrams(tokens, ns)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=ns, y=[float(V) ** n for n in ns], mode="lines+markers",
                             name=f"possible (V^n, V = {V})"))
    fig.add_trace(go.Scatter(x=ns, y=seen, mode="lines+markers", name="distinct n-grams seen"))
    fig.add_trace(go.Scatter(x=ns, y=[len(tokens) - n + 1 for n in ns], mode="lines",
                             name="n-grams in the text (with repeats)",
                             line={"dash": "dash", "color": "gray"}))
    fig.update_layout(
        title=title, xaxis_title="n (tokens per n-gram)", yaxis_title="number of n-grams",
        yaxis_type="log", height=380, margin={"t": 50, "b": 40},
    )
    return fig


def _perplexity_traces(ns, train_ppl, valid_ppl, floor):
    traces = [
        go.Scatter(x=ns, y=list(train_ppl), mode="lines+markers", name="training text"),
        go.Scatter(x=ns, y=list(valid_ppl), mode="lines+markers", name="held-out text"),
    ]
    if floor is not None:
        traces.append(go.Scatter(x=[ns[0], ns[-1]], y=[floor, floor], mode="lines",
                                 name=f"true floor ({floor:.3g})",
                                 line={"dash": "dash", "color": "gray"}))
    return traces


def perplexity_figure(
    ns: Sequence[int],
    train_ppl: Sequence[float],
    valid_ppl: Sequence[float],
    floor: float | None = None,
    title: str = "Perplexity against n",
    unit: str = "per character",
) -> go.Figure:
    """Train and held-out perplexity against n (log scale), with an optional floor line."""
    fig = go.Figure(_perplexity_traces(list(ns), train_ppl, valid_ppl, floor))
    fig.update_layout(
        title=title, xaxis_title="n (context of n - 1 tokens)",
        yaxis_title=f"perplexity ({unit})", yaxis_type="log", height=380,
        margin={"t": 50, "b": 40},
    )
    return fig


def ngram_dashboard(
    train_tokens: Sequence[str],
    valid_tokens: Sequence[str],
    ns: Iterable[int] = range(1, 9),
    k: float = 0.01,
    sample_length: int = 240,
    seed: int = 0,
    floor: float | None = None,
    joiner: str = "",
):
    """An n slider that shows a sample of the n-gram model and its train and held-out
    perplexity (one FigureWidget, updated in place). Returns an ipywidgets ``VBox``.

    Everything is computed once when the dashboard is built, so moving the slider is instant.
    """
    import html

    import ipywidgets as widgets

    ns = [int(n) for n in ns]
    vocab = _vocab(train_tokens, valid_tokens)
    samples, train_ppl, valid_ppl = {}, [], []
    for n in ns:
        model = NGramModel(n, k).fit(list(train_tokens), vocab=vocab)
        train_ppl.append(model.perplexity(list(train_tokens)))
        valid_ppl.append(model.perplexity(list(valid_tokens)))
        samples[n] = joiner.join(model.sample(sample_length, np.random.default_rng(seed)))
    fig = go.FigureWidget(_perplexity_traces(ns, train_ppl, valid_ppl, floor))
    fig.add_trace(go.Scatter(x=[ns[0]] * 2, y=[train_ppl[0], valid_ppl[0]], mode="markers",
                             marker={"size": 14, "color": "black", "symbol": "circle-open"},
                             name="chosen n"))
    fig.update_layout(
        title=f"Perplexity against n (k = {k:g})", xaxis_title="n (context of n - 1 tokens)",
        yaxis_title="perplexity (per token)", yaxis_type="log", height=360,
        margin={"t": 50, "b": 40},
    )
    slider = widgets.IntSlider(value=ns[0], min=ns[0], max=ns[-1], step=1, description="n",
                               continuous_update=False)
    text = widgets.HTML()

    def show(n: int) -> None:
        i = ns.index(n)
        text.value = (
            f"<b>n = {n}</b>: train perplexity {train_ppl[i]:.3g}, held-out {valid_ppl[i]:.3g}"
            f"<pre style='white-space: pre-wrap'>{html.escape(samples[n])}</pre>"
        )
        with fig.batch_update():
            fig.data[-1].x = [n, n]
            fig.data[-1].y = [train_ppl[i], valid_ppl[i]]

    slider.observe(lambda change: show(change["new"]), names="value")
    show(ns[0])
    box = widgets.VBox([slider, fig, text])
    box.figure, box.slider, box.text = fig, slider, text
    return box
