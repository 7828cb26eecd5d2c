"""The course on disk: where lessons are, how nbgrader is configured for them."""

from __future__ import annotations

import json
import re
from pathlib import Path

from traitlets.config import Config, PyFileConfigLoader

ROOT = Path(__file__).resolve().parent.parent
CONFIG_FILE = Path(__file__).resolve().parent / "nbgrader_config.py"
LESSON_ID = re.compile(r"^\d\d-[a-z0-9-]+$")


class CourseError(Exception):
    """A problem with the user's input: printed as one line, exit status 2."""


def tools_on_path() -> None:
    """nbgrader runs helper programs (alembic) by name: put this environment's bin folder
    first on PATH, even when Python was started by its full path."""
    import os
    import sys

    bindir = str(Path(sys.executable).parent)
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if bindir not in parts:
        os.environ["PATH"] = os.pathsep.join([bindir, *parts])


def load_config(**overrides) -> Config:
    """The course's nbgrader config, with ``Section.name=value`` overrides applied."""
    loader = PyFileConfigLoader(CONFIG_FILE.name, path=str(CONFIG_FILE.parent))
    config = loader.load_config()
    for key, value in overrides.items():
        section, name = key.split(".", 1)
        setattr(config[section], name, value)
    return config


def lesson_ids(root: Path = ROOT) -> list[str]:
    """Lesson ids present in ``solutions/``, in course order."""
    from .workspace import STEPS

    src = root / STEPS["source"]
    return sorted(
        p.name for p in src.iterdir() if p.is_dir() and LESSON_ID.match(p.name)
        and source_notebook(p.name, root).is_file()
    ) if src.is_dir() else []


def source_notebook(lesson: str, root: Path = ROOT) -> Path:
    """The lesson's source notebook in the course at ``root``."""
    from .workspace import Workspace

    return Workspace(root).notebook("source", lesson)


def read_notebook_json(path: Path) -> dict:
    """Read a notebook file as JSON, turning every problem into one clear CourseError."""
    import nbformat

    path = Path(path)
    if not path.exists():
        raise CourseError(f"{path}: no such file.")
    if not path.is_file():
        raise CourseError(f"{path}: not a file.")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise CourseError(f"{path}: not UTF-8 text (byte {e.start}).") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise CourseError(f"{path}: not valid JSON (line {e.lineno}, column {e.colno}).") from None
    except RecursionError:
        raise CourseError(f"{path}: JSON nested too deeply to be a notebook.") from None
    except ValueError as e:  # e.g. an integer of thousands of digits
        raise CourseError(f"{path}: JSON that cannot be read ({str(e)[:80]}).") from None
    if not isinstance(data, dict):
        raise CourseError(f"{path}: JSON, but not a notebook.")
    if "nbformat" in data and data["nbformat"] != 4:
        raise CourseError(f"{path}: nbformat {repr(data['nbformat'])[:40]} is not supported "
                          "(need 4); "
                          "open and save it in a current Jupyter.")
    if "cells" not in data:
        raise CourseError(f"{path}: JSON, but not a notebook (no 'cells').")
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except (Exception, RecursionError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CourseError(f"{path}: not a valid notebook ({first[:200]}).") from None
    return nb


def nbgrader_failure(result: dict) -> str:
    """The most telling line of a failed nbgrader API call (the last exception raised)."""
    text = "\n".join([result.get("log") or "", result.get("error") or ""])
    lines = [ln.strip() for ln in text.splitlines()]
    errors = [ln for ln in lines if re.match(r"^[\w.]*(Error|Exception|Exit)\b.*:", ln)
              and "Please see the" not in ln]
    return errors[-1] if errors else (lines[-1] if lines else "no detail")
