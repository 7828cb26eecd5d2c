"""Lesson 02 (n-grams): random cases, classic mistakes and visible cases of its tests.

The answers themselves are :mod:`autograder.impl.ngram`; every expected value and every
mistake here is computed from it (a mistake is the same function with ``mistake=...``).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from autograder.impl import ngram as impl
from autograder.mistakes import Planted, answer_source, plant
from autograder.render import cases, distinct_mistakes

HANDOUTS = ["text"]  # lesson 01's tokenizer, released beside the notebook as text.py

BOS = impl.BOS

# expected values of the hidden tests, from the one implementation
ngram_counts = impl.ngram_counts
context_counts = impl.context_counts
smoothed_prob = impl.smoothed_prob
sequence_logprob = impl.sequence_logprob
perplexity = impl.perplexity
next_token_probs = impl.next_token_probs
sample_tokens = impl.sample_tokens

# ---------------------------------------------------------------------------- sentences

COUNT_SENTENCES = {
    "drop_last": ("the last n-gram of the text is missing: a text of T tokens has T - n + 1 "
                  "n-grams, and the last one starts at index T - n."),
    "n_minus_1": "these are counts of (n - 1)-grams: each key should hold n tokens.",
    "n_plus_1": "these are counts of (n + 1)-grams: each key should hold n tokens.",
    "string_keys": "the keys should be tuples of tokens such as ('a', 'b'), not joined strings.",
    "bare_unigrams": "even for n = 1 the keys are tuples, ('a',), not the token 'a' itself.",
    "presence": ("every value is 1: count how many times each n-gram occurs, not just whether "
                 "it occurs."),
}
CONTEXT_SENTENCES = {
    "distinct": ("each context should add up the counts of the n-grams that start with it, not "
                 "the number of different n-grams that start with it."),
    "last_tokens": ("the context of an n-gram is its FIRST n - 1 tokens (gram[:-1]), not its "
                    "last ones."),
}
PROB_SENTENCES = {
    "k_only": ("the denominator has k where it needs k·V: each of the V words got k extra "
               "counts, so without V the probabilities over the vocabulary sum to more than 1."),
    "no_kV": ("the denominator lacks the k·V added counts: with c(context) alone the "
              "probabilities over the vocabulary sum to more than 1."),
    "V_only": "the denominator adds V without multiplying it by k.",
    "kn": ("the denominator adds k·n, with n the length of the n-gram; the k extra counts go to "
           "each of the V words that can follow, so it is k·V."),
    "unsmoothed": ("this is the unsmoothed estimate c(context, word) / c(context): add-k adds k "
                   "to the count and k·V to the denominator."),
}
PROB_SUM_SENTENCES = {
    "k_only": "the probabilities sum to more than 1 because the denominator has k, not k·V.",
    "no_kV": "the probabilities sum to more than 1 because the denominator lacks the k·V.",
    "V_only": "the probabilities do not sum to 1 because V in the denominator is not times k.",
    "kn": "the probabilities do not sum to 1 because the denominator has k·n, not k·V.",
}
LOGPROB_SENTENCES = {
    "no_padding": ("the first n - 1 tokens are not predicted: every token is, the first ones "
                   "from a context padded with n - 1 copies of BOS."),
    "context_n": ("each token's context is the n - 1 tokens before it; this uses n tokens, a "
                  "context that was never counted."),
    "log2": ("this is log base 2; the course uses the natural log (nats), math.log or "
             "np.log."),
    "sign": ("the sign is flipped: a log-probability is negative (this is the negative "
             "log-likelihood)."),
    "prob": ("this is the probability itself; return its logarithm, the sum of the "
             "log-probabilities (a product of many probabilities underflows)."),
}
PERPLEXITY_SENTENCES = {
    "mean_of_ppl": ("this is the mean of the per-sequence perplexities; perplexity is "
                    "exp(total NLL / total tokens) over the whole text, so long sequences weigh "
                    "more."),
    "mean_of_nll": ("this averages the per-sequence mean NLLs (each sequence weighs the same); "
                    "the total NLL is divided by the total number of tokens."),
    "cross_entropy": ("this is the cross-entropy in nats per token; perplexity is its "
                      "exponential."),
    "pow2": ("this is 2 to the power of a natural-log cross-entropy; with natural logs "
             "perplexity is exp(·) (2^ goes with log base 2)."),
    "bits": ("this is the cross-entropy in bits per token (log base 2, no exponential); "
             "perplexity is exp of the cross-entropy in nats."),
    "inverse": ("this is 1 / perplexity: the minus sign is missing (the NLL is minus the "
                "log-probability)."),
    "per_sequence": ("this divides by the number of sequences; perplexity divides by the total "
                     "number of predicted tokens."),
}
NEXT_SENTENCES = {
    "bos_in_V": ("V counts BOS too: V is the number of tokens that can be predicted, "
                 "len(vocab), and BOS is never predicted (so these sum to less than 1)."),
    "unsmoothed": "k is missing: these are the unsmoothed frequencies, not the add-k ones.",
}
SAMPLE_SENTENCES = {
    "whole_history": ("with n = 1 the context must be empty, but history[-(n - 1):] is "
                      "history[-0:], the whole history."),
    "no_bos": ("the history should start as n - 1 copies of BOS, so that the first token is "
               "drawn from the context seen at the start of the training text."),
    "last_n": "the context should be the last n - 1 tokens of the history, not the last n.",
    "no_slide": ("the context must slide: it is the LAST n - 1 tokens of the history at every "
                 "step, not the first ones."),
    "greedy": ("this takes the most probable token at every step; sampling draws each token "
               "at random from the distribution, once per token with rng.choice."),
}

# ---------------------------------------------------------------------------- mistakes


def _variants(fn, sentences, *args, **kwargs):
    return [(fn(*args, mistake=m, **kwargs), s) for m, s in sentences.items()]


def count_mistakes(tokens, n):
    return distinct_mistakes(ngram_counts(tokens, n),
                             _variants(ngram_counts, COUNT_SENTENCES, tokens, n))


def context_mistakes(counts):
    return distinct_mistakes(context_counts(counts),
                             _variants(context_counts, CONTEXT_SENTENCES, counts))


def prob_mistakes(word, context, counts, ctx_counts, V, k):
    return distinct_mistakes(smoothed_prob(word, context, counts, ctx_counts, V, k),
                             _variants(smoothed_prob, PROB_SENTENCES, word, context, counts,
                                       ctx_counts, V, k), atol=1e-9)


def prob_sum_mistakes(context, counts, ctx_counts, vocab, k):
    pairs = []
    for m, s in PROB_SUM_SENTENCES.items():
        ps = [smoothed_prob(w, context, counts, ctx_counts, len(vocab), k, mistake=m)
              for w in vocab]
        pairs.append((None if None in ps else float(sum(ps)), s))
    return distinct_mistakes(1.0, pairs, atol=1e-9)


def logprob_mistakes(tokens, n, counts, ctx_counts, V, k):
    return distinct_mistakes(sequence_logprob(tokens, n, counts, ctx_counts, V, k),
                             _variants(sequence_logprob, LOGPROB_SENTENCES, tokens, n, counts,
                                       ctx_counts, V, k), atol=1e-9)


def perplexity_mistakes(logprobs, lengths):
    return distinct_mistakes(perplexity(logprobs, lengths),
                             _variants(perplexity, PERPLEXITY_SENTENCES, logprobs, lengths),
                             atol=1e-9)


def next_mistakes(context, counts, ctx_counts, vocab, k):
    return distinct_mistakes(next_token_probs(context, counts, ctx_counts, vocab, k),
                             _variants(next_token_probs, NEXT_SENTENCES, context, counts,
                                       ctx_counts, vocab, k), atol=1e-9)


def sample_mistakes(n, counts, ctx_counts, vocab, k, length, seed):
    """Wrong samples for one case, each drawn with ``np.random.default_rng(seed)`` like the
    test."""
    right = sample_tokens(n, counts, ctx_counts, vocab, k, length, np.random.default_rng(seed))
    return distinct_mistakes(right, [
        (sample_tokens(n, counts, ctx_counts, vocab, k, length, np.random.default_rng(seed),
                       mistake=m), s) for m, s in SAMPLE_SENTENCES.items()])


# ---------------------------------------------------------------------------- visible cases

_TOKS = ["a", "b", "a", "b", "b"]
_GRAMS = {("a", "b"): 2, ("b", "a"): 1, ("b", "b"): 1, ("a", "c"): 3}
_UNIGRAMS = {("a",): 2, ("b",): 3}
_TEXT = ["a", "b", "a", "c", "a", "b"]  # "a b a c a b", the smoothing and sampling tests' text
_VOCAB = ["a", "b", "c"]


def _counts(tokens, n):
    c = ngram_counts(impl.pad_start(tokens, n), n)
    return c, context_counts(c)


@cases("t02_counts")
def _t02_counts():
    return {"_toks": _TOKS,
            "_c2_expected": ngram_counts(_TOKS, 2), "_c2_mistakes": count_mistakes(_TOKS, 2),
            "_c1_expected": ngram_counts(_TOKS, 1), "_c1_mistakes": count_mistakes(_TOKS, 1),
            "_c3_expected": ngram_counts(_TOKS, 3), "_c3_mistakes": count_mistakes(_TOKS, 3),
            "_grams": _GRAMS, "_cc_expected": context_counts(_GRAMS),
            "_cc_mistakes": context_mistakes(_GRAMS),
            "_unigrams": _UNIGRAMS, "_cc1_expected": context_counts(_UNIGRAMS)}


@cases("t02_smoothed")
def _t02_smoothed():
    c, cc = _counts(_TEXT, 2)
    return {"_c": c, "_cc": cc,
            "_p_expected": smoothed_prob("b", ("a",), c, cc, 3, 0.5),
            "_p_mistakes": prob_mistakes("b", ("a",), c, cc, 3, 0.5),
            "_unseen_expected": smoothed_prob("a", ("a",), c, cc, 3, 0.5),
            "_new_context_expected": smoothed_prob("b", ("z",), c, cc, 3, 0.5),
            "_sum_mistakes": prob_sum_mistakes(("a",), c, cc, _VOCAB, 0.5),
            "_p2_expected": smoothed_prob("b", ("a",), c, cc, 3, 2.0),
            "_p2_mistakes": prob_mistakes("b", ("a",), c, cc, 3, 2.0)}


@cases("t02_logprob")
def _t02_logprob():
    c, cc = _counts(_TEXT, 2)
    c1, cc1 = _counts(_TEXT, 1)
    return {"_c": c, "_cc": cc, "_p_expected": smoothed_prob("b", ("a",), c, cc, 3, 0.5),
            "_lp_expected": sequence_logprob(["a", "b"], 2, c, cc, 3, 0.5),
            "_lp_mistakes": logprob_mistakes(["a", "b"], 2, c, cc, 3, 0.5),
            "_lp2_expected": sequence_logprob(["c", "c", "b"], 2, c, cc, 3, 0.5),
            "_lp2_mistakes": logprob_mistakes(["c", "c", "b"], 2, c, cc, 3, 0.5),
            "_c1": c1, "_cc1": cc1,
            "_lp1_expected": sequence_logprob(["a", "b"], 1, c1, cc1, 3, 0.5),
            "_lp1_mistakes": logprob_mistakes(["a", "b"], 1, c1, cc1, 3, 0.5)}


@cases("t02_perplexity")
def _t02_perplexity():
    lp, lengths = [-2.0, -9.0], [2, 6]
    return {"_lp": lp, "_len": lengths, "_expected": perplexity(lp, lengths),
            "_mistakes": perplexity_mistakes(lp, lengths)}


@cases("t02_sampling")
def _t02_sampling():
    c, cc = _counts(_TEXT, 2)
    c1, cc1 = _counts(_TEXT, 1)
    cyc, cyc_cc = _counts(["a", "b", "c", "a", "b", "c"], 2)
    return {"_c": c, "_cc": cc, "_c1": c1, "_cc1": cc1, "_vocab": _VOCAB,
            "_p_expected": smoothed_prob("b", ("a",), c, cc, 3, 0.5),
            "_next_expected": next_token_probs(("a",), c, cc, _VOCAB, 0.5),
            "_next_mistakes": next_mistakes(("a",), c, cc, _VOCAB, 0.5),
            "_next1_expected": next_token_probs((), c1, cc1, _VOCAB, 0.5),
            "_next1_mistakes": next_mistakes((), c1, cc1, _VOCAB, 0.5),
            "_s2_expected": sample_tokens(2, c, cc, _VOCAB, 0.1, 10, np.random.default_rng(0)),
            "_s2_mistakes": sample_mistakes(2, c, cc, _VOCAB, 0.1, 10, 0),
            "_s1_expected": sample_tokens(1, c1, cc1, _VOCAB, 0.1, 10,
                                          np.random.default_rng(0)),
            "_s1_mistakes": sample_mistakes(1, c1, cc1, _VOCAB, 0.1, 10, 0),
            "_cyc": cyc, "_cyc_cc": cyc_cc,
            "_cyc_expected": sample_tokens(2, cyc, cyc_cc, _VOCAB, 0.0, 8,
                                           np.random.default_rng(0))}


# ---- random cases for hidden tests -------------------------------------------------


def random_tokens(rng: np.random.Generator, letters: int = 7, lo: int = 1, hi: int = 40):
    """A random text over the first 2 to ``letters - 1`` letters; returns (alphabet, text)."""
    alpha = list("abcdefgh")[: int(rng.integers(2, letters))]
    return alpha, rng.choice(alpha, size=int(rng.integers(lo, hi))).tolist()


def random_model(rng: np.random.Generator, ks=(0.05, 0.3, 1.0)):
    """(alphabet, n, training text, counts, context counts, k) of a random padded model."""
    alpha, train = random_tokens(rng, 7, 5, 50)
    n = int(rng.integers(1, 5))
    c, cc = _counts(train, n)
    return alpha, n, train, c, cc, float(rng.choice(ks))


# ---------------------------------------------------------------------------- MCQs

MCQ_REASONS = {
    4: {"A": ("wrong: an n-gram model sees only the last n-1 tokens, never the whole "
              "sequence."),
        "B": "right: the context is a fixed window of n-1 previous tokens.",
        "C": ("wrong: the opposite — the number of possible n-grams grows as V**n, so most are "
              "never seen and the model needs a great deal of data (section 8)."),
        "D": ("right: anything further back than n-1 tokens cannot influence the next "
              "token's probability.")},
}

# ---------------------------------------------------------------------------- planted mistakes

_NOTEBOOK = Path(__file__).resolve().parents[2] / "solutions" / "02-ngrams" / "02-ngrams.ipynb"
_plant = partial(plant, _NOTEBOOK)
_answer_source = partial(answer_source, _NOTEBOOK)


def _planted() -> list[Planted]:
    if not _NOTEBOOK.exists():
        return []
    cnt, prob, lp, ppl, smp = ("q02_counts", "q02_smoothed", "q02_logprob", "q02_perplexity",
                               "q02_sampling")
    t_cnt, t_prob, t_lp, t_ppl, t_smp = ("t02_counts", "t02_smoothed", "t02_logprob",
                                         "t02_perplexity", "t02_sampling")
    window = "range(len(tokens) - n + 1)"
    gram = "tuple(tokens[i:i + n])"
    ppl_right = "math.exp(-sum(logprobs) / sum(lengths))"
    ctx_slice = "history[len(history) - (n - 1):]"
    return [
        _plant(cnt, t_cnt, "last n-gram", "drop_last", (window, "range(len(tokens) - n)")),
        _plant(cnt, t_cnt, "not joined strings", "string_keys", (gram, '" ".join(tokens[i:i + n])')),
        _plant(cnt, t_cnt, "even for n = 1", "bare_unigrams",
               (gram, "(tuple(tokens[i:i + n]) if n > 1 else tokens[i])")),
        _plant(cnt, t_cnt, "every value is 1", "presence",
               (f"dict(Counter({gram} for i in {window}))", f"{{{gram}: 1 for i in {window}}}")),
        _plant(cnt, t_cnt, "(n + 1)-grams", "n_plus_1",
               ("tokens[i:i + n]) for i in range(len(tokens) - n + 1)",
                "tokens[i:i + n + 1]) for i in range(len(tokens) - n)")),
        _plant(cnt, t_cnt, "not the number of different", "distinct",
               ("totals[gram[:-1]] += c", "totals[gram[:-1]] += 1")),
        _plant(cnt, t_cnt, "FIRST n - 1 tokens", "last_tokens",
               ("totals[gram[:-1]] += c", "totals[gram[1:]] += c")),
        _plant(prob, t_prob, "has k where it needs k·V", "k_only",
               ("+ k * V)", "+ k)")),
        _plant(prob, t_prob, "lacks the k·V", "no_kV",
               ("(ctx_counts.get(ctx, 0) + k * V)", "ctx_counts.get(ctx, 0)")),
        _plant(prob, t_prob, "without multiplying it by k", "V_only", ("+ k * V)", "+ V)")),
        _plant(prob, t_prob, "adds k·n", "kn", ("+ k * V)", "+ k * (len(ctx) + 1))")),
        _plant(prob, t_prob, "unsmoothed", "unsmoothed",
               ("(counts.get(ctx + (word,), 0) + k) / (ctx_counts.get(ctx, 0) + k * V)",
                "counts.get(ctx + (word,), 0) / ctx_counts.get(ctx, 0)")),
        _plant(prob, t_prob, "the context is a list", "no_tuple",
               ("ctx = tuple(context)", "ctx = context")),
        _plant(prob, t_prob, "bigram never seen", "unseen_gram_keyerror",
               ("counts.get(ctx + (word,), 0)", "counts[ctx + (word,)]")),
        _plant(prob, t_prob, "context never seen", "unseen_context_keyerror",
               ("ctx_counts.get(ctx, 0)", "ctx_counts[ctx]")),
        _plant(lp, t_lp, "not predicted", "no_padding",
               ("padded = [BOS] * (n - 1) + list(tokens)", "padded = list(tokens)")),
        _plant(lp, t_lp, "uses n tokens", "context_n", ("padded[t - n + 1:t]", "padded[t - n:t]")),
        _plant(lp, t_lp, "log base 2", "log2", ("math.log(smoothed_prob", "math.log2(smoothed_prob")),
        _plant(lp, t_lp, "sign is flipped", "sign", ("total += math.log", "total -= math.log")),
        _plant(lp, t_lp, "probability itself", "prob",
               ("total = 0.0", "total = 1.0"), ("total += math.log(", "total *= ("),),
        _plant(prob, t_lp, "fix exercise 2, smoothed_prob first", "earlier_k_only",
               ("+ k * V)", "+ k)")),
        _plant(ppl, t_ppl, "mean of the per-sequence perplexities", "mean_of_ppl",
               (ppl_right, "np.mean([math.exp(-lp / L) for lp, L in zip(logprobs, lengths)])")),
        _plant(ppl, t_ppl, "averages the per-sequence mean NLLs", "mean_of_nll",
               (ppl_right, "math.exp(np.mean([-lp / L for lp, L in zip(logprobs, lengths)]))")),
        _plant(ppl, t_ppl, "cross-entropy in nats", "cross_entropy",
               (ppl_right, "-sum(logprobs) / sum(lengths)")),
        _plant(ppl, t_ppl, "2 to the power", "pow2",
               (ppl_right, "2 ** (-sum(logprobs) / sum(lengths))")),
        _plant(ppl, t_ppl, "in bits", "bits",
               (ppl_right, "-sum(logprobs) / sum(lengths) / math.log(2)")),
        _plant(ppl, t_ppl, "1 / perplexity", "inverse",
               (ppl_right, "math.exp(sum(logprobs) / sum(lengths))")),
        _plant(ppl, t_ppl, "number of sequences", "per_sequence",
               (ppl_right, "math.exp(-sum(logprobs) / len(logprobs))")),
        _plant(smp, t_smp, "BOS is never predicted", "bos_in_V",
               ("V = len(vocab)", "V = len(vocab) + 1")),
        _plant(smp, t_smp, "with n = 1 the context must be empty", "whole_history",
               (ctx_slice, "history[-(n - 1):]")),
        _plant(smp, t_smp, "start as n - 1 copies of BOS", "no_bos",
               ("history = [BOS] * (n - 1)", "history = []")),
        _plant(smp, t_smp, "not the last n.", "last_n", (ctx_slice, "history[-n:]")),
        _plant(smp, t_smp, "must slide", "no_slide", (ctx_slice, "history[:n - 1]")),
        _plant(smp, t_smp, "most probable token", "greedy",
               ("int(rng.choice(len(vocab), p=p))", "int(np.argmax(p))")),
        _plant(prob, t_smp, "fix exercise 2, smoothed_prob first", "earlier_V_only",
               ("+ k * V)", "+ V)")),
    ]


PLANTED: list[Planted] = _planted()
