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
from support import BIN, ROOT, free_port

from autograder.course import CourseError
from autograder.hub import (
    COURSE_ID,
    STUDENT_MARK,
    HubSettings,
    check_student_python,
    read_class_list,
    setup,
)

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


def test_a_due_date_that_is_not_iso_is_refused():
    from autograder.hub import parse_due

    with pytest.raises(CourseError, match="not an ISO date and time"):
        parse_due("next friday")
    assert str(parse_due("2026-12-10T17:00+01:00")) == "2026-12-10 16:00:00"


def test_the_tab_says_why_a_fetch_or_submit_failed(tmp_path):
    from autograder.hub import _clear_message

    exchange, home = tmp_path / "exchange", tmp_path / "home"
    (exchange / COURSE_ID / "outbound" / "03-x").mkdir(parents=True)
    (home / "03-x").mkdir(parents=True)
    tb = "Traceback (most recent call last):\n  ...\nExchangeError: boom"
    assert "has not been released" in _clear_message("fetch", "09-y", exchange, home, tb)
    assert "already have 03-x" in _clear_message("fetch", "03-x", exchange, home, tb)
    assert "fetch it first" in _clear_message("submit", "09-y", exchange, home, tb)
    said = _clear_message("fetch_feedback", "03-x", exchange, home, tb)
    assert said == "Could not fetch the feedback of 03-x: boom" and "Traceback" not in said


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
    assert _mode(course.exchange) == 0o1777
    assert _mode(ex / "inbound") == 0o2733
    assert _mode(ex / "feedback") == 0o711
    assert _mode(ex / "outbound") == 0o755
    assert (ex / "outbound").stat().st_uid == 0  # nbgrader: released by the owner, root

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


# ---------------------------------------------------------------- a real hub

LESSON = "03-rnn-cell"


def _user_processes(name: str) -> list[str]:
    p = subprocess.run(["pgrep", "-u", name, "-a"], capture_output=True, text=True)
    return [line for line in p.stdout.splitlines() if line.strip()]


class LiveHub:
    """A hub started by `autograder.hub.start` in a child process, as `rnn-course hub start`
    runs it."""

    def __init__(self, settings: HubSettings, students: list[str], log: Path):
        self.s = settings
        self.students = students
        self.base = f"http://127.0.0.1:{settings.port}"
        self.log = log
        self.proc = None

    def start(self):
        import json
        import sys
        import time

        import requests

        args = {"course_root": str(self.s.course_root), "state": str(self.s.state),
                "exchange": str(self.s.exchange), "instructor": self.s.instructor,
                "students_group": self.s.students_group,
                "instructors_group": self.s.instructors_group, "port": self.s.port,
                "hub_port": self.s.hub_port, "proxy_api_port": self.s.proxy_api_port,
                "venv": str(self.s.venv)}
        code = ("import json, sys\nfrom autograder.hub import HubSettings, start\n"
                "sys.exit(start(HubSettings(**json.loads(sys.argv[1]))))")
        self._log = self.log.open("w")
        self.proc = subprocess.Popen([sys.executable, "-c", code, json.dumps(args)],
                                     cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + 300  # a loaded CI machine: imports take long
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("the hub exited early:\n" + self.log.read_text()[-4000:])
            try:
                if requests.get(f"{self.base}/hub/api", timeout=5).ok:
                    return self
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the hub did not answer within 300 s:\n" +
                                   self.log.read_text()[-4000:])
            time.sleep(0.5)

    def stop(self) -> int:
        """What Ctrl-C does: SIGINT to `rnn-course hub start`."""
        import signal

        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
            raise
        finally:
            self._log.close()


def login(base: str, user: str, password: str):
    """Log in through the hub's login form, as a browser does; returns the session."""
    import re

    import requests

    session = requests.Session()
    page = session.get(f"{base}/hub/login", timeout=30)
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text).group(1)
    r = session.post(f"{base}/hub/login", timeout=60, allow_redirects=False,
                     data={"username": user, "password": password, "_xsrf": xsrf})
    assert r.status_code == 302, (r.status_code, r.text[:500])
    return session


