"""Tools for lesson 07 (bidirectional RNNs): random BiRNN parameters, the right-context
tagging data, prefix-only perplexity, generation and the lesson's figures. Its language-model
batches are :func:`rnnkit.batching.random_windows`; its taggers and losses are lesson 06's
(:class:`rnnkit.seqmodels.Tagger`, :func:`rnnkit.losses.token_loss`).

The lesson's exercises — the numpy BiRNN forward, torch's bidirectional weights mapped onto
it, the influence of each input on one output — are not here: the notebook builds on the
student's own answers (and on lesson 03's ``rnn_forward``, handed out beside it as
``rnn_numpy.py``). Parameters are a dict with keys :data:`BIRNN_PARAM_NAMES` in the
row-vector convention of lesson 03: ``Wxh_* (D, H)``, ``Whh_* (H, H)``, ``bh_* (H,)``.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import torch
import torch.nn.functional as F
from torch import nn

from .layout import lay_out
from .seqdata import MakeVocab, SeqData, make_vocab

__all__ = [
    "BIRNN_PARAM_NAMES",
    "generate",
    "influence_figure",
    "init_birnn_params",
    "perplexity_by_model_figure",
    "prefix_perplexity",
    "right_context_data",
    "tagging_accuracy_figure",
]

BIRNN_PARAM_NAMES: tuple[str, ...] = ("Wxh_f", "Whh_f", "bh_f", "Wxh_b", "Whh_b", "bh_b")


def init_birnn_params(D: int, H: int, rng: np.random.Generator,
                      scale: float = 0.5) -> dict[str, np.ndarray]:
    """Random BiRNN parameters (uniform in ±scale/sqrt(H)), float64."""
    s = scale / math.sqrt(H)
    shapes = {"Wxh": (D, H), "Whh": (H, H), "bh": (H,)}
    return {f"{k}_{d}": rng.uniform(-s, s, size=shapes[k]) for d in "fb" for k in shapes}


# words whose tag is decided by the word after them ("they book a flight" vs "the book")
AMBIGUOUS = ["book", "watch", "park", "fly"]
DETERMINERS = ["the", "a", "my"]
PRONOUNS = ["we", "they", "you"]
RC_TAGS = ["<pad>", "DET", "PRON", "NOUN", "VERB"]


def right_context_data(n: int = 1500, seed: int = 0, T: int = 8, *,
                       vocab: MakeVocab) -> SeqData:
    """A tagging task where the right context decides: tag each word NOUN/VERB/DET/PRON.

    An ambiguous word ("book", "watch", "park", "fly") is a VERB when a determiner follows it
    ("book the ...") and a NOUN when a pronoun, another ambiguous word or the end follows.
    Each reading has probability 1/2. Determiners and pronouns are always DET / PRON. A
    one-way RNN at an ambiguous word has not yet read the word that decides it, so it can
    only guess; a BiRNN has. ``extra["ambiguous"]`` (N, T) marks the ambiguous positions.
    """
    rng = np.random.default_rng(seed)
    vocab = make_vocab(vocab, AMBIGUOUS + DETERMINERS + PRONOUNS)
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


@torch.no_grad()
def prefix_perplexity(model: nn.Module, X: torch.Tensor, Y: torch.Tensor) -> float:
    """Perplexity of ``Y[:, t]`` when the model reads only the prefix ``X[:, :t+1]``.

    This is what a model can use while generating (the future is not written yet). For a
    one-way RNN it equals the ordinary perplexity; for a BiRNN it is much higher.
    ``model(X)`` returns (N, T, V) logits. Total NLL / total tokens, then exp.
    """
    model.eval()
    nll, count = 0.0, 0
    for t in range(X.shape[1]):
        logits = model(X[:, : t + 1])[:, -1]
        nll += float(F.cross_entropy(logits, Y[:, t], reduction="sum"))
        count += len(Y)
    return math.exp(nll / count)


@torch.no_grad()
def generate(model: nn.Module, prefix: list[int], n: int,
             generator: torch.Generator | None = None) -> list[int]:
    """Sample ``n`` tokens after ``prefix``: run ``model`` on everything written so far, sample
    the next token from its output at the last position, append it, repeat. This is all any
    model can do while generating: the tokens to the right do not exist yet."""
    model.eval()
    ids = list(prefix)
    for _ in range(n):
        logits = model(torch.tensor([ids]))[0, -1]
        ids.append(int(torch.multinomial(F.softmax(logits, -1), 1, generator=generator)))
    return ids[len(prefix):]


# ---------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------


def influence_figure(maps: dict[str, np.ndarray],
                     title: str = "Which inputs reach the output at position t") -> go.Figure:
    """Side-by-side heatmaps of influence matrices ``G[t, s]`` (output position t, input
    position s), one per named model."""
    from plotly.subplots import make_subplots

    names = list(maps)
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=names, horizontal_spacing=0.08)
    for i, name in enumerate(names):
        G = np.asarray(maps[name])
        fig.add_trace(go.Heatmap(z=G, colorscale="Blues", showscale=i == len(names) - 1,
                                 colorbar={"title": "‖∂out/∂x‖"},
                                 hovertemplate="output t=%{y}, input s=%{x}: %{z:.3f}"
                                 "<extra></extra>"), row=1, col=i + 1)
    return lay_out(fig, title, "input position s", "output position t", height=360,
                   margin={"t": 70}, yaxis={"autorange": "reversed"})


def tagging_accuracy_figure(results: dict[str, dict[str, float]],
                            title: str = "Tagging accuracy: one-way RNN against BiRNN") -> go.Figure:
    """Grouped bars: ``results[model][subset] = accuracy`` (0-1), shown in percent."""
    fig = go.Figure()
    for model, acc in results.items():
        fig.add_bar(name=model, x=list(acc), y=[100 * v for v in acc.values()],
                    text=[f"{100 * v:.0f}%" for v in acc.values()], textposition="outside")
    return lay_out(fig, title, "held-out positions", "accuracy (%)", height=360,
                   yaxis={"range": [0, 110]}, barmode="group")


def perplexity_by_model_figure(values: dict[str, float], floor: float,
                               title: str = "Held-out perplexity against the true floor") -> go.Figure:
    """Bars of perplexities (per character) with the corpus's true floor as a dashed line."""
    fig = go.Figure(go.Bar(x=list(values), y=list(values.values()),
                           text=[f"{v:.2f}" for v in values.values()], textposition="outside"))
    fig.add_hline(y=floor, line_dash="dash", line_color="gray",
                  annotation_text=f"true floor {floor:.2f}", annotation_position="top left")
    return lay_out(fig, title, "model and how it is scored", "perplexity (per character)")
