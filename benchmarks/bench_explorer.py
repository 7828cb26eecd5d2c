"""Gradient-decay explorer: time from a slider change to updated figure data, in a kernel.

A Jupyter kernel (started by nbclient, as a notebook would be) builds and displays
``rnnkit.explorer.GradientExplorer``, then moves its sigma_1 slider through a list of values
(``controls["sigma_1"].value = v``): the slider's observer recomputes the curves and writes
them into the one FigureWidget in ``batch_update`` — the comm messages to the front end are
sent before the assignment returns. Each row is the median (and the slowest) of those moves;
"compute" is ``decay_curves`` alone for the same settings, the rest is the figure update;
"CPU ms" is the kernel process's CPU time for the move (all its threads, the one sending the
comm messages included), which a shared, loaded machine disturbs less than wall time.
Target (issue 16): under 100 ms for every setting the sliders allow, one BLAS thread; the
slowest is the sliders' maximum (rnnkit.explorer.MAX_LENGTH, MAX_HIDDEN) — the activation and
the initialisation barely change the cost. "max rel. error" compares the plotted norms with torch's SVD of the same
Jacobians (the exact spectral norms). A row beyond the sliders (the old maximum T = 200, H = 64) is for
information.

    .venv/bin/python benchmarks/bench_explorer.py [--moves 15]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine_line, table  # noqa: E402

sys.path.insert(0, str(ROOT))
from rnnkit.explorer import MAX_HIDDEN, MAX_LENGTH  # noqa: E402

MAX = {"length": MAX_LENGTH, "hidden": MAX_HIDDEN}
CASES = [("default (T = 50, H = 32)", {}, 100.0),
         (f"sliders' maximum (T = {MAX_LENGTH}, H = {MAX_HIDDEN}), tanh", MAX, 100.0),
         ("sliders' maximum, relu, non-normal",
          {**MAX, "activation": "relu", "init": "non-normal"}, 100.0),
         ("sliders' maximum, identity, orthogonal", {**MAX, "activation": "identity"}, 100.0),
         ("the old maximum (T = 200, H = 64), beyond the sliders", {"length": 200, "hidden": 64},
          None)]

KERNEL_CODE = """
import json, time, statistics
import rnnkit
rnnkit.setup_notebook(0)
from IPython.display import display
import numpy as np, torch
torch.set_num_threads(1)
from rnnkit.explorer import GradientExplorer, _decay_curves, jacobians
from rnnkit.gradients import make_whh
cases = {cases!r}
moves = {moves}
values = [0.5 + 1.5 * i / max(1, moves - 1) for i in range(moves)]
out = {{}}
for name, settings, _ in cases:
    ex = GradientExplorer(**settings)
    display(ex)
    slider = ex.controls["sigma_1"]
    slider.value = 1.23  # one untimed move
    upd, cpu, comp, err = [], [], [], []
    for v in values:
        t0, c0 = time.perf_counter(), time.process_time()
        slider.value = v
        upd.append(1000 * (time.perf_counter() - t0))
        cpu.append(1000 * (time.process_time() - c0))
        assert abs(ex.curves.sigma_1 - v) < 1e-6 * max(1.0, v), "the figure did not update"
        t0 = time.perf_counter()
        _decay_curves.__wrapped__(ex.settings)  # without the cache
        comp.append(1000 * (time.perf_counter() - t0))
        s = ex.settings
        W = make_whh(s.hidden, s.sigma_1, s.init, np.random.default_rng(s.seed))
        u = s.input_scale * np.random.default_rng(s.seed + 1).standard_normal((s.length, s.hidden))
        exact = torch.linalg.svdvals(jacobians(s, W, u))[:, 0].numpy()
        ok = exact > 1e-290
        err.append(float(np.max(np.abs(ex.curves.norms[ok] - exact[ok]) / exact[ok])))
    out[name] = {{"update_ms": upd, "cpu_ms": cpu, "compute_ms": comp, "error": max(err), "T": ex.settings.length,
                 "H": ex.settings.hidden, "points": len(ex.fig.data[0].y)}}
print("RESULTS " + json.dumps(out))
"""


def main(argv: list[str] | None = None) -> int:
    import statistics

    import nbformat
    from nbclient import NotebookClient

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--moves", type=int, default=15, help="timed slider moves per case")
    args = ap.parse_args(argv)
    print(machine_line())
    print(f"command: .venv/bin/python benchmarks/bench_explorer.py --moves {args.moves}")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(KERNEL_CODE.format(cases=CASES, moves=args.moves))]
    os.environ["PYTHONPATH"] = str(ROOT)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"  # one BLAS thread, as issue 16 measures
    NotebookClient(nb, timeout=600, kernel_name="python3", store_widget_state=False,
                   resources={"metadata": {"path": str(ROOT)}}).execute()
    res = None
    for out in nb.cells[0].outputs:
        for line in out.get("text", "").splitlines():
            if line.startswith("RESULTS "):
                res = json.loads(line[len("RESULTS "):])
    if res is None:
        print("the kernel printed no results", file=sys.stderr)
        return 1
    rows = []
    for name, _, budget in CASES:
        r = res[name]
        upd, comp = statistics.median(r["update_ms"]), statistics.median(r["compute_ms"])
        cpu = statistics.median(r["cpu_ms"])
        rows.append((name, upd, max(r["update_ms"]), cpu, comp, upd - comp, f"{r['error']:.1e}",
                     "-" if budget is None else f"{budget:.0f}",
                     "-" if budget is None else ("yes" if upd < budget else "NO")))
    print()
    print(f"Slider move -> figure data updated, in a kernel ({args.moves} moves of sigma_1 per "
          "case, milliseconds)")
    print(table(["settings", "median ms", "slowest ms", "median CPU ms", "compute ms",
                 "figure update ms",
                 "max rel. error", "target ms", "met"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
