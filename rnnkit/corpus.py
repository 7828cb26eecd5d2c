"""A seeded synthetic language whose true entropy is known.

Words are made-up syllable strings; the next word depends on the current one through a sparse
transition matrix (a first-order Markov chain over words), and each word is written as its
letters followed by a space, or by ". " at the end of a sentence. Because the text can be cut
back into words without ambiguity, its entropy per character is exactly

    H_char = H_word / E[characters per word]

where H_word is the chain's entropy rate and the expectation is under its stationary
distribution. No model can beat ``exp(H_char)`` perplexity per character on long held-out
text: it is the floor every model in the course is compared with.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["SyntheticLanguage", "make_corpus"]

_ONSETS = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "ch", "sh"]
_VOWELS = ["a", "e", "i", "o", "u"]
_CODAS = ["", "", "", "n", "r", "s", "l"]


def _make_words(rng: np.random.Generator, n_words: int) -> list[str]:
    words: list[str] = []
    seen: set[str] = set()
    while len(words) < n_words:
        n_syll = int(rng.choice([1, 2, 2, 3]))
        w = "".join(
            str(rng.choice(_ONSETS)) + str(rng.choice(_VOWELS)) + str(rng.choice(_CODAS))
            for _ in range(n_syll)
        )
        if w not in seen:
            seen.add(w)
            words.append(w)
    return words


@dataclass
class SyntheticLanguage:
    """A word-level Markov language written out as characters.

    ``SyntheticLanguage(seed=0)`` builds ``n_words`` words (the last one is the full stop
    ".") and, for each word, ``branching`` possible next words, drawn with weights falling as
    ``rank ** -zipf``, so word frequencies fall off roughly as in natural text (a Zipf
    exponent near 1).
    """

    seed: int = 0
    n_words: int = 60
    branching: int = 8
    zipf: float = 0.6
    sentence_end: float = 0.12
    words: list[str] = field(init=False)
    transition: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        self.words = _make_words(rng, self.n_words - 1) + ["."]
        V = self.n_words
        popularity = 1.0 / np.arange(1, V) ** self.zipf  # word ranks, Zipf-like
        popularity /= popularity.sum()
        P = np.zeros((V, V))
        for i in range(V):
            succ = rng.choice(V - 1, size=self.branching, replace=False, p=popularity)
            w = rng.dirichlet(np.full(self.branching, 0.8))
            P[i, succ] = w * (1 - self.sentence_end)
            P[i, V - 1] = self.sentence_end
        P[V - 1, V - 1] = 0.0  # no empty sentences
        P[V - 1] /= P[V - 1].sum()
        self.transition = P

    @property
    def end(self) -> int:
        return self.n_words - 1

    def stationary(self) -> np.ndarray:
        """Stationary distribution over words (left eigenvector of the transition matrix)."""
        vals, vecs = np.linalg.eig(self.transition.T)
        pi = np.real(vecs[:, np.argmin(np.abs(vals - 1))])
        return pi / pi.sum()

    def written_length(self) -> np.ndarray:
        """Characters each word adds to the text: its letters and a space; the full stop adds
        only "." (it takes the place of the space before it and brings its own)."""
        return np.array([len(w) + 1 for w in self.words[:-1]] + [1.0], dtype=float)

    def entropy_per_word(self) -> float:
        """Entropy rate of the word chain, in nats per word."""
        P = self.transition
        with np.errstate(divide="ignore", invalid="ignore"):
            h = -np.where(P > 0, P * np.log(P), 0.0).sum(axis=1)
        return float(self.stationary() @ h)

    def entropy_per_char(self) -> float:
        """True entropy of the text, in nats per character."""
        return self.entropy_per_word() / float(self.stationary() @ self.written_length())

    def perplexity_floor(self) -> float:
        """``exp(entropy_per_char)``: the best per-character perplexity any model can reach."""
        return float(np.exp(self.entropy_per_char()))

    def sample_words(self, n: int, rng: np.random.Generator) -> list[int]:
        """``n`` word ids, starting after a full stop."""
        ids = np.empty(n, dtype=np.int64)
        cdf = np.cumsum(self.transition, axis=1)
        cur = self.end
        u = rng.random(n)
        for t in range(n):
            cur = int(min(np.searchsorted(cdf[cur], u[t], side="right"), self.n_words - 1))
            ids[t] = cur
        return ids.tolist()

    def render(self, word_ids: list[int]) -> str:
        """Write word ids as text: ``"ba tosh ki. ..."``."""
        parts = []
        for i in word_ids:
            if i == self.end:
                if parts:
                    parts[-1] = parts[-1].rstrip() + ". "
                else:
                    parts.append(". ")
            else:
                parts.append(self.words[i] + " ")
        return "".join(parts)

    def sample_text(self, n_chars: int, seed: int = 0) -> str:
        """About ``n_chars`` characters of text (a whole number of words), seeded."""
        rng = np.random.default_rng(seed)
        mean_len = float(self.stationary() @ self.written_length())
        text = self.render(self.sample_words(int(n_chars / mean_len * 1.1) + 10, rng))
        return text[:n_chars]


def make_corpus(
    n_train: int = 50_000, n_valid: int = 10_000, seed: int = 0
) -> tuple[str, str, SyntheticLanguage]:
    """Train and held-out text from one synthetic language (different sampling seeds)."""
    lang = SyntheticLanguage(seed=seed)
    return lang.sample_text(n_train, seed=seed + 1), lang.sample_text(n_valid, seed=seed + 2), lang
