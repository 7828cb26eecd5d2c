"""Helpers shared by the benchmark scripts: timing, medians, tables, memory of a process tree."""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"


def shared_data_dir() -> Path | None:
    """The course's shared data folder (never in the repository): ``$RNN_COURSE_SHARED_DATA``
    if set, else the first ``shared/data`` beside the checkout or one of its parents (a git
    worktree may sit deeper than the main checkout)."""
    env = os.environ.get("RNN_COURSE_SHARED_DATA")
    if env:
        return Path(env)
    for parent in ROOT.parents:
        candidate = parent / "shared" / "data"
        if candidate.is_dir():
            return candidate
    return None


_DATA = shared_data_dir()
TIMEMACHINE = (_DATA or ROOT.parent / "shared" / "data") / "timemachine.txt"


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table with right-aligned numbers (a Markdown table, so it pastes)."""
    cells = [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(headers)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths)) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = ["| " + " | ".join(c.rjust(w) if _numeric(c) else c.ljust(w)
                              for c, w in zip(r, widths)) + " |" for r in cells]
    return "\n".join([line, rule, *body])


def _fmt(v: object) -> str:
    if isinstance(v, float):
        if v == 0 or abs(v) >= 100:
            return f"{v:.0f}"
        if abs(v) >= 10:
            return f"{v:.1f}"
        return f"{v:.2f}" if abs(v) >= 0.1 else f"{v:.3g}"
    return str(v)


def _numeric(s: str) -> bool:
    try:
        float(s.rstrip("×x%s"))
        return True
    except ValueError:
        return False


def machine_line() -> str:
    """One line saying where the numbers come from (cores, load, Python)."""
    load = os.getloadavg()
    return (f"machine: {os.cpu_count()} cores, load average {load[0]:.1f} {load[1]:.1f} "
            f"{load[2]:.1f}; Python {sys.version.split()[0]}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")


class TreeMemory:
    """Samples the summed RSS of a process and all its descendants in a background thread;
    ``peak`` is the largest sum seen (bytes)."""

    def __init__(self, pid: int | None = None, interval: float = 0.1):
        import psutil

        self._psutil = psutil
        self.root = psutil.Process(pid or os.getpid())
        self.interval = interval
        self.peak = 0
        self.peak_procs = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> int:
        psutil = self._psutil
        try:
            procs = [self.root, *self.root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0
        total = 0
        for p in procs:
            try:
                total += p.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        if total > self.peak:
            self.peak, self.peak_procs = total, len(procs)
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()
