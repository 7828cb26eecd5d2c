"""Finding submissions: a folder ``<student>/<lesson>/<lesson>.ipynb`` or a zip of one."""

from __future__ import annotations

import re
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from rnnkit.limits import LIMITS

from .course import CourseError

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
MAX_NOTEBOOK_BYTES = LIMITS.notebook_bytes
MAX_ZIP_BYTES = LIMITS.zip_bytes


@dataclass(frozen=True)
class Submission:
    student: str
    lesson: str
    path: Path
    invalid: str = ""  # why it cannot be graded, found while unpacking (a bad zip entry)


class Problems(list):
    """Notes about the submissions; ``invalid`` maps (student, lesson or None) to the reason
    that student's notebooks of that lesson (or all of them) are invalid."""

    def __init__(self, *args):
        super().__init__(*args)
        self.invalid: dict[tuple[str, str | None], str] = {}


def check_source(path: Path) -> None:
    """Raise :class:`CourseError` unless ``path`` is a folder or a zip file."""
    if not path.exists():
        raise CourseError(f"{path}: no such file or folder.")
    if not path.is_dir() and not zipfile.is_zipfile(path):
        raise CourseError(f"{path}: neither a folder nor a zip file.")


@contextmanager
def staged(path: Path) -> Iterator[tuple[Path, Problems]]:
    """Yield a folder holding the submissions. A zip is unpacked safely into a temporary
    folder: an entry with an absolute or ``..`` path, a link, an oversized entry, a duplicate
    name, a name the file system refuses (too long) or a file where a folder is (or the
    reverse) is not unpacked, is noted, and makes the submission it belongs to invalid with
    that reason; every other submission is graded."""
    path = Path(path)
    check_source(path)
    if path.is_dir():
        yield path, Problems()
        return
    problems = Problems()
    bad: list[tuple[tuple[str, ...], str]] = []
    with tempfile.TemporaryDirectory(prefix="rnn-submissions-") as tmp:
        root = Path(tmp)
        total = 0
        seen: set[str] = set()

        def refuse(name: str, parts: tuple[str, ...], why: str) -> None:
            shown = name if len(name) <= 120 else name[:117] + "..."
            problems.append(f"{shown}: not unpacked, {why}.")
            bad.append((parts, f"the zip entry {shown} was refused ({why})"))

        try:
            with zipfile.ZipFile(path) as zf:
                for info in zf.infolist():
                    raw = info.filename.replace("\\", "/")
                    name = PurePosixPath(raw)
                    parts = tuple(p for p in name.parts if p not in ("/", ""))
                    mode = info.external_attr >> 16
                    if name.is_absolute() or ".." in name.parts:
                        refuse(info.filename, parts, "the path leaves the folder")
                        continue
                    if stat.S_ISLNK(mode):
                        refuse(info.filename, parts, "links are not accepted")
                        continue
                    key = "/".join(parts)
                    if key in seen:
                        refuse(info.filename, parts, "the zip holds two entries of that name")
                        continue
                    seen.add(key)
                    if any(len(p.encode()) > 200 for p in parts) or len(parts) > 20:
                        refuse(info.filename, parts, "the name is too long")
                        continue
                    if info.is_dir():
                        try:
                            root.joinpath(*parts).mkdir(parents=True, exist_ok=True)
                        except OSError as e:
                            refuse(info.filename, parts, f"it cannot be a folder ({e.strerror})")
                        continue
                    if info.file_size > MAX_NOTEBOOK_BYTES:
                        refuse(info.filename, parts, f"{info.file_size} bytes is larger than "
                               f"the limit of {MAX_NOTEBOOK_BYTES}")
                        continue
                    total += info.file_size
                    if total > MAX_ZIP_BYTES:
                        raise CourseError(f"{path}: unpacks to more than {MAX_ZIP_BYTES} bytes.")
                    dest = root.joinpath(*parts)
                    try:
                        dest.parent.mkdir(parents=True, exist_ok=True)
                        with zf.open(info) as src, open(dest, "xb") as dst:
                            copied = 0
                            while chunk := src.read(1 << 20):
                                copied += len(chunk)
                                if copied > MAX_NOTEBOOK_BYTES:
                                    raise ValueError("larger than its header says")
                                dst.write(chunk)
                    except (OSError, ValueError, zipfile.BadZipFile, RuntimeError) as e:
                        why = getattr(e, "strerror", None) or str(e)
                        refuse(info.filename, parts, f"it cannot be unpacked ({why})")
                        if dest.is_file():
                            dest.unlink()
        except zipfile.BadZipFile as e:
            raise CourseError(f"{path}: a damaged zip file ({e}).") from None
        # a zip of the folder itself ("submitted/alice/...") is accepted too
        entries = [p for p in root.iterdir() if not p.name.startswith(("__MACOSX", "."))]
        skip = 0
        if len(entries) == 1 and entries[0].is_dir() and not _looks_like_student(entries[0]):
            root = entries[0]
            skip = 1
        for parts, why in bad:
            parts = parts[skip:] if parts[:skip] == (root.name,) * skip else parts
            if parts:
                lesson = parts[1] if len(parts) > 2 else None
                problems.invalid.setdefault((parts[0], lesson), why)
        yield root, problems


