"""environment.yml and pyproject.toml pin the same stack."""

import re
import tomllib

from conftest import ROOT


def _pins(lines):
    return dict(re.match(r"^([A-Za-z0-9_.\[\]-]+)==(\S+)$", ln).groups() for ln in lines
                if re.match(r"^[A-Za-z0-9_.\[\]-]+==", ln))


def test_environment_and_pyproject_pins_agree():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = _pins(project["dependencies"] + sum(project["optional-dependencies"].values(), []))
    env_lines = [ln.strip().lstrip("- ").strip() for ln in
                 (ROOT / "environment.yml").read_text().splitlines()]
    conda = _pins(env_lines)
    assert wanted == conda
    assert "python=3.11" in env_lines


def test_every_dependency_is_pinned_and_torch_is_the_cpu_pin():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for dep in project["dependencies"]:
        assert "==" in dep, f"{dep} is not pinned"
    assert "torch==2.13.0" in project["dependencies"]
