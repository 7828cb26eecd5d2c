"""The course's one training loop: ``fit`` (and ``fit_adam``, ``fit`` with Adam on shuffled
batches of a :class:`rnnkit.seqdata.SeqData`, as lessons 06 and 07 train).

``fit`` knows nothing about what a batch is. The loss function does::

    def loss_fn(model, batch):          # batch is whatever `batches` yields
        X, y = batch
        logits = model(X)
        return F.cross_entropy(logits, y)       # or (mean_loss, n_items)

so the same loop trains a language model, a classifier, a tagger or an encoder-decoder.
Returning ``(mean_loss, n)`` weights the batch by ``n`` items (tokens, sentences) when the
epoch's loss is averaged, so a perplexity is ``exp(total loss / total items)``, never a mean
of per-batch perplexities.

Each epoch: for every batch, zero the gradients, compute the loss, backpropagate, optionally
clip the gradient by its global norm, step the optimizer. Every ``eval_every`` steps and at
the end of each epoch, ``evaluate(model)`` gives the held-out loss. A text progress bar goes
to stdout (never stderr, which nbgrader treats as a failure) and ``live=True`` draws the
curves in one plotly ``FigureWidget`` while training runs. The return value is a
:class:`History`; ``history.figure()`` is the static version of the live plot.

The live plot costs nothing visible: it is redrawn at most every ``LIVE_INTERVAL`` seconds
(a few times a second is as fast as anyone reads a curve), and always once more when
training ends or stops with an error, so its last point is the returned history's. With
clipping, the gradient norm recorded is the one ``clip_grad_norm_`` computes anyway.
"""

from __future__ import annotations

import itertools
import math
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import plotly.graph_objects as go
import torch

from .layout import lay_out

__all__ = [
    "History",
    "detach_state",
    "evaluate_loss",
    "fit",
    "fit_adam",
    "grad_global_norm",
    "training_figure",
]

LossFn = Callable[[torch.nn.Module, Any], Any]

LIVE_INTERVAL = 0.25  # seconds between two redraws of the live plot (the last state is always drawn)


@dataclass
class History:
    """What ``fit`` records.

    Per evaluation point (every ``eval_every`` steps and at each epoch's end):
    ``step`` (optimizer steps so far), ``epoch`` (fractional, e.g. 1.5), ``train_loss`` (mean
    loss per item over the steps since the previous point), ``valid_loss`` (``evaluate``'s
    loss, NaN without ``evaluate``) and ``valid_metrics`` (``evaluate``'s whole dict, if it
    returned one). Per optimizer step: ``grad_norm`` (global gradient norm before clipping)
    and ``clipped`` (whether clipping rescaled it). ``seconds`` is the wall time of training.
    """

    step: list[int] = field(default_factory=list)
    epoch: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    valid_loss: list[float] = field(default_factory=list)
    valid_metrics: list[dict[str, float]] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    clipped: list[bool] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def train_perplexity(self) -> list[float]:
        """``exp(train_loss)`` at each point (meaningful when the loss is cross-entropy in nats)."""
        return [_exp(v) for v in self.train_loss]

    @property
    def valid_perplexity(self) -> list[float]:
        """``exp(valid_loss)`` at each point."""
        return [_exp(v) for v in self.valid_loss]

    @property
    def final(self) -> dict[str, float]:
        """The last point: ``{"train_loss", "valid_loss", "train_perplexity", ...}``."""
        if not self.step:
            return {}
        return {
            "step": self.step[-1],
            "train_loss": self.train_loss[-1],
            "valid_loss": self.valid_loss[-1],
            "train_perplexity": self.train_perplexity[-1],
            "valid_perplexity": self.valid_perplexity[-1],
        }

    def figure(self, curve: str = "perplexity", title: str | None = None,
               floor: float | None = None) -> go.Figure:
        """A static plotly figure of the training and held-out curves."""
        fig = training_figure(curve=curve, title=title, floor=floor)
        x, tr, va = self._curves(curve)
        fig.data[0].x, fig.data[0].y = x, tr
        fig.data[1].x, fig.data[1].y = x, va
        return fig

    def _curves(self, curve: str) -> tuple[list[float], list[float], list[float]]:
        if curve == "perplexity":
            return list(self.step), self.train_perplexity, self.valid_perplexity
        return list(self.step), list(self.train_loss), list(self.valid_loss)


