"""The one layout the static figures of rnnkit get: a title, labelled axes, the same margins.

Every figure builder uses it except the gradient-decay explorer's (:mod:`rnnkit.explorer`),
whose figures set the same things themselves around its two-panel dashboard.

:func:`lay_out` is what each figure builder calls last, so a figure without a title or an
axis label cannot be built (both are required arguments) and every figure has the same
margins and a height that suits a notebook. Axis labels are set on every axis of the
figure, so a row of subplots gets them under each panel.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

__all__ = ["MARGIN", "lay_out"]

MARGIN: dict[str, int] = {"t": 50, "b": 40}  # room for the title above and the x label below


def lay_out(fig: go.Figure, title: str, x: str, y: str, *, height: int = 380,
            margin: dict[str, int] | None = None, xaxis: dict[str, Any] | None = None,
            yaxis: dict[str, Any] | None = None, **layout: Any) -> go.Figure:
    """Give ``fig`` its title, x label ``x`` and y label ``y`` (with units), ``height``
    pixels and :data:`MARGIN` (updated by ``margin``); return it.

    ``xaxis``/``yaxis`` hold any other axis settings (``{"type": "log"}``, a range); any other
    keyword is a plotly layout property (``barmode="group"``, ``legend=...``).
    """
    if not title or not x or not y:
        raise ValueError("a figure needs a title and a label on each axis.")
    fig.update_layout(title=title, height=height, margin={**MARGIN, **(margin or {})}, **layout)
    fig.update_xaxes(title_text=x, **(xaxis or {}))
    fig.update_yaxes(title_text=y, **(yaxis or {}))
    return fig
