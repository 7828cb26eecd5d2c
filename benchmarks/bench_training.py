"""Character language model training speed, in tokens per second.

1. the numpy reference (``autograder.impl.bptt.NumpyTrainer``: forward, BPTT, clipping by global
   norm, SGD) against ``torch.nn.RNN`` + ``nn.Linear`` on CPU doing the same (one-hot inputs,
   cross-entropy, ``loss.backward()``, ``clip_grad_norm_``, SGD), on the same text and
   settings: character vocabulary (~28), hidden 256, batch 32, 35 steps, float32, the state
   carried across sequential batches. Target: numpy at least 0.8x torch.
2. rnnkit's torch loop ``rnnkit.train.fit`` (text progress bar and live plotly FigureWidget
   on) against a bare torch loop, same model (``rnnkit.models.CharRNN``) and loss, both run
   inside a Jupyter kernel (so the live plot's comm messages are really sent). Target: at
   least 0.95x.

The two sides of each comparison run alternately in the same process, ``--repeat`` times;
the table shows medians. Both sides use the same thread count (``--threads``, default 1:
OPENBLAS_NUM_THREADS for numpy, ``torch.set_num_threads`` for torch).

    .venv/bin/python benchmarks/bench_training.py [--steps 60] [--fit-steps 300] [--repeat 5]
        [--threads 1] [--skip-fit | --only-fit]
"""

from __future__ import annotations

import argparse
import os
import sys


def _threads_from_argv(argv: list[str]) -> int:
    for i, a in enumerate(argv):
        if a == "--threads" and i + 1 < len(argv):
            return int(argv[i + 1])
        if a.startswith("--threads="):
            return int(a.split("=", 1)[1])
    return 1


THREADS = _threads_from_argv(sys.argv[1:])
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = str(THREADS)  # before numpy and torch are imported

import json  # noqa: E402
import re  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, TIMEMACHINE, machine_line, median, table  # noqa: E402

HIDDEN, BATCH, STEPS_T = 256, 32, 35


def corpus_ids() -> tuple[np.ndarray, int, str]:
    """Character ids of The Time Machine (letters and spaces, as in d2l) if the file is
    there, else of the course's synthetic language. Returns (ids, vocab size, source)."""
    from autograder.impl.text import Vocab

    if TIMEMACHINE.is_file():
        text = re.sub("[^A-Za-z]+", " ", TIMEMACHINE.read_text(encoding="utf-8")).lower()
        source = "timemachine.txt (letters and spaces)"
    else:
        from rnnkit.corpus import make_corpus

        text = make_corpus(n_train=200_000)[0]
        source = "rnnkit.corpus.make_corpus"
    vocab = Vocab(list(text))
    return np.asarray(vocab.encode(list(text)), dtype=np.int64), len(vocab), source


def batches(ids: np.ndarray, n: int):
    from rnnkit.batching import seq_data_iter_sequential

    out = []
    while len(out) < n:
        for b in seq_data_iter_sequential(ids, BATCH, STEPS_T):
            out.append(b)
            if len(out) == n:
                break
    return out


def numpy_run(data, V: int, warmup: int) -> float:
    from autograder.impl.bptt import NumpyTrainer

    trainer = NumpyTrainer(V, HIDDEN, np.random.default_rng(0), lr=1.0, clip=1.0)
    for X, Y in data[:warmup]:
        trainer.step(X, Y)
    t0 = time.perf_counter()
    for X, Y in data[warmup:]:
        trainer.step(X, Y)
    seconds = time.perf_counter() - t0
    return (len(data) - warmup) * BATCH * STEPS_T / seconds


