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
   ``rnn-course grade --workers 2`` as the class grows (``--memory-classes``; target: flat);
4. the Dask scheduler's cost per task, measured on a local ``dask scheduler`` with
   ``--dask-workers`` workers and ``--dask-tasks`` tasks that do nothing;
5. from the run's notebooks per minute per worker and 4.: how long 300 students x 8 lessons
   take on this machine and on N such machines.

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
    from autograder.release import write_handouts

    for lesson in lessons:
        shutil.copytree(ROOT / "solutions" / lesson, course / "solutions" / lesson)
        write_handouts(lesson, course)  # released with the lesson, as rnn-course's set-up does
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


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def dask_overhead(tmp: Path, workers: int, tasks: int) -> dict | None:
    """The scheduler's cost per task: a local ``dask scheduler`` and ``workers`` ``dask
    worker`` processes (one thread each), ``tasks`` tasks that do nothing, submitted as a
    class is (one task per notebook), timed from submission to the last result. Returns
    seconds per task (wall, and CPU of the scheduler and workers), or None without Dask."""
    try:
        from distributed import Client
    except ImportError:
        return None
    dask = str(VENV_BIN / "dask")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = [open(tmp / f"dask-{i}.log", "w") for i in range(workers + 1)]
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], env=env(), stdout=logs[0],
                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)]
    try:
        for i in range(workers):
            procs.append(subprocess.Popen(
                [dask, "worker", address, "--nthreads", "1", "--nworkers", "1",
                 "--no-dashboard", "--name", f"w{i}"], env=env(), stdout=logs[i + 1],
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))
        with Client(address, timeout=60) as client:
            client.wait_for_workers(workers, timeout=120)
            client.gather(client.map(abs, range(workers), pure=False))  # connections made
            cpu0 = sum(_proc_cpu(p.pid) for p in procs)
            t0 = time.perf_counter()
            futures = client.map(abs, range(tasks), pure=False)  # a builtin: nothing to ship
            done = client.gather(futures)
            wall = time.perf_counter() - t0
            cpu = sum(_proc_cpu(p.pid) for p in procs) - cpu0
        assert done == list(range(tasks))
        return {"workers": workers, "tasks": tasks, "wall": wall, "per_task": wall / tasks,
                "cpu_per_task": cpu / tasks}
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in reversed(procs):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in logs:
            log.close()


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a running process and of its live descendants (a
    ``dask worker`` runs its worker in a child of its nanny)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0.0
    own = sum(int(f) for f in fields[11:13]) / os.sysconf("SC_CLK_TCK")
    return own + sum(_proc_cpu(int(k)) for k in kids)


def scale_estimate(per_worker_rate: float, workers: int, overhead: dict | None,
                   students: int = 300, lessons: int = 8, machines=(1, 4, 16)) -> list[tuple]:
    """Hours for ``students`` x ``lessons`` notebooks: the measured notebooks per minute per
    worker x ``workers`` per machine x N machines, plus the scheduler's measured cost per
    task (paid by the one scheduler, so it does not shrink with N)."""
    n = students * lessons
    rows = []
    for m in machines:
        minutes = n / (per_worker_rate * workers * m)
        sched = (overhead["per_task"] * n / 60) if overhead and m > 1 else 0.0
        rows.append((m, m * workers, n, minutes + sched, (minutes + sched) / 60,
                     sched))
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
    ap.add_argument("--dask-workers", type=int, default=4,
                    help="dask workers beside a local dask scheduler for its overhead (0: skip)")
    ap.add_argument("--dask-tasks", type=int, default=200,
                    help="tasks (one per notebook of a tiny class) sent through the scheduler")
    ap.add_argument("--keep", help="keep the work folder here instead of a temporary one")
    args = ap.parse_args(argv)
    lessons = all_lessons() if args.lessons == ["all"] else args.lessons
    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="rnn-bench-grade-"))
    tmp.mkdir(parents=True, exist_ok=True)
    print(machine_line())
    print(f"command: .venv/bin/python benchmarks/bench_grading.py --lessons {' '.join(args.lessons)} "
          f"--students {args.students} --memory-classes {' '.join(map(str, args.memory_classes))}"
          + (" --skip-stock" if args.skip_stock else "")
          + f" --dask-workers {args.dask_workers} --dask-tasks {args.dask_tasks}"
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
        rate = 60 * n / rn_wall / 2  # notebooks per minute per worker, this run
        cpu_rate = 60 / (rn_cpu / n)  # the same if each worker had a core to itself
        overhead_d = None
        if args.dask_workers:
            overhead_d = dask_overhead(tmp, args.dask_workers, args.dask_tasks)
            print()
            if overhead_d is None:
                print("4. Dask scheduler overhead: not measured (dask.distributed not installed)")
            else:
                print(f"4. Dask scheduler overhead: a local `dask scheduler` and "
                      f"{overhead_d['workers']} `dask worker` processes, {overhead_d['tasks']} "
                      f"tasks that do nothing: {1000 * overhead_d['per_task']:.1f} ms per task "
                      f"(wall), {1000 * overhead_d['cpu_per_task']:.1f} ms CPU per task "
                      f"(scheduler + workers)")
        print()
        print(f"5. A class of 300 students x 8 lessons (2400 notebooks), at this run's "
              f"{rate:.2f} notebooks/min per worker, 2 workers per machine (machines like this "
              f"one; with a core per worker, this run's CPU time gives {cpu_rate:.2f} "
              "notebooks/min per worker)")
        print(table(["machines", "workers", "notebooks", "minutes", "hours",
                     "of which scheduler min"],
                    scale_estimate(rate, 2, overhead_d)))
        print("   (more than one machine: the notebooks go through one Dask scheduler, whose "
              "measured cost per task is added in full, an upper bound)")
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
        print(f"at the end: {machine_line()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
