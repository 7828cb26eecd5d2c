"""``report.json`` (every score with its reason) and the class report page ``report.html``."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .grade import GradeSettings, NotebookResult

ISOLATION = {
    "user+mounts": "each notebook in a fresh kernel under limits, run as an unprivileged user "
                   "in a private mount namespace that hides reference answers, lesson sources, "
                   "the gradebook and other submissions; tests run in the grader's process",
    "limits": "each notebook in a fresh kernel under limits, as the grader's user (the grader "
              "is not root, so no user change or private mounts); tests run in the grader's "
              "process",
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
                             name=lesson, boxpoints="all"), row=1, col=1)
    tests: dict[str, list[bool]] = defaultdict(list)
    reasons: Counter = Counter()
    for r in results:
        for c in r.cells:
            if c.kind == "test":
                tests[c.grade_id].append(c.status == "passed")
                if c.status != "passed" and c.message:
                    reasons[c.message[:90]] += 1
    ids = sorted(tests)
    fig.add_trace(go.Bar(x=ids, y=[100 * sum(tests[i]) / len(tests[i]) for i in ids],
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
    fig = class_figure(results)
    rows = "".join(
        f"<tr><td>{r.student}</td><td>{r.lesson}</td><td>{r.score:g} / {r.max_score:g}</td>"
        f"<td>{r.status}</td><td>{r.reason}</td></tr>"
        for r in sorted(results, key=lambda r: (r.lesson, r.student))
    )
    table = ("<h2>Submissions</h2><table border=1 cellpadding=4><tr><th>student</th>"
             "<th>lesson</th><th>score</th><th>status</th><th>reason</th></tr>"
             f"{rows}</table>")
    page = fig.to_html(full_html=True, include_plotlyjs=True)
    page = page.replace("</body>", table + "</body>")
    path.write_text(page, encoding="utf-8")
