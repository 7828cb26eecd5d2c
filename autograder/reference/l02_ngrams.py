"""Reference solutions of lesson 02 (n-grams) and the classic wrong answers its tests name.

Each ``*_mistakes`` function returns ``[(wrong_value, sentence), ...]`` for one test case, in
the form :mod:`rnnkit.checks` takes as ``mistakes=``. Nothing here imports ``rnnkit.ngram``:
hidden tests forbid that module while the student's code runs.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

HANDOUTS = ["text"]  # lesson 01's tokenizer, released beside the notebook as text.py

BOS = "<s>"


# --- counts -------------------------------------------------------------------------------

def ngram_counts(tokens: Sequence[str], n: int) -> dict[tuple[str, ...], int]:
    """``{(w_1, ..., w_n): count}`` over every run of ``n`` consecutive tokens."""
    tokens = list(tokens)
    return dict(Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)))


def context_counts(counts: dict[tuple[str, ...], int]) -> dict[tuple[str, ...], int]:
    """``c(ctx) = sum_w c(ctx + (w,))``: each n-gram's count added to its first n - 1 tokens."""
    out: Counter = Counter()
    for gram, c in counts.items():
        out[tuple(gram[:-1])] += c
    return dict(out)


def count_mistakes(tokens: Sequence[str], n: int) -> list[tuple[dict, str]]:
    tokens = list(tokens)
    right = ngram_counts(tokens, n)
    out = []
    last = {g: c for g, c in Counter(
        tuple(tokens[i:i + n]) for i in range(len(tokens) - n)).items()}
    if last != right:
        out.append((last, "the last n-gram of the text is missing — the window starts run "
                          "from 0 to len(tokens) - n inclusive (range(len(tokens) - n + 1))."))
    if n > 1:
        out.append((ngram_counts(tokens, n - 1), f"these are counts of {n - 1}-grams: each key "
                                                 f"should hold n = {n} tokens."))
    out.append((ngram_counts(tokens, n + 1), f"these are counts of {n + 1}-grams: each key "
                                             f"should hold n = {n} tokens."))
    out.append(({" ".join(g): c for g, c in right.items()},
                "the keys should be tuples of tokens such as ('a', 'b'), not joined strings."))
    out.append(({g: 1 for g in right}, "every value is 1: count how many times each n-gram "
                                       "occurs, not just whether it occurs."))
    return out


def context_mistakes(counts: dict[tuple[str, ...], int]) -> list[tuple[dict, str]]:
    followers: Counter = Counter()
    last: Counter = Counter()
    for gram, c in counts.items():
        followers[tuple(gram[:-1])] += 1
        last[tuple(gram[1:])] += c
    out = []
    if dict(followers) != context_counts(counts):
        out.append((dict(followers), "each context should add up the counts of the n-grams "
                                     "that start with it, not count how many different "
                                     "n-grams start with it."))
    if dict(last) != context_counts(counts):
        out.append((dict(last), "the context of an n-gram is its FIRST n - 1 tokens "
                                "(gram[:-1]), not its last ones."))
    return out


# --- add-k probability ----------------------------------------------------------------------

def smoothed_prob(word: str, context: Sequence[str], counts: dict, ctx_counts: dict,
                  V: int, k: float) -> float:
    """``(c(context, word) + k) / (c(context) + k V)``."""
    ctx = tuple(context)
    return (counts.get(ctx + (word,), 0) + k) / (ctx_counts.get(ctx, 0) + k * V)


def prob_mistakes(word, context, counts, ctx_counts, V, k) -> list[tuple[float, str]]:
    ctx = tuple(context)
    c, cc = counts.get(ctx + (word,), 0), ctx_counts.get(ctx, 0)
    right = smoothed_prob(word, context, counts, ctx_counts, V, k)
    out = []
    for wrong, sentence in [
        ((c + k) / (cc + k) if cc + k else None,
         "the denominator needs k·V, not k: every one of the V words got k extra counts, so "
         "without V the probabilities over the vocabulary no longer sum to 1."),
        ((c + k) / cc if cc else None,
         "the denominator needs the k·V added counts too; with c(context) alone the "
         "probabilities over the vocabulary sum to more than 1."),
        ((c + k) / (cc + V) if cc + V else None,
         "the denominator is c(context) + k·V — you added V without multiplying by k."),
        (c / cc if cc else None,
         "this is the unsmoothed estimate c(context, word) / c(context): add k to the count "
         "and k·V to the denominator."),
    ]:
        if wrong is not None and not math.isclose(wrong, right, rel_tol=1e-6):
            out.append((wrong, sentence))
    return out


# --- log-probability of a sequence -------------------------------------------------------------

def sequence_logprob(tokens: Sequence[str], n: int, counts: dict, ctx_counts: dict,
                     V: int, k: float) -> float:
    """``sum_t log P(w_t | w_{t-n+1}, ..., w_{t-1})`` with the start padded by n - 1 BOS."""
    padded = [BOS] * (n - 1) + list(tokens)
    return float(sum(
        math.log(smoothed_prob(padded[t], padded[t - n + 1:t], counts, ctx_counts, V, k))
        for t in range(n - 1, len(padded))
    ))