def _exp(v: float) -> float:
    return math.exp(v) if v < 700 else math.inf


def training_figure(curve: str = "perplexity", title: str | None = None,
                    floor: float | None = None, widget: bool = False) -> go.Figure:
    """An empty figure with a training and a held-out trace (x: optimizer steps; y: ``curve``).

    ``floor`` draws a dashed horizontal line (e.g. the true perplexity floor of the corpus).
    ``widget=True`` returns a ``go.FigureWidget`` for live updates.
    """
    if curve not in ("perplexity", "loss"):
        raise ValueError(f"curve must be 'perplexity' or 'loss', not {curve!r}.")
    fig = go.Figure()
    fig.add_scatter(x=[], y=[], mode="lines+markers", name="training", marker={"size": 4})
    fig.add_scatter(x=[], y=[], mode="lines+markers", name="held-out", marker={"size": 4})
    if floor is not None:
        fig.add_hline(y=floor, line_dash="dash", line_color="gray",
                      annotation_text=f"floor {floor:.3g}", annotation_position="bottom right")
    ylabel = "perplexity (per token)" if curve == "perplexity" else "loss (nats per item)"
    lay_out(fig, title or f"Training and held-out {curve}",
            "optimizer steps (batches trained on)", ylabel, height=360)
    # built as a plain figure and wrapped once: a FigureWidget sends a message per edit
    return go.FigureWidget(fig) if widget else fig


def detach_state(state: Any) -> Any:
    """Cut the graph behind a recurrent state (a tensor, or a tuple of them for an LSTM).

    This is what truncated backpropagation through time does between batches: the values
    are kept, the gradient stops here.
    """
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return state.detach()
    return tuple(detach_state(s) for s in state)


def grad_global_norm(parameters: Iterable[torch.Tensor]) -> float:
    """sqrt(sum of squares of every gradient entry), over all parameters with a gradient."""
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return 0.0
    return float(torch.linalg.vector_norm(
        torch.stack([torch.linalg.vector_norm(g.detach(), 2) for g in grads]), 2))


def _split_loss(out: Any) -> tuple[torch.Tensor, float]:
    """``loss_fn`` returns a scalar tensor or ``(mean_loss, n_items)``."""
    if isinstance(out, tuple | list):
        if len(out) != 2:
            raise ValueError("loss_fn must return a scalar loss or a pair (mean_loss, n_items).")
        loss, n = out
        n = float(n.item() if isinstance(n, torch.Tensor) else n)
    else:
        loss, n = out, 1.0
    if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
        raise ValueError("loss_fn must return a scalar torch tensor (the mean loss of the batch).")
    return loss, n


def _reset(loss_fn: Any) -> None:
    reset = getattr(loss_fn, "reset", None)
    if callable(reset):
        reset()


def evaluate_loss(model: torch.nn.Module, batches: Iterable[Any], loss_fn: LossFn) -> float:
    """Mean loss per item over ``batches`` (weighted by the ``n_items`` loss_fn returns),
    without gradients and with the model in eval mode."""
    was_training = model.training
    model.eval()
    _reset(loss_fn)
    total, count = 0.0, 0.0
    with torch.no_grad():
        for batch in batches:
            loss, n = _split_loss(loss_fn(model, batch))
            total += float(loss) * n
            count += n
    _reset(loss_fn)
    model.train(was_training)
    if count == 0:
        raise ValueError("evaluate_loss got no batches.")
    return total / count


def _epoch_batches(batches: Any, epoch: int) -> Iterable[Any]:
    if callable(batches):
        return batches(epoch)
    return batches


def _progress(total: int | None, enabled: bool, desc: str):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, file=sys.stdout, desc=desc, ncols=90, mininterval=0.5,
                ascii=True, leave=True)


