"""Start a notebook kernel under limits: ``python -m autograder.sandbox CONFIG -- ARGV...``.

Run by the kernel manager in place of the kernel command. As root it

* enters a private mount namespace and a private network namespace (nothing but a
  loopback device: no other kernel, grader or host is reachable; the grader talks to the
  kernel over Unix sockets in a folder only the grader and the kernel's user can enter);
* covers the folders student code must not see (the course's reference answers and
  sources, the grading output with the gradebook and the other submissions, the
  submissions folder) with empty, unreadable file systems, and gives the kernel fresh
  private ``/tmp``, ``/var/tmp``, ``/dev/shm`` and ``/run/lock``;
* makes the Python environment reachable by the unprivileged user without any capability:
  a private folder on its path (``/root`` when Python lives in root's home) is covered by an
  empty, traversable file system into which only the environment is bound back, read-only
  (the rest of that folder does not exist for the kernel);
* drops to an unprivileged user with no capabilities at all (permitted, effective,
  inheritable, ambient and bounding sets empty) and no way to gain any (no-new-privileges),
  so ``open_by_handle_at`` and every other privileged call fail;

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

CLONE_NEWNS, CLONE_NEWNET = 0x00020000, 0x40000000
MS_RDONLY, MS_REMOUNT, MS_BIND = 1, 32, 4096
MS_NOSUID, MS_NODEV, MS_REC, MS_PRIVATE = 2, 4, 16384, 1 << 18


PRIVATE_DIRS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")


@dataclass
class SandboxConfig:
    memory_bytes: int  # the three limits: rnnkit.limits.Limits, given by the kernel
    max_processes: int
    file_bytes: int
    hide: list[str] = field(default_factory=list)
    keep: list[str] = field(default_factory=list)  # must stay visible (Python, rnnkit)
    user: int = 65534
    group: int = 65534
    privileged: bool = False  # mount namespace + user change (needs root)
    workdir: str = ""
    private: list[str] = field(default_factory=lambda: list(PRIVATE_DIRS))

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


def _traversable(path: str) -> bool:
    st = os.stat(path)
    return bool(st.st_mode & 0o001)


def cover_points(keep: list[str], private: list[str]) -> dict[str, list[str]]:
    """Folders to cover with an empty file system -> the kept paths bound back under each.

    The private scratch folders are always covered; so is the highest folder on the way to
    a kept path that other users cannot traverse (root's home when Python lives there)."""
    points: dict[str, list[str]] = {p: [] for p in private if os.path.isdir(p)}
    for k in keep:
        if not os.path.exists(k):
            continue
        parts = k.rstrip("/").split("/")
        for i in range(2, len(parts)):
            anc = "/".join(parts[:i])
            if anc in points or not _traversable(anc):
                points.setdefault(anc, [])
                break
    for k in keep:
        for c in points:
            if k != c and k.startswith(c + "/") and os.path.exists(k):
                points[c].append(k)
                break
    # an outer cover point contains the inner ones (``/root`` holding nothing else)
    return dict(sorted(points.items(), key=lambda kv: kv[0].count("/")))


def _enter_network_namespace(libc) -> None:
    """Unshare the network; bring up the new namespace's loopback device."""
    import fcntl
    import socket
    import struct

    _check(libc.unshare(CLONE_NEWNET), "unshare network")
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            ifreq = struct.pack("16sH14x", b"lo", 0x1 | 0x40)  # IFF_UP | IFF_RUNNING
            fcntl.ioctl(s.fileno(), 0x8914, ifreq)  # SIOCSIFFLAGS
    except OSError:
        pass  # loopback stays down: still nothing reachable


def enter_private_mounts(cfg: SandboxConfig, conn_src: str) -> str:
    """New mount and network namespaces; hide folders; private scratch folders; the Python
    environment bound back read-only; the connection file in the private /tmp."""
    with open(conn_src, encoding="utf-8") as f:
        conn = f.read()
    libc = _libc()
    _check(libc.unshare(CLONE_NEWNS), "unshare")
    _mount(libc, "none", "/", None, MS_REC | MS_PRIVATE, None)
    _enter_network_namespace(libc)
    points = cover_points(cfg.keep, cfg.private)
    # every kept path is opened before anything is covered, then mounted back from its handle
    handles = {k: os.open(k, os.O_PATH) for ks in points.values() for k in ks}
    for point, kept in points.items():
        mode = "1777" if point in cfg.private else "755"
        size = "1g" if point in cfg.private else "1m"
        _mount(libc, "tmpfs", point, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size},mode={mode}")
        for k in kept:
            fd = handles.pop(k)
            if os.path.isdir(f"/proc/self/fd/{fd}"):
                os.makedirs(k, mode=0o755, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(k), mode=0o755, exist_ok=True)
                open(k, "a").close()
            _mount(libc, f"/proc/self/fd/{fd}", k, None, MS_BIND | MS_REC, None)
            if point not in cfg.private:  # the environment: nobody writes there
                _mount(libc, "none", k, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID,
                       None)
            os.close(fd)
    for fd in handles.values():
        os.close(fd)
    for path in cfg.hide:
        if os.path.isdir(path):
            _mount(libc, "tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "size=16k,mode=000")
        elif os.path.exists(path):
            _mount(libc, "/dev/null", path, None, MS_BIND, None)  # over a file
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
               "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", *cmd]
    else:
        if cfg.workdir:
            os.chdir(cfg.workdir)
        set_limits(cfg)
    sys.stdout.flush()
    os.execvp(cmd[0], cmd)
    return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
