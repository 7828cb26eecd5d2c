"""Lesson 01's word-frequency figure: Zipf's rank-frequency plot, and the ranks it draws.

Each lesson's other figures live in the module of that lesson's tools (``ngram``,
``rnn_numpy``, ``bptt``, ``explorer``, ``longrange``, ``modes``, ``birnn``, ``gated_plots``,
``models``, ``train``). All of them are static plotly figures (they show in JupyterLab,
exported notebooks and feedback HTML), laid out by :func:`rnnkit.layout.lay_out` except the
explorer's, which set their own two-panel and log-axis layouts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import numpy as np
import plotly.graph_objects as go

from .layout import lay_out

__all__ = ["zipf_figure", "rank_frequency"]


def rank_frequency(tokens: Iterable[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Ranks (1, 2, ...), frequencies (descending) and tokens in that order."""
    counts = Counter(tokens).most_common()
    freqs = np.array([c for _, c in counts], dtype=float)
    return np.arange(1, len(freqs) + 1), freqs, [t for t, _ in counts]


def zipf_figure(
    token_lists: dict[str, Iterable[str]],
    title: str = "Zipf's law: frequency against rank",
    slope_line: float | None = -1.0,
) -> go.Figure:
    """Log-log rank-frequency plot, one line per named token list, with a reference slope."""
    fig = go.Figure()
    top = 1.0
    for name, tokens in token_lists.items():
        ranks, freqs, toks = rank_frequency(tokens)
        top = max(top, float(freqs[0]))
        fig.add_trace(
            go.Scatter(
                x=ranks, y=freqs, mode="lines+markers", name=name, text=toks,
                marker={"size": 4}, hovertemplate="rank %{x}: %{text} (%{y} times)",
            )
        )
    if slope_line is not None:
        r = np.array([1.0, 1e3])
        fig.add_trace(
            go.Scatter(
                x=r, y=top * r**slope_line, mode="lines", name=f"slope {slope_line:g}",
                line={"dash": "dash", "color": "gray"},
            )
        )
    return lay_out(fig, title, "rank (1 = most frequent)", "frequency (count)",
                   xaxis={"type": "log"}, yaxis={"type": "log"})
