"""A notebook kernel for grading: started in the sandbox, driven cell by cell.

:class:`GradingKernel` runs code with a wall-time limit per cell, keeps at most a fixed
number of output bytes per cell (a flood of prints costs the grader nothing), notices when
the kernel dies, and answers the judge's requests (see :mod:`rnnkit._grading.remote`).

The grader reaches the kernel over ZeroMQ ``ipc://`` (Unix) sockets in a folder of its own
that only the grader and the kernel's user can enter (the kernel has no network), and it
accepts no message larger than :data:`MAX_MESSAGE_BYTES`: ZeroMQ drops the connection
before reading such a message (memory stays bounded), reconnects, and the cell or request
fails at once with a one-line reason.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from queue import Empty

import nbformat
import zmq
from jupyter_client import KernelManager

from rnnkit._grading.remote import FRAME_HEAD as FRAME
from rnnkit.limits import LIMITS, Limits

from .sandbox import SandboxConfig

BOOTSTRAP = (  # run before any student code; {fd}: the kernel's end of the judge channel
    "from rnnkit._grading.remote import KernelServer as _rnn_KernelServer\n"
    "_rnn_server = _rnn_KernelServer(globals(), {fd})\n"
    "__rnn_rpc__, __rnn_serve__ = _rnn_server.handle, _rnn_server.serve\n"
    "del _rnn_KernelServer, _rnn_server\n"
)


MAX_MESSAGE_BYTES = LIMITS.message_bytes  # any one message from the kernel, before decoding
REPLY_GRACE_SECONDS = 2.0  # after the kernel went idle, how long a reply may still take
IPC_ROOT = "/run/rnn-course"


@dataclass
class CellRun:
    outputs: list
    status: str  # ok, error, timeout, died
    ename: str = ""
    evalue: str = ""
    truncated: bool = False


class KernelDied(Exception):
    pass


class _Execution:
    """One execute request in flight: its outputs collected (capped) message by message, so
    that the grader can wait for other things (the judge channel) meanwhile."""

    def __init__(self, kernel: GradingKernel, code: str, deadline: float, timeout: float,
                 silent: bool = False, user_expressions: dict | None = None):
        self.kernel, self.deadline, self.timeout = kernel, deadline, timeout
        self.msg_id = kernel.kc.execute(code, silent=silent, store_history=not silent,
                                        allow_stdin=False,
                                        user_expressions=user_expressions or {})
        self.outputs: list = []
        self.used = 0
        self.truncated = False
        self.done_iopub = False
        self.reply = None
        self.idle_at = self.reply_at = 0.0

    def pump(self, wait: float) -> CellRun | None:
        """Handle at most one message, waiting up to ``wait`` seconds for it; the run's end
        (done, error, timeout, died, a reply lost) once it is over, else None."""
        k = self.kernel
        now = time.monotonic()
        remaining = self.deadline - now
        if self.reply is not None and self.done_iopub:
            return self._result()
        if self.reply is not None and now - self.reply_at > REPLY_GRACE_SECONDS:
            # the idle status was lost: ZeroMQ dropped an oversized output message
            k._reconnect()
            self.truncated = True
            return self._result()
        if self.done_iopub and self.reply is None and now - self.idle_at > REPLY_GRACE_SECONDS:
            k._reconnect()
            return CellRun(self.outputs, "error", "ReplyTooLarge",
                           f"the notebook's kernel sent a reply larger than "
                           f"{MAX_MESSAGE_BYTES} bytes", True)
        if remaining <= 0:
            k._interrupt()
            return CellRun(self.outputs, "timeout", "TimeoutError",
                           f"the cell ran longer than {self.timeout:g} s", self.truncated)
        if self.reply is None and k.kc.shell_channel.msg_ready():
            self._shell(k.kc.get_shell_msg(timeout=0))
            return None
        wait = min(remaining, wait, 0.2 if self.reply else 1.0)
        try:
            if not self.done_iopub:
                self._iopub(k.kc.get_iopub_msg(timeout=wait))
            else:
                self._shell(k.kc.get_shell_msg(timeout=wait))
        except Empty:
            if not k.alive():
                return CellRun(self.outputs, "died", "KernelDied",
                               "the notebook's kernel stopped (os._exit, a crash or too much "
                               "memory)", self.truncated)
        return None

    def _shell(self, msg: dict) -> None:
        if msg.get("parent_header", {}).get("msg_id") == self.msg_id:
            self.reply, self.reply_at = msg["content"], time.monotonic()

    def _iopub(self, msg: dict) -> None:
        if msg.get("parent_header", {}).get("msg_id") != self.msg_id:
            return
        kind, content = msg["msg_type"], msg["content"]
        if kind == "status" and content.get("execution_state") == "idle":
            self.done_iopub, self.idle_at = True, time.monotonic()
        elif kind in ("stream", "display_data", "execute_result", "error"):
            size = len(json.dumps(content))
            if self.used + size > self.kernel.limits.output_bytes and kind != "error":
                self.truncated = True
                return
            self.used += size
            self.outputs.append(nbformat.v4.output_from_msg(msg))
        elif kind == "clear_output":
            self.outputs = [o for o in self.outputs if o.get("output_type") == "error"]

    def _result(self) -> CellRun:
        outputs, reply = self.outputs, self.reply
        if self.truncated:
            outputs.append(nbformat.v4.new_output(
                "stream", name="stdout",
                text=f"[output cut: more than {self.kernel.limits.output_bytes} bytes, or one "
                     f"message larger than {MAX_MESSAGE_BYTES} bytes]\n"))
        self.kernel.last_reply = reply
        if reply.get("status") == "error":
            return CellRun(outputs, "error", reply.get("ename", "Error"),
                           str(reply.get("evalue", "")), self.truncated)
        return CellRun(outputs, "ok", truncated=self.truncated)


def isolation_available() -> str:
    """'user+mounts' when running as root with setpriv, else 'limits'."""
    if hasattr(os, "geteuid") and os.geteuid() == 0 and Path("/usr/bin/setpriv").exists():
        return "user+mounts"
    return "limits"


def user_processes(uid: int) -> list[int]:
    """Process ids of ``uid``, zombies included."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def live_user_processes(uid: int) -> list[int]:
    """Process ids of ``uid`` that can still run (zombies left out)."""
    live = []
    for pid in user_processes(uid):
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[-1].split()[0] not in ("Z", "X"):
                    live.append(pid)
        except OSError:
            continue
    return live


