import math
from collections import Counter

import numpy as np

from rnnkit.corpus import SyntheticLanguage, make_corpus


def test_language_is_seeded_and_deterministic():
    a, b = SyntheticLanguage(seed=3), SyntheticLanguage(seed=3)
    assert a.words == b.words and np.array_equal(a.transition, b.transition)
    assert a.sample_text(500, seed=1) == b.sample_text(500, seed=1)
    assert SyntheticLanguage(seed=4).words != a.words


def test_transition_rows_are_distributions():
    lang = SyntheticLanguage()
    assert np.allclose(lang.transition.sum(axis=1), 1.0)
    pi = lang.stationary()
    assert np.allclose(pi @ lang.transition, pi) and abs(pi.sum() - 1) < 1e-12


def test_entropy_per_char_matches_the_empirical_log_likelihood():
    """The true model's average log-loss on a long sample approaches the stated entropy."""
    lang = SyntheticLanguage(seed=0)
    rng = np.random.default_rng(7)
    ids = lang.sample_words(60_000, rng)
    nll = -sum(math.log(lang.transition[a, b]) for a, b in zip(ids[:-1], ids[1:]))
    chars = len(lang.render(ids[1:]))
    assert abs(nll / chars - lang.entropy_per_char()) / lang.entropy_per_char() < 0.03
    assert 1.0 < lang.perplexity_floor() < 2.0


def test_make_corpus_splits_differ_and_use_a_small_alphabet():
    train, valid, lang = make_corpus(n_train=20_000, n_valid=5_000)
    assert len(train) == 20_000 and len(valid) == 5_000 and train[:200] != valid[:200]
    assert len(set(train)) <= 30
    counts = Counter(train.split())
    assert counts.most_common(1)[0][1] > 10 * counts.most_common()[-1][1]  # Zipf-like
