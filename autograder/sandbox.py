"""Start a notebook kernel under limits: ``python -m autograder.sandbox CONFIG -- ARGV...``.

Run by the kernel manager in place of the kernel command. As root it

* enters a private mount namespace and covers the folders student code must not see (the
  course's reference answers and sources, the grading output with the gradebook and the
  other submissions, the submissions folder) with empty, unreadable file systems, and gives
  the kernel a fresh private ``/tmp``;
* drops to an unprivileged user (``nobody``) that keeps only the right to read the Python
  environment (CAP_DAC_READ_SEARCH, needed when Python lives under a private home), and can
  write nothing but its own working folder;

and, as any user, sets limits on memory, processes, file size and core dumps before it runs
the kernel. The config is a JSON object; see :class:`SandboxConfig`.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import shutil
import sys
from dataclasses import asdict, dataclass, field

CLONE_NEWNS = 0x00020000
MS_NOSUID, MS_NODEV, MS_REC, MS_PRIVATE = 2, 4, 16384, 1 << 18


@dataclass
class SandboxConfig:
    memory_bytes: int = 4 * 1024**3
    max_processes: int = 64
    file_bytes: int = 256 * 1024**2
    hide: list[str] = field(default_factory=list)
    keep: list[str] = field(default_factory=list)  # must stay visible (Python, rnnkit)
    user: int = 65534
    group: int = 65534
    privileged: bool = False  # mount namespace + user change (needs root)
    workdir: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self))


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(libc, source: str, target: str, fstype: str | None, flags: int, data: str | None):
    _check(libc.mount(source.encode(), target.encode(), fstype.encode() if fstype else None,
                      ctypes.c_ulong(flags), data.encode() if data else None), f"mount {target}")


def enter_private_mounts(cfg: SandboxConfig, conn_src: str) -> str:
    """New mount namespace; hide folders; a private /tmp holding the connection file."""
    with open(conn_src, encoding="utf-8") as f:
        conn = f.read()
    libc = _libc()
    _check(libc.unshare(CLONE_NEWNS), "unshare")
    _mount(libc, "none", "/", None, MS_REC | MS_PRIVATE, None)
    # a fresh /tmp; what must stay visible under it (a course checked out in /tmp) is
    # mounted back from a handle opened before /tmp was covered
    kept = [(k, os.open(k, os.O_PATH | os.O_DIRECTORY)) for k in cfg.keep
            if (k == "/tmp" or k.startswith("/tmp/")) and os.path.isdir(k)]
    _mount(libc, "tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=1g,mode=1777")
    for k, fd in kept:
        os.makedirs(k, mode=0o755, exist_ok=True)
        _mount(libc, f"/proc/self/fd/{fd}", k, None, 4096 | MS_REC, None)  # MS_BIND
        os.close(fd)
    for path in cfg.hide:
        if os.path.isdir(path):
            _mount(libc, "tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "size=16k,mode=000")
        elif os.path.exists(path):
            _mount(libc, "/dev/null", path, None, 4096, None)  # MS_BIND over a file
    work = "/tmp/kernel"
    os.makedirs(work, mode=0o700)
    path = os.path.join(work, "connection.json")
    with open(path, "w", encoding="utf-8") as f:
        f.write(conn)
    for p in (work, path):
        os.chown(p, cfg.user, cfg.group)
    return path


def set_limits(cfg: SandboxConfig) -> None:
    for res, value in ((resource.RLIMIT_AS, cfg.memory_bytes),
                       (resource.RLIMIT_NPROC, cfg.max_processes),
                       (resource.RLIMIT_FSIZE, cfg.file_bytes),
                       (resource.RLIMIT_CORE, 0)):
        soft, hard = resource.getrlimit(res)
        limit = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(res, (limit, limit))


def main(argv: list[str]) -> int:
    cfg = SandboxConfig(**json.loads(argv[0]))
    assert argv[1] == "--"
    cmd = argv[2:]
    i = cmd.index("-f")
    if cfg.privileged:
        cmd[i + 1] = enter_private_mounts(cfg, cmd[i + 1])
        os.chdir(os.path.dirname(cmd[i + 1]))
        os.environ["HOME"] = os.getcwd()
        set_limits(cfg)
        setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"
        cmd = [setpriv, f"--reuid={cfg.user}", f"--regid={cfg.group}", "--clear-groups",
               "--inh-caps=-all,+dac_read_search", "--ambient-caps=+dac_read_search",
               "--bounding-set=-all,+dac_read_search", "--no-new-privs", *cmd]
    else:
        if cfg.workdir:
            os.chdir(cfg.workdir)
        set_limits(cfg)
    sys.stdout.flush()
    os.execvp(cmd[0], cmd)
    return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
