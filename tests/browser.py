"""A real Streamlit server and a real headless Chromium, for end-to-end tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from stack.ports import free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


def require_chromium() -> None:
    if CHROMIUM and CHROMEDRIVER:
        return
    message = ("Debian's chromium and chromium-driver packages are needed "
               "(apt-get install chromium chromium-driver)")
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def streamlit_server(env: dict[str, str]):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.port", str(port),
         "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        if not wait_for_port(port, 60, lambda: proc.poll() is None):
            raise RuntimeError(f"streamlit did not start: {proc.stdout.read().decode()[-2000:]}")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def chromium():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1400,1000",
                 f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_until_idle(driver, timeout: float = 30) -> None:
    """Streamlit has rendered and finished running the script."""
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        apps = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stApp"]')
        if apps and apps[0].get_attribute("data-test-script-state") == "notRunning" and not \
                driver.find_elements(By.CSS_SELECTOR, '[data-testid="stSkeleton"]'):
            return
        time.sleep(0.2)
    raise TimeoutError("the app did not finish running")


def wait_for_text(driver, text: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in driver.find_element("tag name", "body").text:
            return
        time.sleep(0.2)
    shown = driver.find_element("tag name", "body").text[:2000]
    raise AssertionError(f"{text!r} never appeared; page shows:\n{shown}")
