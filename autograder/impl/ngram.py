"""Lesson 02's exercises: n-gram counts, add-k smoothing, log-probability, perplexity, sampling.

The one implementation of lesson 02-ngrams' answers (each exercise function takes
``mistake=None|"name"``: the right answer and each classic mistake come from the same code),
and the counting model later lessons use (``NGramModel``, ``best_ngram``), handed out to them
as the file ``ngram.py``.

An n-gram model predicts each token from the ``n - 1`` tokens before it:

    P(w | ctx) = (c(ctx, w) + k) / (c(ctx) + k V)

where ``c(ctx, w)`` counts the n-gram ``ctx + (w,)`` in the training text, ``c(ctx)`` is the
sum of those counts over every ``w`` and ``V`` is the number of tokens the model can predict.
The start of every sequence is padded with ``n - 1`` copies of ``BOS`` (``rnnkit.ngram``), so
every token of a sequence is predicted (and ``BOS`` itself never is: it is not part of ``V``).
Perplexity over held-out text is ``exp(total negative log-likelihood / number of predicted
tokens)`` over the whole text; a uniform model over ``V`` tokens has perplexity exactly ``V``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from rnnkit.ngram import BOS

LESSON = "02-ngrams"

__all__ = [
    "BOS",
    "DEFAULT_KS",
    "NGramModel",
    "best_ngram",
    "pad_start",
    "perplexity_table",
    "ngram_counts",
    "context_counts",
    "smoothed_prob",
    "sequence_logprob",
    "perplexity",
    "next_token_probs",
    "sample_tokens",
]

DEFAULT_KS = (1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0)


def pad_start(tokens: Sequence[str], n: int) -> list[str]:
    """``[BOS] * (n - 1) + tokens``: the context of the first token is all padding."""
    return [BOS] * (n - 1) + list(tokens)


# ---------------------------------------------------------------------------- exercises


def ngram_counts(tokens: Sequence[str], n: int, mistake: str | None = None) -> dict:
    """Exercise 1: ``{(w_1, ..., w_n): count}`` over every run of ``n`` consecutive tokens.

    Mistakes: ``"drop_last"`` (the last window is missed: ``range(len(tokens) - n)``),
    ``"n_minus_1"`` / ``"n_plus_1"`` (windows of the wrong length), ``"string_keys"`` (keys
    joined into strings), ``"bare_unigrams"`` (``n = 1`` keys are tokens, not 1-tuples),
    ``"presence"`` (every value 1)."""
    tokens = list(tokens)
    size = {"n_minus_1": n - 1, "n_plus_1": n + 1}.get(mistake, n)
    stop = len(tokens) - size + (0 if mistake == "drop_last" else 1)
    counts = dict(Counter(tuple(tokens[i:i + size]) for i in range(max(stop, 0))))
    if mistake == "string_keys":
        return {" ".join(g): c for g, c in counts.items()}
    if mistake == "bare_unigrams" and n == 1:
        return {g[0]: c for g, c in counts.items()}
    if mistake == "presence":
        return {g: 1 for g in counts}
    return counts


def context_counts(counts: dict, mistake: str | None = None) -> dict:
    """Exercise 1: ``c(ctx) = sum_w c(ctx + (w,))``, the context being ``gram[:-1]``.

    Mistakes: ``"distinct"`` (how many different n-grams start with the context, not the sum
    of their counts), ``"last_tokens"`` (the context taken as ``gram[1:]``)."""
    out: Counter = Counter()
    for gram, c in counts.items():
        ctx = tuple(gram[1:]) if mistake == "last_tokens" else tuple(gram[:-1])
        out[ctx] += 1 if mistake == "distinct" else c
    return dict(out)


def smoothed_prob(word: str, context, counts: dict, ctx_counts: dict, V: int, k: float,
                  mistake: str | None = None) -> float:
    """Exercise 2: ``(c(context, word) + k) / (c(context) + k V)``.

    Mistakes: ``"k_only"`` (``+ k`` in the denominator), ``"no_kV"`` (nothing added to it),
    ``"V_only"`` (``+ V``), ``"kn"`` (``+ k * n``, the n-gram order instead of V),
    ``"unsmoothed"`` (``c / c(context)``). Each returns None where it divides by zero."""
    ctx = tuple(context)
    c = counts.get(ctx + (word,), 0)
    cc = ctx_counts.get(ctx, 0)
    num = c if mistake == "unsmoothed" else c + k
    den = {"k_only": cc + k, "no_kV": cc, "V_only": cc + V, "kn": cc + k * (len(ctx) + 1),
           "unsmoothed": cc}.get(mistake, cc + k * V)
    if den == 0:
        if mistake is None:
            raise ZeroDivisionError(f"context {ctx!r} was never seen and k = 0.")
        return None
    return num / den


def sequence_logprob(tokens: Sequence[str], n: int, counts: dict, ctx_counts: dict, V: int,
                     k: float, mistake: str | None = None) -> float:
    """Exercise 3: ``sum_t log P_k(w_t | previous n - 1 tokens)``, start padded with n - 1 BOS.

    Mistakes: ``"no_padding"`` (the first n - 1 tokens are not predicted), ``"context_n"``
    (the context is the n tokens before the word, ``padded[t - n:t]``), ``"log2"``,
    ``"sign"`` (the NLL), ``"prob"`` (the probability itself). Each returns None where it is
    undefined."""
    padded = list(tokens) if mistake == "no_padding" else pad_start(tokens, n)
    start = n - 1
    total = 0.0
    for t in range(start, len(padded)):
        lo = t - n if mistake == "context_n" else t - n + 1
        p = smoothed_prob(padded[t], padded[lo:t], counts, ctx_counts, V, k)
        if p <= 0:
            return None
        total += math.log2(p) if mistake == "log2" else math.log(p)
    if mistake == "sign":
        return -total
    if mistake == "prob":
        return math.exp(total)
    return float(total)


def perplexity(logprobs: Sequence[float], lengths: Sequence[int],
               mistake: str | None = None) -> float:
    """Exercise 4: ``exp(-sum(logprobs) / sum(lengths))``: pooled over every predicted token.

    Mistakes: ``"mean_of_ppl"`` (mean of per-sequence perplexities), ``"mean_of_nll"``
    (per-sequence mean NLLs averaged), ``"cross_entropy"`` (no exponential), ``"pow2"``
    (``2 **`` of a natural-log cross-entropy), ``"bits"`` (cross-entropy in bits),
    ``"inverse"`` (the minus sign missing), ``"per_sequence"`` (divided by the number of
    sequences)."""
    lp = np.asarray(logprobs, dtype=float)
    L = np.asarray(lengths, dtype=float)
    H = -lp.sum() / L.sum()
    if mistake == "mean_of_ppl":
        return float(np.mean(np.exp(-lp / L)))
    if mistake == "mean_of_nll":
        return float(np.exp(np.mean(-lp / L)))
    if mistake == "cross_entropy":
        return float(H)
    if mistake == "pow2":
        return float(2.0 ** H)
    if mistake == "bits":
        return float(H / math.log(2))
    if mistake == "inverse":
        return float(math.exp(-H))
    if mistake == "per_sequence":
        return float(math.exp(-lp.sum() / len(lp)))
    return float(math.exp(H))


def next_token_probs(context, counts: dict, ctx_counts: dict, vocab: Sequence[str], k: float,
                     mistake: str | None = None) -> np.ndarray:
    """Exercise 5: ``P_k(w | context)`` for every ``w`` of ``vocab``, shape ``(V,)``.

    Mistakes: ``"bos_in_V"`` (V counts BOS too: the row sums to less than 1),
    ``"unsmoothed"`` (k forgotten: raw frequencies)."""
    V = len(vocab) + (1 if mistake == "bos_in_V" else 0)
    kk = 0.0 if mistake == "unsmoothed" else k
    ps = [smoothed_prob(w, context, counts, ctx_counts, V, kk) if
          ctx_counts.get(tuple(context), 0) + kk * V else None for w in vocab]
    if any(p is None for p in ps):
        return None
    return np.array(ps, dtype=float)


def sample_tokens(n: int, counts: dict, ctx_counts: dict, vocab: Sequence[str], k: float,
                  length: int, rng: np.random.Generator, mistake: str | None = None):
    """Exercise 5: ``length`` tokens from the padded start; one ``rng.choice(len(vocab),
    p=...)`` per token, from the last n - 1 tokens of the history.

    Mistakes: ``"whole_history"`` (``history[-(n - 1):]``, the whole list when n = 1),
    ``"no_bos"`` (the history starts empty), ``"last_n"`` (the context is the last n
    tokens), ``"no_slide"`` (the first n - 1 tokens of the history every time),
    ``"greedy"`` (the most probable token instead of a draw). Returns None where the mistake
    gives no distribution (an unseen context with k = 0)."""
    m = n - 1
    history = [] if mistake == "no_bos" else [BOS] * m
    out: list[str] = []
    for _ in range(int(length)):
        if mistake == "whole_history":
            context = history[-m:]
        elif mistake == "last_n":
            context = history[-n:]
        elif mistake == "no_slide":
            context = history[:m]
        else:
            context = history[len(history) - m:]
        p = next_token_probs(context, counts, ctx_counts, vocab, k)
        if p is None or not np.all(np.isfinite(p)) or not math.isclose(p.sum(), 1.0,
                                                                        rel_tol=1e-6):
            return None
        i = int(np.argmax(p)) if mistake == "greedy" else int(rng.choice(len(vocab), p=p))
        history.append(vocab[i])
        out.append(vocab[i])
    return out


# ---------------------------------------------------------------------------- the model


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

    def fit(self, sequences, vocab: Iterable[str] | None = None) -> NGramModel:
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
        self.counts, totals = {}, Counter()
        for gram, c in grams.items():
            ctx = gram[:-1]
            self.counts.setdefault(ctx, Counter())[gram[-1]] = c
            totals[ctx] += c
        self.ctx_totals = dict(totals)
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

    def perplexity(self, sequences) -> float:
        """``exp(-sum of log-probabilities / number of predicted tokens)`` over all of the
        text (one token list, or a list of token lists each padded at its start)."""
        seqs = _as_sequences(sequences)
        total = sum(len(s) for s in seqs)
        if total == 0:
            raise ValueError("perplexity of an empty text is undefined.")
        return float(math.exp(-sum(self.logprob(s) for s in seqs) / total))

    def sample(self, length: int, rng: np.random.Generator, context: Sequence[str] = ()
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


def perplexity_table(train: Sequence[str], valid: Sequence[str], ns: Iterable[int] = range(1, 8),
                     ks: Iterable[float] = DEFAULT_KS):
    """Train and held-out perplexity of every ``(n, k)``.

    Returns ``(ns, ks, train_ppl, valid_ppl)`` with the two tables of shape
    ``(len(ns), len(ks))``. The vocabulary is every token of either text (a closed
    vocabulary), so no held-out token is unknown.
    """
    ns, ks = [int(n) for n in ns], [float(k) for k in ks]
    vocab = sorted(set(train) | set(valid))
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


def best_ngram(train_tokens: Sequence[str], valid_tokens: Sequence[str],
               ns: Iterable[int] = range(1, 8), ks: Iterable[float] = DEFAULT_KS
               ) -> tuple[int, float, float]:
    """The ``(n, k, perplexity)`` with the lowest perplexity on ``valid_tokens``.

    n and k are chosen on the same held-out text they are scored on, so the number is a
    slightly optimistic estimate of what a counting model can do: a fair, strong baseline.
    """
    ns, ks, _, valid_ppl = perplexity_table(train_tokens, valid_tokens, ns, ks)
    row, col = np.unravel_index(int(np.argmin(valid_ppl)), valid_ppl.shape)
    return ns[row], ks[col], float(valid_ppl[row, col])