class _Live:
    """One FigureWidget, displayed once and redrawn in ``batch_update`` at most every
    ``interval`` seconds; ``finish`` draws the last state whatever the time."""

    def __init__(self, curve: str, title: str | None, floor: float | None,
                 interval: float | None = None):
        from IPython.display import display

        self.curve = curve
        self.interval = LIVE_INTERVAL if interval is None else interval
        # The figure is validated once, as a plain figure; wrapping it in a FigureWidget would
        # validate it all again (its template included: most of a widget's creation time).
        # This widget only ever gets lists of numbers written into the traces' x and y.
        fig = training_figure(curve=curve, title=title, floor=floor)
        self.fig = go.FigureWidget(fig.to_dict(), _validate=False)
        self._drawn = 0  # points of the history already on the figure
        self._last = -math.inf  # time of the last redraw
        display(self.fig)

    def update(self, history: History) -> None:
        if time.perf_counter() - self._last >= self.interval:
            self._draw(history)

    def finish(self, history: History) -> None:
        if len(history.step) != self._drawn:
            self._draw(history)

    def _draw(self, history: History) -> None:
        x, tr, va = history._curves(self.curve)
        with self.fig.batch_update():
            self.fig.data[0].x, self.fig.data[0].y = x, tr
            self.fig.data[1].x, self.fig.data[1].y = x, va
        self._drawn = len(x)
        self._last = time.perf_counter()


