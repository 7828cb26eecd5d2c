"""``rnn-course bundle --out DIR``: what a student receives, as one zip.

The zip holds one folder, ``rnn-course/``, with

* ``lessons/`` — every released lesson notebook with its hand-outs (the ``.py`` files
  ``rnn-course release`` writes beside a lesson that builds on an earlier one);
* ``rnnkit/`` — the course's tools (data, checks, plots, widgets, training loop; no answer);
* ``pyproject.toml`` — installs rnnkit alone, with the course's exact pins;
* ``Makefile`` — ``make lab`` creates ``.venv/``, installs, opens JupyterLab on the lessons;
* ``README.md`` — a short guide for the student.

Nothing of the instructor's side is in it: no ``autograder/`` (implementation, reference
cases, MCQ key, grading), no ``solutions/``, no tests.
"""

from __future__ import annotations

import tomllib
import zipfile
from pathlib import Path

from .course import ROOT, CourseError, lesson_ids

TOP = "rnn-course"
SKIP_PARTS = {"__pycache__", ".ipynb_checkpoints"}
SKIP_SUFFIXES = {".pyc", ".pyo"}

MAKEFILE = """\
# `make lab` installs the course's tools in .venv/ (once) and opens JupyterLab on the lessons.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
LAB_FLAGS ?=
# JupyterLab refuses to run as root unless told (containers)
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)
# the student's view of JupyterLab, when the course ships one
LAB_CONFIG := $(if $(wildcard rnnkit/labconfig),JUPYTER_CONFIG_PATH="$(CURDIR)/rnnkit/labconfig")

.PHONY: install lab validate clean

$(STAMP): pyproject.toml
\t@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
\t$(BIN)/python -m pip install --quiet --upgrade pip
\t$(BIN)/python -m pip install --quiet -e .
\t@touch $(STAMP)

install: $(STAMP)

lab: install
\tPATH="$(CURDIR)/$(BIN):$$PATH" $(LAB_CONFIG) $(BIN)/jupyter lab --notebook-dir=lessons \\
\t    $(ROOT_FLAG) $(LAB_FLAGS)

# make validate NB=lessons/01-sequences/01-sequences.ipynb
validate: install
\t$(BIN)/rnn-course validate $(NB)

clean:
\trm -rf $(VENV) *.egg-info
"""

README = """\
# Recurrent neural networks — the course notebooks

{count} Jupyter lessons, from "what is a sequence?" to bidirectional networks, with exercises
that are checked as you go. Everything runs offline on a laptop CPU.

## Start

You need Python 3.11 with `pip`. In this folder:

```bash
make lab
```

The first time, it creates `.venv/` and installs the course's tools (`rnnkit`) with the
exact versions the course was tested with; then it opens JupyterLab on `lessons/`.
Without `make`: `python3.11 -m venv .venv`, `.venv/bin/pip install -e .`, then
`.venv/bin/jupyter lab --notebook-dir=lessons`.

## Work through a lesson

* Each exercise is a cell with `raise NotImplementedError()`: replace it with your answer.
  The test cell below it says in one sentence what is still wrong.
* *Run All* runs every cell in order: an exercise you have not answered yet, or a check
  that fails, shows one sentence and the cells after it still run.
* Some lessons come with `.py` files beside the notebook: code from earlier lessons that
  this one builds on (the notebook imports them). Keep them where they are.
* Before you submit, restart the kernel and run all cells, then check from a terminal:
  `.venv/bin/rnn-course validate lessons/NN-name/NN-name.ipynb` (or the Validate button).
  When your notebook is graded, more tests run on cases you have not seen.
* Submit the notebook file itself (`NN-name.ipynb`), keeping its name.

## What is here

| path | what it is |
|---|---|
| `lessons/` | the lesson notebooks, each with the files it needs |
| `rnnkit/` | the course's tools: data, checks, plots, widgets, the training loop |
| `pyproject.toml`, `Makefile` | the installation (`make lab`) |

Lessons: {lessons}.
"""


def _files(folder: Path):
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not (set(path.relative_to(folder).parts) & SKIP_PARTS) \
                and path.suffix not in SKIP_SUFFIXES:
            yield path


def _toml_list(values: list[str], indent: str = "    ") -> str:
    return "[\n" + "".join(f'{indent}"{v}",\n' for v in values) + "]"


def student_pyproject(root: Path = ROOT) -> str:
    """The course's ``pyproject.toml`` reduced to what a student installs: rnnkit alone,
    the same pins, the ``rnn-course`` command."""
    with open(root / "pyproject.toml", "rb") as f:
        project = tomllib.load(f)
    meta = project["project"]
    data = project.get("tool", {}).get("setuptools", {}).get("package-data", {})
    rnnkit_data = [p for p in data.get("rnnkit", [])]
    build = project["build-system"]
    scripts = "".join(f'{name} = "{target}"\n' for name, target in
                      meta.get("scripts", {}).items() if target.startswith("rnnkit"))
    return (
        "# The student's installation of the RNN course: the rnnkit tools and the pinned\n"
        "# Jupyter stack. Written by `rnn-course bundle` from the course's pyproject.toml.\n"
        f"[build-system]\nrequires = {_toml_list(build['requires'])}\n"
        f'build-backend = "{build["build-backend"]}"\n\n'
        f'[project]\nname = "rnn-course-student"\nversion = "{meta["version"]}"\n'
        f'description = "{meta.get("description", "")} (student notebooks and tools)"\n'
        f'readme = "README.md"\nrequires-python = "{meta["requires-python"]}"\n'
        f"dependencies = {_toml_list(meta['dependencies'])}\n\n"
        f"[project.scripts]\n{scripts}\n"
        '[tool.setuptools.packages.find]\ninclude = ["rnnkit*"]\n\n'
        f"[tool.setuptools.package-data]\nrnnkit = {_toml_list(rnnkit_data)}\n"
    )


def bundle_files(root: Path = ROOT) -> dict[str, bytes]:
    """Path inside the zip -> content, for everything a student receives."""
    lessons = lesson_ids(root)
    missing = [lesson for lesson in lessons
               if not (root / "lessons" / lesson / f"{lesson}.ipynb").is_file()]
    if missing:
        raise CourseError(f"lessons/ has no release of {', '.join(missing)}: run "
                          "`rnn-course release` first.")
    files: dict[str, bytes] = {}
    for lesson in lessons:
        for path in _files(root / "lessons" / lesson):
            files[f"{TOP}/{path.relative_to(root).as_posix()}"] = path.read_bytes()
    for path in _files(root / "rnnkit"):
        files[f"{TOP}/{path.relative_to(root).as_posix()}"] = path.read_bytes()
    files[f"{TOP}/pyproject.toml"] = student_pyproject(root).encode()
    files[f"{TOP}/Makefile"] = MAKEFILE.encode()
    files[f"{TOP}/README.md"] = README.format(
        count=len(lessons), lessons=", ".join(f"`{lesson}`" for lesson in lessons)).encode()
    return files


def write_bundle(out: Path, root: Path = ROOT, log=print) -> Path:
    """Write ``out/rnn-course-student.zip``; returns its path. Same content, same bytes."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise CourseError(f"{out}: not a folder.")
    out.mkdir(parents=True, exist_ok=True)
    files = bundle_files(root)
    path = out / "rnn-course-student.zip"
    tmp = path.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, files[name])
    tmp.replace(path)
    log(f"wrote {path} ({len(files)} files, {path.stat().st_size // 1024} KiB)")
    return path
