"""The ``rnn-course`` command.

``validate`` is for students and needs only rnnkit; ``release`` and ``grade`` are the
instructor's and need the ``autograder`` package (it is not part of the student bundle).
"""

from __future__ import annotations

import argparse
import sys


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rnn-course",
        description="The RNN course: release lessons, validate a notebook, grade submissions.",
    )
    sub = p.add_subparsers(dest="command", required=True)

    v = sub.add_parser("validate", help="run a notebook and report every failing check")
    v.add_argument("notebook", help="path to a lesson notebook (.ipynb)")
    v.add_argument("--timeout", type=int, default=120, help="seconds allowed per cell")

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
                   help="memory allowed to a student's kernel, in MiB (default 4096)")
    g.add_argument("--scheduler", default=None,
                   help="tcp://HOST:PORT of a Dask scheduler to spread the work over")
    g.add_argument("--db-url", default=None,
                   help="SQLAlchemy URL of the gradebook (default: sqlite in --out; "
                        "or RNN_COURSE_DB_URL)")
    g.add_argument("--regrade", action="store_true",
                   help="grade again notebooks already graded in the output folder")
    try:  # the class commands (export, hub) are the instructor's: only where autograder is
        from autograder.cli import add_class_commands
    except ImportError:
        pass
    else:
        add_class_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "validate":
            from .validate import validate_command

            return validate_command(args.notebook, timeout=args.timeout)
        try:
            import autograder  # noqa: F401
        except ImportError:
            print(
                f"rnn-course {args.command}: this command is for instructors and needs the "
                "course's autograder package, which is not installed here.",
                file=sys.stderr,
            )
            return 2
        from autograder.cli import run

        return run(args)
    except KeyboardInterrupt:
        print("rnn-course: interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