def open_lab(session, base: str, user: str, timeout: float = 150):
    """Spawn the user's server and open their lab (OAuth with the hub included)."""
    import time

    session.get(f"{base}/hub/spawn/{user}", timeout=120)
    deadline = time.monotonic() + timeout
    while True:
        r = session.get(f"{base}/user/{user}/lab", timeout=60)
        if r.status_code == 500:
            raise AssertionError(f"{user}'s server failed to start: {r.url}")
        if r.ok and f"/user/{user}/lab" in r.url and "jupyter-config-data" in r.text:
            return r
        if time.monotonic() > deadline:
            raise AssertionError(f"{user}'s lab did not open: {r.status_code} {r.url}")
        time.sleep(1)


def assignments(session, base: str, user: str, action: str | None = None,
                lesson: str = LESSON) -> dict:
    """The Assignments tab's own calls: list, or fetch/submit/fetch_feedback a lesson."""
    if action is None:
        r = session.get(f"{base}/user/{user}/assignments", params={"course_id": COURSE_ID},
                        timeout=60)
    else:
        xsrf = session.cookies.get("_xsrf", path=f"/user/{user}/")
        r = session.post(f"{base}/user/{user}/assignments/{action}", timeout=120,
                         data={"course_id": COURSE_ID, "assignment_id": lesson},
                         headers={"X-XSRFToken": xsrf})
    assert r.ok, (r.status_code, r.text[:1000])
    return r.json()


def _layered_venv(d: Path) -> Path:
    """An environment students can run on a machine whose course Python is under /root:
    Debian's python3.11 with the course's site-packages, share/ and etc/ layered on."""
    subprocess.run(["/usr/bin/python3.11", "-m", "venv", "--without-pip", str(d)], check=True)
    course = ROOT / ".venv"
    (d / "lib/python3.11/site-packages/course.pth").write_text(
        f"import site; site.addsitedir({str(course / 'lib/python3.11/site-packages')!r})\n")
    for name in ("share", "etc"):
        if (course / name).exists() and not (d / name).exists():
            (d / name).symlink_to(course / name)
    for script in ("jupyterhub-singleuser", "jupyter", "jupyter-lab", "jupyter-server",
                   "jupyter-nbconvert", "nbgrader", "rnn-course"):
        lines = (course / "bin" / script).read_text().splitlines(keepends=True)
        (d / "bin" / script).write_text(f"#!{d / 'bin/python'}\n" + "".join(lines[1:]))
        os.chmod(d / "bin" / script, 0o755)
    return d


@pytest.fixture(scope="module")
def class_hub(tmp_path_factory):
    """Two students and an instructor on a hub on 127.0.0.1; stopped (and the users
    deleted) at the end."""
    prefix = "t" + secrets.token_hex(3)
    root = Path(tempfile.mkdtemp(prefix="rnn-hub-"))
    os.chmod(root, 0o755)
    for name in (".venv", "node_modules"):
        (root / name).symlink_to(ROOT / name)
    (root / "solutions").mkdir()
    venv = ROOT / ".venv"
    try:
        check_student_python(HubSettings(course_root=ROOT))
    except CourseError:  # a Python under /root (pyenv): the students get a layered venv
        venv = _layered_venv(root / "student-venv")
    s = HubSettings(venv=venv, course_root=root, state=root / "hub-state", exchange=root / "exchange",
                    instructor=f"{prefix}i", students_group=f"{prefix}-students",
                    instructors_group=f"{prefix}-instructors", port=free_port(),
                    hub_port=free_port(), proxy_api_port=free_port())
    students = [f"{prefix}a", f"{prefix}b"]
    hub = None
    try:
        setup(_write(root / "class.csv", "id,name\n" +
                     "".join(f"{u},Student {u}\n" for u in students)), s)
        hub = LiveHub(s, students, tmp_path_factory.mktemp("hub") / "jupyterhub.log").start()
        hub.passwords = _passwords(s)
        hub.prefix = prefix
        yield hub
    finally:
        try:
            if hub is not None:
                hub.stop()
        finally:
            _delete_users(prefix)
            shutil.rmtree(root, ignore_errors=True)