def torch_run(data, V: int, warmup: int) -> float:
    import torch
    import torch.nn.functional as F
    from torch import nn

    torch.manual_seed(0)
    rnn = nn.RNN(V, HIDDEN, batch_first=True)
    head = nn.Linear(HIDDEN, V)
    params = [*rnn.parameters(), *head.parameters()]
    opt = torch.optim.SGD(params, lr=1.0)
    tensors = [(torch.from_numpy(np.ascontiguousarray(X)), torch.from_numpy(np.ascontiguousarray(Y)))
               for X, Y in data]
    state = None

    def step(X, Y):
        nonlocal state
        opt.zero_grad(set_to_none=True)
        H, state = rnn(F.one_hot(X, V).float(), state)
        state = state.detach()
        loss = F.cross_entropy(head(H).reshape(-1, V), Y.reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()

    for X, Y in tensors[:warmup]:
        step(X, Y)
    t0 = time.perf_counter()
    for X, Y in tensors[warmup:]:
        step(X, Y)
    seconds = time.perf_counter() - t0
    return (len(data) - warmup) * BATCH * STEPS_T / seconds


# The fit-vs-bare comparison runs in a kernel: these cells are executed by nbclient.
KERNEL_SETUP = """
import json, time, re, sys
import numpy as np, torch
torch.set_num_threads({threads})
sys.path.insert(0, {bench_dir!r})
from bench_training import corpus_ids, batches, BATCH, STEPS_T, HIDDEN
from rnnkit.models import CharRNN, LMLoss
from rnnkit.train import fit
ids, V, _ = corpus_ids()
data = batches(ids, {steps} + {warmup})

def make():
    torch.manual_seed(0)
    model = CharRNN(V, HIDDEN)
    return model, LMLoss(carry_state=True), torch.optim.SGD(model.parameters(), lr=1.0)

def bare_run():
    model, loss_fn, opt = make()
    params = list(model.parameters())
    def one(b):
        opt.zero_grad(set_to_none=True)
        loss, n = loss_fn(model, b)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
    for b in data[:{warmup}]:
        one(b)
    t0, c0 = time.perf_counter(), time.process_time()
    for b in data[{warmup}:]:
        one(b)
    return rates(t0, c0)

def rates(t0, c0):
    # tokens per wall second and per CPU second of this kernel process (all its threads,
    # the one sending the live plot's messages included)
    tokens = {steps} * BATCH * STEPS_T
    return tokens / (time.perf_counter() - t0), tokens / (time.process_time() - c0)

def fit_run(shown=True):
    model, loss_fn, opt = make()
    fit(model, data[:{warmup}], loss_fn, opt, clip=1.0, progress=shown, live=shown)
    t0, c0 = time.perf_counter(), time.process_time()
    fit(model, data[{warmup}:], loss_fn, opt, clip=1.0, progress=shown, live=shown,
        eval_every=10, curve="perplexity")
    return rates(t0, c0)

results = {{k: [] for k in ("bare", "fit", "fit_plain", "bare_cpu", "fit_cpu", "fit_plain_cpu")}}
t0 = time.perf_counter()
from rnnkit.train import training_figure
training_figure(widget=True)
results["first_widget_s"] = time.perf_counter() - t0
"""

KERNEL_ROUND = """
for name, run in (("bare", bare_run), ("fit", fit_run), ("fit_plain", lambda: fit_run(False))):
    wall, cpu = run()
    results[name].append(wall)
    results[name + "_cpu"].append(cpu)
"""

KERNEL_REPORT = 'print("RESULTS " + json.dumps(results))'


def fit_vs_bare(steps: int, warmup: int, repeat: int) -> dict[str, list[float]]:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    setup = KERNEL_SETUP.format(threads=THREADS, bench_dir=str(Path(__file__).resolve().parent),
                                steps=steps, warmup=warmup)
    nb.cells = [nbformat.v4.new_code_cell(setup)]
    nb.cells += [nbformat.v4.new_code_cell(KERNEL_ROUND) for _ in range(repeat)]
    nb.cells.append(nbformat.v4.new_code_cell(KERNEL_REPORT))
    env_before = {k: os.environ.get(k) for k in ("PYTHONPATH",)}
    os.environ["PYTHONPATH"] = str(ROOT)
    try:
        NotebookClient(nb, timeout=1200, kernel_name="python3", store_widget_state=False,
                       resources={"metadata": {"path": str(ROOT)}}).execute()
    finally:
        for k, v in env_before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    for out in nb.cells[-1].outputs:
        text = out.get("text", "")
        if text.startswith("RESULTS "):
            return json.loads(text[len("RESULTS "):])
    raise RuntimeError("the kernel printed no results")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=60, help="timed training steps per run")
    ap.add_argument("--fit-steps", type=int, default=300,
                    help="timed steps per run of the fit-vs-bare comparison (lessons train ~300)")
    ap.add_argument("--warmup", type=int, default=5, help="untimed steps before each run")
    ap.add_argument("--repeat", type=int, default=5, help="alternating runs of each side")
    ap.add_argument("--threads", type=int, default=THREADS, help="threads for numpy and torch")
    which = ap.add_mutually_exclusive_group()
    which.add_argument("--skip-fit", action="store_true", help="only numpy against torch")
    which.add_argument("--only-fit", action="store_true", help="only fit against a bare loop")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(THREADS)
    ids, V, source = corpus_ids()
    print(machine_line())
    only = " --skip-fit" if args.skip_fit else " --only-fit" if args.only_fit else ""
    print(f"command: .venv/bin/python benchmarks/bench_training.py --steps {args.steps} "
          f"--fit-steps {args.fit_steps} --repeat {args.repeat} --threads {THREADS}{only}")
    print(f"text: {source}, {len(ids)} characters, vocabulary {V}; hidden {HIDDEN}, batch "
          f"{BATCH}, {STEPS_T} steps, float32, SGD lr 1, clip 1; {THREADS} thread(s) each")
    if not args.only_fit:
        numpy_vs_torch(ids, V, args)
    if not args.skip_fit:
        fit_report(args)
    return 0


