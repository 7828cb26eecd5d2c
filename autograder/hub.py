"""A JupyterHub for the course on this machine (``rnn-course hub ...``, ``make hub``)."""

from __future__ import annotations

import sys


def add_hub_commands(sub) -> None:
    h = sub.add_parser("hub", help="run the course on JupyterHub for a class (instructor)")
    h.set_defaults(hub_command=None)


def hub_command(args) -> int:
    print("rnn-course hub: not available yet.", file=sys.stderr)
    return 2
