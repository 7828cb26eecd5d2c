"""Every default limit of validate, grading and the class hub, in one place.

:data:`LIMITS` holds the defaults; a grading run may lower or raise the per-notebook ones
(``rnn-course grade --timeout/--notebook-timeout/--memory``), and :class:`Limits` is also
what one grading kernel is started with. The module lives in rnnkit because both sides use
it: ``rnn-course validate`` gives a cell the same time as the grader, and the codec that runs
inside a grading kernel (:mod:`rnnkit._grading.remote`) keeps its replies below the grader's
limit on one message. It holds no answer and imports nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LIMITS", "Limits"]

KiB, MiB, GiB = 1024, 1024**2, 1024**3


@dataclass
class Limits:
    # one notebook
    cell_seconds: float = 120.0  # a cell (validate, grading)
    notebook_seconds: float = 600.0  # a whole notebook (grading)
    # the student's kernel
    memory_bytes: int = 4 * GiB  # address space
    max_processes: int = 256  # RLIMIT_NPROC of the kernel's user
    file_bytes: int = 256 * MiB  # largest file the kernel may write
    output_bytes: int = 256 * KiB  # output kept per cell
    # what crosses from the kernel to the grader
    message_bytes: int = 16 * MiB  # any one message, before decoding
    reply_bytes: int = 12 * MiB  # one encoded value (below message_bytes)
    # the grader itself
    grader_memory_bytes: int = 6 * GiB  # a grading worker's own address space
    notebook_bytes: int = 50 * MiB  # a submitted notebook
    zip_bytes: int = 2 * GiB  # a zip of submissions, unpacked
    feedback_chars: int = 64 * KiB  # characters of one output kept in the feedback page
    # starting a grading kernel
    kernel_ready_seconds: float = 90.0  # a new or restarted kernel answers
    kernel_reconnect_seconds: float = 30.0  # it answers on new sockets (after too large a message)
    kernel_interrupt_seconds: float = 5.0  # an interrupted cell stops, else the kernel restarts
    kernel_restart_seconds: float = 60.0  # it answers after that restart
    kernel_bootstrap_seconds: float = 60.0  # the grader's first cell: judge's server, hand-outs
    # a class on JupyterHub
    hub_http_seconds: int = 90  # a student's server answers once started (Spawner.http_timeout)
    hub_start_seconds: int = 120  # a student's server starts (start_timeout; both whole seconds)
    hub_stop_seconds: float = 30.0  # JupyterHub stops after Ctrl-C, else it is killed


LIMITS = Limits()
assert LIMITS.reply_bytes < LIMITS.message_bytes
