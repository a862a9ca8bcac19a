"""Browser tests: a local server started as a real process, and Playwright driving Debian's
chromium headless (no browser download; `make install` installs chromium best effort).

Use: `pytest_plugins = ["browser"]` in a test module, then `serving(...)` and the `page` fixture.
Without a chromium binary the browser tests are skipped and say why.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
SCREENSHOTS = Path(__file__).resolve().parents[1] / "var" / "screenshots"


def chromium_path() -> str | None:
    """The chromium executable: `$GRIDLEDGER_CHROMIUM`, else the first one on PATH."""
    named = os.environ.get("GRIDLEDGER_CHROMIUM")
    if named:
        return named
    return next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)


@contextmanager
def serving(command: Sequence[str], ready_url: str, log: Path, *, env: dict[str, str] | None = None,
            timeout: float = 120.0) -> Iterator[subprocess.Popen]:
    """Start `command` (its output to `log`), wait until `ready_url` answers 200, stop it after.

    Fails with the log's tail if the process exits or does not answer within `timeout` seconds.
    """
    with log.open("wb") as out:
        process = subprocess.Popen(list(command), stdout=out, stderr=subprocess.STDOUT,
                                   env={**os.environ, **(env or {})}, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                pytest.fail(f"{command[0]} exited ({process.returncode}):\n{_tail(log)}")
            try:
                with urllib.request.urlopen(ready_url, timeout=5) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"{ready_url} did not answer in {timeout:.0f} s:\n{_tail(log)}")
            time.sleep(0.5)
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, 15)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                process.wait()


def _tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture(scope="session")
def browser():
    """One headless chromium for the test run (per xdist worker)."""
    executable = chromium_path()
    if executable is None:
        pytest.skip("no chromium on this machine (make install installs Debian's, best effort)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True,
                                              args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    """A fresh page (1400 × 1000) for one test."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    opened = context.new_page()
    opened.set_default_timeout(60_000)
    yield opened
    context.close()


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot to var/screenshots/<name>.png for people to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