def fit(
    model: torch.nn.Module,
    batches: Iterable[Any] | Callable[[int], Iterable[Any]],
    loss_fn: LossFn,
    optimizer: torch.optim.Optimizer,
    epochs: int = 1,
    clip: float | None = None,
    evaluate: Callable[[torch.nn.Module], float | dict[str, float]] | None = None,
    eval_every: int | None = None,
    progress: bool = True,
    live: bool = False,
    curve: str = "loss",
    title: str | None = None,
    floor: float | None = None,
    steps_per_epoch: int | None = None,
    scheduler: Any = None,
) -> History:
    """Train ``model`` and return its :class:`History`.

    Args:
        model: any ``torch.nn.Module``.
        batches: a re-iterable (a list, a DataLoader) or a function ``epoch -> iterable``
            (use it for generators, which are used up after one pass, and for a fresh
            shuffle per epoch).
        loss_fn: ``loss_fn(model, batch)`` returns the batch's mean loss (scalar tensor) or
            ``(mean_loss, n_items)``. If it has a ``reset()`` method (a loss that carries the
            recurrent state across batches), it is called at the start of every epoch and
            around every evaluation.
        optimizer: a torch optimizer over the model's parameters.
        epochs: passes over ``batches``.
        clip: if given, rescale the gradient so its global norm is at most ``clip``
            (direction kept).
        evaluate: ``evaluate(model)`` returns the held-out loss, or a dict with a ``"loss"``
            entry and any other metrics; it is called with the model in eval mode.
        eval_every: also evaluate every this many steps (default: only at each epoch's end).
        progress: show a text progress bar on stdout.
        live: draw training and held-out curves live in a plotly FigureWidget.
        curve: what the live plot shows, ``"loss"`` or ``"perplexity"`` (exp of the loss).
        title, floor: title and optional dashed floor line of the live plot.
        steps_per_epoch: stop each epoch after this many batches; also the progress bar's
            length (otherwise ``len(batches)`` when it has one).
        scheduler: a torch learning-rate scheduler, stepped after every optimizer step (so
            its horizon is counted in steps, e.g. ``CosineAnnealingLR(opt, T_max=steps)``).
    """
    if epochs < 1:
        raise ValueError("epochs must be at least 1.")
    if eval_every is not None and eval_every < 1:
        raise ValueError("eval_every must be at least 1.")
    params = [p for group in optimizer.param_groups for p in group["params"]]
    history = History()
    live_plot = _Live(curve, title, floor) if live else None
    total = steps_per_epoch
    if total is None and not callable(batches) and hasattr(batches, "__len__"):
        total = len(batches)
    bar = _progress(total * epochs if total else None, progress, "training")
    step = 0
    first_epoch_len = 0
    run_loss, run_n = 0.0, 0.0
    start = time.perf_counter()

    def record(epoch_pos: float) -> None:
        nonlocal run_loss, run_n
        if run_n == 0:
            return
        valid, metrics = math.nan, {}
        if evaluate is not None:
            was_training = model.training
            model.eval()
            _reset(loss_fn)
            with torch.no_grad():
                out = evaluate(model)
            _reset(loss_fn)
            model.train(was_training)
            if isinstance(out, dict):
                metrics = {k: float(v) for k, v in out.items()}
                valid = metrics.get("loss", math.nan)
            else:
                valid = float(out)
        history.step.append(step)
        history.epoch.append(epoch_pos)
        history.train_loss.append(run_loss / run_n)
        history.valid_loss.append(valid)
        history.valid_metrics.append(metrics)
        run_loss, run_n = 0.0, 0.0
        if bar is not None:
            shown = {"train": history.train_loss[-1]}
            if evaluate is not None:
                shown["held-out"] = valid
            if curve == "perplexity":
                shown = {k + " ppl": _exp(v) for k, v in shown.items()}
            bar.set_postfix({k: f"{v:.3f}" for k, v in shown.items()}, refresh=False)
        if live_plot is not None:
            live_plot.update(history)

    try:
        model.train()
        for epoch in range(epochs):
            _reset(loss_fn)
            n_batches = 0
            iterable = _epoch_batches(batches, epoch)
            length = steps_per_epoch or (len(iterable) if hasattr(iterable, "__len__") else None)
            if steps_per_epoch is not None:  # never draws a batch it will not use
                iterable = itertools.islice(iter(iterable), steps_per_epoch)
            for i, batch in enumerate(iterable):
                optimizer.zero_grad(set_to_none=True)
                loss, n = _split_loss(loss_fn(model, batch))
                value = loss.item()  # the step's one read of the loss (no separate isfinite)
                if not math.isfinite(value):
                    raise FloatingPointError(
                        f"the loss became {value} at step {step + 1} (epoch {epoch + 1}); "
                        "lower the learning rate or clip the gradient."
                    )
                loss.backward()
                if clip is not None:  # the norm before clipping, computed once
                    norm = float(torch.nn.utils.clip_grad_norm_(params, clip))
                else:
                    norm = grad_global_norm(params)
                history.grad_norm.append(norm)
                history.clipped.append(clip is not None and norm > clip)
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
                step += 1
                n_batches += 1
                run_loss += value * n
                run_n += n
                if bar is not None:
                    bar.update(1)
                if eval_every is not None and step % eval_every == 0:
                    per_epoch = length or first_epoch_len
                    record(epoch + (i + 1) / per_epoch if per_epoch else math.nan)
            if n_batches == 0:
                raise ValueError(
                    f"epoch {epoch + 1} got no batches; pass a list or a function "
                    "epoch -> iterable (a generator is used up after one pass)."
                )
            record(float(epoch + 1))
            if epoch == 0:
                first_epoch_len = n_batches
                if bar is not None and bar.total is None:  # now the length is known
                    bar.total = n_batches * epochs
                    bar.refresh()
                history.epoch = [
                    s / n_batches if math.isnan(e) else e
                    for s, e in zip(history.step, history.epoch)
                ]
    finally:
        history.seconds = time.perf_counter() - start
        if live_plot is not None:
            live_plot.finish(history)
        if bar is not None:
            bar.close()
    return history


def fit_adam(model: torch.nn.Module, data: Any, loss_fn: LossFn, epochs: int,
             batch_size: int = 32, lr: float = 0.01, valid: Any = None,
             clip: float | None = 1.0, seed: int = 0, progress: bool = True,
             title: str | None = None) -> History:
    """:func:`fit` with Adam on shuffled batches of ``data`` (a
    :class:`rnnkit.seqdata.SeqData`, :func:`rnnkit.batching.shuffled_batches`), the
    held-out loss on all of ``valid`` at each epoch's end; torch seeded with ``seed``."""
    from .batching import shuffled_batches

    torch.manual_seed(seed)
    evaluate = None
    if valid is not None:
        held_out = [valid.tensors()]
        evaluate = lambda m: evaluate_loss(m, held_out, loss_fn)  # noqa: E731
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    return fit(model, shuffled_batches(data, batch_size, seed), loss_fn, optimizer,
               epochs=epochs, clip=clip, evaluate=evaluate, progress=progress, title=title,
               steps_per_epoch=-(-len(data) // batch_size))