def _fill_in_answers(path: Path) -> None:
    """Put the solution's answer cells into a fetched notebook (what a good student does)."""
    import nbformat

    solution = nbformat.read(str(ROOT / "solutions" / LESSON / f"{LESSON}.ipynb"), 4)
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in solution.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    nb = nbformat.read(str(path), 4)
    for c in nb.cells:
        gid = c.metadata.get("nbgrader", {}).get("grade_id")
        if c.metadata.get("nbgrader", {}).get("solution") and gid in answers:
            c.source = answers[gid]
    st = path.stat()
    nbformat.write(nb, str(path))
    os.chown(path, st.st_uid, st.st_gid)


def _scores(report, lesson) -> dict[str, tuple[float, float]]:
    """(score, max score) per student from `rnn-course grade`'s report.json."""
    return {r["student"]: (r["score"], r["max_score"]) for r in report["submissions"]
            if r["lesson"] == lesson}


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
needs_browser = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"),
    reason="needs Debian's chromium at /usr/bin/chromium; it always runs in CI")


def _open_assignment_list(page) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Assignment List").first.click()
    page.locator("#released_assignments_list").first.wait_for(timeout=60_000)


# ---------------------------------------------------------------- two students in Chromium

def _browser_login(browser, base: str, user: str, password: str):
    """A fresh browser context (its own cookies) logged in through the hub's form."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(f"{base}/hub/login", timeout=60_000)
    page.fill("#username_input", user)
    page.fill("#password_input", password)
    page.click("#login_submit")
    return page


def _wait_for_lab(page, user: str) -> None:
    page.wait_for_url(f"**/user/{user}/lab**", timeout=240_000)
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").first.wait_for(timeout=120_000)


def _row(page, listing: str):
    return page.locator(f"#{listing}_assignments_list .list_item", has_text=LESSON).first


def _click(page, listing: str, label: str) -> None:
    _row(page, listing).locator("button", has_text=label).first.click(timeout=60_000)


def _refresh_assignment_list(page) -> None:
    page.reload(wait_until="domcontentloaded")
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").first.wait_for(timeout=120_000)
    _open_assignment_list(page)


def _home(user: str) -> Path:
    return Path(pwd.getpwnam(user).pw_dir)


def _as_user(user: str, *cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups",
                           "/bin/sh", "-c", 'exec "$@"', "sh", *cmd],
                          capture_output=True, text=True)


@needs_root
@needs_browser
def test_two_students_in_chromium_fetch_submit_and_read_their_own_feedback(class_hub):
    """The issue's end-to-end test: both students log in in Chromium and click Fetch and
    Submit in the Assignments tab; the instructor collects and grades; each clicks Fetch
    Feedback and opens their own page. Along the way: a lesson withdrawn after the tab listed
    it gives a sentence, not a traceback; a student who submits twice is graded on the
    latest and both submissions are kept; a due date marks late submissions."""
    import json
    from datetime import datetime, timedelta, timezone

    import requests
    from playwright.sync_api import sync_playwright

    from autograder.hub import collect, grade, release, release_feedback

    hub, s = class_hub, class_hub.s
    a, b = hub.students
    bad = requests.Session()
    page = bad.get(f"{hub.base}/hub/login", timeout=30)
    import re

    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text).group(1)
    r = bad.post(f"{hub.base}/hub/login", allow_redirects=False, timeout=60,
                 data={"username": a, "password": "wrong", "_xsrf": xsrf})
    assert r.status_code != 302 or "/login" in r.headers.get("Location", "")

    due = (datetime.now(timezone.utc) + timedelta(hours=2)).isoformat(timespec="minutes")
    release(LESSON, s, due=due)
    outbound = s.exchange / COURSE_ID / "outbound" / LESSON
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            pages = {u: _browser_login(browser, hub.base, u, hub.passwords[u]) for u in (a, b)}
            for u in (a, b):  # both servers spawn at once
                _wait_for_lab(pages[u], u)
                _open_assignment_list(pages[u])
                _row(pages[u], "released").wait_for(timeout=60_000)

            # the instructor withdraws the lesson after a's tab listed it: Fetch says so
            hidden = outbound.with_name(LESSON + ".withdrawn")
            outbound.rename(hidden)
            try:
                _click(pages[a], "released", "Fetch")
                pages[a].get_by_text("has not been released to this class").first \
                    .wait_for(timeout=60_000)
                assert "Traceback" not in pages[a].inner_text("body")
            finally:
                hidden.rename(outbound)
            _refresh_assignment_list(pages[a])

            for u in (a, b):
                _click(pages[u], "released", "Fetch")
                _row(pages[u], "fetched").wait_for(timeout=60_000)
                nb = _home(u) / LESSON / f"{LESSON}.ipynb"
                assert nb.is_file() and pwd.getpwuid(nb.stat().st_uid).pw_name == u

            # a submits the blank lesson first, then the right answers: the latest counts
            for u in (a, b):
                _click(pages[u], "fetched", "Submit")
                _row(pages[u], "submitted").wait_for(timeout=60_000)
            # typing whole answer cells into CodeMirror is slow and brittle: the good student's
            # answers are the solution's answer cells written into their fetched notebook
            _fill_in_answers(_home(a) / LESSON / f"{LESSON}.ipynb")
            import time

            time.sleep(1.1)  # nbgrader names a submission by its time, to the second
            _click(pages[a], "fetched", "Submit")
            inbound_dir = s.exchange / COURSE_ID / "inbound"
            deadline = time.monotonic() + 60
            while sum(n.startswith(f"{a}+{LESSON}+") for n in os.listdir(inbound_dir)) < 2:
                assert time.monotonic() < deadline, "a's second submission never arrived"
                time.sleep(0.5)
            inbound = sorted(q.name for q in (s.exchange / COURSE_ID / "inbound").iterdir())
            assert sum(n.startswith(f"{a}+{LESSON}+") for n in inbound) == 2, inbound
            assert sum(n.startswith(f"{b}+{LESSON}+") for n in inbound) == 1, inbound

            # the instructor: collect, grade (this course's grader), feedback
            collect(LESSON, s)
            for u in (a, b):
                assert (s.course_root / "submitted" / u / LESSON / f"{LESSON}.ipynb").is_file()
            times = grade(LESSON, s)
            assert {t.student for t in times} == {a, b}
            assert all(t.seconds_late == 0 for t in times), times  # due in two hours
            report = json.loads((s.course_root / "grading" / "report.json").read_text())
            scores = _scores(report, LESSON)
            # the right answers earn every automatic point; the free-text answers' points are
            # given by hand (Formgrader), so the filled-in notebook is short of those only
            assert scores[a][0] >= 0.9 * scores[a][1] > 0 and scores[b][0] == 0, scores
            release_feedback(LESSON, s)

            for u in (a, b):
                page = pages[u]
                _refresh_assignment_list(page)
                _click(page, "submitted", "Fetch Feedback")
                page.locator("#submitted_assignments_list", has_text="view feedback").first \
                    .wait_for(timeout=60_000)
                page.screenshot(path=str(ROOT / "test-artifacts" / f"hub-feedback-{u[-1]}.png"))
                found = sorted((_home(u) / LESSON / "feedback").glob("*/*.html"))
                assert found, u
                rel = found[-1].relative_to(_home(u))
                page.goto(f"{hub.base}/user/{u}/files/{rel}", timeout=60_000)
                score, top = scores[u]
                assert f"Score: {score:g} / {top:g}" in page.inner_text("body"), u
                other = b if u == a else a
                r = page.context.request.get(f"{hub.base}/user/{other}/api/contents/{LESSON}",
                                             max_redirects=0, fail_on_status_code=False)
                assert r.status != 200, (u, r.status)  # the hub keeps them out of the other's
        finally:
            browser.close()

    # the latest of a's two submissions was graded (full marks above); both are kept
    assert sum(n.startswith(f"{a}+{LESSON}+")
               for n in os.listdir(s.exchange / COURSE_ID / "inbound")) == 2
    feedback = s.exchange / COURSE_ID / "feedback"
    assert len(list(feedback.glob("*.html"))) == 2
    for u in (a, b):
        other = b if u == a else a
        for target in (feedback, _home(other), s.course_root / "submitted",
                       s.course_root / "grading", s.course_root / "solutions"):
            q = _as_user(u, "ls", str(target))
            assert q.returncode != 0, (u, target, q.stdout)
    hub.scores = scores


@needs_root
def test_fetching_a_lesson_never_released_says_so(class_hub):
    """The tab's own call for a lesson that was never released: a sentence, no traceback."""
    hub = class_hub
    a = hub.students[0]
    session = login(hub.base, a, hub.passwords[a])
    open_lab(session, hub.base, a)
    for action in ("fetch", "fetch_feedback", "submit"):
        answer = assignments(session, hub.base, a, action, lesson="09-never-released")
        if action == "fetch":
            assert answer["success"] is False, answer
            assert "09-never-released has not been released to this class" in answer["value"]
        if not answer["success"]:
            assert "Traceback" not in answer["value"], (action, answer)


