"""The counting n-gram model (autograder.impl.ngram: lesson 02's answers and the model later
lessons get) and rnnkit.ngram's tools: counts, add-k probabilities, perplexity, sampling,
figures."""

import math
import time

import numpy as np
import pytest

from autograder.impl import ngram as impl
from autograder.impl.ngram import NGramModel, best_ngram, pad_start, perplexity_table
from rnnkit.corpus import make_corpus
from rnnkit.ngram import (
    BOS,
    distinct_ngrams,
    ngram_dashboard,
    perplexity_by_order_figure,
    sparsity_figure,
    unseen_fraction,
)


def test_pad_start_adds_n_minus_one_bos():
    assert pad_start(["a"], 3) == [BOS, BOS, "a"]
    assert pad_start(["a"], 1) == ["a"]


def test_bigram_counts_and_add_k_probability_by_hand():
    m = NGramModel(2, k=0.5).fit(list("abab"))
    # padded: <s> a b a b  ->  (<s>,a) (a,b) (b,a) (a,b)
    assert m.counts[("a",)] == {"b": 2}
    assert m.ctx_totals == {(BOS,): 1, ("a",): 2, ("b",): 1}
    assert m.prob("b", ("a",)) == pytest.approx((2 + 0.5) / (2 + 0.5 * 2))
    assert m.prob("a", ("a",)) == pytest.approx(0.5 / 3)
    assert m.prob("a", ()) == pytest.approx(1.5 / 2)  # empty history is all padding


def test_unigram_counts_every_token_with_empty_context():
    m = NGramModel(1, k=0).fit(["the", "cat", "the"])
    assert m.ctx_totals == {(): 3}
    assert m.prob("the", ["anything"]) == pytest.approx(2 / 3)
    assert m.greedy(4) == ["the"] * 4  # the unigram model that says "the the the the"


@pytest.mark.parametrize("n", [1, 2, 3, 4])
@pytest.mark.parametrize("k", [0.01, 1.0])
def test_next_probs_sum_to_one_and_match_prob(n, k):
    rng = np.random.default_rng(n)
    toks = rng.choice(list("abcde"), size=60).tolist()
    m = NGramModel(n, k).fit(toks)
    for ctx in [(), ("a",), ("e", "e", "e"), tuple(toks[:5]), ("c", "d")]:
        p = m.next_probs(ctx)
        assert p.shape == (5,)
        assert p.sum() == pytest.approx(1.0)
        assert p == pytest.approx([m.prob(w, ctx) for w in m.vocab])


def test_unseen_context_without_smoothing_is_an_error():
    m = NGramModel(2, k=0).fit(list("ab"))
    with pytest.raises(ValueError, match="never seen"):
        m.next_probs(["b"])


def test_logprob_sums_log_conditionals_from_the_padded_start():
    train = list("abracadabra")
    m = NGramModel(3, k=0.1).fit(train)
    test = list("abcab")
    history = [BOS, BOS] + test
    want = sum(math.log(m.prob(history[t + 2], history[t:t + 2])) for t in range(len(test)))
    assert m.logprob(test) == pytest.approx(want)


def test_uniform_model_has_perplexity_exactly_v():
    vocab = list("abcdefg")
    m = NGramModel(3, k=1.0).fit([], vocab=vocab)  # nothing counted: every P is 1/V
    assert m.perplexity(list("gabbadec")) == pytest.approx(len(vocab), rel=1e-12)


def test_perplexity_pools_tokens_rather_than_averaging_sequences():
    m = NGramModel(2, k=0.3).fit(list("aabbbabab"))
    seqs = [list("ab"), list("bbbbaaab")]
    lps = [m.logprob(s) for s in seqs]
    pooled = math.exp(-sum(lps) / 10)
    mean_of_ppl = np.mean([math.exp(-lp / len(s)) for lp, s in zip(lps, seqs)])
    assert m.perplexity(seqs) == pytest.approx(pooled)
    assert abs(pooled - mean_of_ppl) > 0.05  # the two really differ on this case


