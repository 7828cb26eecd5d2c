"""Wall time of every solution notebook run top to bottom in a fresh kernel, and of the course.

Each notebook is executed with nbclient exactly as ``jupyter nbconvert --execute`` does (a new
kernel per notebook, the notebook's folder as working directory, widget state not stored;
the lesson's hand-outs written beside it first, as ``rnn-course release`` writes them);
the time includes starting the kernel and importing the stack. "cells" is the sum of the
cells' own execution times (from nbclient's timing metadata); the rest is kernel start-up and
messaging. Budget: each lesson under 30 s, the whole course under 150 s.

    .venv/bin/python benchmarks/bench_lessons.py [--lessons 01-sequences 04-bptt] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine_line, median, table  # noqa: E402

from autograder.release import write_handouts  # noqa: E402

LESSON_BUDGET = 30.0
COURSE_BUDGET = 150.0


def _seconds(a: str, b: str) -> float:
    return (datetime.fromisoformat(b.replace("Z", "+00:00"))
            - datetime.fromisoformat(a.replace("Z", "+00:00"))).total_seconds()


def run_notebook(path: Path, timeout: int = 600) -> tuple[float, float]:
    """Execute ``path`` in a fresh kernel; returns (wall seconds, sum of cell seconds)."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}},
                            store_widget_state=False, record_timing=True)
    t0 = time.perf_counter()
    client.execute()
    wall = time.perf_counter() - t0
    cells = 0.0
    for cell in nb.cells:
        ex = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in ex and "shell.execute_reply" in ex:
            cells += _seconds(ex["iopub.execute_input"], ex["shell.execute_reply"])
    return wall, cells


def lessons(selected: list[str] | None) -> list[Path]:
    found = sorted((ROOT / "solutions").glob("[0-9][0-9]-*/[0-9][0-9]-*.ipynb"))
    found = [p for p in found if p.parent.name == p.stem]
    if selected:
        found = [p for p in found if p.stem in selected or p.stem[:2] in selected]
    return found


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lessons", nargs="*", help="lesson ids or numbers (default: all)")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each notebook (median kept)")
    args = ap.parse_args(argv)
    paths = lessons(args.lessons)
    if not paths:
        print("no lessons found", file=sys.stderr)
        return 2
    print(machine_line())
    print(f"command: .venv/bin/python benchmarks/bench_lessons.py --repeat {args.repeat}"
          + (f" --lessons {' '.join(args.lessons)}" if args.lessons else ""))
    for p in paths:  # a lesson that builds on earlier ones imports their hand-outs
        write_handouts(p.stem)
    runs: dict[str, list[tuple[float, float]]] = {p.stem: [] for p in paths}
    course_walls = []
    for _ in range(args.repeat):
        total = 0.0
        for p in paths:  # one whole pass over the course, then the next pass
            wall, cells = run_notebook(p)
            runs[p.stem].append((wall, cells))
            total += wall
            print(f"  {p.stem}: {wall:.1f} s", flush=True)
        course_walls.append(total)
    rows = []
    for name, rs in runs.items():
        wall, cells = median([r[0] for r in rs]), median([r[1] for r in rs])
        rows.append((name, wall, cells, wall - cells, f"{LESSON_BUDGET:.0f}",
                     "yes" if wall < LESSON_BUDGET else "NO"))
    course = median(course_walls)
    rows.append(("whole course (one after another)", course, sum(r[2] for r in rows),
                 course - sum(r[2] for r in rows), f"{COURSE_BUDGET:.0f}",
                 "yes" if course < COURSE_BUDGET else "NO"))
    print()
    print(f"Solution notebooks in a fresh kernel (median of {args.repeat} run(s), seconds)")
    print(table(["lesson", "wall s", "cells s", "kernel+overhead s", "budget s", "met"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
