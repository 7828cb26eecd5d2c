"""The instructor's subcommands of ``rnn-course`` (release, render, bundle, grade, export,
hub)."""

from __future__ import annotations

import sys

from .course import CourseError


def add_class_commands(sub) -> None:
    """``export`` and ``hub``: the commands of a class (the parser is in rnnkit.cli)."""
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