def _looks_like_student(folder: Path) -> bool:
    return any((d / f"{d.name}.ipynb").is_file() for d in folder.iterdir() if d.is_dir())


def discover(folder: Path, lessons: list[str],
             invalid: dict | None = None) -> tuple[list[Submission], list[str]]:
    """Submissions found in ``folder`` and a list of problems (unknown lessons, stray files,
    wrongly named notebooks); raises CourseError when the folder holds no submission at all."""
    found: list[Submission] = []
    problems: list[str] = []
    invalid = invalid or {}
    for student_dir in sorted(folder.iterdir()):
        if student_dir.name.startswith("."):
            continue
        if not student_dir.is_dir() or student_dir.is_symlink():
            problems.append(f"{student_dir.name}: not a student folder, ignored.")
            continue
        if not STUDENT_ID.match(student_dir.name):
            problems.append(f"{student_dir.name}: not a valid student id, ignored.")
            continue
        for lesson_dir in sorted(student_dir.iterdir()):
            where = f"{student_dir.name}/{lesson_dir.name}"
            if lesson_dir.name.startswith("."):
                continue
            if not lesson_dir.is_dir() or lesson_dir.is_symlink():
                problems.append(f"{where}: not a lesson folder, ignored.")
                continue
            if lesson_dir.name not in lessons:
                problems.append(f"{where}: no lesson called {lesson_dir.name!r}, ignored.")
                continue
            nb = lesson_dir / f"{lesson_dir.name}.ipynb"
            why = invalid.get((student_dir.name, lesson_dir.name)) or \
                invalid.get((student_dir.name, None))
            if why:
                found.append(Submission(student_dir.name, lesson_dir.name, nb, why))
                continue
            others = sorted(p.name for p in lesson_dir.glob("*.ipynb") if p.name != nb.name)
            if nb.is_symlink():
                problems.append(f"{where}/{nb.name}: a link, not a file; ignored.")
                continue
            if not nb.is_file():
                problems.append(
                    f"{where}: no {nb.name}"
                    + (f" (found {', '.join(others)})" if others else "")
                    + "; graded as missing."
                )
                found.append(Submission(student_dir.name, lesson_dir.name, nb))
                continue
            for other in others:
                problems.append(f"{where}/{other}: not part of the lesson, ignored.")
            found.append(Submission(student_dir.name, lesson_dir.name, nb))
    if not found:
        raise CourseError(
            f"{folder}: no submissions found; expected <student>/<lesson>/<lesson>.ipynb "
            f"with a lesson among {', '.join(lessons) or '(none)'}."
        )
    return found, problems