def test_unknown_tokens_and_bad_arguments_are_clear_errors():
    m = NGramModel(2).fit(list("abc"))
    with pytest.raises(ValueError, match="not in the model's vocabulary"):
        m.logprob(list("abz"))
    with pytest.raises(ValueError):
        NGramModel(0)
    with pytest.raises(ValueError):
        NGramModel(2, k=-1)


def test_sampling_is_seeded_and_follows_the_context_window():
    m = NGramModel(2, k=0).fit(list("abcabcabc"))
    assert m.sample(7, np.random.default_rng(0)) == list("abcabca")  # one follower each
    m3 = NGramModel(3, k=0.5).fit(list("abacabad"))
    a = m3.sample(20, np.random.default_rng(5))
    assert a == m3.sample(20, np.random.default_rng(5))
    assert a != m3.sample(20, np.random.default_rng(6))


def test_sample_frequencies_match_next_probs():
    m = NGramModel(2, k=0.2).fit(list("aababcabca"))
    rng = np.random.default_rng(1)
    draws = [m.sample(1, rng, context=["a"])[0] for _ in range(4000)]
    freq = np.array([draws.count(w) for w in m.vocab]) / len(draws)
    assert freq == pytest.approx(m.next_probs(["a"]), abs=0.03)


def test_distinct_and_unseen_ngrams():
    assert distinct_ngrams(list("aaab"), [1, 2, 3]) == [2, 2, 2]
    assert unseen_fraction(list("abab"), list("abba"), 2) == pytest.approx(1 / 3)


def test_perplexity_table_shapes_and_training_fit_improves_with_n():
    train, valid, _ = make_corpus(5000, 1000, seed=3)
    _ns, _ks, tr, va = perplexity_table(list(train), list(valid), range(1, 5), [0.01, 1.0])
    assert tr.shape == va.shape == (4, 2)
    assert np.all(np.diff(tr[:, 0]) < 0)
    assert tr[0, 0] < len(set(train) | set(valid))  # unigram already beats uniform


def test_best_ngram_is_fast_and_close_to_the_true_floor():
    train, valid, lang = make_corpus()
    start = time.perf_counter()
    n, _k, ppl = best_ngram(list(train), list(valid))
    assert time.perf_counter() - start < 5.0
    floor = lang.perplexity_floor()
    assert 4 <= n <= 7
    assert floor * 0.98 < ppl < floor * 1.10


def test_figures_have_titles_and_labelled_axes():
    toks = list("abcabcaab")
    figs = [sparsity_figure(toks, range(1, 4)),
            perplexity_by_order_figure([1, 2], [3.0, 2.0], [3.1, 2.5], floor=1.5)]
    for fig in figs:
        assert fig.layout.title.text
        assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
        assert fig.layout.yaxis.type == "log"
    possible, seen, total = figs[0].data
    assert list(possible.y) == [3.0, 9.0, 27.0] and list(seen.y) == distinct_ngrams(toks, [1, 2, 3])
    assert list(total.y) == [9, 8, 7]
    train, held_out, floor = figs[1].data
    assert list(train.y) == [3.0, 2.0] and list(held_out.y) == [3.1, 2.5]
    assert list(floor.y) == [1.5, 1.5] and list(train.x) == [1, 2]
    seen = figs[0].data[1].y
    assert list(seen) == distinct_ngrams(toks, range(1, 4))


def test_dashboard_slider_updates_the_one_figure_and_the_sample():
    train, valid, _ = make_corpus(3000, 600, seed=1)
    ns = [1, 2, 3]
    models = [NGramModel(n, 0.01).fit(list(train), vocab=set(train) | set(valid)) for n in ns]
    samples = {n: "".join(m.sample(30, np.random.default_rng(0))) for n, m in zip(ns, models)}
    box = ngram_dashboard(ns, [m.perplexity(list(train)) for m in models],
                          [m.perplexity(list(valid)) for m in models], samples)
    fig = box.figure
    before = box.text.value
    box.slider.value = 3
    assert box.figure is fig
    assert list(fig.data[-1].x) == [3, 3]
    assert "n = 3" in box.text.value and box.text.value != before
    with pytest.raises(ValueError, match="no sample"):
        ngram_dashboard(ns, [1.0] * 3, [1.0] * 3, {1: "a"})


