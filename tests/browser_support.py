"""Start the app with `streamlit run` on a free port and drive Debian's Chromium with Playwright."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("GIFVIZ_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def running_app(env: dict[str, str], timeout: float = 120) -> Iterator[str]:
    """Yield the app's base URL once ``/_stcore/health`` answers ``ok``; stop the server after."""
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port",
               str(port), "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]  # fmt: skip
    log = open(env.get("GIFVIZ_APP_LOG", os.devnull), "w")  # noqa: SIM115 (closed below, after the server)
    server = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:
                    if response.read().decode().strip() == "ok":
                        break
            except OSError:
                pass
            if server.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"the app did not start (exit {server.poll()})")
            time.sleep(0.3)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


# Elements Streamlit shows while a script runs or a chart is still drawing; a screenshot taken while any of them is on
# the page shows placeholders instead of numbers (the README's old compare.png and settings.png did).
BUSY_SELECTORS = (
    '[data-testid="stStatusWidget"]',
    '[data-testid="stSkeleton"]',
    '[data-testid="stSpinner"]',
    '[data-testid="stProgress"]',
    '[data-stale="true"]',
)
# Streamlit shows its running indicator only a moment after a script starts, so one quiet look can come too early:
# the page must stay finished for QUIET_POLLS looks in a row, 250 ms apart.
QUIET_POLLS = 4
_RENDERED = """([busy, charts, texts, quietPolls]) => {
    const done = (() => {
        if (busy.some(selector => document.querySelector(selector))) return false;
        const drawn = [...document.querySelectorAll('.js-plotly-plot')].filter(p => p.querySelector('.main-svg'));
        if (drawn.length < charts) return false;
        const metrics = [...document.querySelectorAll('[data-testid="stMetricValue"]')];
        if (metrics.some(metric => !metric.textContent.trim())) return false;
        const body = document.body.innerText;
        return texts.every(text => body.includes(text));
    })();
    window.__gifvizQuiet = done ? (window.__gifvizQuiet || 0) + 1 : 0;
    return window.__gifvizQuiet >= quietPolls;
}"""


def wait_until_rendered(
    page, title: str, charts: int = 0, texts: tuple[str, ...] = (), timeout: float = 300_000
) -> None:
    """Wait until the page titled ``title`` has finished: no running script, skeleton, spinner, progress bar or stale
    element; at least ``charts`` plotly charts drawn; every metric filled; every text of ``texts`` shown. Then wait
    for two quiet animation frames so a screenshot sees what a user sees."""
    page.get_by_role("heading", name=title).first.wait_for(timeout=timeout)
    page.evaluate("() => { window.__gifvizQuiet = 0; }")
    arguments = [list(BUSY_SELECTORS), charts, list(texts), QUIET_POLLS]
    page.wait_for_function(_RENDERED, arg=arguments, timeout=timeout, polling=250)
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")


# Streamlit's st.error/st.warning/st.info/st.success boxes, and the box an uncaught exception is drawn in.
ALERT_SELECTOR = '[data-testid="stAlert"]'
EXCEPTION_SELECTOR = '[data-testid="stException"]'


def alert_texts(page) -> list[str]:
    """The text of every message box on the page (errors, warnings, infos, successes), in page order."""
    return page.locator(ALERT_SELECTOR).all_inner_texts()


def tree_listing(root: Path) -> list[str]:
    """Every path under ``root`` (relative, sorted), to show that nothing was created there."""
    return sorted(str(path.relative_to(root)) for path in root.rglob("*")) if root.exists() else []


# --- Streamlit widgets, driven as a user drives them (used by the Add models walk) ----------------------------------


@contextlib.contextmanager
def chromium() -> Iterator[object]:
    """A headless Debian Chromium driven by Playwright; a missing Chromium fails the test with the fix (CI must not
    skip the browser tests), a missing Playwright skips it."""
    import pytest

    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail(f"Chromium is missing at {CHROMIUM}: .ci/run installs it (apt-get install chromium)")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def open_from_sidebar(page, title: str, heading: str, texts: tuple[str, ...] = (), timeout: float = 300_000) -> None:
    """Click the sidebar's link to the page ``title`` (the session, and so the app's settings, go along) and wait
    until its ``heading`` and ``texts`` are rendered."""
    page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
    wait_until_rendered(page, heading, texts=texts, timeout=timeout)


def type_text(page, label: str, text: str) -> None:
    """Type ``text`` into the text or number input labelled ``label`` and press Enter (Streamlit's commit)."""
    field = page.get_by_label(label, exact=True)
    field.fill(text)
    field.press("Enter")


def choose_options(page, label: str, options: tuple[str, ...], tries: int = 5) -> None:
    """Pick ``options`` (their shown text, exactly) in the multiselect labelled ``label``, one by one as a user
    does: type part of each to filter the list, click it, close the list.

    A rerun that was still on its way (a search typed a moment before) redraws the widget and clears what was
    typed, before the option shows or between its showing and the click; the text is then typed again and the option
    clicked again, as a user would, up to ``tries`` times."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    widget = page.locator('[data-testid="stMultiSelect"]').filter(has_text=label)
    for option in options:
        listed = page.get_by_role("option", name=option, exact=True)
        for attempt in range(tries):
            widget.locator("input").fill(option[:40])
            try:
                listed.click(timeout=5_000)
                break
            except PlaywrightTimeout:  # the list was redrawn before the option could be clicked
                if attempt == tries - 1:
                    raise
        page.keyboard.press("Escape")


def upload_files(page, paths: list[Path]) -> None:
    """Give ``paths`` to the page's file uploader, as a file chooser would."""
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files([str(path) for path in paths])