def numpy_vs_torch(ids: np.ndarray, V: int, args: argparse.Namespace) -> None:
    data = batches(ids, args.steps + args.warmup)
    np_tps, th_tps = [], []
    for _ in range(args.repeat):
        np_tps.append(numpy_run(data, V, args.warmup))
        th_tps.append(torch_run(data, V, args.warmup))
    ratios = [a / b for a, b in zip(np_tps, th_tps)]
    rows = [("rnnkit numpy (NumpyTrainer)", median(np_tps), "", ""),
            ("torch.nn.RNN + Linear", median(th_tps), "", ""),
            ("ratio numpy / torch", median(ratios), "0.8", "yes" if median(ratios) >= 0.8 else "NO")]
    print()
    print(f"1. numpy reference vs torch.nn.RNN (median of {args.repeat} alternating runs of "
          f"{args.steps} steps)")
    print(table(["trainer", "tokens/s", "target", "met"],
                [(r[0], f"{r[1]:.2f}×" if "ratio" in r[0] else round(r[1]), r[2], r[3])
                 for r in rows]))
    print("   per-run ratios: " + ", ".join(f"{r:.2f}" for r in ratios))


def fit_report(args: argparse.Namespace) -> None:
    from rnnkit.train import LIVE_INTERVAL

    res = fit_vs_bare(args.fit_steps, args.warmup, args.repeat)

    def ratio(side: str, cpu: bool = False) -> list[float]:
        suffix = "_cpu" if cpu else ""
        return [a / b for a, b in zip(res[side + suffix], res["bare" + suffix])]

    def met(r: list[float]) -> str:
        return "yes" if median(r) >= 0.95 else "NO"

    live, live_cpu = ratio("fit"), ratio("fit", cpu=True)
    plain, plain_cpu = ratio("fit_plain"), ratio("fit_plain", cpu=True)
    print()
    print(f"2. rnnkit.train.fit (progress bar + live plot: a point every 10 steps, redrawn at "
          f"most every {LIVE_INTERVAL} s) vs a bare torch loop, in a kernel (median of "
          f"{args.repeat} alternating runs of {args.fit_steps} steps; per wall second and per "
          "CPU second of the kernel process, all its threads)")
    print(table(["loop", "tokens/s", "ratio", "tokens/CPU s", "ratio (CPU)", "target", "met"], [
        ("bare torch loop", round(median(res["bare"])), "", round(median(res["bare_cpu"])),
         "", "", ""),
        ("rnnkit fit, progress + live", round(median(res["fit"])), f"{median(live):.3f}×",
         round(median(res["fit_cpu"])), f"{median(live_cpu):.3f}×", "0.95",
         f"{met(live)} (CPU: {met(live_cpu)})"),
        ("fit without progress bar and live plot", round(median(res["fit_plain"])),
         f"{median(plain):.3f}×", round(median(res["fit_plain_cpu"])),
         f"{median(plain_cpu):.3f}×", "", ""),
    ]))
    print("   per-run ratios (wall): " + ", ".join(f"{r:.2f}" for r in live))
    print("   per-run ratios (CPU):  " + ", ".join(f"{r:.2f}" for r in live_cpu))
    print(f"   not in the ratio: the kernel's first FigureWidget (importing plotly's widget "
          f"module) took {res['first_widget_s']:.2f} s once; each run's warm-up also draws one.")
    print("   " + machine_line())


if __name__ == "__main__":
    raise SystemExit(main())
