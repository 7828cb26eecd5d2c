"""What tests share that is not a fixture: the course's folders, its installed commands on
``PATH``, and free ports for the servers a test starts.

The suite runs on several pytest-xdist workers at once (``make test``), so a port is never
taken from the kernel's ephemeral range (another program's outgoing connection may take it
between the choice and the server's start) and each worker chooses in a range of its own.
"""

from __future__ import annotations

import os
import random
import socket
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the course's virtual environment: rnn-course, jupyter, dask

FIRST_PORT = 10000  # below every service a test machine runs on its own well-known port


def course_env(**extra: str) -> dict[str, str]:
    """This process's environment with the course's commands first on ``PATH`` (as ``make``
    runs them), and ``extra`` variables set."""
    return dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **extra)


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def worker_ports() -> range:
    """The ports this pytest process chooses from: its pytest-xdist worker's share of the
    ports below the ephemeral range (all of them without xdist)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    count = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    size = (_ephemeral_start() - FIRST_PORT) // count
    start = FIRST_PORT + (index % count) * size
    return range(start, start + size)


_given: set[int] = set()
_random = random.Random(os.getpid())  # not the global generator, which tests seed


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now and that this process has not
    given out before (a test that starts three servers gets three ports)."""
    ports = worker_ports()
    for _ in range(200):
        port = _random.choice(ports)
        if port in _given:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _given.add(port)
        return port
    raise RuntimeError(f"no free port on 127.0.0.1 in {ports.start}-{ports.stop - 1}")
