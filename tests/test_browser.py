"""Lesson 05's gradient-decay explorer in a real browser.

Starts JupyterLab on 127.0.0.1 (random free port, random token, temporary config, runtime,
data and settings folders, a temporary copy of the student notebook), opens the notebook in
headless Debian Chromium with Playwright, runs the cells up to and including the explorer,
moves the singular-value slider and checks that the plotted gradient norms changed the right
way. A screenshot is saved to ``test-artifacts/``. The server is always shut down.

Skipped only when /usr/bin/chromium is missing and the environment variable CI is not set.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from support import ROOT, free_port

LESSON = "05-vanishing-gradients"
NOTEBOOK = ROOT / "lessons" / LESSON / f"{LESSON}.ipynb"
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
EXPLORER_SOURCE = "explorer = gradient_explorer()"
PLOT = ".rnnkit-explorer .js-plotly-plot"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

needs_browser = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"),
    reason="the real-browser test needs Debian's chromium at /usr/bin/chromium "
           "(apt-get install chromium); it always runs in CI",
)


def test_explorer_cell_runs_before_any_exercise():
    """The student notebook's explorer must work with every exercise unanswered: it may
    depend only on the setup cell, so nothing before it may be an exercise."""
    cells = nbformat.read(str(NOTEBOOK), as_version=4).cells
    code = [c for c in cells if c.cell_type == "code"]
    index = next(i for i, c in enumerate(code) if EXPLORER_SOURCE in c.source)
    assert "setup_notebook" in code[0].source
    for c in code[1:index]:
        assert "NotImplementedError" not in c.source
        assert not c.metadata.get("nbgrader", {}).get("solution"), c.id
    assert "gradient_explorer" in code[0].source  # imported by the setup cell


def _get(url: str, timeout: float = 5.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 - loopback only
        return r.read()


def _write_settings(settings: Path) -> None:
    """Every cell in the DOM (no windowing), no news pop-up."""
    files = {
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
            "fetchNews": "false", "checkForUpdates": False},
    }
    for rel, value in files.items():
        path = settings / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))


@pytest.fixture
def jupyter_lab(tmp_path):
    """A JupyterLab server on 127.0.0.1 serving a copy of lesson 05; yields (base URL, token)."""
    root = tmp_path / "course"
    (root / LESSON).mkdir(parents=True)
    shutil.copy(NOTEBOOK, root / LESSON)
    home = tmp_path / "jupyter"
    _write_settings(home / "settings")
    port, token = free_port(), secrets.token_hex(16)
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        JUPYTER_DATA_DIR=str(home / "data"),
        IPYTHONDIR=str(home / "ipython"),
        JUPYTER_PLATFORM_DIRS="1",
        PYTHONUNBUFFERED="1",
    )
    log = (tmp_path / "jupyterlab.log").open("w")
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        f"--LabApp.user_settings_dir={home / 'settings'}",
        f"--LabApp.workspaces_dir={home / 'workspaces'}",
        "--LabApp.news_url=", "--ServerApp.allow_root=True",
    ]
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError("JupyterLab exited early:\n" +
                                   (tmp_path / "jupyterlab.log").read_text()[-3000:])
            try:
                _get(f"{base}/api/status?token={token}")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("JupyterLab did not answer within 90 s.") from None
                time.sleep(0.5)
        yield base, token
    finally:
        try:  # a clean shutdown also stops the kernels it started
            req = urllib.request.Request(f"{base}/api/shutdown?token={token}", method="POST")
            urllib.request.urlopen(req, timeout=10).close()  # noqa: S310 - loopback only
        except OSError:
            pass
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        log.close()


def _traces(page) -> list[dict]:
    return page.locator(PLOT).first.evaluate(
        "el => el.data.map(t => ({name: t.name, y: Array.from(t.y || [], v => "
        "(v === null || Number.isNaN(v)) ? null : Number(v))}))"
    )


def _set_slider(page, css_class: str, value: str) -> None:
    """Type a value into the slider's readout (as a user can) and press Enter."""
    readout = page.locator(f".{css_class} .widget-readout").first
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(value)
    page.keyboard.press("Enter")


def _wait_for_change(page, old_first: float) -> None:
    page.wait_for_function(
        """([sel, old]) => {
            const el = document.querySelector(sel);
            return !!(el && el.data && el.data.length && el.data[0].y &&
                      Number(el.data[0].y[0]) !== old);
        }""",
        arg=[PLOT, old_first], timeout=30_000,
    )


