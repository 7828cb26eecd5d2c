"""Grading throughput: ``rnn-course grade --workers 2`` against stock ``nbgrader autograde``.

The same class is graded by both, in a temporary folder: ``--students`` submissions of every
lesson in ``--lessons``, alternately a copy of the solution and a copy of the untouched
release (so half the class earns full marks and half earns zero). The stock side is a
throw-away nbgrader course with the course's own ``autograder/nbgrader_config.py``
(``nbgrader generate_assignment`` then ``nbgrader autograde`` per lesson, which grades one
notebook at a time). Three measurements:

1. throughput (notebooks per minute, in all and per worker) of each, CPU seconds per
   notebook, and their ratio (target: at least 2.5x);
2. time per notebook beyond its own cells' execution: ``rnn-course grade --workers 1`` on
   ``--overhead-copies`` solution copies per lesson (one batch, so that the worker is the
   long-lived one a class is graded by; the median notebook counts, the first is shown too),
   against nbclient running the same notebook in a fresh kernel (target: under 0.5 s beyond
   the sum of the cells' execution times);
3. peak memory (summed RSS of the grader's whole process tree, sampled every 0.1 s) of
   ``rnn-course grade --workers 2`` as the class grows (``--memory-classes``; target: flat).

Grading a whole 20 x 7 class takes long; the defaults (one lesson, 6 students, classes of
4, 8 and 16) finish in about six minutes on two cores. The issue's full run is
``--lessons all --students 20 --memory-classes 10 20 40``.

    .venv/bin/python benchmarks/bench_grading.py [--lessons 03-rnn-cell] [--students 6]
        [--memory-classes 4 8 16] [--skip-stock] [--skip-overhead] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, VENV_BIN, TreeMemory, machine_line, median, table  # noqa: E402
from bench_lessons import run_notebook  # noqa: E402

MB = 1024**2


def all_lessons() -> list[str]:
    return sorted(p.name for p in (ROOT / "solutions").iterdir()
                  if (p / f"{p.name}.ipynb").is_file())


def make_class(folder: Path, lessons: list[str], students: int, offset: int = 0) -> int:
    """``folder/<student>/<lesson>/<lesson>.ipynb``; even students hand in the solution,
    odd ones the untouched release. Returns the number of notebooks."""
    n = 0
    for i in range(offset, offset + students):
        for lesson in lessons:
            src = ROOT / ("solutions" if i % 2 == 0 else "lessons") / lesson / f"{lesson}.ipynb"
            dest = folder / f"s{i:03d}" / lesson
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, dest / f"{lesson}.ipynb")
            n += 1
    return n


def env() -> dict:
    return dict(os.environ, PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")


CPU = {"seconds": 0.0}  # CPU time of every command run by timed(), added up


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(cmd: list[str], cwd: Path, log: Path) -> tuple[float, int]:
    """Run ``cmd``; returns (wall seconds, peak RSS of its process tree in bytes). Its CPU
    time (user + system, of every process it waited for) is added to ``CPU["seconds"]``."""
    cpu0 = _children_cpu()
    with open(log, "w") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env(), stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        with TreeMemory(proc.pid) as mem:
            code = proc.wait()
        wall = time.perf_counter() - t0
    CPU["seconds"] += _children_cpu() - cpu0
    if code != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {code}; see {log}")
    return wall, mem.peak


def rnn_course(subs: Path, out: Path, workers: int, log: Path) -> tuple[float, int, dict]:
    wall, peak = timed([str(VENV_BIN / "rnn-course"), "grade", str(subs), "--out", str(out),
                        "--workers", str(workers)], subs.parent, log)
    report = json.loads((out / "report.json").read_text())
    return wall, peak, report


def stock_course(tmp: Path, lessons: list[str], subs: Path, log: Path) -> tuple[float, int, dict]:
    """A throw-away nbgrader course with the course's config; autograde every lesson."""
    course = tmp / "stock"
    (course / "solutions").mkdir(parents=True)
    for lesson in lessons:
        shutil.copytree(ROOT / "solutions" / lesson, course / "solutions" / lesson)
    config = (ROOT / "autograder" / "nbgrader_config.py").read_text()
    config += (f"\nc.CourseDirectory.root = {str(course)!r}\n"
               f"c.CourseDirectory.db_url = 'sqlite:///{course}/gradebook.db'\n"
               # the course's config puts these beside the course folder; here they are inside
               f"c.CourseDirectory.submitted_directory = 'submitted'\n"
               f"c.CourseDirectory.autograded_directory = 'autograded'\n"
               f"c.CourseDirectory.feedback_directory = 'feedback'\n")
    (course / "nbgrader_config.py").write_text(config)
    nbgrader = str(VENV_BIN / "nbgrader")
    t_setup = time.perf_counter()
    for lesson in lessons:
        timed([nbgrader, "generate_assignment", lesson, "--force"], course,
              tmp / f"stock-generate-{lesson}.log")
    t_setup = time.perf_counter() - t_setup
    cpu_setup = CPU["seconds"]
    shutil.copytree(subs, course / "submitted")
    wall, peak = 0.0, 0
    for lesson in lessons:
        w, p = timed([nbgrader, "autograde", lesson, "--force"], course, log)
        wall, peak = wall + w, max(peak, p)
    scores = {}
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course}/gradebook.db") as gb:
        for lesson in lessons:
            for sub in gb.assignment_submissions(lesson):
                scores[(sub.student.id, lesson)] = sub.score
    return wall + t_setup, peak, {"setup_s": t_setup, "setup_cpu": cpu_setup, "scores": scores}


