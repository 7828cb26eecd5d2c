"""The instructor's subcommands of ``rnn-course`` (release, render, bundle, grade, export,
hub): their options and what they run. ``rnn-course`` itself (:mod:`rnnkit.cli`) holds only
the student's ``validate`` and adds these through the ``rnn_course.commands`` entry points."""

from __future__ import annotations

import sys

from rnnkit.limits import LIMITS

from .course import CourseError


def add_commands(sub) -> None:
    """Add the instructor's subcommands to ``rnn-course`` (whose parser, with the student's
    ``validate``, is in :mod:`rnnkit.cli`; it finds this function through the
    ``rnn_course.commands`` entry point group of pyproject.toml)."""
    r = sub.add_parser("release", help="regenerate lessons/ from solutions/ (instructor)")
    r.add_argument("lessons", nargs="*", help="lesson ids (default: all)")

    rc = sub.add_parser("render", help="write the visible tests' cases into solutions/ "
                                       "from the reference (instructor; release does it too)")
    rc.add_argument("lessons", nargs="*", help="lesson ids (default: all)")
    rc.add_argument("--check", action="store_true",
                    help="write nothing; exit 1 if a notebook differs from a fresh rendering")

    b = sub.add_parser("bundle", help="write what a student receives as one zip (instructor)")
    b.add_argument("--out", required=True, help="folder to write rnn-course-student.zip into")

    g = sub.add_parser("grade", help="autograde a folder or zip of submissions (instructor)")
    g.add_argument("submissions", help="folder <student>/<lesson>/<lesson>.ipynb, or a zip")
    g.add_argument("--out", required=True, help="output folder for gradebook and reports")
    g.add_argument("--workers", type=int, default=1, help="notebooks graded at once")
    g.add_argument("--timeout", type=int, default=None, help="seconds allowed per cell")
    g.add_argument(
        "--notebook-timeout", type=int, default=None, help="seconds allowed per notebook"
    )
    g.add_argument("--memory", type=int, default=None,
                   help="memory allowed to a student's kernel, in MiB "
                        f"(default {LIMITS.memory_bytes // 1024**2})")
    g.add_argument("--scheduler", default=None,
                   help="tcp://HOST:PORT of a Dask scheduler to spread the work over")
    g.add_argument("--db-url", default=None,
                   help="SQLAlchemy URL of the gradebook (default: sqlite in --out; "
                        "or RNN_COURSE_DB_URL)")
    g.add_argument("--regrade", action="store_true",
                   help="grade again notebooks already graded in the output folder")

    e = sub.add_parser("export", help="write grades.csv from the gradebook, with the points "
                                      "given by hand in Formgrader (instructor)")
    e.add_argument("--grading", default="grading",
                   help="the --out folder of `rnn-course grade` (default: grading)")
    e.add_argument("--out", default=None, help="CSV file to write (default: GRADING/grades.csv)")
    e.add_argument("--db-url", default=None,
                   help="SQLAlchemy URL of the gradebook (default: sqlite in GRADING; "
                        "or RNN_COURSE_DB_URL)")
    from .hub import add_hub_commands

    add_hub_commands(sub)
    for name in ("release", "render", "bundle", "grade", "export", "hub"):
        sub.choices[name].set_defaults(run=run)


def run(args) -> int:
    try:
        if args.command == "release":
            from .release import release

            release(args.lessons or None)
            return 0
        if args.command == "render":
            from .render import render

            differ = render(args.lessons or None, check=args.check)
            if args.check and differ:
                print(f"rnn-course render: {', '.join(differ)} differ from a fresh rendering.",
                      file=sys.stderr)
                return 1
            return 0
        if args.command == "bundle":
            from pathlib import Path

            from .bundle import write_bundle

            write_bundle(Path(args.out))
            return 0
        if args.command == "grade":
            from pathlib import Path

            from .submissions import check_source

            check_source(Path(args.submissions))  # before nbgrader's import, seconds long
            from .grade import GradeSettings, grade_command

            settings = GradeSettings()
            if args.timeout:
                settings.cell_timeout = args.timeout
            if args.notebook_timeout:
                settings.notebook_timeout = args.notebook_timeout
            if args.memory:
                settings.memory_bytes = int(args.memory * 1024**2)
            settings.workers = max(1, args.workers)
            settings.regrade = args.regrade
            settings.scheduler = args.scheduler
            settings.db_url = args.db_url
            return grade_command(args.submissions, args.out, settings)
        if args.command == "export":
            from .export import export_command

            return export_command(args.grading, args.out, args.db_url)
        if args.command == "hub":
            from .hub import hub_command

            return hub_command(args)
    except CourseError as e:
        print(f"rnn-course {args.command}: {e}", file=sys.stderr)
        return 2
    raise AssertionError(args.command)
