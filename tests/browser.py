"""Headless chromium through selenium, for the report's browser test and benchmarks.

``chromium()`` yields a WebDriver or raises :class:`NoBrowser` with the reason (no
selenium, no chromium binary or driver, or a browser that does not start).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from typing import Iterator

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")
_BINARIES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
_DRIVERS = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")


class NoBrowser(RuntimeError):
    """Headless chromium cannot run here; the message says why."""


def _first(paths: tuple[str, ...], name: str) -> str | None:
    found = [p for p in paths if os.path.exists(p)]
    return found[0] if found else shutil.which(name)


@contextlib.contextmanager
def chromium(width: int = 1280, height: int = 1600) -> Iterator[object]:
    """A headless chromium WebDriver with a fresh profile, quit on exit."""
    try:
        from selenium import webdriver
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        raise NoBrowser("selenium is not installed (pip install -e '.[test]')") from None
    binary = _first(_BINARIES, "chromium")
    driver_path = _first(_DRIVERS, "chromedriver")
    if binary is None or driver_path is None:
        raise NoBrowser("chromium and chromium-driver are not installed "
                        "(apt-get install -y chromium chromium-driver)")
    profile = tempfile.mkdtemp(prefix="lls-chromium-")
    options = Options()
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={width},{height}")
    options.binary_location = binary
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(options=options, service=Service(driver_path))
    except WebDriverException as exc:
        shutil.rmtree(profile, ignore_errors=True)
        raise NoBrowser(f"headless chromium did not start: {str(exc).splitlines()[0]}") \
            from None
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def full_page_screenshot(driver: object, path: str, width: int = 1280) -> None:
    """Save a PNG of the whole page (the window is resized to the page's height)."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, int(height) + 120)
    driver.save_screenshot(path)
