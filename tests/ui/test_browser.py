"""The Voice tab in a real browser: upload, analyze, move a slider, hear and see the change.

Headless Debian Chromium through Playwright (never `playwright install`); skipped when either
is missing. The app is served in-process by tests/conftest.py's `studio_url`.
"""
from pathlib import Path

import numpy as np
import pytest

from hiaudio.ui import voice as voice_ui

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore::Warning:gradio.queueing"),
]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update"]
SCREENSHOT = Path("/tmp/voice_tab.png")
TIMEOUT_MS = 60_000

# the plotly figure gradio drew, as data (js-plotly-plot is plotly.js's own graph div)
F0_TRACES = """() => {
    const plot = document.querySelector('#voice-f0-plot .js-plotly-plot');
    if (!plot || !plot.data) return null;
    return Object.fromEntries(plot.data.map(t => [t.name, Array.from(t.y)]));
}"""
OUTPUT_URL = "() => document.querySelector('#voice-output a.download-link')?.href ?? null"


@pytest.fixture(scope="module")
def page(studio_url):
    from playwright import sync_api

    assert Path(CHROMIUM).exists(), "Debian's chromium is part of the set-up (scripts/setup.sh)"
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(studio_url)
        yield page
        browser.close()


def _median_hz(values) -> float:
    return float(np.nanmedian(np.array([np.nan if v is None else v for v in values], float)))


def test_upload_analyze_transpose(page):
    example = voice_ui.EXAMPLES_DIR / "speech_en.wav"
    page.locator("#voice-upload input[type=file]").set_input_files(str(example))
    page.wait_for_selector("#voice-upload a.download-link")  # the upload has landed
    page.click("#voice-analyze")
    page.wait_for_function(
        "() => document.querySelector('#voice-status')?.innerText.includes('Analyzed')")
    page.wait_for_function(f"() => ({F0_TRACES})() !== null")
    before_url = page.evaluate(OUTPUT_URL)
    before = page.evaluate(F0_TRACES)
    page.evaluate(f"() => {{ window.editedBefore = ({F0_TRACES})().edited.join(); }}")
    assert before_url and abs(_median_hz(before["edited"]) - _median_hz(before["original"])) < 1

    # type into the number box beside the slider; leaving it (Tab) fires .release -> render
    box = page.locator("#voice-transpose input[type=number]")
    box.fill("3")
    box.press("Tab")
    page.wait_for_function(
        "() => document.querySelector('#voice-status')?.innerText.includes('transpose +3')")
    page.wait_for_function(f"() => ({OUTPUT_URL})() !== {before_url!r}")
    # the plots come in the same answer
    page.wait_for_function(f"() => ({F0_TRACES})().edited.join() !== window.editedBefore")
    after = page.evaluate(F0_TRACES)
    cents = 1200 * np.log2(_median_hz(after["edited"]) / _median_hz(after["original"]))
    assert abs(cents - 300) < 10, cents
    # the browser keeps no copy of the runs: gradio's run history re-wrote every run's inputs and
    # outputs (plots too) into localStorage on each move, and slowed each move as it grew
    history = page.evaluate("() => Object.keys(localStorage).filter(k => k.startsWith('gradio:run-history'))")
    assert history == []

    # Original/Edited switches the player between two different files
    edited_url = page.evaluate(OUTPUT_URL)
    page.get_by_label("Original").check()
    page.wait_for_function(f"() => ({OUTPUT_URL})() !== {edited_url!r}")

    page.screenshot(path=str(SCREENSHOT), full_page=True)


def test_example_and_preset(page):
    page.get_by_role("button", name="speech_en_f.wav").click()  # gr.Examples fills the input
    page.wait_for_function("() => document.querySelector('#voice-upload a.download-link')"
                           "?.href.includes('speech_en_f')")
    page.click("#voice-analyze")
    page.wait_for_function(
        "() => document.querySelector('#voice-status')?.innerText.includes('speech_en_f.wav')")
    page.locator("#voice-preset input").click()
    page.get_by_role("option", name="female -> male").click()
    # the preset sets the sliders, then renders
    page.wait_for_function(
        "() => document.querySelector('#voice-status')?.innerText.includes('transpose -9')")
    assert page.locator("#voice-formant-shift input[type=number]").input_value() == "0.85"


CHOIR_TRACES = """() => {
    const plot = document.querySelector('#choir-plot .js-plotly-plot');
    if (!plot || !plot.data) return null;
    return Object.fromEntries(plot.data.filter(t => t.type === 'scatter').map(t => [t.name, Array.from(t.y)]));
}"""


def separate_example(page) -> None:
    """In the Choir tab, upload the example recording and its score and separate them (as a person would)."""
    from hiaudio.ui.choir import choir_examples

    recording, score = choir_examples()[0]
    page.get_by_role("tab", name="Choir").click()
    page.locator("#choir-upload input[type=file]").set_input_files(recording)
    page.wait_for_selector("#choir-upload a.download-link")
    page.locator("#choir-score input[type=file]").set_input_files(score)
    page.wait_for_function("() => document.querySelector('#choir-score')?.innerText.includes('.mid')")
    page.click("#choir-separate")
    page.wait_for_function(
        "() => document.querySelector('#choir-status')?.innerText.includes('into 4 parts')", timeout=180_000)


def test_choir_separate_and_reharmonize_a_part(page):
    separate_example(page)
    page.wait_for_function(f"() => ({CHOIR_TRACES})() !== null")
    assert set(page.evaluate(CHOIR_TRACES)) == {"soprano", "alto", "tenor", "bass", "notes"}  # notes: the soprano's

    assert page.locator("#choir-key input").input_value() == "A"  # the piece's key, found on Separate
    page.locator("#choir-part").get_by_label("tenor").check()
    page.wait_for_timeout(1500)  # the part's sliders are loaded (select_part) before we move one
    box = page.locator("#choir-degrees input[type=number]")
    box.fill("2")
    box.press("Tab")
    page.wait_for_function(
        "() => document.querySelector('#choir-status')?.innerText.includes('tenor: re-harmonize +2 degrees in A')")
    traces = page.evaluate(CHOIR_TRACES)
    before, after = (np.array([np.nan if v is None else v for v in traces[k]], float)
                     for k in ("tenor (separated)", "tenor (edited)"))
    n = min(len(before), len(after))  # the same 5 ms frames
    moved = np.nanmedian(12 * np.log2(after[:n] / before[:n]))
    assert 2.5 < moved < 4.5, moved  # a third up, note by note
    assert page.locator("#choir-part-tenor").is_visible()
    page.screenshot(path="/tmp/choir_tab.png", full_page=True)