def _wait_for_lengths(page, n_norms: int, n_singular: int) -> None:
    """Wait until the plot holds n_norms gradient norms and n_singular singular values."""
    page.wait_for_function(
        """([sel, n, h]) => {
            const el = document.querySelector(sel);
            return !!(el && el.data && el.data.length >= 3 && el.data[0].y && el.data[2].y &&
                      el.data[0].y.length === n && el.data[2].y.length === h);
        }""",
        arg=[PLOT, n_norms, n_singular], timeout=30_000,
    )


@needs_browser
def test_explorer_slider_changes_the_plot_in_a_real_browser(jupyter_lab):
    from playwright.sync_api import sync_playwright

    base, token = jupyter_lab
    ARTIFACTS.mkdir(exist_ok=True)
    url = f"{base}/lab/tree/{LESSON}/{LESSON}.ipynb?token={token}"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.goto(url, wait_until="domcontentloaded", timeout=60_000)
            cell = page.locator(".jp-Notebook .jp-Cell", has_text=EXPLORER_SOURCE).first
            cell.wait_for(timeout=90_000)

            # run the setup cell (and the markdown above the explorer), then the explorer cell
            cell.locator(".jp-InputPrompt").first.click()
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator(".lm-Menu-itemLabel", has_text="Run All Above Selected Cell").first.click()
            cell.locator(".jp-InputPrompt").first.click()
            page.keyboard.press("Control+Enter")

            page.locator(PLOT).first.wait_for(timeout=120_000)
            page.wait_for_function(
                f"() => {{ const el = document.querySelector({PLOT!r}); "
                "return !!(el && el.data && el.data.length >= 2 && el.data[0].y && "
                "el.data[0].y.length > 0); }",
                timeout=30_000,
            )
            sigma = page.locator(".rnnkit-explorer-sigma-1").first
            sigma.scroll_into_view_if_needed()
            start = _traces(page)
            T = len(start[0]["y"]) - 1
            assert T == 50 and start[0]["name"].startswith("‖∂h_T")
            assert start[0]["y"][-1] == pytest.approx(1.0)
            assert start[1]["y"][0] == pytest.approx(1.0)  # bound (1 * 1)^T at sigma_1 = 1

            # a smaller largest singular value: the decay gets steeper
            _set_slider(page, "rnnkit-explorer-sigma-1", "0.6")
            _wait_for_change(page, start[0]["y"][0])
            low = _traces(page)
            assert low[0]["y"][0] < start[0]["y"][0] / 1e3, (low[0]["y"][0], start[0]["y"][0])
            assert low[1]["y"][0] == pytest.approx(0.6**T, rel=1e-3)
            assert all(n <= b * (1 + 1e-9) for n, b in zip(low[0]["y"], low[1]["y"]) if n)

            # a larger one: the decay flattens and the bound allows growth
            _set_slider(page, "rnnkit-explorer-sigma-1", "1.5")
            _wait_for_change(page, low[0]["y"][0])
            high = _traces(page)
            assert high[0]["y"][0] > start[0]["y"][0] * 1e3, (high[0]["y"][0], start[0]["y"][0])
            assert high[1]["y"][0] == pytest.approx(1.5**T, rel=1e-3)
            slope = lambda ys: (math.log(ys[0]) - math.log(ys[-1])) / T  # noqa: E731
            assert slope(high[0]["y"]) > slope(start[0]["y"]) > slope(low[0]["y"])
            assert "σ₁ = 1.500" in page.locator(".rnnkit-explorer-info").first.inner_text()

            # the sliders' maximum size (the slowest setting, benchmarks/bench_explorer.py)
            from rnnkit.explorer import MAX_HIDDEN, MAX_LENGTH

            _set_slider(page, "rnnkit-explorer-length", str(MAX_LENGTH))
            _wait_for_lengths(page, MAX_LENGTH + 1, 32)
            _set_slider(page, "rnnkit-explorer-hidden", str(MAX_HIDDEN))
            _wait_for_lengths(page, MAX_LENGTH + 1, MAX_HIDDEN)
            big = _traces(page)
            assert len(big[1]["y"]) == MAX_LENGTH + 1
            assert big[0]["y"][-1] == pytest.approx(1.0)  # dh_T/dh_T is the identity
            assert big[1]["y"][0] == pytest.approx(1.5**MAX_LENGTH, rel=1e-3)  # tanh: gamma = 1
            assert big[2]["y"][0] == pytest.approx(1.5, rel=1e-6)  # sigma_1 kept at the maximum H
            assert all(n <= b * (1 + 1e-9) for n, b in zip(big[0]["y"], big[1]["y"]) if n)
            title = page.locator(PLOT).first.evaluate("el => el.layout.title.text")
            assert f"H = {MAX_HIDDEN}" in title

            page.locator(".rnnkit-explorer").first.screenshot(
                path=str(ARTIFACTS / "lesson05-explorer.png"))
        finally:
            browser.close()
