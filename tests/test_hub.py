"""The course on JupyterHub (autograder/hub.py): the class list, the users, the exchange,
the configuration, and a real hub on 127.0.0.1 that a student logs in to.

Creates system users, so it needs root; every user and group it creates carries a random
prefix and is deleted at the end. Skipped when not root and CI is not set.
"""

from __future__ import annotations

import csv
import grp
import os
import pwd
import secrets
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from autograder.course import CourseError
from autograder.hub import COURSE_ID, STUDENT_MARK, HubSettings, read_class_list, setup

ROOT = Path(__file__).resolve().parent.parent

needs_root = pytest.mark.skipif(
    os.geteuid() != 0 and not os.environ.get("CI"),
    reason="creating system users needs root; it always runs in CI (as root)",
)


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def _delete_users(prefix: str) -> None:
    for u in pwd.getpwall():
        if u.pw_name.startswith(prefix):
            subprocess.run(["pkill", "-KILL", "-u", u.pw_name], capture_output=True)
            subprocess.run(["userdel", "--remove", u.pw_name], capture_output=True)
    for g in grp.getgrall():
        if g.gr_name.startswith(prefix):
            subprocess.run(["groupdel", g.gr_name], capture_output=True)


@pytest.fixture
def prefix():
    p = "t" + secrets.token_hex(3)
    try:
        yield p
    finally:
        _delete_users(p)


@pytest.fixture
def course(prefix):
    """A course folder in /tmp readable by everybody (as a real course folder is), with the
    instructor's folders the setup must close."""
    root = Path(tempfile.mkdtemp(prefix="rnn-hub-"))
    os.chmod(root, 0o755)
    for rel in ["solutions/03-x", "tests", "autograder/impl", "autograder/reference",
                "lessons/03-x"]:
        (root / rel).mkdir(parents=True)
    (root / "solutions/03-x/answer.txt").write_text("42")
    s = HubSettings(course_root=root, state=root / "hub-state", exchange=root / "exchange",
                    instructor=f"{prefix}i", students_group=f"{prefix}-students",
                    instructors_group=f"{prefix}-instructors")
    try:
        yield s
    finally:
        shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------- the class list

def test_example_class_list_is_valid():
    students = read_class_list(ROOT / "autograder" / "hubconfig" / "class.example.csv")
    assert [s.id for s in students] == ["ada", "alan", "grace"]


@pytest.mark.parametrize("text, expected", [
    ("id,name\nada,Ada\nbob,Bob\nada,Ada again\n", "line 4: 'ada' is already on line 2"),
    ("id,name\nAda,Ada\n", "line 2: 'Ada' is not a valid user name"),
    ("id,name\n1ada,Ada\n", "line 2: '1ada' is not a valid user name"),
    ("id,name\nada b,Ada\n", "is not a valid user name"),
    ("id,name\nada,Ada,extra\n", "line 2: expected 2 fields"),
    ("id,name\nada,\n", "line 2: the name of 'ada' must be non-empty"),
    ("student,fullname\nada,Ada\n", "line 1: the first line must be the header 'id,name'"),
    ("id,name\nroot,The Root\n", "line 2: a system user 'root' already exists"),
])
def test_bad_class_list_names_the_line(tmp_path, text, expected):
    with pytest.raises(CourseError) as e:
        read_class_list(_write(tmp_path / "class.csv", text))
    assert expected in str(e.value)


def test_every_problem_is_reported_at_once(tmp_path):
    path = _write(tmp_path / "class.csv", "id,name\nada,Ada\nada,A\nB,b\n")
    with pytest.raises(CourseError) as e:
        read_class_list(path)
    assert "line 3" in str(e.value) and "line 4" in str(e.value)
    assert "nothing was created" in str(e.value)


def test_missing_class_list_says_what_it_should_be(tmp_path):
    with pytest.raises(CourseError, match="header line 'id,name'"):
        read_class_list(tmp_path / "class.csv")


@needs_root
def test_bad_class_list_creates_nothing(course, prefix):
    path = _write(course.course_root / "class.csv",
                  f"id,name\n{prefix}a,A\n{prefix}b,B\n{prefix}a,Again\n")
    with pytest.raises(CourseError, match="line 4"):
        setup(path, course)
    assert not [u for u in pwd.getpwall() if u.pw_name.startswith(prefix)]
    assert not course.state.exists() and not course.exchange.exists()
    assert _mode(course.course_root / "solutions") == 0o755


@needs_root
def test_student_id_of_the_instructor_is_refused(course, prefix):
    path = _write(course.course_root / "class.csv", f"id,name\n{prefix}i,Me\n")
    with pytest.raises(CourseError, match="line 2: .* is the instructor's user name"):
        setup(path, course)


# ---------------------------------------------------------------- setup

def _passwords(s: HubSettings) -> dict[str, str]:
    with (s.state / "passwords.csv").open() as f:
        return {r["id"]: r["password"] for r in csv.DictReader(f)}


