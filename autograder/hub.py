"""A JupyterHub for the course on this machine (``rnn-course hub ...``, ``make hub``).

``rnn-course hub setup --class class.csv`` (as root) reads the class list (``id,name`` per
line, see ``autograder/hubconfig/class.example.csv``), checks all of it before changing
anything, then:

- creates a system user per student (``useradd``, GECOS ``rnn-course student - <name>``, home
  0700, group ``rnn-course-students``) and one instructor (group ``rnn-course-instructors``),
  with random passwords set by ``chpasswd`` and written to ``hub-state/passwords.csv`` (0600)
  for the instructor to hand out; a user who already carries the marker is reused, so a second
  setup (or ``hub add-students`` mid-term) changes nothing that exists;
- makes nbgrader's exchange (``/srv/nbgrader/exchange`` unless ``--exchange``): root 1777 (nbgrader
  wants it writable; the sticky bit protects the course folder in it), ``rnn-course`` 0755,
  ``rnn-course/inbound`` 2733 (students can drop, not list), ``rnn-course/feedback`` 0711
  (a student opens only the file whose name the hash of their own submission gives);
- closes the instructor's folders to students: ``solutions/``, ``autograder/impl``,
  ``autograder/reference``, ``tests/``, ``.git``, ``grading/``, ``submitted/`` become 0750 or
  0770, group ``rnn-course-instructors``;
- writes ``hub-state/`` (0700): ``jupyterhub_config.py``, the cookie secret, the proxy's
  token; JupyterHub keeps ``jupyterhub.sqlite`` there.

``rnn-course hub start`` runs setup, then JupyterHub (PAM login, ``open_sessions=False``,
``LocalProcessSpawner`` running the course's own ``.venv/bin/jupyterhub-singleuser`` as each
user, every server on 127.0.0.1, the proxy from ``node_modules/.bin``) in the foreground;
Ctrl-C stops the hub, the proxy and every user's server.

A student's lab uses ``autograder/hubconfig/student`` as its Jupyter configuration: the
Assignments tab (nbgrader's assignment list) on course ``rnn-course``, the exchange above,
their home as the course folder, no Formgrader and no Create Assignment. The instructor's
lab opens the course folder with Formgrader (``autograder/instructor`` and ``autograder``).

The class cycle is one command per step for the instructor: ``rnn-course hub release
LESSON [--due ISO]`` (from ``lessons/``; the due date goes into the gradebook),
``rnn-course hub collect LESSON`` (into ``submitted/``), ``rnn-course hub grade LESSON``
(``rnn-course grade submitted --out grading``, then each submission's time into the
gradebook and a LATE line for each one after the due date), ``rnn-course hub feedback
LESSON`` (copies each submission's ``timestamp.txt`` and ``submission_secret.txt`` beside its
feedback page, then nbgrader's ``release_feedback``). The gradebook stays writable by the
instructors' group, so the instructor's Formgrader on the hub scores the free-text answers
in it and ``rnn-course export`` counts those points.

A student's Assignments tab is nbgrader's, served by this module's server extension
(:func:`_load_jupyter_server_extension`): a failed fetch, submit or feedback fetch answers
with a sentence (:func:`_clear_message`) where nbgrader ignores the failure or shows its
traceback.
"""

from __future__ import annotations

import csv
import grp
import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from rnnkit.limits import LIMITS

from .course import CourseError

ROOT = Path(__file__).resolve().parent.parent
HUBCONFIG = ROOT / "autograder" / "hubconfig"
COURSE_ID = "rnn-course"
STUDENT_MARK = "rnn-course student - "  # GECOS holds no colon
INSTRUCTOR_MARK = "rnn-course instructor - "
# useradd's own rule (NAME_REGEX of Debian's adduser, without upper case)
USER_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
PROTECTED = ["solutions", "autograder/impl", "autograder/reference", "tests", ".git"]
INSTRUCTOR_WRITES = ["grading", "submitted"]


@dataclass
class Student:
    id: str
    name: str
    line: int


