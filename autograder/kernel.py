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

import ast
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from queue import Empty

import nbformat
import zmq
from jupyter_client import KernelManager

from rnnkit.limits import LIMITS, Limits

from .sandbox import SandboxConfig

BOOTSTRAP = (
    "from rnnkit._grading.remote import KernelServer as _rnn_KernelServer\n"
    "__rnn_rpc__ = _rnn_KernelServer(globals()).handle\n"
    "del _rnn_KernelServer\n"
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
# import is left for the notebook to import (and report) itself.
PRELOAD_LAUNCHER = (
    "def _rnn_launch(mods):\n"
    "    import sys\n"
    "    if sys.path and sys.path[0] == '':\n"
    "        del sys.path[0]\n"
    "    for m in mods:\n"
    "        try:\n"
    "            __import__(m)\n"
    "        except Exception:\n"
    "            pass\n"
    "    from ipykernel import kernelapp\n"
    "    kernelapp.launch_new_instance()\n"
    "_rnn_launch({mods!r})\n"
)


# torch imports torch._dynamo on the first backward pass or optimizer step, not with torch:
# about 2 s of CPU (5 s on a loaded machine) inside the first cell that trains anything.
LAZY_IMPORTS = {"torch": ["torch._dynamo"]}


def preload_modules(mods) -> list[str]:
    """``mods`` and what their first use imports lazily (:data:`LAZY_IMPORTS`)."""
    out = list(mods)
    for m in list(out):
        out += [x for x in LAZY_IMPORTS.get(m.split(".")[0], []) if x not in out]
    return out


class _SandboxedManager(KernelManager):
    sandbox_json: str = "{}"
    preload: tuple = ()

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        if self.preload and cmd[1:3] == ["-m", "ipykernel_launcher"]:
            cmd[1:3] = ["-c", PRELOAD_LAUNCHER.format(mods=preload_modules(self.preload))]
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
        self.km.start_kernel(env=env, cwd=self._tmp.name, stderr=self._log)
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
        run = self.run(BOOTSTRAP + self._files_code(),
                       timeout=self.limits.kernel_bootstrap_seconds, silent=True)
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

    def restart(self) -> None:
        self.km.restart_kernel(now=True)
        self.kc.wait_for_ready(timeout=self.limits.kernel_ready_seconds)
        self.run(BOOTSTRAP + self._files_code(),
                 timeout=self.limits.kernel_bootstrap_seconds, silent=True)

    def shutdown(self) -> None:
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
        timeout = self.limits.cell_seconds if timeout is None else timeout
        if not self.alive():
            return CellRun([], "died", "KernelDied", "the notebook's kernel had already stopped")
        msg_id = self.kc.execute(code, silent=silent, store_history=not silent,
                                 allow_stdin=False, user_expressions=user_expressions or {})
        deadline = time.monotonic() + timeout
        outputs: list = []
        used = 0
        truncated = False
        done_iopub = False
        reply = None
        idle_at = reply_at = None
        while not done_iopub or reply is None:
            remaining = deadline - time.monotonic()
            now = time.monotonic()
            if reply is not None and now - reply_at > REPLY_GRACE_SECONDS:
                # the idle status was lost: ZeroMQ dropped an oversized output message
                self._reconnect()
                truncated = True
                break
            if done_iopub and reply is None and now - idle_at > REPLY_GRACE_SECONDS:
                self._reconnect()
                return CellRun(outputs, "error", "ReplyTooLarge",
                               f"the notebook's kernel sent a reply larger than "
                               f"{MAX_MESSAGE_BYTES} bytes", True)
            if remaining <= 0:
                self._interrupt()
                return CellRun(outputs, "timeout", "TimeoutError",
                               f"the cell ran longer than {timeout:g} s", truncated)
            if reply is None and self.kc.shell_channel.msg_ready():
                msg = self.kc.get_shell_msg(timeout=0)
                if msg.get("parent_header", {}).get("msg_id") == msg_id:
                    reply, reply_at = msg["content"], time.monotonic()
                continue
            if not done_iopub:
                try:
                    msg = self.kc.get_iopub_msg(timeout=min(remaining, 0.2 if reply else 1.0))
                except Empty:
                    if not self.alive():
                        return CellRun(outputs, "died", "KernelDied",
                                       "the notebook's kernel stopped (os._exit, a crash or "
                                       "too much memory)", truncated)
                    continue
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = msg["msg_type"], msg["content"]
                if kind == "status" and content.get("execution_state") == "idle":
                    done_iopub = True
                    idle_at = time.monotonic()
                    continue
                if kind in ("stream", "display_data", "execute_result", "error"):
                    size = len(json.dumps(content))
                    if used + size > self.limits.output_bytes and kind != "error":
                        truncated = True
                        continue
                    used += size
                    outputs.append(nbformat.v4.output_from_msg(msg))
                elif kind == "clear_output":
                    outputs = [o for o in outputs if o.get("output_type") == "error"]
            else:
                try:
                    msg = self.kc.get_shell_msg(timeout=min(remaining, 1.0))
                except Empty:
                    if not self.alive():
                        return CellRun(outputs, "died", "KernelDied",
                                       "the notebook's kernel stopped", truncated)
                    continue
                if msg.get("parent_header", {}).get("msg_id") == msg_id:
                    reply, reply_at = msg["content"], time.monotonic()
        if truncated:
            outputs.append(nbformat.v4.new_output(
                "stream", name="stdout",
                text=f"[output cut: more than {self.limits.output_bytes} bytes, or one "
                     f"message larger than {MAX_MESSAGE_BYTES} bytes]\n"))
        self.last_reply = reply
        if reply.get("status") == "error":
            return CellRun(outputs, "error", reply.get("ename", "Error"),
                           str(reply.get("evalue", "")), truncated)
        return CellRun(outputs, "ok", truncated=truncated)

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
            self.km.restart_kernel(now=True)  # an interrupt did not stop it
            self.kc.wait_for_ready(timeout=self.limits.kernel_restart_seconds)
            self.run(BOOTSTRAP + self._files_code(),
                     timeout=self.limits.kernel_bootstrap_seconds, silent=True)
        except Exception:
            pass

    # ------------------------------------------------------------------ judge requests

    def request(self, req: dict, timeout: float) -> tuple[dict, list]:
        """Send one request to the kernel's server; returns (reply, printed outputs)."""
        expr = f"__rnn_rpc__({json.dumps(req)!r})"
        run = self.run("", timeout=timeout, silent=True, user_expressions={"r": expr})
        if run.status != "ok":
            return {"ok": False, "ename": run.ename, "evalue": run.evalue}, run.outputs
        result = (self.last_reply or {}).get("user_expressions", {}).get("r", {})
        if result.get("status") != "ok":
            return {"ok": False, "ename": result.get("ename", "GradingError"),
                    "evalue": "the notebook's code broke the connection to the grader"}, \
                run.outputs
        try:
            text = ast.literal_eval(result["data"]["text/plain"])
            reply = json.loads(text)
            if not isinstance(reply, dict):
                raise ValueError
        except (ValueError, SyntaxError, KeyError, TypeError, MemoryError, RecursionError):
            return {"ok": False, "ename": "GradingError",
                    "evalue": "the notebook's code broke the connection to the grader"}, \
                run.outputs
        return reply, run.outputs
