"""The five input/output modes of a recurrent network, each as a small torch model with data.

=====================  =========================================  ==========================
mode                   which hidden states feed the output        model / data here
=====================  =========================================  ==========================
one-to-one             the single state h_1 (an MLP)              :class:`OneToOne`,
                                                                  :func:`word_polarity_data`
one-to-many            every state; h_0 comes from the input,     :class:`ClassToSequence`,
                       each output is fed back as the next input  :func:`melody_data`
many-to-one            only the state after the last real token   :class:`SequenceClassifier`,
                                                                  :func:`sentiment_data`
many-to-many aligned   every state, one output per input          :class:`Tagger`,
                                                                  :func:`name_tagging_data`
many-to-many           the encoder's final state starts the       :class:`EncoderDecoder`,
unaligned              decoder; every decoder state feeds one     :func:`translation_data`
                       output token
=====================  =========================================  ==========================

All data are generated here from seeded rules (no downloads), so every model's task has a
known right answer. Token id 0 is ``<pad>`` in every vocabulary (``rnnkit.text.Vocab``); the
loss functions ignore it. Each model trains in about a second with ``rnnkit.train.fit``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import plotly.graph_objects as go
import torch
import torch.nn.functional as F
from torch import nn

try:  # lesson 01's answers: the hand-out file text.py beside the notebook
    from text import Vocab, pad_sequences  # type: ignore[import-not-found]
except ImportError:  # outside a released lesson folder (the course's own tests)
    from autograder.impl.text import Vocab, pad_sequences

__all__ = [
    "MODES",
    "NumpyStep",
    "ClassToSequence",
    "EncoderDecoder",
    "OneToOne",
    "SeqData",
    "SequenceClassifier",
    "Tagger",
    "accuracy",
    "batches",
    "classifier_loss",
    "loss_curves_figure",
    "modes_figure",
    "melody_data",
    "name_tagging_data",
    "right_context_data",
    "sentiment_data",
    "sequence_loss",
    "tag_accuracy",
    "tagging_loss",
    "train",
    "translation_data",
    "word_polarity_data",
]

MODES: tuple[str, ...] = (
    "one-to-one",
    "one-to-many",
    "many-to-one",
    "many-to-many aligned",
    "many-to-many unaligned",
)

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
    src: Vocab | list[str]
    tgt: Vocab | list[str]
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


def _vocab(words: list[str], extra: tuple[str, ...] = ()) -> Vocab:
    """A Vocab holding each word once, in the order given (``<pad>`` 0, ``<unk>`` 1)."""
    return Vocab(list(extra) + words)


# ---------------------------------------------------------------------------------------------
# Data, one generator per mode
# ---------------------------------------------------------------------------------------------

POSITIVE = ["good", "great", "fun", "superb", "clever"]
NEGATIVE = ["bad", "dull", "awful", "weak", "boring"]
NEUTRAL = ["the", "plot", "film", "acting", "was", "and", "a", "story", "ending", "cast"]
NEGATION = "not"
POLARITY_NAMES = ["negative", "neutral", "positive"]


def word_polarity_data() -> SeqData:
    """One-to-one: a single word -> its polarity (0 negative, 1 neutral, 2 positive).

    ``X`` is (N,) word ids, one per example; every word of the sentiment vocabulary once.
    """
    words = POSITIVE + NEGATIVE + NEUTRAL
    vocab = _vocab(words + [NEGATION])
    label = {**{w: 2 for w in POSITIVE}, **{w: 0 for w in NEGATIVE}, **{w: 1 for w in NEUTRAL}}
    X = np.array(vocab.encode(words), dtype=np.int64)
    Y = np.array([label[w] for w in words], dtype=np.int64)
    return SeqData(X, Y, np.ones(len(X), dtype=np.int64), vocab, POLARITY_NAMES)


def sentiment_data(n: int = 2000, seed: int = 0, min_len: int = 4, max_len: int = 12) -> SeqData:
    """Many-to-one: a review -> 1 (positive) or 0 (negative).

    A review mixes neutral words with a few opinion words; ``"not"`` flips the opinion word
    right after it. The label is the sign of the summed opinion (ties are re-drawn), so the
    order of words matters: "not good" and "good not bad" differ. ``X`` (N, T) padded with 0,
    ``lengths`` (N,).
    """
    rng = np.random.default_rng(seed)
    vocab = _vocab(POSITIVE + NEGATIVE + NEUTRAL + [NEGATION])
    reviews, labels = [], []
    while len(reviews) < n:
        T = int(rng.integers(min_len, max_len + 1))
        words = [str(w) for w in rng.choice(NEUTRAL, size=T)]
        n_op = int(rng.integers(1, 4))
        for pos in rng.choice(np.arange(1, T), size=min(n_op, T - 1), replace=False):
            words[pos] = str(rng.choice(POSITIVE if rng.random() < 0.5 else NEGATIVE))
            if rng.random() < 0.3 and words[pos - 1] in NEUTRAL:
                words[pos - 1] = NEGATION
        score = 0
        for i, w in enumerate(words):
            s = 1 if w in POSITIVE else -1 if w in NEGATIVE else 0
            score += -s if i > 0 and words[i - 1] == NEGATION else s
        if score == 0:
            continue
        reviews.append(vocab.encode(words))
        labels.append(int(score > 0))
    X, _ = pad_sequences(reviews, pad_id=vocab.pad)
    return SeqData(X, np.array(labels), np.array([len(r) for r in reviews]), vocab,
                   ["negative", "positive"])


NOTES = ["C", "D", "E", "F", "G", "A", "B", "c"]
MELODY_STEPS = {"rising": 1, "falling": -1, "thirds": 2, "leaping": 3}


def melody_data(n: int = 800, T: int = 8, seed: int = 0) -> SeqData:
    """One-to-many: a style (class id) -> a melody of ``T`` notes.

    The first note is random; each next note moves by the style's step (rising +1, falling
    -1, thirds +2, leaping +3, modulo the 8 notes). ``X`` (N,) style ids; ``Y`` (N, T) note
    ids in ``tgt`` (a Vocab with ``<bos>``, which the decoder reads before the first note).
    """
    rng = np.random.default_rng(seed)
    vocab = _vocab(NOTES, extra=(BOS,))
    styles = list(MELODY_STEPS)
    c = rng.integers(0, len(styles), size=n)
    first = rng.integers(0, len(NOTES), size=n)
    steps = np.array([MELODY_STEPS[s] for s in styles])[c]
    notes = (first[:, None] + steps[:, None] * np.arange(T)) % len(NOTES)
    Y = np.array([vocab.encode([NOTES[k] for k in row]) for row in notes], dtype=np.int64)
    return SeqData(c.astype(np.int64), Y, np.full(n, T), styles, vocab)


NAMES = ["jon", "snow", "arya", "stark", "ygritte", "ned", "sansa", "bran"]
OTHER = ["says", "knows", "nothing", "the", "king", "and", "winter", "is", "coming", "north",
         "sees", "with"]
NER_TAGS = ["<pad>", "O", "B-PER", "I-PER"]


def name_tagging_data(n: int = 1500, seed: int = 0, min_len: int = 4,
                      max_len: int = 10) -> SeqData:
    """Many-to-many aligned: a sentence -> one tag per word (named entities).

    Tags (ids in ``NER_TAGS``): ``B-PER`` the first word of a name, ``I-PER`` a name word that
    continues the name before it ("jon snow" -> B-PER I-PER), ``O`` every other word; 0 pads.
    Whether a name word is B or I depends on the word to its left.
    """
    rng = np.random.default_rng(seed)
    vocab = _vocab(NAMES + OTHER)
    sents, tags = [], []
    for _ in range(n):
        T = int(rng.integers(min_len, max_len + 1))
        words: list[str] = []
        while len(words) < T:
            if rng.random() < 0.35:
                words += [str(w) for w in rng.choice(NAMES, size=int(rng.integers(1, 3)))]
            else:
                words.append(str(rng.choice(OTHER)))
        words = words[:T]
        t = [NER_TAGS.index("O") if w not in NAMES else
             NER_TAGS.index("I-PER") if i > 0 and words[i - 1] in NAMES else
             NER_TAGS.index("B-PER") for i, w in enumerate(words)]
        sents.append(vocab.encode(words))
        tags.append(t)
    X, _ = pad_sequences(sents)
    Y, _ = pad_sequences(tags)
    return SeqData(X, Y, np.array([len(s) for s in sents]), vocab, NER_TAGS)


SRC_NOUNS = {"cat": "gato", "dog": "perro", "bird": "pajaro", "fish": "pez"}
SRC_ADJS = {"red": "rojo", "big": "grande", "small": "pequeno", "old": "viejo"}
SRC_VERBS = {"sees": "ve", "likes": "quiere", "bites": "muerde"}
ARTICLES = ["the", "a"]


def translation_data(n: int = 3000, seed: int = 0) -> SeqData:
    """Many-to-many unaligned: an English-like sentence -> its Spanish-like translation.

    Source grammar ``article [adjective] noun verb article [adjective] noun``; the
    translation drops the articles and puts adjectives after their noun:
    "the red cat sees a dog" -> "gato rojo ve perro <eos>". Source 5-7 words, target 4-6
    tokens: output position t does not line up with input position t. ``X`` (N, 7), ``Y``
    (N, 6) padded with 0; ``tgt`` has ``<bos>`` and ``<eos>``.
    """
    rng = np.random.default_rng(seed)
    src = _vocab(ARTICLES + list(SRC_ADJS) + list(SRC_NOUNS) + list(SRC_VERBS))
    tgt = _vocab(list(SRC_ADJS.values()) + list(SRC_NOUNS.values()) + list(SRC_VERBS.values()),
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
    X, _ = pad_sequences(xs, max_len=7)
    Y, _ = pad_sequences(ys, max_len=6)
    return SeqData(X, Y, np.array([len(x) for x in xs]), src, tgt)


# words whose tag is decided by the word after them ("they book a flight" vs "the book")
AMBIGUOUS = ["book", "watch", "park", "fly"]
DETERMINERS = ["the", "a", "my"]
PRONOUNS = ["we", "they", "you"]
RC_TAGS = ["<pad>", "DET", "PRON", "NOUN", "VERB"]


def right_context_data(n: int = 1500, seed: int = 0, T: int = 8) -> SeqData:
    """A tagging task where the right context decides: tag each word NOUN/VERB/DET/PRON.

    An ambiguous word ("book", "watch", "park", "fly") is a VERB when a determiner follows it
    ("book the ...") and a NOUN when a pronoun, another ambiguous word or the end follows.
    Each reading has probability 1/2. Determiners and pronouns are always DET / PRON. A
    one-way RNN at an ambiguous word has not yet read the word that decides it, so it can
    only guess; a BiRNN has. ``extra["ambiguous"]`` (N, T) marks the ambiguous positions.
    """
    rng = np.random.default_rng(seed)
    vocab = _vocab(AMBIGUOUS + DETERMINERS + PRONOUNS)
    fixed = {w: RC_TAGS.index("DET") for w in DETERMINERS}
    fixed.update({w: RC_TAGS.index("PRON") for w in PRONOUNS})
    pool = {"amb": AMBIGUOUS, "det": DETERMINERS, "pron": PRONOUNS}
    X = np.zeros((n, T), dtype=np.int64)
    Y = np.zeros((n, T), dtype=np.int64)
    amb = np.zeros((n, T), dtype=bool)
    for i in range(n):
        words, tags, forced = [], [], None
        for t in range(T):
            kind = forced or str(rng.choice(["amb", "det", "pron"], p=[0.5, 0.25, 0.25]))
            forced = None
            w = str(rng.choice(pool[kind]))
            if kind == "amb":
                amb[i, t] = True
                if t < T - 1 and rng.random() < 0.5:
                    tags.append(RC_TAGS.index("VERB"))
                    forced = "det"
                else:
                    tags.append(RC_TAGS.index("NOUN"))
                    forced = "pron" if rng.random() < 0.5 else "amb"
            else:
                tags.append(fixed[w])
            words.append(w)
        X[i], Y[i] = vocab.encode(words), tags
    return SeqData(X, Y, np.full(n, T), vocab, RC_TAGS, extra={"ambiguous": amb})


def batches(data: SeqData, batch_size: int, seed: int = 0):
    """A function ``epoch -> list of (X, Y, lengths)`` tensor batches, shuffled per epoch
    (what ``fit`` takes as ``batches``)."""
    X, Y, L = data.tensors()

    def epoch_batches(epoch: int) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        order = np.random.default_rng(seed + epoch).permutation(len(data))
        return [(X[idx], Y[idx], L[idx])
                for idx in (torch.as_tensor(order[i:i + batch_size])
                            for i in range(0, len(order), batch_size))]

    return epoch_batches


# ---------------------------------------------------------------------------------------------
# Models, one per mode
# ---------------------------------------------------------------------------------------------


@dataclass
class NumpyStep:
    """One step of a small numpy RNN decoder whose input is a token id (one-hot)::

        h_next = tanh(Wxh[token] + h @ Whh + bh)      Wxh (V, H), Whh (H, H), bh (H,)
        logits = h_next @ Why + by                    Why (H, V), by (V,)

    ``step(token, h) -> (logits (V,), h_next (H,))``: the interface a decoding loop needs.
    A plain class (not a closure), so it can be copied between processes.
    """

    Wxh: np.ndarray
    Whh: np.ndarray
    Why: np.ndarray
    bh: np.ndarray | None = None
    by: np.ndarray | None = None

    def __call__(self, token: int, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pre = self.Wxh[int(token)] + np.asarray(h) @ self.Whh
        h_next = np.tanh(pre if self.bh is None else pre + self.bh)
        logits = h_next @ self.Why
        return (logits if self.by is None else logits + self.by), h_next

    @classmethod
    def random(cls, V: int, H: int, seed: int, scale: float = 1.5) -> NumpyStep:
        """Random weights (normal, std ``scale``), no biases."""
        rng = np.random.default_rng(seed)
        return cls(rng.normal(scale=scale, size=(V, H)), rng.normal(scale=scale, size=(H, H)),
                   rng.normal(scale=scale, size=(H, V)))


class OneToOne(nn.Module):
    """One input, one output: an RNN run for a single step from ``h_0 = 0``.

    With ``h_0 = 0`` the recurrent term ``h_0 @ Whh`` vanishes, so the step is
    ``h_1 = tanh(x @ Wxh + b)``: a feed-forward hidden layer. ``forward(x)`` takes (N,) ids and
    returns (N, C) logits.
    """

    def __init__(self, V: int, C: int, D: int = 8, H: int = 16):
        super().__init__()
        self.embed = nn.Embedding(V, D)
        self.rnn = nn.RNN(D, H, batch_first=True)
        self.out = nn.Linear(H, C)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hs, _ = self.rnn(self.embed(x)[:, None, :])  # a sequence of length 1: (N, 1, H)
        return self.out(hs[:, 0])


class ClassToSequence(nn.Module):
    """One-to-many: a class vector sets ``h_0``; the RNN then writes a sequence.

    ``h_0 = tanh(onehot(c) @ W_ch + b)``; at step t the input is the previous output token
    (``<bos>`` at t = 0), so training uses the true previous token (teacher forcing) and
    :meth:`generate` feeds its own samples back.
    """

    def __init__(self, K: int, V: int, D: int = 16, H: int = 32, bos: int = 2):
        super().__init__()
        self.K, self.bos = K, bos
        self.init_h = nn.Linear(K, H)
        self.embed = nn.Embedding(V, D)
        self.rnn = nn.RNN(D, H, batch_first=True)
        self.out = nn.Linear(H, V)

    def h0(self, c: torch.Tensor) -> torch.Tensor:
        """(N,) class ids -> initial state (1, N, H)."""
        return torch.tanh(self.init_h(F.one_hot(c, self.K).float()))[None]

    def forward(self, c: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: (N,) classes, (N, T) targets -> (N, T, V) logits."""
        prev = torch.cat([torch.full_like(Y[:, :1], self.bos), Y[:, :-1]], dim=1)
        hs, _ = self.rnn(self.embed(prev), self.h0(c))
        return self.out(hs)

    @torch.no_grad()
    def generate(self, c: torch.Tensor, T: int, generator: torch.Generator | None = None,
                 greedy_after: int = 1) -> torch.Tensor:
        """(N,) classes -> (N, T) token ids: sample the first ``greedy_after`` tokens, then
        take the most likely token, each fed back as the next input."""
        h = self.h0(c)
        tok = torch.full((len(c), 1), self.bos, dtype=torch.long)
        out = []
        for t in range(T):
            hs, h = self.rnn(self.embed(tok), h)
            logits = self.out(hs[:, -1])
            if t < greedy_after:
                tok = torch.multinomial(F.softmax(logits, -1), 1, generator=generator)
            else:
                tok = logits.argmax(-1, keepdim=True)
            out.append(tok)
        return torch.cat(out, dim=1)