def overhead(tmp: Path, lessons: list[str], copies: int) -> list[tuple]:
    """Per lesson: rnn-course's time per notebook (--workers 1, ``copies`` solution copies in
    one batch; the median) minus its cells' time."""
    rows = []
    for lesson in lessons:
        subs = tmp / f"one-{lesson}" / "submitted"
        for i in range(copies):
            dest = subs / f"s{i:03d}" / lesson
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / "solutions" / lesson / f"{lesson}.ipynb", dest)
        path = ROOT / "solutions" / lesson / f"{lesson}.ipynb"
        plain_wall, cells = run_notebook(path)
        _, _, report = rnn_course(subs, tmp / f"one-{lesson}" / "out", 1,
                                  tmp / f"one-{lesson}.log")
        times = [s["seconds"] for s in sorted(report["submissions"],
                                               key=lambda s: s["student"])]
        graded = median(times)
        rows.append((lesson, cells, plain_wall, times[0], graded, graded - cells,
                     graded - plain_wall, "yes" if graded - cells < 0.5 else "NO"))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lessons", nargs="*", default=["03-rnn-cell"],
                    help="lesson ids, or 'all' (default: 03-rnn-cell, the quickest)")
    ap.add_argument("--students", type=int, default=6, help="submissions per lesson")
    ap.add_argument("--memory-classes", type=int, nargs="*", default=[4, 8, 16],
                    help="class sizes for the memory measurement (first lesson only)")
    ap.add_argument("--skip-stock", action="store_true")
    ap.add_argument("--skip-overhead", action="store_true")
    ap.add_argument("--overhead-copies", type=int, default=3,
                    help="solution copies per lesson graded in one batch for measurement 2")
    ap.add_argument("--keep", help="keep the work folder here instead of a temporary one")
    args = ap.parse_args(argv)
    lessons = all_lessons() if args.lessons == ["all"] else args.lessons
    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="rnn-bench-grade-"))
    tmp.mkdir(parents=True, exist_ok=True)
    print(machine_line())
    print(f"command: .venv/bin/python benchmarks/bench_grading.py --lessons {' '.join(args.lessons)} "
          f"--students {args.students} --memory-classes {' '.join(map(str, args.memory_classes))}"
          + (" --skip-stock" if args.skip_stock else "")
          + (" --skip-overhead" if args.skip_overhead else
             f" --overhead-copies {args.overhead_copies}"))
    print(f"work folder: {tmp}", flush=True)
    try:
        subs = tmp / "class" / "submitted"
        n = make_class(subs, lessons, args.students)
        CPU["seconds"] = 0.0
        rn_wall, rn_peak, report = rnn_course(subs, tmp / "class" / "out", 2, tmp / "rnn-course.log")
        rn_cpu = CPU["seconds"]
        per_nb = [s["seconds"] for s in report["submissions"]]
        rows = [("rnn-course grade --workers 2", n, rn_wall, 60 * n / rn_wall,
                 60 * n / rn_wall / 2, rn_cpu, rn_cpu / n, rn_peak / MB)]
        print(f"  rnn-course --workers 2: {rn_wall:.1f} s for {n} notebooks", flush=True)
        ratio = None
        if not args.skip_stock:
            CPU["seconds"] = 0.0
            st_wall, st_peak, st = stock_course(tmp, lessons, subs, tmp / "stock.log")
            st_cpu = CPU["seconds"]
            rows.append(("stock: generate_assignment + autograde", n, st_wall, 60 * n / st_wall,
                         60 * n / st_wall, st_cpu, st_cpu / n, st_peak / MB))
            ag_wall, ag_cpu = st_wall - st["setup_s"], st_cpu - st["setup_cpu"]
            rows.append(("stock: nbgrader autograde alone", n, ag_wall, 60 * n / ag_wall,
                         60 * n / ag_wall, ag_cpu, ag_cpu / n, st_peak / MB))
            ratio = ag_wall / rn_wall
            print(f"  stock nbgrader: {st_wall:.1f} s (generate_assignment {st['setup_s']:.1f} s)",
                  flush=True)
            mine = {(s["student"], s["lesson"]): s["score"] for s in report["submissions"]}
            differ = [k for k, v in st["scores"].items() if abs(mine.get(k, -1) - v) > 1e-6]
        print()
        print(f"1. Throughput on the same class ({args.students} submissions x "
              f"{len(lessons)} lesson(s): {', '.join(lessons)})")
        print(table(["grader", "notebooks", "wall s", "notebooks/min", "per worker", "CPU s",
                     "CPU s/notebook", "peak RSS MB"], rows))
        print("   (stock autograde grades one notebook at a time: one worker)")
        if ratio is not None:
            print(f"   throughput ratio rnn-course / stock autograde alone: {ratio:.2f}x (target "
                  f"2.5x: {'met' if ratio >= 2.5 else 'MISSED'}); counting stock's "
                  f"generate_assignment runs too (rnn-course's wall includes its own set-up): "
                  f"{st_wall / rn_wall:.2f}x")
            print(f"   CPU time per notebook: rnn-course {rn_cpu / n:.1f} s, stock autograde "
                  f"{ag_cpu / n:.1f} s; on two otherwise idle cores the ratio could reach at most "
                  f"about {2 * ag_cpu / rn_cpu:.2f}x (2 x stock CPU / rnn-course CPU)")
            print(f"   scores that differ between the two graders: {len(differ)}"
                  + (f" {differ[:4]}" if differ else ""))
        print(f"   rnn-course seconds per notebook (2 at a time): median {median(per_nb):.1f}, "
              f"max {max(per_nb):.1f}")
        if not args.skip_overhead:
            orows = overhead(tmp, lessons, args.overhead_copies)
            print()
            print(f"2. Time per notebook beyond its own cells ({args.overhead_copies} solution "
                  "copies in one batch, --workers 1, seconds; 'rnn-course' is the median)")
            print(table(["lesson", "cells", "nbclient wall", "rnn-course first", "rnn-course",
                         "beyond cells", "beyond nbclient", "< 0.5 s"], orows))
        if args.memory_classes:
            mrows = []
            lesson = lessons[0]
            for size in args.memory_classes:
                folder = tmp / f"mem-{size}" / "submitted"
                make_class(folder, [lesson], size)
                wall, peak, _ = rnn_course(folder, tmp / f"mem-{size}" / "out", 2,
                                           tmp / f"mem-{size}.log")
                mrows.append((size, wall, peak / MB))
                print(f"  class of {size}: {wall:.1f} s, peak {peak / MB:.0f} MB", flush=True)
            print()
            print(f"3. Peak memory of rnn-course grade --workers 2 as the class grows ({lesson})")
            print(table(["submissions", "wall s", "peak RSS MB (process tree)"], mrows))
            growth = mrows[-1][2] / mrows[0][2]
            print(f"   peak at {mrows[-1][0]} / peak at {mrows[0][0]}: {growth:.2f}x "
                  f"({'flat' if growth < 1.15 else 'GROWS'})")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