@dataclass
class HubSettings:
    """Where a class lives; every default is the one-machine course of ``make hub``."""

    course_root: Path = ROOT
    state: Path = field(default_factory=lambda: ROOT / "hub-state")
    exchange: Path = Path("/srv/nbgrader/exchange")
    instructor: str = "instructor"
    students_group: str = "rnn-course-students"
    instructors_group: str = "rnn-course-instructors"
    ip: str = "127.0.0.1"
    port: int = 8000
    hub_port: int = 8081
    proxy_api_port: int = 8001
    venv: Path | None = None  # the students' environment; default: the course's .venv

    def __post_init__(self):
        self.course_root = Path(self.course_root).resolve()
        self.venv = Path(self.venv) if self.venv else self.course_root / ".venv"
        self.state = Path(self.state).resolve()
        self.exchange = Path(self.exchange).resolve()


# ---------------------------------------------------------------- the class list

def _existing_user(name: str):
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def read_class_list(path: Path, instructor: str | None = None) -> list[Student]:
    """The students of ``path`` (CSV with header ``id,name``). Every problem is reported at
    once, each naming its line; nothing is created when there is one."""
    path = Path(path)
    if not path.is_file():
        raise CourseError(f"{path}: no such class list (a CSV file with a header line "
                          f"'id,name'; see {HUBCONFIG / 'class.example.csv'}).")
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    problems: list[str] = []
    students: list[Student] = []
    seen: dict[str, int] = {}
    lines = [(i, r) for i, r in enumerate(rows, 1) if any(c.strip() for c in r)]
    if not lines or [c.strip().lower() for c in lines[0][1]] != ["id", "name"]:
        raise CourseError(f"{path}, line 1: the first line must be the header 'id,name'.")
    for lineno, row in lines[1:]:
        where = f"{path}, line {lineno}"
        if len(row) != 2:
            problems.append(f"{where}: expected 2 fields (id,name), found {len(row)}.")
            continue
        sid, name = row[0].strip(), row[1].strip()
        if not USER_NAME.fullmatch(sid):
            problems.append(f"{where}: '{sid}' is not a valid user name (lower-case letters, "
                            "digits, '_' and '-', starting with a letter or '_', at most 32).")
            continue
        if not name or ":" in name or "\n" in name:
            problems.append(f"{where}: the name of '{sid}' must be non-empty and hold no ':'.")
            continue
        if sid in seen:
            problems.append(f"{where}: '{sid}' is already on line {seen[sid]}.")
            continue
        seen[sid] = lineno
        if instructor is not None and sid == instructor:
            problems.append(f"{where}: '{sid}' is the instructor's user name.")
            continue
        user = _existing_user(sid)
        if user is not None and not user.pw_gecos.startswith(STUDENT_MARK):
            problems.append(f"{where}: a system user '{sid}' already exists and is not a "
                            "student of this course (its comment is not "
                            f"'{STUDENT_MARK}...'); choose another id.")
            continue
        students.append(Student(sid, name, lineno))
    if problems:
        raise CourseError("the class list has problems; nothing was created:\n  " +
                          "\n  ".join(problems))
    return students


# ---------------------------------------------------------------- users and folders

def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        raise CourseError(f"{' '.join(cmd[:2])}... failed: {(p.stderr or p.stdout).strip()}")
    return p


def _require_root() -> None:
    if os.geteuid() != 0:
        raise CourseError("creating the class's system users needs root (run it with sudo); "
                          "nothing was created.")


def _ensure_group(name: str) -> None:
    try:
        grp.getgrnam(name)
    except KeyError:
        _run(["groupadd", "--system", name])