def logprob_mistakes(tokens, n, counts, ctx_counts, V, k) -> list[tuple[float, str]]:
    right = sequence_logprob(tokens, n, counts, ctx_counts, V, k)
    toks = list(tokens)
    unpadded = sum(
        math.log(smoothed_prob(toks[t], toks[t - n + 1:t], counts, ctx_counts, V, k))
        for t in range(n - 1, len(toks))
    )
    out = [
        (right / math.log(2), "this is log base 2; use the natural log (math.log or np.log), "
                              "the unit the course uses (nats)."),
        (-right, "the sign is flipped: a log-probability is negative (it is minus the "
                 "negative log-likelihood)."),
        (math.exp(right), "this is the probability itself; return its logarithm, a sum of "
                          "log-probabilities (multiplying probabilities underflows)."),
    ]
    if n > 1:
        out.append((unpadded, f"the first n - 1 = {n - 1} tokens are not predicted: pad the "
                              "start with n - 1 copies of BOS so every token is predicted."))
    return [(w, s) for w, s in out if not math.isclose(w, right, rel_tol=1e-9)]


# --- perplexity -------------------------------------------------------------------------------------

def perplexity(logprobs: Sequence[float], lengths: Sequence[int]) -> float:
    """``exp(-sum(logprobs) / sum(lengths))``: pooled over every predicted token."""
    return float(math.exp(-float(np.sum(logprobs)) / float(np.sum(lengths))))


def perplexity_mistakes(logprobs, lengths) -> list[tuple[float, str]]:
    lp = np.asarray(logprobs, dtype=float)
    L = np.asarray(lengths, dtype=float)
    H = -lp.sum() / L.sum()
    right = math.exp(H)
    out = [
        (float(np.mean(np.exp(-lp / L))),
         "this is the mean of the per-sequence perplexities; perplexity is exp(total NLL / "
         "total tokens) over the whole text, so long sequences weigh more."),
        (float(np.exp(np.mean(-lp / L))),
         "this averages the per-sequence mean NLLs (each sequence weighs the same); divide the "
         "total NLL by the total number of tokens instead."),
        (float(H), "this is the cross-entropy in nats per token; perplexity is its "
                   "exponential."),
        (float(2.0 ** H), "this is 2 to the power of a natural-log cross-entropy; with natural "
                          "logs perplexity is exp(·) (2^ goes with log base 2)."),
        (float(H / math.log(2)), "this is the cross-entropy in bits per token (log base 2, "
                                 "no exponential); perplexity is exp of the cross-entropy in "
                                 "nats."),
        (float(math.exp(-H)), "this is 1 / perplexity: the minus sign is missing (the NLL is "
                              "minus the log-probability)."),
        (float(math.exp(-lp.sum() / len(lp))),
         "this divides by the number of sequences; divide by the total number of predicted "
         "tokens."),
    ]
    return [(w, s) for w, s in out if not math.isclose(w, right, rel_tol=1e-6)]


# --- next-token distribution and sampling ----------------------------------------------------

def next_token_probs(context: Sequence[str], counts: dict, ctx_counts: dict,
                     vocab: Sequence[str], k: float) -> np.ndarray:
    """``P(w | context)`` for every ``w`` of ``vocab``, shape ``(V,)``."""
    V = len(vocab)
    return np.array([smoothed_prob(w, context, counts, ctx_counts, V, k) for w in vocab])


def sample_tokens(n: int, counts: dict, ctx_counts: dict, vocab: Sequence[str], k: float,
                  length: int, rng: np.random.Generator) -> list[str]:
    """``length`` tokens from the padded start; each ``rng.choice(len(vocab), p=...)``."""
    history = [BOS] * (n - 1)
    out: list[str] = []
    for _ in range(length):
        context = history[len(history) - (n - 1):]
        p = next_token_probs(context, counts, ctx_counts, vocab, k)
        w = vocab[int(rng.choice(len(vocab), p=p))]
        history.append(w)
        out.append(w)
    return out


def sample_mistakes(n, counts, ctx_counts, vocab, k, length, seed) -> list[tuple[list, str]]:
    """Wrong samples for one case, drawn with ``np.random.default_rng(seed)`` like the test."""
    V = len(vocab)
    right = sample_tokens(n, counts, ctx_counts, vocab, k, length, np.random.default_rng(seed))

    def run(context_of, start):
        rng = np.random.default_rng(seed)
        history, out = list(start), []
        for _ in range(length):
            ctx = tuple(context_of(history))
            p = np.array([smoothed_prob(w, ctx, counts, ctx_counts, V, k) for w in vocab])
            if not np.all(np.isfinite(p)) or not math.isclose(p.sum(), 1.0, rel_tol=1e-6):
                return None
            w = vocab[int(rng.choice(V, p=p))]
            history.append(w)
            out.append(w)
        return out

    m = n - 1
    candidates = [
        (run(lambda h: h[-m:], [BOS] * m),
         "the context is the whole history: with n = 1, history[-(n - 1):] is history[-0:], "
         "which is the whole list — take history[len(history) - (n - 1):] instead."),
        (run(lambda h: h[-m:] if m else (), []),
         f"the history should start as n - 1 = {m} copies of BOS, so the first token is drawn "
         "from the context seen at the start of the training text."),
        (run(lambda h: h[-n:] if n else (), [BOS] * m),
         f"the context should be the last n - 1 = {m} tokens, not the last n."),
        (run(lambda h: h[:m], [BOS] * m),
         "the context must slide: use the LAST n - 1 tokens of the history at every step, "
         "not the first ones."),
    ]
    return [(w, s) for w, s in candidates if w is not None and w != right]


MCQ_REASONS = {
    4: {"A": ("wrong: an n-gram model sees only the last n-1 tokens, never the whole "
              "sequence."),
        "B": "right: the context is a fixed window of n-1 previous tokens.",
        "C": ("wrong: the opposite — the number of possible n-grams grows as V**n, so most are "
              "never seen and the model needs a great deal of data (section 8)."),
        "D": ("right: anything further back than n-1 tokens cannot influence the next "
              "token's probability.")},
}