# ---------------------------------------------------------------- the exercises' answers


def _random_case(seed: int):
    rng = np.random.default_rng(seed)
    vocab = list("abcdef")[: int(rng.integers(2, 7))]
    n = int(rng.integers(1, 5))
    train = rng.choice(vocab, size=int(rng.integers(5, 60))).tolist()
    test = rng.choice(vocab, size=int(rng.integers(1, 20))).tolist()
    return vocab, n, train, test, float(rng.choice([0.05, 0.5, 2.0]))


@pytest.mark.parametrize("seed", range(12))
def test_exercise_functions_agree_with_the_model(seed):
    vocab, n, train, test, k = _random_case(seed)
    model = NGramModel(n, k).fit(train, vocab=vocab)
    c = impl.ngram_counts(pad_start(train, n), n)
    cc = impl.context_counts(c)
    assert cc == model.ctx_totals
    assert sum(c.values()) == len(train)
    ctx = tuple(pad_start(test, n)[-n:-1]) if n > 1 else ()
    for w in vocab:
        assert impl.smoothed_prob(w, ctx, c, cc, len(vocab), k) == pytest.approx(
            model.prob(w, ctx))
    assert impl.next_token_probs(ctx, c, cc, vocab, k) == pytest.approx(model.next_probs(ctx))
    lp = impl.sequence_logprob(test, n, c, cc, len(vocab), k)
    assert lp == pytest.approx(model.logprob(test))
    assert impl.perplexity([lp, lp], [len(test), len(test)]) == pytest.approx(
        model.perplexity([test, test]))
    assert impl.sample_tokens(n, c, cc, vocab, k, 15, np.random.default_rng(seed)) == \
        model.sample(15, np.random.default_rng(seed))


def test_counts_of_a_text_shorter_than_n_are_empty_and_unigram_keys_are_tuples():
    assert impl.ngram_counts(["a"], 2) == {}
    assert impl.ngram_counts(list("aab"), 1) == {("a",): 2, ("b",): 1}
    assert impl.context_counts({("a",): 2, ("b",): 3}) == {(): 5}


def test_add_k_sums_to_one_and_an_unseen_context_is_uniform():
    c = impl.ngram_counts(pad_start(list("abacab"), 2), 2)
    cc = impl.context_counts(c)
    assert sum(impl.smoothed_prob(w, ["a"], c, cc, 3, 0.5) for w in "abc") == pytest.approx(1)
    assert impl.smoothed_prob("b", ("z",), c, cc, 3, 0.5) == pytest.approx(1 / 3)
    with pytest.raises(ZeroDivisionError):
        impl.smoothed_prob("b", ("z",), c, cc, 3, 0.0)


def test_uniform_perplexity_is_v_and_every_mistake_differs_from_the_answer():
    assert impl.perplexity([3 * math.log(1 / 5), 7 * math.log(1 / 5)], [3, 7]) == \
        pytest.approx(5.0)
    lp, L = [-2.0, -9.0], [2, 6]
    right = impl.perplexity(lp, L)
    for m in ("mean_of_ppl", "mean_of_nll", "cross_entropy", "pow2", "bits", "inverse",
              "per_sequence"):
        assert not math.isclose(impl.perplexity(lp, L, mistake=m), right, rel_tol=1e-6), m
    c = impl.ngram_counts(pad_start(list("abacab"), 2), 2)
    cc = impl.context_counts(c)
    right = impl.sequence_logprob(list("ab"), 2, c, cc, 3, 0.5)
    for m in ("no_padding", "context_n", "log2", "sign", "prob"):
        assert not math.isclose(impl.sequence_logprob(list("ab"), 2, c, cc, 3, 0.5, mistake=m),
                                right), m
    right = impl.smoothed_prob("b", "a", c, cc, 3, 0.5)
    for m in ("k_only", "no_kV", "V_only", "kn", "unsmoothed"):
        assert not math.isclose(impl.smoothed_prob("b", "a", c, cc, 3, 0.5, mistake=m),
                                right), m