@needs_root
def test_setup_creates_the_class_and_a_second_setup_reuses_it(course, prefix):
    import pamela

    a, b = f"{prefix}a", f"{prefix}b"
    path = _write(course.course_root / "class.csv", f"id,name\n{a},Ada Lovelace\n{b},Bob\n")
    first = setup(path, course)
    assert sorted(first.created) == sorted([course.instructor, a, b])

    user = pwd.getpwnam(a)
    assert user.pw_gecos == STUDENT_MARK + "Ada Lovelace"
    assert _mode(Path(user.pw_dir)) == 0o700
    assert a in grp.getgrnam(course.students_group).gr_mem
    assert course.instructor in grp.getgrnam(course.instructors_group).gr_mem
    assert a not in grp.getgrnam(course.instructors_group).gr_mem

    pw = _passwords(course)
    assert set(pw) == {course.instructor, a, b}
    assert _mode(course.state / "passwords.csv") == 0o600
    pamela.authenticate(a, pw[a], service="login")  # the hub's PAM login would succeed
    with pytest.raises(pamela.PAMError):
        pamela.authenticate(a, pw[b], service="login")

    assert _mode(course.state) == 0o700
    for name in ("jupyterhub_cookie_secret", "proxy_token", "jupyterhub_config.py"):
        assert _mode(course.state / name) == 0o600, name
    ex = course.exchange / COURSE_ID
    assert _mode(course.exchange) == 0o755
    assert _mode(ex / "inbound") == 0o2733
    assert _mode(ex / "feedback") == 0o711
    assert _mode(ex / "outbound") == 0o755
    assert pwd.getpwuid((ex / "outbound").stat().st_uid).pw_name == course.instructor

    gid = grp.getgrnam(course.instructors_group).gr_gid
    for rel in ["solutions", "tests", "autograder/impl", "autograder/reference"]:
        p = course.course_root / rel
        assert _mode(p) == 0o750 and p.stat().st_gid == gid, rel
    for rel in ["grading", "submitted"]:
        assert _mode(course.course_root / rel) == 0o770, rel

    config = (course.state / "jupyterhub_config.py").read_text()
    compile(config, "jupyterhub_config.py", "exec")
    assert "c.PAMAuthenticator.open_sessions = False" in config
    assert str(course.course_root / ".venv/bin/jupyterhub-singleuser") in config
    assert str(course.course_root / "node_modules/.bin/configurable-http-proxy") in config
    secret = (course.state / "jupyterhub_cookie_secret").read_text()

    second = setup(path, course)
    assert second.created == []
    assert sorted(second.reused) == sorted([course.instructor, a, b])
    assert _passwords(course) == pw
    assert (course.state / "jupyterhub_cookie_secret").read_text() == secret
    pamela.authenticate(a, pw[a], service="login")


@needs_root
def test_a_student_cannot_read_the_instructors_folders(course, prefix):
    a = f"{prefix}a"
    path = _write(course.course_root / "class.csv", f"id,name\n{a},Ada\n")
    setup(path, course)

    def as_student(*cmd):
        return subprocess.run(["setpriv", f"--reuid={a}", f"--regid={a}", "--init-groups",
                               *cmd], capture_output=True, text=True)

    assert as_student("cat", str(course.course_root / "solutions/03-x/answer.txt")) \
        .returncode != 0
    assert as_student("ls", str(course.course_root / "tests")).returncode != 0
    assert as_student("ls", str(course.state)).returncode != 0
    assert as_student("ls", str(course.course_root / "lessons")).returncode == 0
    inbound = course.exchange / COURSE_ID / "inbound"
    assert as_student("touch", str(inbound / f"{a}+03-x+t")).returncode == 0
    assert as_student("ls", str(inbound)).returncode != 0  # cannot list others' submissions


@needs_root
def test_add_students_mid_term_keeps_the_others(course, prefix):
    a, b, c = f"{prefix}a", f"{prefix}b", f"{prefix}c"
    setup(_write(course.course_root / "class.csv", f"id,name\n{a},A\n{b},B\n"), course)
    pw = _passwords(course)
    more = setup(_write(course.course_root / "more.csv", f"id,name\n{c},C\n"), course)
    assert more.created == [c]
    after = _passwords(course)
    assert {k: after[k] for k in pw} == pw and c in after


@needs_root
def test_an_existing_user_that_is_not_a_student_is_refused(course, prefix):
    other = f"{prefix}o"
    subprocess.run(["useradd", "--comment", "someone else", other], check=True)
    path = _write(course.course_root / "class.csv", f"id,name\n{prefix}a,A\n{other},O\n")
    with pytest.raises(CourseError, match=f"line 3: a system user '{other}' already exists"):
        setup(path, course)
    assert _existing(f"{prefix}a") is False


def _existing(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False