def kill_user_processes(uid: int) -> int:
    """Kill every process of ``uid`` (what a kernel left behind: forks, sleepers)."""
    import signal

    killed = 0
    for _ in range(3):
        found = False
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if entry.stat().st_uid != uid:
                    continue
                os.kill(int(entry.name), signal.SIGKILL)
                killed += 1
                found = True
            except (ProcessLookupError, PermissionError, FileNotFoundError):
                continue
        if not found:
            break
        time.sleep(0.05)
    return killed


class UidPool:
    """Unprivileged user ids for sandboxed kernels, one per notebook being graded, unique
    across every grader running on this machine (an exclusive lock file per id; the lock
    goes away with the process that holds it)."""

    FIRST, COUNT = 61000, 1000

    def __init__(self, folder: str | None = None):
        self.folder = Path(folder or tempfile.gettempdir()) / "rnn-course-uids"

    def acquire(self) -> tuple[int, int]:
        import fcntl

        self.folder.mkdir(mode=0o700, exist_ok=True)
        for uid in range(self.FIRST, self.FIRST + self.COUNT):
            fd = os.open(self.folder / f"{uid}.lock", os.O_CREAT | os.O_RDWR, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            kill_user_processes(uid)  # whatever an earlier, killed run left behind
            remove_leftovers(uid)
            if user_processes(uid):  # unreaped zombies still count against its limits
                os.close(fd)
                continue
            return uid, fd
        raise RuntimeError("no free user id for a grading kernel")

    @staticmethod
    def release(uid: int, fd: int) -> None:
        kill_user_processes(uid)
        remove_leftovers(uid)
        os.close(fd)


def kernel_folder_prefix(uid: int | None) -> str:
    """The prefix of a kernel's working folder in the grader's temporary folder: it names
    the kernel's user, so that the folders of a grader killed before it could remove them
    are found by whoever holds that user id next (:func:`remove_leftovers`)."""
    return f"rnn-kernel-{uid}-" if uid is not None else "rnn-kernel-"


def remove_leftovers(uid: int, tmp: str | None = None) -> int:
    """Remove what kernels of ``uid`` left when their grader was killed (SIGKILL, a crash):
    socket folders in :data:`IPC_ROOT` owned by ``uid`` and working folders named for it.
    Only the holder of ``uid``'s lock (:class:`UidPool`) calls this, after killing every
    process of ``uid``, so none of these folders is in use. Returns how many were removed."""
    import glob

    removed = 0
    for folder in glob.glob(os.path.join(IPC_ROOT, "k*")):
        try:
            st = os.lstat(folder)
        except OSError:
            continue
        if st.st_uid == uid and not os.path.islink(folder):
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    for folder in glob.glob(os.path.join(tmp or tempfile.gettempdir(),
                                         glob.escape(kernel_folder_prefix(uid)) + "*")):
        if os.path.isdir(folder) and not os.path.islink(folder):
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


# The kernel's own launcher (``python -m ipykernel_launcher``) with the course's modules
# imported first: trusted code from the Python environment, run before the kernel answers
# its first message and so before any student byte reaches it. A module that fails to
# import is left for the notebook to import (and report) itself. jsonschema's optional
# ``rfc3987_syntax`` format checker is left out, as in the grader (:mod:`autograder`): plotly's
# renderers import nbformat, and building that checker's grammar costs about 3 s of CPU in
# every kernel for a format no notebook uses.
PRELOAD_LAUNCHER = (
    "def _rnn_launch(mods):\n"
    "    import sys\n"
    "    if sys.path and sys.path[0] == '':\n"
    "        del sys.path[0]\n"
    "    sys.modules.setdefault('rfc3987_syntax', None)\n"
    "    for m in mods:\n"
    "        try:\n"
    "            __import__(m)\n"
    "        except Exception:\n"
    "            pass\n"
    "    from ipykernel import kernelapp\n"
    "    kernelapp.launch_new_instance()\n"
    "_rnn_launch({mods!r})\n"
)


class _SandboxedManager(KernelManager):
    sandbox_json: str = "{}"
    preload: tuple = ()

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        if self.preload and cmd[1:3] == ["-m", "ipykernel_launcher"]:
            cmd[1:3] = ["-c", PRELOAD_LAUNCHER.format(mods=list(self.preload))]
        return [sys.executable, "-m", "autograder.sandbox", self.sandbox_json, "--", *cmd]


def kernel_env() -> dict:
    """A small, clean environment: nothing of the grader's (database URLs, tokens)."""
    keep = ("PATH", "LANG", "LC_ALL", "TZ", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               PYTHONDONTWRITEBYTECODE="1", MPLBACKEND="agg", PYDEVD_DISABLE_FILE_VALIDATION="1",
               JUPYTER_PLATFORM_DIRS="0")
    return env


class GradingKernel:
    def __init__(self, limits: Limits, hide: list[Path], isolation: str | None = None,
                 uid: int | None = None, files: dict[str, str] | None = None,
                 preload: list[str] | tuple = ()):
        self.limits = limits
        self.files = dict(files or {})  # written into the kernel's working folder at start
        self.isolation = isolation or isolation_available()
        privileged = self.isolation == "user+mounts"
        self._tmp = tempfile.TemporaryDirectory(
            prefix=kernel_folder_prefix(int(uid) if uid is not None and privileged else None))
        os.chmod(self._tmp.name, 0o755)
        import rnnkit

        keep = {str(Path(p).resolve()) for p in (sys.prefix, sys.base_prefix,
                                                 Path(rnnkit.__file__).parent)}
        cfg = SandboxConfig(memory_bytes=limits.memory_bytes,
                            max_processes=limits.max_processes, file_bytes=limits.file_bytes,
                            hide=[str(p) for p in hide], keep=sorted(keep),
                            privileged=privileged,
                            workdir=self._tmp.name)
        if uid is not None:
            cfg.user = cfg.group = int(uid)
        self.uid = cfg.user if cfg.privileged else None
        self._ipc = self._ipc_folder(cfg)
        self.context = zmq.Context()
        self.context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        self.km = _SandboxedManager(kernel_name="python3", transport="ipc",
                                    ip=os.path.join(self._ipc, "k"), context=self.context)
        self.km.sandbox_json = cfg.to_json()
        self.km.preload = tuple(preload)
        self.kc = None
        self._log = None
        self._chan: socket.socket | None = None  # the grader's end of the judge channel
        self._chan_fd = -1  # the kernel's end, as numbered in the kernel process
        self._session = 0  # the judge's requests of one test cell (see request)
        self._serving: _Execution | None = None
        self._theirs: socket.socket | None = None
        self._seq = 0
        self._printed: list = []  # outputs of this test cell's serving cells that ended
        self._last_run: CellRun | None = None
        self._inbuf = bytearray()
        self._skip = 0  # bytes of an oversized frame still to be dropped
        self._skipped: tuple[int, int] | None = None  # (session, number) of that frame

    def _ipc_folder(self, cfg: SandboxConfig) -> str:
        """A folder for the kernel's sockets that only the grader and the kernel's user can
        enter (outside the kernel's private /tmp, which the grader cannot see)."""
        if cfg.privileged:
            os.makedirs(IPC_ROOT, mode=0o711, exist_ok=True)
            os.chmod(IPC_ROOT, 0o711)
            folder = tempfile.mkdtemp(prefix="k", dir=IPC_ROOT)
            os.chown(folder, cfg.user, cfg.group)
        else:
            folder = tempfile.mkdtemp(prefix="rnn-ipc-")
        os.chmod(folder, 0o700)
        return folder

    def start(self, timeout: float | None = None) -> None:
        self.launch()
        self.connect(timeout)

    def launch(self) -> None:
        """Start the kernel's process and return at once: it enters its sandbox and imports
        its modules while the caller goes on (:meth:`connect` waits for it)."""
        env = kernel_env()
        env["HOME"] = self._tmp.name
        self._log = open(Path(self._tmp.name) / "kernel-stderr.log", "wb")
        try:
            self.km.start_kernel(env=env, cwd=self._tmp.name, stderr=self._log,
                                 **self._new_channel())
        finally:
            self._started()
        # connected now: ZeroMQ connects as soon as the kernel binds its sockets
        self.kc = self.km.client(context=self.context)
        self.kc.start_channels()

    def connect(self, timeout: float | None = None) -> None:
        """Wait until the launched kernel answers; then install the judge's server and write
        :attr:`files` into its folder (nothing else has run in it before)."""
        log_path = Path(self._tmp.name) / "kernel-stderr.log"
        try:
            self._wait_ready(self.limits.kernel_ready_seconds if timeout is None else timeout)
        except RuntimeError as e:
            self._log.flush()
            tail = log_path.read_text(errors="replace").strip().splitlines()[-1:]
            raise RuntimeError(f"{e} ({tail[0][:300] if tail else 'no output'})") from None
        run = self.run(self._bootstrap(), timeout=self.limits.kernel_bootstrap_seconds, silent=True)
        if run.status != "ok":
            raise RuntimeError(f"the grading kernel could not start ({run.ename}: {run.evalue})")

    def _wait_ready(self, timeout: float) -> None:
        """Until the kernel has answered a ``kernel_info`` request on both channels: its
        busy/idle status for the request seen on IOPub proves that IOPub is subscribed, so
        no output of the first cell can be lost. (``wait_for_ready`` proves the same by
        draining IOPub for 0.2 s, on every notebook's critical path.)"""
        deadline = time.monotonic() + timeout
        asked: set[str] = set()
        next_ask = 0.0
        while time.monotonic() < deadline:
            if time.monotonic() >= next_ask:
                if not self.km.is_alive():
                    raise RuntimeError("Kernel died before replying to kernel_info")
                asked.add(self.kc.kernel_info())
                next_ask = time.monotonic() + 1.0
            try:
                msg = self.kc.get_iopub_msg(timeout=0.05)
            except Empty:
                continue
            if msg.get("parent_header", {}).get("msg_id") in asked and \
                    msg["msg_type"] == "status" and \
                    msg["content"].get("execution_state") == "idle":
                return
        raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")

    def _files_code(self) -> str:
        """Code that writes ``self.files`` into the kernel's working folder (as the kernel's
        own user, inside its sandbox), where the notebook imports them from."""
        if not self.files:
            return ""
        return (f"import importlib as _i, pathlib as _p\nfor _n, _t in {self.files!r}.items():\n"
                "    _p.Path(_n).write_text(_t, encoding='utf-8')\n"
                "_i.invalidate_caches()\ndel _i, _p, _n, _t\n")

    def alive(self) -> bool:
        return self.km.is_alive()

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the kernel's process has used so far (0 if unknown)."""
        try:
            pid = self.km.provisioner.process.pid
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            return sum(int(f) for f in fields[11:13]) / os.sysconf("SC_CLK_TCK")
        except (AttributeError, OSError, ValueError, IndexError):
            return 0.0

    def restart(self) -> None:
        try:
            self.km.restart_kernel(now=True, **self._new_channel())
        finally:
            self._started()
        self.kc.wait_for_ready(timeout=self.limits.kernel_ready_seconds)
        self.run(self._bootstrap(), timeout=self.limits.kernel_bootstrap_seconds, silent=True)

    def _bootstrap(self) -> str:
        return BOOTSTRAP.format(fd=self._chan_fd) + self._files_code()

    def _new_channel(self) -> dict:
        """A fresh socket pair for the judge's requests; returns what the kernel's process
        is started with so that it inherits one end (nobody else can reach either end)."""
        self._end_channel()
        if self._chan is not None:
            self._chan.close()
        self._chan, self._theirs = socket.socketpair()
        self._chan.setblocking(False)
        self._chan_fd = self._theirs.fileno()
        return {"pass_fds": (self._chan_fd,)}

    def _started(self) -> None:
        """The kernel's process holds its end of the channel now: the grader closes its copy
        (so that the channel ends when the kernel does)."""
        if self._theirs is not None:
            self._theirs.close()
            self._theirs = None

    def _end_channel(self) -> None:
        """Forget the current test cell's requests (the kernel restarts, or was interrupted)."""
        self._serving = None
        self._inbuf.clear()
        self._skip, self._skipped = 0, None

    def shutdown(self) -> None:
        self._end_channel()
        if self._chan is not None:
            self._chan.close()
            self._chan = None
        try:
            if self.kc is not None:
                self.kc.stop_channels()
            self.km.shutdown_kernel(now=True)
        except Exception:
            pass
        if self.uid is not None:
            kill_user_processes(self.uid)
        if getattr(self, "_log", None) is not None:
            self._log.close()
        self._tmp.cleanup()
        shutil.rmtree(self._ipc, ignore_errors=True)
        try:
            self.context.destroy(linger=0)
        except Exception:
            pass

    # ------------------------------------------------------------------ execution

    def run(self, code: str, timeout: float | None = None, silent: bool = False,
            user_expressions: dict | None = None) -> CellRun:
        """Run ``code``; collect its outputs as nbformat outputs (capped)."""
        self.end_requests(REPLY_GRACE_SECONDS)
        timeout = self.limits.cell_seconds if timeout is None else timeout
        if not self.alive():
            return CellRun([], "died", "KernelDied", "the notebook's kernel had already stopped")
        exe = _Execution(self, code, time.monotonic() + timeout, timeout, silent,
                         user_expressions)
        while True:
            done = exe.pump(1.0)
            if done is not None:
                return done

    def _reconnect(self) -> None:
        """New sockets to the kernel: ZeroMQ ends a connection for good after a message
        larger than its limit."""
        try:
            self.kc.stop_channels()
            self.kc = self.km.client(context=self.context)
            self.kc.start_channels()
            self.kc.wait_for_ready(timeout=self.limits.kernel_reconnect_seconds)
        except Exception:
            pass

    def _interrupt(self) -> None:
        try:
            self.km.interrupt_kernel()
            end = time.monotonic() + self.limits.kernel_interrupt_seconds
            while time.monotonic() < end:
                try:
                    msg = self.kc.get_iopub_msg(timeout=0.5)
                except Empty:
                    continue
                if msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle":
                    return
            try:  # an interrupt did not stop it
                self.km.restart_kernel(now=True, **self._new_channel())
            finally:
                self._started()
            self.kc.wait_for_ready(timeout=self.limits.kernel_restart_seconds)
            self.run(self._bootstrap(), timeout=self.limits.kernel_bootstrap_seconds, silent=True)
        except Exception:
            pass

    # ------------------------------------------------------------------ judge requests

    # The judge's requests of one test cell travel on a socket pair made for this kernel
    # (its process inherits one end; nothing else can reach either): the first request runs
    # ``__rnn_serve__(session)`` as one silent cell, which answers frame after frame until
    # :meth:`end_requests` sends frame 0. Everything the kernel sends is only data here: a
    # frame is read with a size limit (a larger one is dropped as it arrives, in bounded
    # memory), each wait ends at the test cell's deadline (then the kernel is interrupted),
    # and the cell's outputs are collected with the same caps as any cell's.

    def request(self, req: dict, timeout: float) -> tuple[dict, list]:
        """Send one request to the kernel's server; returns (reply, printed outputs). What
        the notebook prints while answering is returned by :meth:`end_requests`."""
        deadline = time.monotonic() + timeout
        if self._serving is None:
            self._drain()
            self._session += 1
            self._seq = 0
            self._serving = _Execution(self, f"__rnn_serve__({self._session})", deadline,
                                       timeout, silent=True)
            ready = self._await(0)
            if isinstance(ready, dict):
                return ready, []
        self._seq += 1
        payload = json.dumps(req).encode()
        sent = self._send(self._seq, payload, deadline)
        got = sent if sent is not None else self._await(self._seq)
        if isinstance(got, dict):
            return got, []
        try:
            reply = json.loads(got)
            if not isinstance(reply, dict):
                raise ValueError
        except (ValueError, UnicodeDecodeError, MemoryError, RecursionError):
            return _broken(), []
        return reply, []

    def end_requests(self, timeout: float) -> tuple[list, tuple[str, str] | None]:
        """End the current test cell's requests: (what the notebook printed meanwhile, the
        error when its kernel did not finish in ``timeout`` seconds or died)."""
        error = None
        exe = self._serving
        if exe is not None:
            exe.deadline = min(exe.deadline, time.monotonic() + max(timeout,
                                                                     REPLY_GRACE_SECONDS))
            self._send(0, b"", exe.deadline)  # ends the session itself if it cannot
            if self._serving is not None:
                self._ended(self._finish())
            if self._last_run.status in ("timeout", "died"):
                error = (self._last_run.ename, self._last_run.evalue)
        printed, self._printed = self._printed, []
        return printed, error

    def _ended(self, run: CellRun) -> dict:
        """The cell serving requests is over: its outputs are kept for :meth:`end_requests`;
        returns why, as a failed reply (for a request it did not answer)."""
        self._serving, self._last_run = None, run
        self._printed += run.outputs
        if run.status in ("timeout", "died") or run.ename == "ReplyTooLarge":
            return {"ok": False, "ename": run.ename, "evalue": run.evalue}
        return _broken()

    def _drain(self) -> None:
        """Drop whatever an earlier, interrupted cell left on the channel."""
        self._inbuf.clear()
        self._skip, self._skipped = 0, None
        try:
            while self._chan.recv(1 << 20):
                pass
        except (BlockingIOError, OSError):
            pass

    def _send(self, number: int, payload: bytes, deadline: float) -> dict | None:
        """Write one frame before ``deadline``; None when written, else a failed reply."""
        import select

        data = memoryview(FRAME.pack(len(payload), self._session, number) + payload)
        while data:
            try:
                data = data[self._chan.send(data):]
                continue
            except BlockingIOError:
                pass
            except OSError:
                return self._ended(self._finish()) if self._serving else _broken()
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([], [self._chan], [], min(remaining, 1.0))[1]:
                if not self.alive() or time.monotonic() >= deadline:
                    return self._ended(self._finish()) if self._serving else _broken()
        return None

    def _finish(self) -> CellRun:
        """Pump the serving cell until it is over (its deadline bounds the wait)."""
        run = None
        while run is None:
            run = self._serving.pump(0.2)
        return run

    def _await(self, number: int) -> bytes | dict:
        """The payload of frame ``number`` of this session, or a failed reply."""
        exe = self._serving
        poller = zmq.Poller()
        if self._chan is not None:
            poller.register(self._chan.fileno(), zmq.POLLIN)
        poller.register(self.kc.iopub_channel.socket, zmq.POLLIN)
        poller.register(self.kc.shell_channel.socket, zmq.POLLIN)
        while True:
            got = self._frame(number)
            if got is not None:
                return got
            remaining = exe.deadline - time.monotonic()
            ready = dict(poller.poll(min(remaining, 1.0) * 1000)) if remaining > 0 else {}
            if ready.pop(self._chan.fileno(), None):
                if not self._read():
                    poller.unregister(self._chan.fileno())  # the kernel closed its end
                if not ready and remaining > 0:
                    continue  # only the channel had news
            run = exe.pump(0)  # the cell's messages; its end, a timeout, a dead kernel
            if run is not None:
                return self._ended(run)

    def _read(self) -> bool:
        """Read what the channel holds (up to 4 MiB); False at its end."""
        for _ in range(4):
            try:
                chunk = self._chan.recv(1 << 20)
            except BlockingIOError:
                return True
            except OSError:
                return False
            if not chunk:
                return False
            if self._skip:  # the rest of an oversized frame: dropped, never kept
                drop = min(self._skip, len(chunk))
                self._skip -= drop
                chunk = chunk[drop:]
            self._inbuf += chunk
            self._parse_heads()
        return True

    def _parse_heads(self) -> None:
        """Drop an oversized frame's bytes as soon as its head is seen."""
        while not self._skip and len(self._inbuf) >= FRAME.size:
            length, session, number = FRAME.unpack_from(self._inbuf)
            if length <= MAX_MESSAGE_BYTES:
                return
            drop = min(len(self._inbuf) - FRAME.size, length)
            del self._inbuf[:FRAME.size + drop]
            self._skip = length - drop
            self._skipped = (session, number)

    def _frame(self, number: int) -> bytes | dict | None:
        """Frame ``number`` of this session from what was read (others are dropped): its
        payload, a failed reply when it was too large, or None while it has not arrived."""
        if self._skipped == (self._session, number) and not self._skip:
            self._skipped = None
            return {"ok": False, "ename": "ReplyTooLarge",
                    "evalue": f"the notebook's kernel sent a reply larger than "
                              f"{MAX_MESSAGE_BYTES} bytes"}
        while len(self._inbuf) >= FRAME.size:
            length, session, got = FRAME.unpack_from(self._inbuf)
            if len(self._inbuf) < FRAME.size + length:
                return None
            payload = bytes(self._inbuf[FRAME.size:FRAME.size + length])
            del self._inbuf[:FRAME.size + length]
            if (session, got) == (self._session, number):
                return payload
        return None



def _broken() -> dict:
    return {"ok": False, "ename": "GradingError",
            "evalue": "the notebook's code broke the connection to the grader"}
