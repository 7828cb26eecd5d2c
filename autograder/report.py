"""``report.json`` (every score with its reason) and the class report page ``report.html``."""

from __future__ import annotations

import html
import json
import re
import secrets
from collections import Counter, defaultdict
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .results import GradeSettings, NotebookResult

ISOLATION = {
    "user+mounts": "each notebook in a fresh kernel under limits, run as an unprivileged user "
                   "with no capabilities (no-new-privileges) in private mount and network "
                   "namespaces: reference answers, lesson sources, the gradebook, other "
                   "submissions and root's files are hidden or unreadable, /tmp, /var/tmp, "
                   "/dev/shm and /run/lock are private, no network but loopback, the grader "
                   "talks to the kernel over Unix sockets only that user can open; tests run "
                   "in the grader's process",
    "limits": "each notebook in a fresh kernel under limits (memory, file size, wall time), "
              "as the grader's user; tests run in the grader's process. MISSING because the "
              "grader is not root: no user change (the kernel can read and write whatever "
              "the grader's user can: reference answers, lesson sources, the gradebook, other "
              "submissions), no private mounts or scratch folders (/tmp, /var/tmp, /dev/shm "
              "shared), no network namespace (the network is reachable), no per-user process "
              "limit; the kernel's Unix sockets are in a folder only the grader's user can "
              "enter",
}


def write_report(path: Path, results: list[NotebookResult], problems: list[str],
                 settings: GradeSettings, isolation: str = "limits") -> None:
    data = {
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "settings": {"cell_timeout": settings.cell_timeout,
                     "notebook_timeout": settings.notebook_timeout,
                     "memory_bytes": settings.memory_bytes,
                     "output_bytes": settings.output_bytes,
                     "workers": settings.workers},
        "isolation": isolation,
        "isolation_detail": ISOLATION.get(isolation, isolation),
        "problems": problems,
        "submissions": [asdict(r) for r in sorted(results, key=lambda r: (r.lesson, r.student))],
    }
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def _plain(text: str) -> str:
    """A label for the figure: no markup (plotly reads ``<a href>``, ``<b>`` in labels)."""
    return str(text).replace("<", "‹").replace(">", "›").replace("&", "+")


def class_figure(results: list[NotebookResult]) -> go.Figure:
    """Score distribution per lesson, pass rate per exercise, most common failure reasons."""
    by_lesson: dict[str, list[NotebookResult]] = defaultdict(list)
    for r in results:
        by_lesson[r.lesson].append(r)
    fig = make_subplots(rows=3, cols=1, vertical_spacing=0.12, subplot_titles=(
        "Score distribution per lesson (% of the lesson's points)",
        "Pass rate per autograded test", "Most common failure reasons"))
    for lesson, rs in sorted(by_lesson.items()):
        fig.add_trace(go.Box(y=[100 * r.score / r.max_score if r.max_score else 0 for r in rs],
                             name=_plain(lesson), boxpoints="all"), row=1, col=1)
    tests: dict[str, list[bool]] = defaultdict(list)
    reasons: Counter = Counter()
    for r in results:
        for c in r.cells:
            if c.kind == "test":
                tests[c.grade_id].append(c.status == "passed")
                if c.status != "passed" and c.message:
                    reasons[_plain(c.message[:90])] += 1
    ids = sorted(tests)
    fig.add_trace(go.Bar(x=[_plain(i) for i in ids], y=[100 * sum(tests[i]) / len(tests[i]) for i in ids],
                         name="pass rate", showlegend=False), row=2, col=1)
    common = reasons.most_common(10)[::-1]
    fig.add_trace(go.Bar(y=[m for m, _ in common], x=[n for _, n in common], orientation="h",
                         name="failures", showlegend=False), row=3, col=1)
    fig.update_yaxes(title_text="score (%)", range=[0, 105], row=1, col=1)
    fig.update_yaxes(title_text="students passing (%)", range=[0, 105], row=2, col=1)
    fig.update_xaxes(title_text="test cell", row=2, col=1)
    fig.update_xaxes(title_text="number of failed cells", row=3, col=1)
    fig.update_layout(height=1200, title="Class report", showlegend=False)
    return fig


def write_class_report(path: Path, results: list[NotebookResult]) -> None:
    """The page: the figure's own scripts carry a nonce; the policy allows no other script,
    and every field of the table is escaped."""
    fig = class_figure(results)
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(r.student)}</td><td>{e(r.lesson)}</td><td>{r.score:g} / "
        f"{r.max_score:g}</td><td>{e(r.status)}</td><td>{e(r.reason)}</td></tr>"
        for r in sorted(results, key=lambda r: (r.lesson, r.student))
    )
    table = ("<h2>Submissions</h2><table border=1 cellpadding=4><tr><th>student</th>"
             "<th>lesson</th><th>score</th><th>status</th><th>reason</th></tr>"
             f"{rows}</table>")
    page = fig.to_html(full_html=True, include_plotlyjs=True)
    nonce = secrets.token_urlsafe(16)
    page = re.sub(r"<script\b", f'<script nonce="{nonce}"', page, flags=re.I)
    csp = (f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; "
           "img-src data:; font-src data:; object-src 'none'; base-uri 'none'; "
           "form-action 'none'")
    meta = f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
    page = page.replace("<head>", "<head>" + meta, 1)
    page = page.replace("</body>", table + "</body>")
    path.write_text(page, encoding="utf-8")
