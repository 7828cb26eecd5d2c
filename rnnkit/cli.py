"""The ``rnn-course`` command.

``validate`` is the student's and needs only rnnkit. Every other command is the
instructor's: it is added by whatever the ``rnn_course.commands`` entry point group names
(``autograder.cli:add_commands`` in the course's pyproject.toml), so the instructor's package
(not part of the student bundle) brings its own commands and options and this module never
imports it by name.
"""

from __future__ import annotations

import argparse
import sys

from .limits import LIMITS

COMMANDS_GROUP = "rnn_course.commands"


def _add_instructor_commands(sub) -> bool:
    """Let each installed ``rnn_course.commands`` entry point add its subcommands; False
    when none is installed (the student's bundle)."""
    from importlib.metadata import entry_points

    found = False
    for ep in entry_points(group=COMMANDS_GROUP):
        try:
            add = ep.load()
        except ImportError:  # the entry point names a package that is not here
            continue
        add(sub)
        found = True
    return found


def _parser(instructor: bool = True) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rnn-course",
        description="The RNN course: validate a notebook (and, for instructors, release "
                    "lessons and grade submissions).",
    )
    sub = p.add_subparsers(dest="command", required=True)

    v = sub.add_parser("validate", help="run a notebook and report every failing check")
    v.add_argument("notebook", help="path to a lesson notebook (.ipynb)")
    v.add_argument("--timeout", type=int, default=int(LIMITS.cell_seconds),
                   help="seconds allowed per cell")
    if instructor:
        p.set_defaults(instructor=_add_instructor_commands(sub))
    return p


def _instructors_only(argv: list[str]) -> str | None:
    """The command ``argv`` names when it is not a student's command and no instructor's
    commands are installed."""
    words = [a for a in argv if not a.startswith("-")]
    if words and words[0] != "validate":
        return words[0]
    return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = _parser()
    if not parser.get_default("instructor"):
        command = _instructors_only(argv)
        if command is not None:
            print(
                f"rnn-course {command}: this command is for instructors and needs the "
                "course's autograder package, which is not installed here.",
                file=sys.stderr,
            )
            return 2
    args = parser.parse_args(argv)
    try:
        if args.command == "validate":
            from .validate import validate_command

            return validate_command(args.notebook, timeout=args.timeout)
        return args.run(args)
    except KeyboardInterrupt:
        print("rnn-course: interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
