"""rnnkit says truly what it holds: one meaning per public name, every module named in the
package's docstring, every module and folder of rnnkit/ and autograder/ in the README's
Layout."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import rnnkit

ROOT = Path(__file__).resolve().parent.parent

# Names defined in two rnnkit modules on purpose, with what they mean in both.
SAME_MEANING = {
    "BOS": "the token read before the first one and never predicted: ngram's '<s>' pads an "
           "n-gram's context, seqdata's '<bos>' is a decoder's first input",
}


def _public_names(path: Path) -> set[str]:
    """Functions, classes and assigned names at the top of a module, not starting with _."""
    def targets(node: ast.AST) -> list[str]:
        if isinstance(node, ast.Name):
            return [node.id]
        if isinstance(node, (ast.Tuple, ast.List)):
            return [n for e in node.elts for n in targets(e)]
        return []

    names: list[str] = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [n for t in node.targets for n in targets(t)]
        elif isinstance(node, ast.AnnAssign):
            names += targets(node.target)
    return {n for n in names if not n.startswith("_")}


def _modules(package: str) -> list[str]:
    return sorted(p.stem for p in (ROOT / package).glob("*.py") if p.stem != "__init__")


def _folders(package: str) -> list[str]:
    return sorted(p.name for p in (ROOT / package).iterdir()
                  if p.is_dir() and p.name != "__pycache__")


def test_no_public_name_of_rnnkit_is_defined_in_two_modules():
    where = defaultdict(list)
    for path in sorted((ROOT / "rnnkit").rglob("*.py")):
        for name in _public_names(path):
            where[name].append(str(path.relative_to(ROOT)))
    twice = {n: p for n, p in where.items() if len(p) > 1 and n not in SAME_MEANING}
    assert not twice, f"defined in more than one rnnkit module (give each its own name): {twice}"


def test_the_package_docstring_names_every_module():
    doc = rnnkit.__doc__
    named = set(re.findall(r"``(\w+)``", doc))
    missing = [m for m in _modules("rnnkit") + _folders("rnnkit") if m not in named]
    missing += [m for m in _modules("rnnkit/_grading") if m not in named]
    assert not missing, f"rnnkit's docstring does not name {missing}"


def test_the_readme_layout_names_every_module_and_folder():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = readme.split("## Layout", 1)[1].split("```", 2)[1]
    words = set(re.findall(r"[\w.]+/?", layout))
    for package in ("rnnkit", "autograder"):
        missing = [f"{m}.py" for m in _modules(package) if f"{m}.py" not in words]
        missing += [f"{d}/" for d in _folders(package) if f"{d}/" not in words]
        assert not missing, f"README's Layout does not name {package}'s {missing}"
