"""rnnkit: the helper package every notebook of the RNN course imports.

Modules: ``text`` (tokenizers, Vocab, padding), ``batching`` (language-model batches),
``corpus`` (a synthetic language with known entropy), ``checks`` (what test cells call),
``plots`` (static plotly figures), ``gated_plots`` (how far back a gradient reaches in
torch's vanilla, LSTM and GRU cells; attention's sizes).
"""

from __future__ import annotations

import random

import numpy as np

__version__ = "0.1.0"

__all__ = ["setup_notebook", "__version__"]


def setup_notebook(seed: int = 0) -> np.random.Generator:
    """What every lesson's first cell calls: seed everything, make plots show everywhere.

    Seeds Python, numpy and torch (if installed), runs torch on one thread (the course's
    models are small: more threads only fight over the cores, which slows them down many
    times when anything else is running, as in grading), and
    sets plotly's renderer so figures appear in JupyterLab, in exported HTML and in nbgrader
    feedback, and makes a failed check or an unanswered exercise show as one sentence that
    does not stop Run All (:func:`rnnkit.checks.show_failures_as_sentences`). Returns a numpy
    Generator seeded with ``seed``.
    """
    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch

        torch.manual_seed(seed)
        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover - torch is part of the course environment
        pass
    import plotly.io as pio

    pio.renderers.default = "plotly_mimetype+notebook"
    np.set_printoptions(precision=4, suppress=True)
    from .checks import show_failures_as_sentences

    show_failures_as_sentences()
    return np.random.default_rng(seed)
