"""End to end in a real browser: Debian chromium driven by Python Playwright (never ``playwright install``).

Uploads a photo, types a cue, runs, reads the predictions and the cost panel from the page, and saves
a screenshot. Every request that leaves the loopback interface is blocked and recorded: the page must
render without a CDN.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parent.parent
CAT = ROOT / "examples" / "photos" / "cat_chelsea.jpg"
CHROMIUM = os.environ.get("HLDEMO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", ""}
TIMEOUT_MS = 60_000
SCREENSHOT_ENV = "HLDEMO_SCREENSHOT_DIR"  # also copy the screenshot here (for looking at it)

pytestmark = pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason=f"no chromium at {CHROMIUM} (apt-get install chromium)")


@pytest.fixture(scope="module")
def playwright():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright):
    b = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    try:
        yield b
    finally:
        b.close()


def test_upload_cue_run_read_results(demo_app, browser, tmp_path):
    _, url = demo_app
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    external: list[str] = []

    def gate(route):
        parsed = urlparse(route.request.url)
        if parsed.scheme in ("data", "blob") or parsed.hostname in LOCAL_HOSTS or parsed.hostname is None:
            return route.continue_()
        external.append(route.request.url)
        return route.abort()

    page.route("**/*", gate)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url, wait_until="networkidle", timeout=TIMEOUT_MS)

    page.locator("#image-input input[type=file]").set_input_files(str(CAT))
    page.locator("#image-input img").first.wait_for(timeout=TIMEOUT_MS)  # the preview is shown
    cue = page.locator("#cue-input textarea")
    cue.fill("meow")
    # the cue pre-fills the picker
    page.wait_for_function("document.querySelector('#picker').innerText.includes('domestic cat')", timeout=TIMEOUT_MS)
    page.locator("#run-button").click()
    page.wait_for_function("document.querySelector('#explanation').innerText.includes('computed')",
                           timeout=TIMEOUT_MS)
    page.locator("#cost-table tbody tr").first.wait_for(timeout=TIMEOUT_MS)

    explanation = page.locator("#explanation").inner_text()
    assert "meow" in explanation and "domestic cat" in explanation
    attention_top = page.locator("#top-attention").inner_text()  # the full NHL + attention column
    teacher_top = page.locator("#top-teacher").inner_text()
    assert "Full NHL + attention" in attention_top
    assert re.search(r"(tabby|tiger cat|Persian cat|Siamese cat|Egyptian cat)", attention_top), attention_top
    assert "%" in teacher_top and "%" in attention_top
    assert "of the full NHL's belief" in page.locator("#top-expert").inner_text()  # the expert's share

    rows = {r.get_attribute("data-model"): r.locator("td").all_inner_texts()
            for r in page.locator("#cost-table tbody tr").all()}
    assert set(rows) == {"teacher", "full NHL", "expert", "full NHL + attention"}
    gmacs = {k: float(v[1]) for k, v in rows.items()}
    assert gmacs["expert"] < gmacs["full NHL"] and gmacs["expert"] < gmacs["teacher"]
    assert rows["expert"][2].startswith("−")  # savings against the teacher, in percent
    assert "fewer GMACs" in page.locator("#cost-table").inner_text()
    assert page.locator("#hierarchy-picture svg").count() == 1
    assert "domestic cat" in page.locator("#hierarchy-picture").inner_text()

    shot = tmp_path / "demo.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if os.environ.get(SCREENSHOT_ENV):
        Path(os.environ[SCREENSHOT_ENV]).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(os.environ[SCREENSHOT_ENV]) / shot.name)
    assert not external, f"the page tried to load from outside: {external}"
    assert not errors, errors
    page.close()


def test_one_click_spoken_example(demo_app, browser):
    """Clicking an example (photo + spoken clip shipped in examples/) runs it at once."""
    _, url = demo_app
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url, wait_until="networkidle", timeout=TIMEOUT_MS)
    page.get_by_text("show_me_the_cat.wav").first.click()
    page.wait_for_function("document.querySelector('#explanation').innerText.includes('You said')", timeout=TIMEOUT_MS)
    assert "domestic cat" in page.locator("#explanation").inner_text()
    assert "Heard" in page.locator("#transcript").inner_text()
    assert "domestic cat" in page.locator("#picker").inner_text()  # the picker shows what the cue selected
    page.close()


def test_microphone_recording_is_transcribed(demo_app, playwright, tmp_path):
    """The microphone path: chromium's fake capture device plays a spoken cue into the recorder."""
    import numpy as np
    import soundfile as sf

    speech, rate = sf.read(ROOT / "examples" / "speech" / "show_me_the_cat.wav", dtype="int16")
    padded = np.concatenate([np.zeros(rate // 2, np.int16), speech, np.zeros(rate * 8, np.int16)])
    clip = tmp_path / "mic.wav"
    sf.write(clip, padded, rate, subtype="PCM_16")
    _, url = demo_app
    args = CHROMIUM_ARGS + ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                            f"--use-file-for-fake-audio-capture={clip}"]
    b = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
    try:
        page = b.new_context(permissions=["microphone"]).new_page()
        page.goto(url, wait_until="networkidle", timeout=TIMEOUT_MS)
        page.locator("#audio-input button", has_text="Record").first.click()
        page.wait_for_timeout(3_500)
        page.locator("#audio-input button", has_text="Stop").first.click()
        page.wait_for_function("document.querySelector('#transcript').innerText.includes('Heard')",
                               timeout=TIMEOUT_MS)
        transcript = page.locator("#transcript").inner_text()
        assert "nothing usable" not in transcript, transcript
        assert "cat" in page.locator("#cue-input textarea").input_value().lower()
    finally:
        b.close()