def _read_passwords(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    with path.open(newline="") as f:
        return {r["id"]: r["password"] for r in csv.DictReader(f)}


def _write_passwords(path: Path, passwords: dict[str, str], names: dict[str, str]) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "name", "password"])
        for uid in sorted(passwords):
            w.writerow([uid, names.get(uid, ""), passwords[uid]])
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _ensure_user(uid: str, gecos: str, group: str, passwords: dict[str, str]) -> bool:
    """Create ``uid`` unless it exists; give it a password unless it has one in the
    passwords file. True when something was created or set."""
    changed = False
    if _existing_user(uid) is None:
        _run(["useradd", "--create-home", "--shell", "/bin/bash", "--comment", gecos,
              "--groups", group, "--user-group", uid])
        changed = True
    else:
        _run(["usermod", "--append", "--groups", group, uid])
    home = Path(pwd.getpwnam(uid).pw_dir)
    if home.is_dir():
        os.chmod(home, 0o700)
    if uid not in passwords:
        passwords[uid] = secrets.token_urlsafe(9)
        _run(["chpasswd"], input=f"{uid}:{passwords[uid]}\n")
        changed = True
    return changed


def make_exchange(exchange: Path, owner: str | None = None) -> Path:
    """nbgrader's exchange for course ``rnn-course`` with the permissions nbgrader checks."""
    course = exchange / COURSE_ID
    # nbgrader refuses an exchange root its user cannot write to; the sticky bit (as on /tmp)
    # keeps anybody from removing or renaming the course's folder, which root owns
    for folder, mode in [(exchange, 0o1777), (course, 0o755), (course / "outbound", 0o755),
                         (course / "inbound", 0o2733), (course / "feedback", 0o711)]:
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, mode)
    if owner is not None and os.geteuid() == 0:
        u = pwd.getpwnam(owner)
        for folder in (course, course / "outbound", course / "inbound", course / "feedback"):
            os.chown(folder, u.pw_uid, u.pw_gid)
    return course


def protect_course(course_root: Path, group: str) -> list[Path]:
    """The instructor's folders: readable by the instructors' group only."""
    gid = grp.getgrnam(group).gr_gid
    done = []
    for rel, mode in [(r, 0o750) for r in PROTECTED] + [(r, 0o770) for r in INSTRUCTOR_WRITES]:
        p = course_root / rel
        if rel in INSTRUCTOR_WRITES:
            p.mkdir(exist_ok=True)
        if not p.exists():
            continue
        os.chown(p, -1, gid)
        os.chmod(p, mode)
        done.append(p)
    return done


def _secret_file(path: Path, make) -> None:
    if not path.is_file() or not path.read_text().strip():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(make())
    os.chmod(path, 0o600)


def hub_config(s: HubSettings) -> str:
    """The text of ``hub-state/jupyterhub_config.py``."""
    venv = s.venv / "bin"
    proxy = s.course_root / "node_modules" / ".bin" / "configurable-http-proxy"
    student_env = {
        "JUPYTER_CONFIG_PATH": str(HUBCONFIG / "student"),
        "RNN_COURSE_EXCHANGE": str(s.exchange),
        "PATH": f"{venv}:/usr/local/bin:/usr/bin:/bin",
        "JUPYTER_PLATFORM_DIRS": "1",
    }
    instructor_env = {
        "JUPYTER_CONFIG_PATH": f"{ROOT / 'autograder' / 'instructor'}:{ROOT / 'autograder'}",
        "RNN_COURSE_EXCHANGE": str(s.exchange),
        "RNN_COURSE_GRADING": str(s.course_root / "grading"),
        "RNN_COURSE_SUBMITTED": str(s.course_root / "submitted"),
        "RNN_COURSE_ROOT": str(s.course_root),  # Formgrader wants it inside its lab's folder
    }
    return f'''"""JupyterHub configuration of the RNN course, written by `rnn-course hub setup`
(edit autograder/hub.py, not this file: the next setup rewrites it)."""

c = get_config()  # noqa: F821

c.JupyterHub.ip = {s.ip!r}
c.JupyterHub.port = {s.port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {s.hub_port}
c.JupyterHub.db_url = {f"sqlite:///{s.state / 'jupyterhub.sqlite'}"!r}
c.JupyterHub.cookie_secret_file = {str(s.state / "jupyterhub_cookie_secret")!r}
c.JupyterHub.pid_file = {str(s.state / "jupyterhub.pid")!r}
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True
c.ConfigurableHTTPProxy.command = [{str(proxy)!r}]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{s.proxy_api_port}"
with open({str(s.state / "proxy_token")!r}) as f:
    c.ConfigurableHTTPProxy.auth_token = f.read().strip()

c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.open_sessions = False
c.PAMAuthenticator.allowed_groups = {{{s.students_group!r}, {s.instructors_group!r}}}
c.Authenticator.admin_users = {{{s.instructor!r}}}

c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [{str(venv / "jupyterhub-singleuser")!r}]
c.Spawner.ip = "127.0.0.1"
c.Spawner.default_url = "/lab"
c.Spawner.http_timeout = {LIMITS.hub_http_seconds!r}
c.Spawner.start_timeout = {LIMITS.hub_start_seconds!r}
c.Spawner.environment = {student_env!r}

INSTRUCTOR_ENV = {instructor_env!r}
COURSE_ROOT = {str(s.course_root)!r}


def pre_spawn_hook(spawner):
    """The instructor's lab opens the course folder with Formgrader."""
    if spawner.user.name == {s.instructor!r}:
        spawner.environment = {{**spawner.environment, **INSTRUCTOR_ENV}}
        spawner.notebook_dir = COURSE_ROOT


c.Spawner.pre_spawn_hook = pre_spawn_hook
'''


