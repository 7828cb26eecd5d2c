"""Lesson 06's names and figures: the five input/output modes and their models' loss curves.

:data:`MODES` names the five modes; :func:`modes_figure` draws which hidden states feed an
output in each; :func:`loss_curves_figure` compares the held-out loss of the models trained
on them. The rest of the lesson's tools live by what they hold: data in
:mod:`rnnkit.seqdata`, models in :mod:`rnnkit.seqmodels`, losses and accuracies in
:mod:`rnnkit.losses`, training in :func:`rnnkit.train.fit_adam`.
"""

from __future__ import annotations

import plotly.graph_objects as go

from .layout import lay_out

__all__ = ["MODES", "loss_curves_figure", "modes_figure"]

MODES: tuple[str, ...] = (
    "one-to-one",
    "one-to-many",
    "many-to-one",
    "many-to-many aligned",
    "many-to-many unaligned",
)


def loss_curves_figure(histories: dict, title: str = "Held-out loss of each mode's model",
                       which: str = "valid") -> go.Figure:
    """One line per named ``History`` (from ``fit``): held-out (``which="valid"``) or
    training loss against optimizer steps, log scale."""
    fig = go.Figure()
    for name, h in histories.items():
        y = h.valid_loss if which == "valid" else h.train_loss
        fig.add_scatter(x=list(h.step), y=list(y), mode="lines+markers", name=name,
                        marker={"size": 4})
    return lay_out(fig, title, "optimizer steps (batches trained on)",
                   "cross-entropy (nats per predicted item)", yaxis={"type": "log"})


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
    return lay_out(
        fig, title, "time step", "inputs x, states h, outputs y (one row per mode)",
        height=620, margin={"l": 40, "r": 20},
        xaxis={"range": [-3.2, 6.6], "tickvals": list(range(1, 7)), "zeroline": False},
        yaxis={"showticklabels": False, "zeroline": False, "showgrid": False},
        plot_bgcolor="white",
    )
