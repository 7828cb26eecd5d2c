"""Tools for the n-gram lesson: the start token, sparsity counts, and its figures.

This module holds no answer to lesson 02's exercises (counting n-grams, add-k probabilities,
log-probability, perplexity, sampling): the notebook computes every number with the
student's own functions and hands the results to these tools, which only count distinct
n-grams (for the sparsity figure), draw figures and build the n-slider dashboard from values
computed beforehand. The counting model later lessons compare with is handed out to them
with their lesson folder (``ngram.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import plotly.graph_objects as go

from .layout import lay_out

__all__ = [
    "BOS",
    "distinct_ngrams",
    "ngram_dashboard",
    "perplexity_by_order_figure",
    "sparsity_figure",
    "unseen_fraction",
]

BOS = "<s>"
"""The start-of-sequence token that pads the first ``n - 1`` positions."""


def _windows(tokens: Sequence[str], n: int):
    """Every run of ``n`` consecutive tokens, as tuples."""
    return zip(*(tokens[i:] for i in range(n)))


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
    return lay_out(fig, title, "n (tokens per n-gram)", "number of n-grams",
                   yaxis={"type": "log"})


def _perplexity_traces(ns, train_ppl, valid_ppl, floor, heldout_name="held-out text"):
    traces = [
        go.Scatter(x=ns, y=list(train_ppl), mode="lines+markers", name="training text"),
        go.Scatter(x=ns, y=list(valid_ppl), mode="lines+markers", name=heldout_name),
    ]
    if floor is not None:
        traces.append(go.Scatter(x=[ns[0], ns[-1]], y=[floor, floor], mode="lines",
                                 name=f"true floor ({floor:.3g})",
                                 line={"dash": "dash", "color": "gray"}))
    return traces


def perplexity_by_order_figure(
    ns: Sequence[int],
    train_ppl: Sequence[float],
    valid_ppl: Sequence[float],
    floor: float | None = None,
    title: str = "Perplexity against n",
    unit: str = "per character",
    heldout_name: str = "held-out text",
) -> go.Figure:
    """Train and held-out perplexity against n (log scale), with an optional floor line;
    ``heldout_name`` names the held-out curve in the legend (e.g. "test text")."""
    fig = go.Figure(_perplexity_traces(list(ns), train_ppl, valid_ppl, floor, heldout_name))
    return lay_out(fig, title, "n (context of n - 1 tokens)", f"perplexity ({unit})",
                   yaxis={"type": "log"})


def ngram_dashboard(
    ns: Sequence[int],
    train_ppl: Sequence[float],
    heldout_ppl: Sequence[float],
    samples: Mapping[int, str],
    floor: float | None = None,
    title: str = "Perplexity against n",
    unit: str = "per character",
    heldout_name: str = "held-out text",
):
    """An n slider that shows, for each n, a sample of the model and its train and held-out
    perplexity (one FigureWidget, updated in place). Returns an ipywidgets ``VBox``.

    Every number and sample is computed beforehand and passed in (``samples[n]`` is the text
    of a sample of the model of order n), so moving the slider is instant.
    """
    import html

    import ipywidgets as widgets

    ns = [int(n) for n in ns]
    train_ppl, heldout_ppl = [float(x) for x in train_ppl], [float(x) for x in heldout_ppl]
    if not len(ns) == len(train_ppl) == len(heldout_ppl):
        raise ValueError("ns, train_ppl and heldout_ppl must have the same length.")
    missing = [n for n in ns if n not in samples]
    if missing:
        raise ValueError(f"no sample for n = {missing[0]}.")
    fig = go.FigureWidget(_perplexity_traces(ns, train_ppl, heldout_ppl, floor, heldout_name))
    fig.add_trace(go.Scatter(x=[ns[0]] * 2, y=[train_ppl[0], heldout_ppl[0]], mode="markers",
                             marker={"size": 14, "color": "black", "symbol": "circle-open"},
                             name="chosen n"))
    lay_out(fig, title, "n (context of n - 1 tokens)", f"perplexity ({unit})", height=360,
            yaxis={"type": "log"})
    slider = widgets.IntSlider(value=ns[0], min=ns[0], max=ns[-1], step=1, description="n",
                               continuous_update=False)
    text = widgets.HTML()

    def show(n: int) -> None:
        i = ns.index(n)
        text.value = (
            f"<b>n = {n}</b>: train perplexity {train_ppl[i]:.3g}, "
            f"{html.escape(heldout_name)} {heldout_ppl[i]:.3g}"
            f"<pre style='white-space: pre-wrap'>{html.escape(str(samples[n]))}</pre>"
        )
        with fig.batch_update():
            fig.data[-1].x = [n, n]
            fig.data[-1].y = [train_ppl[i], heldout_ppl[i]]

    slider.observe(lambda change: show(change["new"]), names="value")
    show(ns[0])
    box = widgets.VBox([slider, fig, text])
    box.figure, box.slider, box.text = fig, slider, text
    return box