@dataclass
class SetupResult:
    created: list[str]
    reused: list[str]
    config: Path
    passwords: Path


def setup(class_list: Path, s: HubSettings | None = None) -> SetupResult:
    """Validate the class list, then create or reuse everything the class needs."""
    s = s or HubSettings()
    students = read_class_list(class_list, instructor=s.instructor)
    _require_root()
    inst = _existing_user(s.instructor)
    if inst is not None and not inst.pw_gecos.startswith(INSTRUCTOR_MARK):
        raise CourseError(f"a system user '{s.instructor}' already exists and is not this "
                          "course's instructor; choose another with --instructor. Nothing "
                          "was created.")
    for tool in ("useradd", "usermod", "chpasswd", "groupadd"):
        if shutil.which(tool) is None:
            raise CourseError(f"{tool} is missing (apt-get install passwd); nothing was "
                              "created.")
    s.state.mkdir(parents=True, exist_ok=True)
    os.chmod(s.state, 0o700)
    _ensure_group(s.students_group)
    _ensure_group(s.instructors_group)
    passwords_file = s.state / "passwords.csv"
    passwords = _read_passwords(passwords_file)
    names = {s.instructor: "instructor"}
    created, reused = [], []
    try:
        if _ensure_user(s.instructor, INSTRUCTOR_MARK + COURSE_ID, s.instructors_group,
                        passwords):
            created.append(s.instructor)
        else:
            reused.append(s.instructor)
        for st in students:
            names[st.id] = st.name
            if _ensure_user(st.id, STUDENT_MARK + st.name, s.students_group, passwords):
                created.append(st.id)
            else:
                reused.append(st.id)
    finally:  # a password set must never be lost
        old = _read_passwords(passwords_file)
        names.update({k: "" for k in old if k not in names})
        _write_passwords(passwords_file, {**old, **passwords}, names)
    make_exchange(s.exchange)  # the instructor's commands run as root (nbgrader: the owner)
    protect_course(s.course_root, s.instructors_group)
    _secret_file(s.state / "jupyterhub_cookie_secret", lambda: secrets.token_hex(32))
    _secret_file(s.state / "proxy_token", lambda: secrets.token_hex(32))
    config = s.state / "jupyterhub_config.py"
    text = hub_config(s)
    if not config.is_file() or config.read_text() != text:
        config.write_text(text)
    os.chmod(config, 0o600)
    return SetupResult(created, reused, config, passwords_file)


# ---------------------------------------------------------------- running the hub