@needs_root
def test_a_due_date_in_the_past_marks_the_submissions_late(class_hub):
    """`hub release --due` sets the gradebook's due date; the submission times `hub grade`
    records are then late, and the export says by how much (timestamp after duedate)."""
    import csv as _csv

    from autograder.hub import _late_lines, record_times, release

    hub, s = class_hub, class_hub.s
    if not (s.course_root / "grading" / "gradebook.db").is_file():
        pytest.skip("needs the class cycle above")
    release(LESSON, s, due="2000-01-01T00:00:00+00:00")
    times = record_times(LESSON, s)
    assert times and all(t.seconds_late > 0 for t in times), times
    lines = _late_lines(LESSON, times)
    assert all(line.startswith("LATE ") for line in lines) and len(lines) == len(times)
    p = subprocess.run([str(BIN / "rnn-course"), "export", "--grading",
                        str(s.course_root / "grading")], cwd=ROOT, capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    with (s.course_root / "grading" / "grades.csv").open() as f:
        rows = [r for r in _csv.DictReader(f) if r["assignment"] == LESSON]
    mine = {r["student_id"]: r for r in rows if r["student_id"] in hub.students}
    assert set(mine) == set(hub.students), rows
    for r in mine.values():
        assert r["duedate"].startswith("2000-01-01") and r["timestamp"] > r["duedate"], r


@needs_root
def test_a_score_given_in_formgrader_on_the_hub_reaches_the_export(class_hub):
    """The instructor logs in to the hub, whose lab runs Formgrader on the gradebook `hub
    grade` wrote; a manual score given through Formgrader's own HTTP API (what its grading
    page sends) is counted by `rnn-course export`."""
    import csv as _csv

    hub, s = class_hub, class_hub.s
    if not hasattr(hub, "scores"):
        pytest.skip("needs the class cycle above")
    i, a = s.instructor, hub.students[0]
    session = login(hub.base, i, hub.passwords[i])
    open_lab(session, hub.base, i)
    api = f"{hub.base}/user/{i}/formgrader/api"
    r = session.get(f"{api}/submitted_notebooks/{LESSON}/{LESSON}", timeout=60)
    assert r.ok, (r.status_code, r.text[:1000])
    [nb] = [n for n in r.json() if n["student"] == a]
    grades = session.get(f"{api}/grades", params={"submission_id": nb["id"]}, timeout=60).json()
    by_hand = [g for g in grades if g["auto_score"] is None and g["max_score"]]
    assert by_hand, grades  # lesson 03's free-text answers
    given = by_hand[0]["max_score"] / 2
    xsrf = session.cookies.get("_xsrf", path=f"/user/{i}/")
    r = session.put(f"{api}/grade/{by_hand[0]['id']}", json={"manual_score": given},
                    headers={"X-XSRFToken": xsrf}, timeout=60)
    assert r.ok and r.json()["manual_score"] == given, (r.status_code, r.text[:1000])

    p = subprocess.run([str(BIN / "rnn-course"), "export", "--grading",
                        str(s.course_root / "grading")], cwd=ROOT, capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.strip().endswith("scores given by hand in Formgrader: 1"), p.stdout
    with (s.course_root / "grading" / "grades.csv").open() as f:
        [row] = [r for r in _csv.DictReader(f)
                 if r["assignment"] == LESSON and r["student_id"] == a]
    assert float(row["score"]) == pytest.approx(hub.scores[a][0] + given), row


@needs_root
@needs_browser
def test_a_student_added_mid_term_works_in_the_assignments_panel(class_hub):
    """A student added by `hub add-students` logs in through the form in Chromium, fetches
    and submits lesson 03 by clicking in the Assignments panel, and fetches the feedback of
    the instructor's grading there."""
    from playwright.sync_api import sync_playwright

    from autograder.hub import collect, release, release_feedback

    hub, s = class_hub, class_hub.s
    c = f"{hub.prefix}c"
    assert setup(_write(s.course_root / "more.csv", f"id,name\n{c},Student C\n"), s).created \
        == [c]
    password = _passwords(s)[c]
    release(LESSON, s)  # again, harmless
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{hub.base}/hub/login", timeout=60_000)
            page.fill("#username_input", c)
            page.fill("#password_input", password)
            page.click("#login_submit")
            page.wait_for_url(f"**/user/{c}/lab**", timeout=240_000)
            page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").first \
                .wait_for(timeout=120_000)
            _open_assignment_list(page)
            released = page.locator("#released_assignments_list .list_item", has_text=LESSON)
            released.locator("button", has_text="Fetch").first.click(timeout=60_000)
            fetched = page.locator("#fetched_assignments_list .list_item", has_text=LESSON)
            fetched.locator("button", has_text="Submit").first.click(timeout=60_000)
            submitted = page.locator("#submitted_assignments_list .list_item",
                                     has_text=LESSON).first
            submitted.wait_for(timeout=60_000)
            assert (Path(pwd.getpwnam(c).pw_dir) / LESSON / f"{LESSON}.ipynb").is_file()

            collect(LESSON, s)
            g = subprocess.run([str(BIN / "rnn-course"), "grade",
                                str(s.course_root / "submitted"), "--out",
                                str(s.course_root / "grading")],
                               cwd=ROOT, capture_output=True, text=True, timeout=900)
            assert g.returncode == 0, g.stdout[-2000:] + g.stderr[-3000:]
            release_feedback(LESSON, s)

            page.reload(wait_until="domcontentloaded")
            page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").first \
                .wait_for(timeout=120_000)
            _open_assignment_list(page)
            submitted = page.locator("#submitted_assignments_list .list_item",
                                     has_text=LESSON).first
            submitted.locator("button", has_text="Fetch Feedback").first.click(timeout=60_000)
            page.locator("#submitted_assignments_list", has_text="view feedback").first \
                .wait_for(timeout=60_000)
            page.screenshot(path=str(ROOT / "test-artifacts" / "hub-assignments.png"))
        finally:
            browser.close()
    pages = list((Path(pwd.getpwnam(c).pw_dir) / LESSON / "feedback").glob("*/*.html"))
    assert pages and "Score: 0 / " in pages[0].read_text()


@needs_root
def test_ctrl_c_stops_the_hub_and_every_server(class_hub):
    import requests

    hub = class_hub
    a = hub.students[0]
    session = login(hub.base, a, hub.passwords[a])
    open_lab(session, hub.base, a)
    assert _user_processes(a)
    assert hub.stop() == 0
    import time

    deadline = time.monotonic() + 30
    while _user_processes(a) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _user_processes(a)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{hub.base}/hub/api", timeout=5)