class SequenceClassifier(nn.Module):
    """Many-to-one: read the whole (padded) sequence, classify from the state after the last
    real token. ``forward(X, lengths)``: (N, T) ids, (N,) lengths -> (N, C) logits."""

    def __init__(self, V: int, C: int, D: int = 16, H: int = 32):
        super().__init__()
        self.embed = nn.Embedding(V, D, padding_idx=0)
        self.rnn = nn.RNN(D, H, batch_first=True)
        self.out = nn.Linear(H, C)

    def forward(self, X: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        hs, _ = self.rnn(self.embed(X))  # (N, T, H)
        last = hs[torch.arange(len(X)), lengths - 1]  # (N, H): not hs[:, -1], a pad position
        return self.out(last)


class Tagger(nn.Module):
    """Many-to-many aligned: one output per input step.

    ``forward(X)``: (N, T) ids -> (N, T, C) logits, from every hidden state. With
    ``bidirectional=True`` each position sees ``[h_fwd_t ; h_bwd_t]`` (2H features).
    """

    def __init__(self, V: int, C: int, D: int = 16, H: int = 32, bidirectional: bool = False):
        super().__init__()
        self.embed = nn.Embedding(V, D, padding_idx=0)
        self.rnn = nn.RNN(D, H, batch_first=True, bidirectional=bidirectional)
        self.out = nn.Linear(H * (2 if bidirectional else 1), C)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        hs, _ = self.rnn(self.embed(X))  # (N, T, H) or (N, T, 2H)
        return self.out(hs)


class EncoderDecoder(nn.Module):
    """Many-to-many unaligned: an encoder RNN reads the source, its final state is the
    decoder's ``h_0``, and the decoder writes the target one token at a time.

    ``forward(X, lengths, Y)``: teacher forcing -> (N, T_out, V_tgt) logits. GRU cells are used
    here because they learn this task in a second; vanilla ``nn.RNN`` cells learn it far more
    slowly.
    """

    def __init__(self, V_src: int, V_tgt: int, D: int = 32, H: int = 64, bos: int = 2,
                 eos: int = 3):
        super().__init__()
        self.bos, self.eos = bos, eos
        self.src_embed = nn.Embedding(V_src, D, padding_idx=0)
        self.tgt_embed = nn.Embedding(V_tgt, D, padding_idx=0)
        self.encoder = nn.GRU(D, H, batch_first=True)
        self.decoder = nn.GRU(D, H, batch_first=True)
        self.out = nn.Linear(H, V_tgt)

    def encode(self, X: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(N, T_in) source ids -> (1, N, H): the encoder state after the last real token."""
        hs, _ = self.encoder(self.src_embed(X))
        return hs[torch.arange(len(X)), lengths - 1][None]

    def forward(self, X: torch.Tensor, lengths: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
        prev = torch.cat([torch.full_like(Y[:, :1], self.bos), Y[:, :-1]], dim=1)
        hs, _ = self.decoder(self.tgt_embed(prev), self.encode(X, lengths))
        return self.out(hs)

    @torch.no_grad()
    def translate(self, X: torch.Tensor, lengths: torch.Tensor, max_len: int = 8) -> list[list[int]]:
        """Greedy decoding: feed each predicted token back until ``<eos>`` (not included)."""
        h = self.encode(X, lengths)
        tok = torch.full((len(X), 1), self.bos, dtype=torch.long)
        out: list[list[int]] = [[] for _ in range(len(X))]
        done = torch.zeros(len(X), dtype=torch.bool)
        for _ in range(max_len):
            hs, h = self.decoder(self.tgt_embed(tok), h)
            tok = self.out(hs[:, -1]).argmax(-1, keepdim=True)
            for i in range(len(X)):
                if not done[i] and int(tok[i]) != self.eos:
                    out[i].append(int(tok[i]))
            done |= tok[:, 0] == self.eos
            if bool(done.all()):
                break
        return out


# ---------------------------------------------------------------------------------------------
# Losses (fit's loss_fn) and metrics
# ---------------------------------------------------------------------------------------------


def classifier_loss(model: nn.Module, batch) -> tuple[torch.Tensor, int]:
    """Cross-entropy of one label per example; ``batch = (X, y, lengths)``."""
    X, y, L = batch
    logits = model(X) if isinstance(model, OneToOne) else model(X, L)
    return F.cross_entropy(logits, y), len(y)


def tagging_loss(model: nn.Module, batch) -> tuple[torch.Tensor, int]:
    """Mean cross-entropy over real (non-pad) positions of a tagger; ``batch = (X, Y, L)``."""
    X, Y, _ = batch
    logits = model(X)
    return F.cross_entropy(logits.transpose(1, 2), Y, ignore_index=0), int((Y != 0).sum())


def sequence_loss(model: nn.Module, batch) -> tuple[torch.Tensor, int]:
    """Mean cross-entropy over the real target tokens of a generator or encoder-decoder."""
    X, Y, L = batch
    logits = model(X, Y) if isinstance(model, ClassToSequence) else model(X, L, Y)
    return F.cross_entropy(logits.transpose(1, 2), Y, ignore_index=0), int((Y != 0).sum())


@torch.no_grad()
def accuracy(model: nn.Module, data: SeqData) -> float:
    """Fraction of examples whose label is predicted right (one-to-one, many-to-one)."""
    X, y, L = data.tensors()
    model.eval()
    logits = model(X) if isinstance(model, OneToOne) else model(X, L)
    return float((logits.argmax(-1) == y).float().mean())


@torch.no_grad()
def tag_accuracy(model: nn.Module, data: SeqData, where: np.ndarray | None = None) -> float:
    """Fraction of real positions (or of the positions marked True in ``where``, (N, T))
    tagged right."""
    X, Y, _ = data.tensors()
    model.eval()
    pred = model(X).argmax(-1)
    mask = (Y != 0) if where is None else torch.as_tensor(where) & (Y != 0)
    return float((pred[mask] == Y[mask]).float().mean())


def train(model: nn.Module, data: SeqData, loss_fn, epochs: int, batch_size: int = 32,
          lr: float = 0.01, valid: SeqData | None = None, clip: float | None = 1.0,
          seed: int = 0, progress: bool = True, title: str | None = None):
    """Adam + ``rnnkit.train.fit`` on shuffled batches of ``data``; held-out loss on ``valid``.

    Returns fit's ``History``.
    """
    from .train import evaluate_loss, fit

    torch.manual_seed(seed)
    evaluate = None
    if valid is not None:
        X, Y, L = valid.tensors()
        evaluate = lambda m: evaluate_loss(m, [(X, Y, L)], loss_fn)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    return fit(model, batches(data, batch_size, seed), loss_fn, optimizer, epochs=epochs,
               clip=clip, evaluate=evaluate, progress=progress, title=title,
               steps_per_epoch=-(-len(data) // batch_size))


def loss_curves_figure(histories: dict, title: str = "Held-out loss of each mode's model",
                       which: str = "valid") -> go.Figure:
    """One line per named ``History`` (from ``fit``): held-out (``which="valid"``) or
    training loss against optimizer steps, log scale."""
    fig = go.Figure()
    for name, h in histories.items():
        y = h.valid_loss if which == "valid" else h.train_loss
        fig.add_scatter(x=list(h.step), y=list(y), mode="lines+markers", name=name,
                        marker={"size": 4})
    fig.update_layout(title=title, xaxis_title="optimizer steps (batches trained on)",
                      yaxis_title="cross-entropy (nats per predicted item)", yaxis_type="log",
                      height=380, margin={"t": 50, "b": 40})
    return fig


_DIAGRAM = {
    # mode: (input steps, hidden steps, output steps, output fed back as next input)
    "one-to-one": ([1], [1], [1], False),
    "one-to-many": ([1], [1, 2, 3, 4], [1, 2, 3, 4], True),
    "many-to-one": ([1, 2, 3, 4], [1, 2, 3, 4], [4], False),
    "many-to-many aligned": ([1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4], False),
    "many-to-many unaligned": ([1, 2, 3], [1, 2, 3, 4, 5, 6], [4, 5, 6], True),
}


def modes_figure(title: str = "The five modes: which hidden states feed an output") -> go.Figure:
    """A diagram of the five modes, one row each: inputs x (bottom), hidden states h
    (middle, arrows along time), outputs y (top); dotted arrows feed an output back in."""
    fig = go.Figure()
    colors = {"x": "#4c78a8", "h": "#f58518", "y": "#54a24b"}
    for row, (mode, (xs, hs, ys, feedback)) in enumerate(_DIAGRAM.items()):
        base = 4 * (len(_DIAGRAM) - 1 - row)
        arrows = [((t, base), (t, base + 1)) for t in xs]
        arrows += [((a, base + 1), (b, base + 1)) for a, b in zip(hs, hs[1:])]
        arrows += [((t, base + 1), (t, base + 2)) for t in ys]
        for (x0, y0), (x1, y1) in arrows:
            fig.add_annotation(x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x",
                               ayref="y", showarrow=True, arrowhead=2, arrowsize=1.2,
                               standoff=9, startstandoff=9, arrowcolor="gray", text="")
        if feedback:
            for t in ys[:-1]:
                fig.add_annotation(x=t + 1, y=base + 1, ax=t, ay=base + 2, xref="x", yref="y",
                                   axref="x", ayref="y", showarrow=True, arrowhead=2,
                                   standoff=9, startstandoff=9, arrowcolor="#54a24b",
                                   arrowwidth=1, text="")
        for kind, steps, level in (("x", xs, 0), ("h", hs, 1), ("y", ys, 2)):
            fig.add_scatter(x=steps, y=[base + level] * len(steps), mode="markers+text",
                            marker={"size": 22, "color": colors[kind], "symbol": "square"},
                            text=[f"{kind}{t}" for t in steps], textfont={"color": "white"},
                            showlegend=False, hoverinfo="skip")
        fig.add_annotation(x=0.3, y=base + 1, text=f"<b>{mode}</b>", showarrow=False,
                           xanchor="right", font={"size": 13})
    fig.update_layout(
        title=title, height=620, margin={"t": 50, "b": 40, "l": 40, "r": 20},
        xaxis={"title": "time step", "range": [-3.2, 6.6], "tickvals": list(range(1, 7)),
               "zeroline": False},
        yaxis={"title": "inputs x, states h, outputs y (one row per mode)",
               "showticklabels": False, "zeroline": False, "showgrid": False},
        plot_bgcolor="white",
    )
    return fig
