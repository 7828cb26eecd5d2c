"""The data sets of lesson 06's five input/output modes, generated from seeded rules.

=====================  ==================================  ===============================
mode                   task                                data
=====================  ==================================  ===============================
one-to-one             a word -> its polarity              :func:`word_polarity_data`
one-to-many            a style -> a melody                 :func:`melody_data`
many-to-one            a review -> positive or negative    :func:`sentiment_data`
many-to-many aligned   a sentence -> one name tag a word   :func:`name_tagging_data`
many-to-many           an English-like sentence -> its     :func:`translation_data`
unaligned              Spanish-like translation
=====================  ==================================  ===============================

Each is a :class:`SeqData` (padded integer arrays and their vocabularies); nothing is
downloaded, so every task has a known right answer. Lesson 07's right-context tagging data
use the same container (:func:`rnnkit.birnn.right_context_data`).

Vocabularies: the word <-> id mapping is lesson 01's exercise (``Vocab``), so this module does
not define one. Every data generator takes it as the keyword argument ``vocab``: a class (or
function) that, called on a list of tokens, returns a vocabulary with ``encode``, ``decode``,
``len`` and ``[token]`` whose id 0 is ``<pad>`` — the notebooks pass lesson 01's ``Vocab``,
handed out beside them as ``text.py`` (``from text import Vocab``). The losses of
:mod:`rnnkit.losses` ignore id 0. Padding a batch of id lists uses torch's own
``pad_sequence``, not lesson 01's ``pad_sequences``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.utils.rnn import pad_sequence

__all__ = [
    "BOS",
    "EOS",
    "MakeVocab",
    "SeqData",
    "make_vocab",
    "melody_data",
    "name_tagging_data",
    "pad_ids",
    "sentiment_data",
    "translation_data",
    "word_polarity_data",
]

BOS, EOS = "<bos>", "<eos>"


@dataclass
class SeqData:
    """A data set as padded integer arrays, with its vocabularies.

    ``X`` inputs: (N, T) token ids (0 = pad) or (N,) class ids; ``Y`` targets: (N,) labels or
    (N, T') token/tag ids (0 = pad, ignored by the losses); ``lengths`` (N,) real input
    lengths. ``src``/``tgt`` are the input and output vocabularies (``tgt`` may be a list of
    label names). ``train``/``valid`` split off by :meth:`split`.
    """

    X: np.ndarray
    Y: np.ndarray
    lengths: np.ndarray
    src: Any
    tgt: Any
    extra: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.X)

    def subset(self, idx: np.ndarray) -> SeqData:
        extra = {k: v[idx] if isinstance(v, np.ndarray) and len(v) == len(self) else v
                 for k, v in self.extra.items()}
        return SeqData(self.X[idx], self.Y[idx], self.lengths[idx], self.src, self.tgt, extra)

    def split(self, n_valid: int) -> tuple[SeqData, SeqData]:
        """The first ``len - n_valid`` examples for training, the rest held out."""
        n = len(self) - n_valid
        return self.subset(np.arange(n)), self.subset(np.arange(n, len(self)))

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(X, Y, lengths)`` as int64 tensors."""
        return (torch.as_tensor(self.X, dtype=torch.long), torch.as_tensor(self.Y, dtype=torch.long),
                torch.as_tensor(self.lengths, dtype=torch.long))


MakeVocab = Callable[[list[str]], Any]


def make_vocab(vocab: MakeVocab, words: list[str], extra: tuple[str, ...] = ()):
    """``vocab`` (lesson 01's Vocab) over each word once, in the order given."""
    return vocab(list(extra) + words)


def pad_ids(seqs: list[list[int]], max_len: int | None = None) -> np.ndarray:
    """(N, T) int64 ids padded on the right with 0 (torch's ``pad_sequence``)."""
    out = pad_sequence([torch.as_tensor(s, dtype=torch.long) for s in seqs], batch_first=True)
    if max_len is not None:
        out = F.pad(out, (0, max_len - out.shape[1]))
    return out.numpy()


POSITIVE_WORDS = ["good", "great", "fun", "superb", "clever"]
NEGATIVE_WORDS = ["bad", "dull", "awful", "weak", "boring"]
NEUTRAL_WORDS = ["the", "plot", "film", "acting", "was", "and", "a", "story", "ending", "cast"]
NEGATION = "not"
POLARITY_NAMES = ["negative", "neutral", "positive"]


def word_polarity_data(*, vocab: MakeVocab) -> SeqData:
    """One-to-one: a single word -> its polarity (0 negative, 1 neutral, 2 positive).

    ``X`` is (N,) word ids, one per example; every word of the sentiment vocabulary once.
    """
    words = POSITIVE_WORDS + NEGATIVE_WORDS + NEUTRAL_WORDS
    vocab = make_vocab(vocab, words + [NEGATION])
    label = {**{w: 2 for w in POSITIVE_WORDS}, **{w: 0 for w in NEGATIVE_WORDS},
             **{w: 1 for w in NEUTRAL_WORDS}}
    X = np.array(vocab.encode(words), dtype=np.int64)
    Y = np.array([label[w] for w in words], dtype=np.int64)
    return SeqData(X, Y, np.ones(len(X), dtype=np.int64), vocab, POLARITY_NAMES)


def sentiment_data(n: int = 2000, seed: int = 0, min_len: int = 4, max_len: int = 12, *,
                   vocab: MakeVocab) -> SeqData:
    """Many-to-one: a review -> 1 (positive) or 0 (negative).

    A review mixes neutral words with a few opinion words; ``"not"`` flips the opinion word
    right after it. The label is the sign of the summed opinion (ties are re-drawn), so the
    order of words matters: "not good" and "good not bad" differ. ``X`` (N, T) padded with 0,
    ``lengths`` (N,).
    """
    rng = np.random.default_rng(seed)
    vocab = make_vocab(vocab, POSITIVE_WORDS + NEGATIVE_WORDS + NEUTRAL_WORDS + [NEGATION])
    reviews, labels = [], []
    while len(reviews) < n:
        T = int(rng.integers(min_len, max_len + 1))
        words = [str(w) for w in rng.choice(NEUTRAL_WORDS, size=T)]
        n_op = int(rng.integers(1, 4))
        for pos in rng.choice(np.arange(1, T), size=min(n_op, T - 1), replace=False):
            words[pos] = str(rng.choice(POSITIVE_WORDS if rng.random() < 0.5 else NEGATIVE_WORDS))
            if rng.random() < 0.3 and words[pos - 1] in NEUTRAL_WORDS:
                words[pos - 1] = NEGATION
        score = 0
        for i, w in enumerate(words):
            s = 1 if w in POSITIVE_WORDS else -1 if w in NEGATIVE_WORDS else 0
            score += -s if i > 0 and words[i - 1] == NEGATION else s
        if score == 0:
            continue
        reviews.append(vocab.encode(words))
        labels.append(int(score > 0))
    X = pad_ids(reviews)
    return SeqData(X, np.array(labels), np.array([len(r) for r in reviews]), vocab,
                   ["negative", "positive"])


NOTES = ["C", "D", "E", "F", "G", "A", "B", "c"]
MELODY_STEPS = {"rising": 1, "falling": -1, "thirds": 2, "leaping": 3}


def melody_data(n: int = 800, T: int = 8, seed: int = 0, *, vocab: MakeVocab) -> SeqData:
    """One-to-many: a style (class id) -> a melody of ``T`` notes.

    The first note is random; each next note moves by the style's step (rising +1, falling
    -1, thirds +2, leaping +3, modulo the 8 notes). ``X`` (N,) style ids; ``Y`` (N, T) note
    ids in ``tgt`` (a Vocab with ``<bos>``, which the decoder reads before the first note).
    """
    rng = np.random.default_rng(seed)
    vocab = make_vocab(vocab, NOTES, extra=(BOS,))
    styles = list(MELODY_STEPS)
    c = rng.integers(0, len(styles), size=n)
    first = rng.integers(0, len(NOTES), size=n)
    steps = np.array([MELODY_STEPS[s] for s in styles])[c]
    notes = (first[:, None] + steps[:, None] * np.arange(T)) % len(NOTES)
    Y = np.array([vocab.encode([NOTES[k] for k in row]) for row in notes], dtype=np.int64)
    return SeqData(c.astype(np.int64), Y, np.full(n, T), styles, vocab)


PERSON_NAMES = ["jon", "snow", "arya", "stark", "ygritte", "ned", "sansa", "bran"]
OTHER_WORDS = ["says", "knows", "nothing", "the", "king", "and", "winter", "is", "coming",
               "north", "sees", "with"]
NER_TAGS = ["<pad>", "O", "B-PER", "I-PER"]


def name_tagging_data(n: int = 1500, seed: int = 0, min_len: int = 4,
                      max_len: int = 10, *, vocab: MakeVocab) -> SeqData:
    """Many-to-many aligned: a sentence -> one tag per word (named entities).

    Tags (ids in ``NER_TAGS``): ``B-PER`` the first word of a name, ``I-PER`` a name word that
    continues the name before it ("jon snow" -> B-PER I-PER), ``O`` every other word; 0 pads.
    Whether a name word is B or I depends on the word to its left.
    """
    rng = np.random.default_rng(seed)
    vocab = make_vocab(vocab, PERSON_NAMES + OTHER_WORDS)
    sents, tags = [], []
    for _ in range(n):
        T = int(rng.integers(min_len, max_len + 1))
        words: list[str] = []
        while len(words) < T:
            if rng.random() < 0.35:
                words += [str(w) for w in rng.choice(PERSON_NAMES, size=int(rng.integers(1, 3)))]
            else:
                words.append(str(rng.choice(OTHER_WORDS)))
        words = words[:T]
        t = [NER_TAGS.index("O") if w not in PERSON_NAMES else
             NER_TAGS.index("I-PER") if i > 0 and words[i - 1] in PERSON_NAMES else
             NER_TAGS.index("B-PER") for i, w in enumerate(words)]
        sents.append(vocab.encode(words))
        tags.append(t)
    X = pad_ids(sents)
    Y = pad_ids(tags)
    return SeqData(X, Y, np.array([len(s) for s in sents]), vocab, NER_TAGS)


SRC_NOUNS = {"cat": "gato", "dog": "perro", "bird": "pajaro", "fish": "pez"}
SRC_ADJS = {"red": "rojo", "big": "grande", "small": "pequeno", "old": "viejo"}
SRC_VERBS = {"sees": "ve", "likes": "quiere", "bites": "muerde"}
ARTICLES = ["the", "a"]


def translation_data(n: int = 3000, seed: int = 0, *, vocab: MakeVocab) -> SeqData:
    """Many-to-many unaligned: an English-like sentence -> its Spanish-like translation.

    Source grammar ``article [adjective] noun verb article [adjective] noun``; the
    translation drops the articles and puts adjectives after their noun:
    "the red cat sees a dog" -> "gato rojo ve perro <eos>". Source 5-7 words, target 4-6
    tokens: output position t does not line up with input position t. ``X`` (N, 7), ``Y``
    (N, 6) padded with 0; ``tgt`` has ``<bos>`` and ``<eos>``.
    """
    rng = np.random.default_rng(seed)
    src = make_vocab(vocab, ARTICLES + list(SRC_ADJS) + list(SRC_NOUNS) + list(SRC_VERBS))
    tgt = make_vocab(vocab, list(SRC_ADJS.values()) + list(SRC_NOUNS.values()) + list(SRC_VERBS.values()),
                 extra=(BOS, EOS))

    def phrase() -> tuple[list[str], list[str]]:
        noun = str(rng.choice(list(SRC_NOUNS)))
        art = str(rng.choice(ARTICLES))
        if rng.random() < 0.5:
            adj = str(rng.choice(list(SRC_ADJS)))
            return [art, adj, noun], [SRC_NOUNS[noun], SRC_ADJS[adj]]
        return [art, noun], [SRC_NOUNS[noun]]

    xs, ys = [], []
    for _ in range(n):
        (s1, t1), (s2, t2) = phrase(), phrase()
        verb = str(rng.choice(list(SRC_VERBS)))
        xs.append(src.encode(s1 + [verb] + s2))
        ys.append(tgt.encode(t1 + [SRC_VERBS[verb]] + t2 + [EOS]))
    X = pad_ids(xs, max_len=7)
    Y = pad_ids(ys, max_len=6)
    return SeqData(X, Y, np.array([len(x) for x in xs]), src, tgt)