def check_student_python(s: HubSettings) -> None:
    """Every user's server runs the course's environment as that user: its Python must be
    one other users can run (not one under /root, 0700)."""
    python = s.venv / "bin" / "python"
    # through a shell: setpriv's own exec still holds root's capabilities
    p = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                        "/bin/sh", "-c", 'exec "$0" -c "import jupyterhub, nbgrader, rnnkit"',
                        str(python)],
                       capture_output=True, text=True, cwd="/")
    if p.returncode != 0:
        real = python.resolve()
        detail = ((p.stderr or p.stdout).strip().splitlines() or ["no output"])[-1]
        raise CourseError(
            f"the course's environment {s.venv} cannot be run by other users, so no student "
            f"server can start ({detail}). Its "
            f"Python is {real}: build .venv from a Python every user can run, e.g. "
            "`make install PYTHON=/usr/bin/python3.11`.")


def preflight(s: HubSettings) -> None:
    """What `hub start` needs before anything is created: the proxy, a runnable Python."""
    proxy = s.course_root / "node_modules" / ".bin" / "configurable-http-proxy"
    if not proxy.exists():
        raise CourseError(f"{proxy} is missing: run `npm ci` in {s.course_root} (make hub "
                          "does).")
    check_student_python(s)


def hub_command_line(s: HubSettings) -> list[str]:
    return [str(s.course_root / ".venv" / "bin" / "jupyterhub"), "-f",
            str(s.state / "jupyterhub_config.py")]


def start(s: HubSettings) -> int:
    """JupyterHub in the foreground; Ctrl-C (or SIGTERM) stops it and everything it
    started."""
    preflight(s)
    env = dict(os.environ, PATH=f"{s.course_root / '.venv' / 'bin'}:{os.environ['PATH']}")
    proc = subprocess.Popen(hub_command_line(s), cwd=s.state, env=env,
                            start_new_session=True)

    def forward(signum, frame):
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)

    old = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    print(f"JupyterHub for {COURSE_ID} on http://{s.ip}:{s.port}/ (Ctrl-C stops it; "
          f"passwords in {s.state / 'passwords.csv'})", flush=True)
    try:
        while True:
            try:
                rc = proc.wait(timeout=1.0)
                break
            except subprocess.TimeoutExpired:
                continue
        return 0 if rc in (0, -signal.SIGINT, -signal.SIGTERM) else rc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=LIMITS.hub_stop_seconds)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for sig, h in old.items():
            signal.signal(sig, h)


# ---------------------------------------------------------------- the instructor's cycle

