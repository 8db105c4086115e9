"""``art2music serve`` in a real browser: Debian's headless Chromium driven by Selenium through /usr/bin/chromium and
/usr/bin/chromedriver (never a downloaded browser: Selenium Manager is not asked for anything).

One server (the demo weights, a free localhost port) serves all tests: a picture uploaded and generated plays as
an audio element with a positive duration; a text file, or a file over the upload limit, shows the refusal on the
page, not a traceback; the server's output folder is gone after it stops.
Every request the page makes goes to the local server (nothing loads from the internet).

Set ``ART2MUSIC_WEB_SCREENSHOT=/path.png`` to keep a screenshot of the page after the generation.
"""

from __future__ import annotations

import contextlib
import json
import re
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[3]
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
SERVER_START_SECONDS = 120


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``art2music serve`` on a free port in a subprocess; yields its URL, stops it afterwards."""
    port = _free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "OMP_WAIT_POLICY": "PASSIVE"}
    with open(log, "w") as log_file:
        process = subprocess.Popen([sys.executable, "-m", "art2music", "serve", "--port", str(port)], cwd=ROOT,
                                   env=env, stdout=log_file, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + SERVER_START_SECONDS
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"art2music serve exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            with contextlib.suppress(OSError):  # not listening yet: poll again
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            if time.monotonic() > deadline:
                pytest.fail(f"art2music serve did not answer in {SERVER_START_SECONDS} s:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    folder = Path(re.search(r"files in (\S+)", log.read_text()).group(1))
    assert not folder.exists(), f"the server left its output folder {folder} behind"


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium through its own chromedriver; fails (not skips) when they are not installed."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if missing:
        pytest.fail(f"{', '.join(missing)} not found: run `make install` (Debian packages chromium, chromium-driver)")
    try:
        from selenium import webdriver
    except ImportError:
        pytest.fail("selenium is not installed: run `make install` (the [web] extra)")
    os.environ["SE_OFFLINE"] = "true"  # should anything ask Selenium Manager, it must not download
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1300",
                     "--autoplay-policy=no-user-gesture-required", "--disable-background-networking",
                     "--disable-component-update", "--no-first-run"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _wait(driver, condition, timeout: float, what: str):
    """Poll ``condition(driver)`` until truthy; fail naming ``what`` (with the page's status text) on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition(driver)
        if value:
            return value
        time.sleep(0.2)
    status = driver.execute_script("const s = document.querySelector('#status'); return s ? s.innerText : null")
    pytest.fail(f"timed out after {timeout} s waiting for {what}; status box: {status!r}")


def _upload(driver, path: Path) -> None:
    field = _wait(driver, lambda d: d.find_elements("css selector", "#upload input[type=file]"), 30, "the upload field")
    field[0].send_keys(str(path))


def _status(driver) -> str:
    return driver.execute_script("const s = document.querySelector('#status'); return s ? s.innerText : ''") or ""


AUDIO_DURATION = "const a = document.querySelector('#audio audio'); return a && a.duration > 0 ? a.duration : null"


def test_upload_generate_and_listen(server, browser):
    browser.get(server)
    _upload(browser, ROOT / "examples" / "collection" / "sunrise.jpg")
    _wait(browser, lambda d: "Image ready" in _status(d), 30, "the upload preview")
    started = time.perf_counter()
    browser.find_element("css selector", "#generate").click()
    duration = _wait(browser, lambda d: d.execute_script(AUDIO_DURATION), 60, "an audio element with a duration")
    elapsed = time.perf_counter() - started
    print(f"first generation: {elapsed:.2f} s from Generate to a playable audio element ({duration:.2f} s of audio)")
    assert 1.0 < duration < 30.0
    assert elapsed < 20.0, "the first generation should answer within seconds: are the models loaded at start?"
    assert "Made" in _status(browser)
    assert browser.find_elements("css selector", "#spectrogram img"), "no spectrogram picture"
    if os.environ.get("ART2MUSIC_WEB_SCREENSHOT"):
        time.sleep(1.0)  # let the waveform finish drawing
        browser.save_screenshot(os.environ["ART2MUSIC_WEB_SCREENSHOT"])
    hosts = set()
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            parsed = urlparse(message["params"]["request"]["url"])
            if parsed.scheme in ("http", "https", "ws", "wss"):
                hosts.add(parsed.hostname)
    assert hosts == {"127.0.0.1"}, f"the page loaded something from elsewhere: {hosts}"


def test_non_image_upload_shows_a_message(server, browser, tmp_path):
    fake = tmp_path / "painting.png"
    fake.write_text("this is a text file, not a painting\n")
    browser.get(server)
    _upload(browser, fake)
    status = _wait(browser, lambda d: _status(d) if "Cannot use this upload" in _status(d) else None, 30,
                   "the refusal message")
    assert "not an image" in status
    assert "Traceback" not in browser.page_source
    browser.find_element("css selector", "#generate").click()
    time.sleep(1.0)
    assert "Cannot use this upload" in _status(browser)
    assert not browser.execute_script(AUDIO_DURATION)


def test_an_upload_over_the_size_limit_is_refused_on_the_page(server, browser, tmp_path):
    from art2music.web.uploads import MAX_UPLOAD_BYTES

    big = tmp_path / "huge.png"
    with open(big, "wb") as handle:
        handle.truncate(MAX_UPLOAD_BYTES + 1024)
    browser.get(server)
    _upload(browser, big)
    _wait(browser, lambda d: "exceed the maximum allowed size" in d.find_element("tag name", "body").text, 30,
          "the size-limit message")
    assert "Traceback" not in browser.page_source
