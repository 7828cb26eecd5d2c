"""rnnkit: the helper package every notebook of the RNN course imports.

Modules, by what they hold:

* text and data — ``text`` (character tokens, reading a file; the word-level tools and
  ``Vocab`` are lesson 01's exercises), ``corpus`` (a synthetic language with known entropy),
  ``batching`` (language-model windows, the sequential and random iterators over an id
  sequence, and the per-epoch batches ``fit`` draws), ``seqdata`` (the data sets of lesson
  06's five modes);
* models and training — ``models`` (a torch character RNN, its loss and perplexity, and a
  bar chart comparing models' perplexities), ``seqmodels`` (lesson 06's five mode models),
  ``losses`` (their losses and accuracies, also lesson 07's), ``train`` (``fit``, the one
  training loop, ``fit_adam``, and the history and figure of a run);
* each lesson's tools and figures — ``plots`` (01: Zipf), ``ngram`` (02: sparsity counts,
  the perplexity figure and the n slider), ``rnn_numpy`` (03), ``bptt`` (04: gradient checks
  and figures), ``gradients`` (05: activations, initialisations, bounds), ``explorer`` (05:
  the gradient-decay explorer and the lesson's figures of norms) and ``longrange`` (05: the
  recall task), ``modes`` (06), ``birnn`` (07), ``gated_plots`` (08); ``layout`` gives every
  static figure outside ``explorer`` its title, labelled axes and margins;
* the notebook side of the course — ``checks`` (what test cells call), ``validate`` and
  ``cli`` (``rnn-course validate`` and the student's commands), ``lab`` (the JupyterLab
  extension behind the Validate button, enabled by the Jupyter configuration in the
  ``labconfig`` folder), ``errors`` (every error as the sentence a student reads, in
  validate and in grading), ``limits`` (every default limit of validate and grading);
* ``_grading`` — ``guard`` and ``remote``, the only grader code students receive: it runs
  inside a grading kernel.

No module holds an exercise's answer: those are in ``autograder/impl`` (a lesson that builds
on an earlier one gets it as a hand-out file beside its notebook).
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