def nbgrader(args: list[str], s: HubSettings, **kw) -> subprocess.CompletedProcess:
    """nbgrader as the instructor: the course's config, the class's exchange."""
    env = dict(os.environ, RNN_COURSE_EXCHANGE=str(s.exchange),
               JUPYTER_CONFIG_PATH=str(ROOT / "autograder"),
               RNN_COURSE_GRADING=str(s.course_root / "grading"),
               RNN_COURSE_SUBMITTED=str(s.course_root / "submitted"),
               PATH=f"{s.course_root / '.venv' / 'bin'}:{os.environ['PATH']}")
    cmd = [str(s.course_root / ".venv" / "bin" / "nbgrader"), *args]
    p = subprocess.run(cmd, cwd=s.course_root, env=env, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        raise CourseError(f"nbgrader {args[0]} failed:\n{(p.stderr or p.stdout).strip()}")
    return p


def gradebook_url(s: HubSettings) -> str:
    """The gradebook `rnn-course grade --out grading` writes and Formgrader reads."""
    from .export import gradebook_url as url

    return url(s.course_root / "grading")


def _gradebook(s: HubSettings):
    from nbgrader.api import Gradebook

    from .course import tools_on_path

    tools_on_path()  # nbgrader's Gradebook runs alembic by name
    (s.course_root / "grading").mkdir(exist_ok=True)
    return Gradebook(gradebook_url(s))


def parse_due(text: str):
    """An ISO date and time (``2026-12-10T17:00``, ``2026-12-10 17:00+01:00``); without a
    zone it is the machine's local time. Returned as naive UTC, as nbgrader stores it."""
    from datetime import datetime, timezone

    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise CourseError(f"--due {text!r} is not an ISO date and time such as "
                          "2026-12-10T17:00 or 2026-12-10T17:00+01:00.") from None
    if when.tzinfo is None:
        when = when.astimezone()  # local time
    return when.astimezone(timezone.utc).replace(tzinfo=None)


def release(lesson: str, s: HubSettings, due: str | None = None) -> None:
    """Release ``lessons/LESSON`` to the exchange; ``due`` (ISO) becomes the lesson's due
    date in the gradebook, against which `hub grade` marks late submissions."""
    if not (ROOT / "lessons" / lesson).is_dir():
        raise CourseError(f"no lesson {lesson!r} in {ROOT / 'lessons'}.")
    when = parse_due(due) if due else None
    nbgrader(["release_assignment", lesson, "--force"], s)
    if when is not None:
        with _gradebook(s) as gb:
            gb.update_or_create_assignment(lesson, duedate=when)
        _share_gradebook(s)


def collect(lesson: str, s: HubSettings) -> None:
    nbgrader(["collect", lesson, "--update"], s)


def _share_gradebook(s: HubSettings) -> None:
    """Formgrader runs as the instructor's user: the gradebook the root commands write must
    stay writable by the instructors' group."""
    url = gradebook_url(s)
    if not url.startswith("sqlite:///") or os.geteuid() != 0:
        return
    try:
        gid = grp.getgrnam(s.instructors_group).gr_gid
    except KeyError:
        return
    db = Path(url[len("sqlite:///"):])
    for p in [db.parent, *db.parent.glob(db.name + "*")]:
        if p.exists():
            os.chown(p, -1, gid)
            os.chmod(p, (p.stat().st_mode & 0o7777) | 0o060 | (0o010 if p.is_dir() else 0))


@dataclass
class Timing:
    student: str
    timestamp: str
    seconds_late: float


def record_times(lesson: str, s: HubSettings) -> list[Timing]:
    """Put each collected submission's time (its ``timestamp.txt``) into the gradebook, where
    nbgrader compares it with the lesson's due date (Formgrader's and the export's
    ``timestamp``/``duedate``). Needs the lesson graded once (the gradebook knows it)."""
    from nbgrader.api import MissingEntry

    subs = sorted((s.course_root / "submitted").glob(f"*/{lesson}/timestamp.txt"))
    done: list[Timing] = []
    if not subs:
        return done
    with _gradebook(s) as gb:
        try:
            gb.find_assignment(lesson)
        except MissingEntry:
            return done
        for ts in subs:
            student = ts.parent.parent.name
            stamp = ts.read_text().strip()
            gb.update_or_create_student(student)
            sub = gb.update_or_create_submission(lesson, student, timestamp=stamp)
            done.append(Timing(student, stamp, float(sub.total_seconds_late or 0)))
    _share_gradebook(s)
    return done


def _late_lines(lesson: str, times: list[Timing]) -> list[str]:
    lines = []
    for t in times:
        if t.seconds_late > 0:
            h, m = divmod(int(t.seconds_late // 60), 60)
            lines.append(f"LATE {t.student} {lesson}: submitted {t.timestamp}, {h} h {m} min "
                         "after the due date")
    return lines


def grade(lesson: str, s: HubSettings, extra: list[str] | None = None) -> list[Timing]:
    """`rnn-course grade submitted --out grading` (this course's grader), then each
    submission's time against the lesson's due date into the gradebook."""
    cmd = [str(s.course_root / ".venv" / "bin" / "rnn-course"), "grade",
           str(s.course_root / "submitted"), "--out", str(s.course_root / "grading"),
           *(extra or [])]
    p = subprocess.run(cmd, cwd=s.course_root)
    if p.returncode != 0:
        raise CourseError(f"rnn-course grade failed (exit {p.returncode}).")
    times = record_times(lesson, s)
    _share_gradebook(s)
    return times


def copy_submission_secrets(lesson: str, s: HubSettings) -> list[Path]:
    """Put each collected submission's timestamp.txt and submission_secret.txt beside its
    feedback page, where nbgrader's release_feedback reads them."""
    submitted = s.course_root / "submitted"
    feedback = s.course_root / "grading" / "feedback"
    done = []
    for sub in sorted(submitted.glob(f"*/{lesson}")):
        dest = feedback / sub.parent.name / lesson
        if not dest.is_dir():
            continue
        for name in ("timestamp.txt", "submission_secret.txt"):
            if (sub / name).is_file():
                shutil.copy(sub / name, dest / name)
        done.append(dest)
    return done


def release_feedback(lesson: str, s: HubSettings) -> list[Path]:
    done = copy_submission_secrets(lesson, s)
    if not done:
        raise CourseError(f"no feedback for {lesson} in {s.course_root / 'grading/feedback'}: "
                          f"run `rnn-course grade submitted --out grading` first.")
    nbgrader(["release_feedback", lesson], s)
    record_times(lesson, s)
    return done


# ---------------------------------------------------------------- the command line

def add_hub_commands(sub) -> None:
    h = sub.add_parser("hub", help="run the course on JupyterHub for a class (instructor)")
    h.set_defaults(hub_command=None)
    hs = h.add_subparsers(dest="hub_command")

    def common(p, class_list=False):
        if class_list:
            p.add_argument("--class", dest="class_list", default="class.csv",
                           help="the class list, id,name per line (default: class.csv)")
        p.add_argument("--state", default=str(ROOT / "hub-state"),
                       help="the hub's own files (default: hub-state)")
        p.add_argument("--exchange", default="/srv/nbgrader/exchange",
                       help="nbgrader's exchange (default: /srv/nbgrader/exchange)")
        p.add_argument("--instructor", default="instructor",
                       help="the instructor's user name (default: instructor)")
        p.add_argument("--venv", default=None,
                       help="the environment each user's server runs (default: .venv)")
        return p

    common(hs.add_parser("setup", help="create the class's users, exchange and hub config"),
           True)
    st = common(hs.add_parser("start", help="setup, then run the hub (Ctrl-C stops it)"), True)
    st.add_argument("--ip", default="127.0.0.1")
    st.add_argument("--port", type=int, default=8000)
    st.add_argument("--hub-port", type=int, default=8081)
    st.add_argument("--proxy-api-port", type=int, default=8001)
    a = common(hs.add_parser("add-students", help="add the new students of a class list"))
    a.add_argument("class_list", help="the class list (new ids are created, others kept)")
    for name, text in [("release", "release a lesson from lessons/ to the exchange"),
                       ("collect", "collect the submissions of a lesson into submitted/"),
                       ("grade", "rnn-course grade submitted --out grading, then mark late "
                                 "submissions"),
                       ("feedback", "release the feedback of `rnn-course grade` on a lesson")]:
        p = common(hs.add_parser(name, help=text))
        p.add_argument("lesson")
        if name == "release":
            p.add_argument("--due", default=None,
                           help="due date and time, ISO (2026-12-10T17:00, local time "
                                "unless it names a zone); later submissions are marked late")


def _settings(args) -> HubSettings:
    kw = dict(state=Path(args.state), exchange=Path(args.exchange), instructor=args.instructor,
              venv=args.venv)
    for k in ("ip", "port", "hub_port", "proxy_api_port"):
        if getattr(args, k, None) is not None:
            kw[k] = getattr(args, k)
    return HubSettings(**kw)


def _report(r: SetupResult) -> None:
    if r.created:
        print(f"created or given a password: {', '.join(r.created)}")
    if r.reused:
        print(f"already there: {', '.join(r.reused)}")
    print(f"passwords: {r.passwords}  hub configuration: {r.config}")


def hub_command(args) -> int:
    cmd = getattr(args, "hub_command", None)
    if cmd is None:
        print("rnn-course hub: say setup, start, add-students, release, collect, grade or "
              "feedback "
              "(rnn-course hub -h).", file=sys.stderr)
        return 2
    s = _settings(args)
    if cmd in ("setup", "add-students"):
        _report(setup(Path(args.class_list), s))
        return 0
    if cmd == "start":
        read_class_list(Path(args.class_list), instructor=s.instructor)
        preflight(s)
        _report(setup(Path(args.class_list), s))
        return start(s)
    if cmd == "release":
        release(args.lesson, s, due=args.due)
        due = f", due {parse_due(args.due):%Y-%m-%d %H:%M} UTC" if args.due else ""
        print(f"released {args.lesson} to {s.exchange / COURSE_ID / 'outbound'}{due}")
        return 0
    if cmd == "grade":
        times = grade(args.lesson, s)
        late = _late_lines(args.lesson, times)
        print("\n".join(late) if late else f"no late submission of {args.lesson}")
        return 0
    if cmd == "collect":
        collect(args.lesson, s)
        print(f"collected {args.lesson} into {s.course_root / 'submitted'}; now "
              "`rnn-course grade submitted --out grading`")
        return 0
    if cmd == "feedback":
        done = release_feedback(args.lesson, s)
        print(f"released the feedback of {len(done)} students on {args.lesson}")
        return 0
    raise AssertionError(cmd)


# ---------------------------------------------------------------- the students' Assignments tab

def _clear_message(action: str, lesson: str, exchange: Path, home: Path, detail: str) -> str:
    """What the Assignments tab shows when a fetch, submit or feedback fetch fails: one
    sentence a student can act on, not nbgrader's traceback."""
    outbound = exchange / COURSE_ID / "outbound" / lesson
    last = (detail.strip().splitlines() or [""])[-1]
    reason = last.split(": ", 1)[-1] if ": " in last else last
    if action == "fetch" and not outbound.is_dir():
        return (f"{lesson} has not been released to this class (or was withdrawn), so there "
                "is nothing to fetch. Press the refresh button to see the lessons you can "
                "fetch, or ask your instructor.")
    if action == "fetch" and (home / lesson).exists():
        return (f"You already have {lesson} in your home folder ({home / lesson}); rename "
                "that folder to fetch a fresh copy.")
    if action == "submit" and not (home / lesson).is_dir():
        return f"There is no folder {lesson} in your home folder to submit: fetch it first."
    what = {"fetch": "fetch", "submit": "submit", "fetch_feedback": "fetch the feedback of"}
    return f"Could not {what[action]} {lesson}: {reason}"


def _jupyter_server_extension_points():
    return [{"module": "autograder.hub"}]


def _load_jupyter_server_extension(serverapp) -> None:
    """A student's lab: nbgrader's Assignments tab, whose fetch, submit and feedback fetch
    answer a failure with a sentence (nbgrader's own handler ignores a failed fetch and
    shows a traceback for a failed submit)."""
    import json

    from jupyter_server.utils import url_path_join
    from nbgrader.server_extensions.assignment_list import handlers as al
    from tornado import web

    exchange = Path(os.environ.get("RNN_COURSE_EXCHANGE", "/srv/nbgrader/exchange"))

    class ActionHandler(al.AssignmentActionHandler):
        @web.authenticated
        def post(self, action):
            try:
                data = {"assignment_id": self.get_argument("assignment_id"),
                        "course_id": self.get_argument("course_id")}
            except web.MissingArgumentError:
                data = self.get_json_body()
            lesson, course = data["assignment_id"], data["course_id"]
            run = {"fetch": self.manager.fetch_assignment,
                   "submit": self.manager.submit_assignment,
                   "fetch_feedback": self.manager.fetch_feedback}[action]
            output = run(course, lesson)
            if not output["success"]:
                message = _clear_message(action, lesson, exchange,
                                         Path(self.manager.root_dir), str(output["value"]))
                self.finish(json.dumps({"success": False, "value": message}))
                return
            self.finish(json.dumps(self.manager.list_assignments(course_id=course)))

    webapp = serverapp.web_app
    base = webapp.settings["base_url"]
    # added first, so these answer before nbgrader's own routes for the same paths
    webapp.add_handlers(".*$", [
        (url_path_join(base, r"/assignments/%s" % al._assignment_action_regex), ActionHandler),
    ])
    al.load_jupyter_server_extension(serverapp)
