"""The soundtrack's HTML player in a real browser (Debian's headless Chromium through Selenium, opened from disk):
the WAV loads, the first picture shows, and seeking into a section shows that section's picture and comment."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from art2music.soundtrack.cli import main

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
                                reason="Debian chromium + chromium-driver are not installed (make install)")


@pytest.fixture()
def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must not download anything
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--allow-file-access-from-files",
                     "--autoplay-policy=no-user-gesture-required", "--disable-background-networking",
                     "--no-first-run"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _wait(driver, script: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for: {script}")


def test_the_player_shows_the_picture_of_the_section_being_heard(bilstm_model_dir, slide_images, tmp_path, browser):
    csv = slide_images[0].parent / "show.csv"
    csv.write_text("image,comment\np0.png,first light\np1.png,a storm <b>rolls</b> in\np2.png,\n", encoding="utf-8")
    wav = tmp_path / "my show" / "track.wav"  # a space in the path: links must be percent-encoded
    assert main([str(csv), "--seconds-per-image", "1", "--out", str(wav), "--model", str(bilstm_model_dir)]) == 0
    browser.get(wav.with_suffix(".html").as_uri())
    duration = _wait(browser, "const a = document.getElementById('track'); return a.duration > 0 ? a.duration : null")
    assert abs(duration - 3.0) < 0.05
    picture = "const p = document.getElementById('picture'); return p.complete && p.naturalWidth > 0 ? p.src : null"
    assert _wait(browser, picture).endswith("track_images/0-p0.jpg")
    browser.execute_script("document.getElementById('track').currentTime = 1.4")
    _wait(browser, "return document.getElementById('picture').src.endsWith('track_images/1-p1.jpg')")
    assert _wait(browser, picture).endswith("1-p1.jpg")  # and it loaded
    assert browser.execute_script("return document.getElementById('caption').textContent") == "a storm <b>rolls</b> in"
    browser.execute_script("document.querySelectorAll('#slides li a')[2].click()")
    _wait(browser, "return document.getElementById('picture').src.endsWith('track_images/2-p2.jpg')")
    assert browser.execute_script("return document.getElementById('track').currentTime") >= 2.0 - 0.01
    time.sleep(0.6)  # playing from there (timeupdate events) keeps the third picture, even if the seek fell short
    assert browser.execute_script("return document.getElementById('picture').src").endswith("2-p2.jpg")
