"""The studio as a person meets it, in Debian's Chromium: what a new user tripped over (issue 20),
and note-by-note editing with undo, each checked the way a person would see or hear it.

Each test opens its own page on the studio served in-process (tests/conftest.py: `studio_url`).
"""
import json
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from hiaudio.data.tokens import HOLD, PITCH_OFFSET
from hiaudio.dsp.pitch import estimate_f0
from hiaudio.dsp.units import cents_between
from hiaudio.studio import compose_io
from hiaudio.ui import choir as choir_ui
from hiaudio.ui import voice as voice_ui
from tests.ui.test_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")]
TIMEOUT_MS = 60_000

PLOT_DATA = """(id) => {
    const plot = document.querySelector(id + ' .js-plotly-plot');
    if (!plot || !plot.data) return null;
    return {data: plot.data.map(t => ({name: t.name, type: t.type, x: t.x ? Array.from(t.x) : null,
                                      y: t.y ? Array.from(t.y) : null, zmin: t.zmin, zmax: t.zmax,
                                      text: t.text ? Array.from(t.text) : null})),
            layout: {yaxis: plot.layout.yaxis, annotations: plot.layout.annotations || []}};
}"""
STATUS = "(id) => document.querySelector(id)?.innerText ?? ''"
AUDIO_URL = ("(id) => document.querySelector(id + ' a.download-link')?.href ?? "
             "document.querySelector(id + ' audio')?.src ?? null")
# the status trackers' red "Error" pills (not the toasts)
ERROR_PILLS = """() => Array.from(document.querySelectorAll('.error')).filter(e =>
    e.innerText.trim() === 'Error' && !e.closest('[data-testid=toast-body]')).length"""


@pytest.fixture()
def browser():
    from playwright import sync_api

    assert Path(CHROMIUM).exists(), "Debian's chromium is part of the set-up (scripts/setup.sh)"
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser, studio_url):
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(studio_url)
    page.wait_for_selector("#voice-analyze")
    return page


def _plot(page, elem_id: str) -> dict:
    """The plotly figure a gr.Plot shows (its data and y axis), once it is drawn."""
    page.wait_for_function(f"() => ({PLOT_DATA})({elem_id!r}) !== null")
    return page.evaluate(PLOT_DATA, elem_id)


def _wait_status(page, elem_id: str, text: str, timeout_ms: int = TIMEOUT_MS) -> str:
    page.wait_for_function(f"() => ({STATUS})({elem_id!r}).includes({text!r})", timeout=timeout_ms)
    return page.evaluate(STATUS, elem_id)


def _choose(page, elem_id: str, option: str) -> None:
    page.locator(f"{elem_id} input").click()
    page.get_by_role("option", name=option, exact=True).click()


def _type(page, elem_id: str, value) -> None:
    """Type a value into a slider's number box and leave it: a slider's release."""
    box = page.locator(f"{elem_id} input[type=number]")
    box.fill(str(value))
    box.press("Tab")


def _analyze_example(page, name: str) -> str:
    page.get_by_role("button", name=name, exact=True).click()
    page.wait_for_function(f"() => ({AUDIO_URL})('#voice-upload')?.includes({Path(name).stem!r})")
    page.click("#voice-analyze")
    return _wait_status(page, "#voice-status", "Analyzed")


def _fetch_wav(page, elem_id: str) -> tuple[np.ndarray, int]:
    """The audio a player holds, fetched through the page as the person's browser would."""
    url = page.evaluate(AUDIO_URL, elem_id)
    assert url, f"no audio in {elem_id}"
    body = page.request.get(url).body()
    path = Path(f"/tmp/{abs(hash(url))}.wav")
    path.write_bytes(body)
    return sf.read(path, dtype="float32")


def _median_f0(wave: np.ndarray, sr: int, start_s: float, stop_s: float) -> float:
    """Median F0 (Hz) of the middle half of [start_s, stop_s) of a voice, by our tracker (NaN
    where it hears no voiced frame there)."""
    a, b = start_s + (stop_s - start_s) / 4, stop_s - (stop_s - start_s) / 4
    f0, _ = estimate_f0(torch.from_numpy(wave[int(a * sr):int(b * sr)].copy()), sr, round(0.005 * sr))
    f0 = f0.numpy()
    return float(np.median(f0[f0 > 0])) if (f0 > 0).any() else float("nan")


# ---- 1. loading exported parameters reproduces the export -------------------------------------

def test_loading_an_export_reproduces_it_and_the_sliders_show_its_edits(page, tmp_path):
    _analyze_example(page, "speech_en_f.wav")
    _choose(page, "#voice-preset", "male -> female")
    _wait_status(page, "#voice-status", "transpose +9 st")
    exported = _fetch_wav(page, "#voice-output")
    page.click("#voice-export")
    _wait_status(page, "#voice-status", "Exported")
    with page.expect_download() as download:
        page.click("#voice-json-file")
    params_path = tmp_path / "speech_en_f_params.json"
    download.value.save_as(params_path)
    assert json.loads(params_path.read_text())["edits"]["transpose_semitones"] == 9.0
    # the preset is still set while the file goes back in: the edits must not apply twice
    page.locator("#voice-params-upload input[type=file]").set_input_files(str(params_path))
    _wait_status(page, "#voice-status", "Loaded parameters")
    page.wait_for_function("() => document.querySelector('#voice-transpose input[type=number]').value === '9'")
    assert page.locator("#voice-formant-shift input[type=number]").input_value() == "1.18"
    loaded, sr = _fetch_wav(page, "#voice-output")
    whole = len(loaded) / sr
    cents = 1200 * math.log2(_median_f0(loaded, sr, 0, whole) / _median_f0(exported[0], exported[1], 0, whole))
    assert abs(cents) < 30, cents  # the exported pitch, not 9 more semitones


# ---- 2. the Choir tab's downloads go when the parts change ---------------------------------------

def _separate_example(page) -> None:
    recording, score = choir_ui.choir_examples()[0]
    page.get_by_role("tab", name="Choir").click()
    page.locator("#choir-upload input[type=file]").set_input_files(recording)
    page.wait_for_selector("#choir-upload a.download-link")
    page.locator("#choir-score input[type=file]").set_input_files(score)
    page.wait_for_function("() => document.querySelector('#choir-score')?.innerText.includes('.mid')")
    page.click("#choir-separate")
    _wait_status(page, "#choir-status", "into 4 parts", timeout_ms=180_000)


DOWNLOADS = "() => Array.from(document.querySelectorAll('#choir-files a')).map(a => a.innerText || a.href)"


def test_choir_downloads_go_stale_never(page):
    _separate_example(page)
    page.click("#choir-export")
    _wait_status(page, "#choir-status", "Exported 6 files")
    page.wait_for_function(f"() => ({DOWNLOADS})().length >= 6")
    page.locator("#choir-part").get_by_label("tenor").check()
    page.wait_for_timeout(1000)
    _type(page, "#choir-transpose", 2)
    _wait_status(page, "#choir-status", "tenor: transpose +2 st")
    page.wait_for_function(f"() => ({DOWNLOADS})().length === 0")  # the old files no longer match
    page.click("#choir-export")
    _wait_status(page, "#choir-status", "Exported 6 files")
    page.wait_for_function(f"() => ({DOWNLOADS})().length >= 6")
    page.locator("#choir-mute-bass input").check()  # a new mix: the remix file is stale too
    page.wait_for_function(f"() => ({DOWNLOADS})().length === 0")


# ---- 3. Export shows that it worked ------------------------------------------------------------

def test_export_names_its_files_on_the_buttons(page):
    _analyze_example(page, "speech_en.wav")
    before = page.locator("#voice-wav-file").inner_text()
    page.click("#voice-export")
    status = _wait_status(page, "#voice-status", "Exported")
    assert "speech_en_edited.wav" in status and "speech_en_params.json" in status
    page.wait_for_function("() => document.querySelector('#voice-wav-file').innerText.includes('speech_en_edited.wav')")
    assert "speech_en_params.json" in page.locator("#voice-json-file").inner_text()
    assert before != page.locator("#voice-wav-file").inner_text()
    _type(page, "#voice-transpose", 1)  # the next edit makes them stale: back as they were
    page.wait_for_function(f"() => document.querySelector('#voice-wav-file').innerText === {before!r}")


# ---- 4. continuing a MIDI file ------------------------------------------------------------------

def test_continuing_a_midi_file_takes_its_key_marks_the_opening_and_names_the_files(page, tmp_path):
    opening = tmp_path / "hymn.mid"
    grid = []  # two bars of half notes in G major: I V I IV I V7 I I
    for chord in ([79, 74, 71, 55], [78, 74, 69, 62], [79, 74, 71, 55], [76, 72, 67, 60], [74, 71, 67, 55],
                  [78, 74, 69, 50], [79, 74, 71, 43], [79, 74, 71, 43]):
        grid += [[PITCH_OFFSET + p for p in chord]] + [[HOLD] * 4] * 7  # an onset, then 7 sixteenths held
    compose_io.write_midi(np.array(grid), opening)
    page.get_by_role("tab", name="Compose").click()
    page.locator("#compose-midi input[type=file]").set_input_files(str(opening))
    page.wait_for_function("() => document.querySelector('#compose-key input').value.startsWith('auto')")
    _type(page, "#compose-bars", 4)
    page.locator("#compose-sing input").uncheck()
    page.click("#compose-run")
    status = _wait_status(page, "#compose-status", "written in", timeout_ms=120_000)
    assert "G major" in status and "continuing hymn.mid" in status
    roll = _plot(page, "#compose-roll-a")
    assert any("opening" in a["text"] for a in roll["layout"]["annotations"])
    names = page.evaluate("() => Array.from(document.querySelectorAll('#compose-files-a a')).map(a => "
                          "decodeURIComponent(a.href.split('/').pop()))")
    assert names and all(n.startswith("continuation_of_hymn") for n in names), names


# ---- 5. uploads are checked when they arrive ----------------------------------------------------

def test_a_bad_upload_is_refused_at_once_with_its_title_and_no_error_pills(page, tmp_path):
    text = tmp_path / "lyrics.wav"
    text.write_text("these are my lyrics, not audio\n" * 20)
    page.locator("#voice-upload input[type=file]").set_input_files(str(text))
    page.wait_for_selector("[data-testid=toast-body]")
    toast = page.locator("[data-testid=toast-body]").first.inner_text()
    assert "Cannot use this audio" in toast and "Upload a WAV" in toast
    assert "Cannot use lyrics.wav" in page.evaluate(STATUS, "#voice-status")
    page.wait_for_function("() => !document.querySelector('#voice-upload a.download-link')")  # not kept
    page.click("#voice-analyze")  # nothing to analyze: said in a toast, and no panel marked "Error"
    page.wait_for_function("() => Array.from(document.querySelectorAll('[data-testid=toast-text]'))"
                           ".some(e => e.innerText.includes('No clip yet'))")
    page.wait_for_timeout(500)
    assert page.evaluate(ERROR_PILLS) == 0
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    page.locator("#voice-upload input[type=file]").set_input_files(str(empty))
    page.wait_for_function("() => document.querySelector('#voice-status').innerText.includes('Cannot use empty.wav')")


# ---- 6. layout ----------------------------------------------------------------------------------

CLIPPED = """(id) => {
    const root = document.querySelector(id);
    const box = root.getBoundingClientRect();
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    const cut = [];
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        if (!node.textContent.trim() || !node.parentElement.offsetParent) continue;
        const range = document.createRange();
        range.selectNodeContents(node);
        const r = range.getBoundingClientRect();
        if (r.height && (r.bottom > box.bottom + 0.5 || r.top < box.top - 0.5)) cut.push(node.textContent.trim());
    }
    return cut;
}"""


@pytest.mark.parametrize("width", [1400, 390])
def test_the_params_drop_zone_is_whole_at_any_width(browser, studio_url, width):
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(studio_url)
    page.wait_for_selector("#voice-params-upload")
    assert page.evaluate(CLIPPED, "#voice-params-upload") == []
    page.close()


def test_choir_examples_header_plot_axis_and_formant_labels(page):
    page.get_by_role("tab", name="Choir").click()
    page.wait_for_selector("#choir-upload")
    cut = page.evaluate("""() => Array.from(document.querySelectorAll('table th, table thead td')).filter(
        c => c.offsetParent !== null && c.scrollWidth > c.clientWidth + 1).map(c => c.innerText)""")
    assert cut == []
    _separate_example(page)
    fig = _plot(page, "#choir-plot")
    yaxis = fig["layout"]["yaxis"]
    assert yaxis["type"] == "log"
    sung = np.array([v for t in fig["data"] if t["type"] == "scatter" and t["name"] in choir_ui.PARTS
                     for v in t["y"] if v], float)
    lo, hi = 10 ** np.array(yaxis["range"])
    assert lo <= np.percentile(sung, 5) and np.percentile(sung, 95) <= hi  # the parts fill the plot
    assert hi / lo < 2 * np.percentile(sung, 95) / np.percentile(sung, 5)  # and it is fit to them
    # formant labels on the Voice tab's filter plot never overlap
    page.get_by_role("tab", name="Voice").click()
    _analyze_example(page, "speech_en.wav")
    _choose(page, "#voice-preset", "child")
    _wait_status(page, "#voice-status", "formant shift 1.3x")
    page.wait_for_function("() => document.querySelectorAll('#voice-filter-plot .annotation-text').length >= 6")
    boxes = page.evaluate("""() => Array.from(document.querySelectorAll(
        '#voice-filter-plot .annotation-text, #voice-filter-plot .textpoint text'))
        .map(t => { const r = t.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })""")
    assert len(boxes) >= 6
    overlaps = [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:]
                if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]]
    assert overlaps == []


def test_compose_menu_names_and_vocoders_share_a_colour_scale(page):
    page.get_by_role("tab", name="Compose").click()
    page.locator("#compose-pe-a input").click()
    options = [o.replace("✓", "").strip() for o in page.get_by_role("option").all_inner_texts()]
    assert "structure-informed absolute (S-APE)" in options and "s-ape" not in options
    page.keyboard.press("Escape")
    page.get_by_role("tab", name="Vocoders").click()
    page.locator("#vocoders-upload input[type=file]").set_input_files(str(voice_ui.EXAMPLES_DIR / "speech_en.wav"))
    page.wait_for_selector("#vocoders-upload a.download-link")
    page.locator("#vocoders-methods").get_by_label("gla-grad").uncheck()
    page.click("#vocoders-run")
    _wait_status(page, "#vocoders-status", "Done", timeout_ms=120_000)
    scales = {(d["zmin"], d["zmax"]) for name in ("original", "griffin-lim", "wavegrad")
              for d in _plot(page, f"#vocoders-{name}-plot")["data"]}
    assert len(scales) == 1, scales


# ---- 7. the keyboard ----------------------------------------------------------------------------

def test_arrow_keys_on_a_slider_render(page):
    _analyze_example(page, "speech_en.wav")
    page.locator("#voice-transpose input[type=range]").focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    _wait_status(page, "#voice-status", "transpose +2 st")
    page.locator("#voice-formant-shift input[type=number]").focus()
    page.keyboard.press("ArrowUp")
    _wait_status(page, "#voice-status", "formant shift 1.01x")


# ---- 9 and 10. one note at a time, undo and redo, the spectrogram -------------------------------

def _note_spans(page, elem_id: str, trace: str = "notes") -> list[tuple[float, float]]:
    """(start s, stop s) of each note blob drawn in a pitch plot's trace."""
    fig = _plot(page, elem_id)
    spans = []
    for t in fig["data"]:
        if t["name"] in (trace, "selected note"):
            xs = [x for x in t["x"] if x is not None]
            spans += list(zip(xs[0::2], xs[1::2]))
    return sorted(spans)


def test_edit_one_note_then_undo_and_redo(page):
    _analyze_example(page, "sung_phrase.wav")
    spectrogram = _plot(page, "#voice-spectrogram")
    assert spectrogram["data"][0]["type"] == "heatmap"  # the input's, under the pitch plot
    spans = _note_spans(page, "#voice-f0-plot")
    assert len(spans) >= 5
    before, sr = _fetch_wav(page, "#voice-output")
    page.locator("#voice-note input").click()
    page.get_by_role("option").nth(2).click()  # the third note
    page.wait_for_function(f"() => ({PLOT_DATA})('#voice-f0-plot').data.some(t => t.name === 'selected note')")
    old_url = page.evaluate(AUDIO_URL, "#voice-output")
    _type(page, "#voice-note-semitones", 2)
    _wait_status(page, "#voice-status", "note 3 +2 st")
    page.wait_for_function(f"() => ({AUDIO_URL})('#voice-output') !== {old_url!r}")
    after, _ = _fetch_wav(page, "#voice-output")
    moved = [cents_between(_median_f0(after, sr, *s), _median_f0(before, sr, *s)) for s in spans]
    assert moved[2] == pytest.approx(200, abs=10), moved
    neighbours = [m for i, m in enumerate(moved) if i != 2 and np.isfinite(m)]  # (a glide may hold no F0)
    assert len(neighbours) >= 3 and all(abs(m) < 10 for m in neighbours), moved
    edited_url = page.evaluate(AUDIO_URL, "#voice-output")
    page.click("#voice-undo")
    page.wait_for_function(f"() => ({AUDIO_URL})('#voice-output') !== {edited_url!r}")
    undone, _ = _fetch_wav(page, "#voice-output")
    assert abs(cents_between(_median_f0(undone, sr, *spans[2]), _median_f0(before, sr, *spans[2]))) < 10
    assert page.locator("#voice-note-semitones input[type=number]").input_value() == "0"
    undone_url = page.evaluate(AUDIO_URL, "#voice-output")
    page.click("#voice-redo")
    page.wait_for_function(f"() => ({AUDIO_URL})('#voice-output') !== {undone_url!r}")
    _wait_status(page, "#voice-status", "note 3 +2 st")
    redone, _ = _fetch_wav(page, "#voice-output")
    assert cents_between(_median_f0(redone, sr, *spans[2]), _median_f0(before, sr, *spans[2])) == pytest.approx(200, abs=10)
    # a note made longer: its start stays, the next note's end stays, the clip keeps its length
    selected = f"({PLOT_DATA})('#voice-f0-plot').data.find(t => t.name === 'selected note')?.x.join()"
    page.evaluate(f"() => {{ window.selectedBefore = {selected}; }}")
    _type(page, "#voice-note-length", 150)
    _wait_status(page, "#voice-status", "length 150 %")
    page.wait_for_function(f"() => {selected} !== window.selectedBefore")  # the plots come after the sound
    new_spans = _note_spans(page, "#voice-f0-plot")
    (a, b), (a2, b2) = spans[2], new_spans[2]
    assert abs(a2 - a) < 0.02 and (b2 - a2) == pytest.approx(1.5 * (b - a), rel=0.1)
    longer, _ = _fetch_wav(page, "#voice-output")
    assert len(longer) == len(before)


def test_edit_one_note_of_a_choir_part(page):
    _separate_example(page)
    page.locator("#choir-part").get_by_label("soprano").check()
    page.wait_for_function(f"() => ({PLOT_DATA})('#choir-plot')?.data.some(t => t.name === 'notes')")
    spans = _note_spans(page, "#choir-plot")
    k = int(np.argmax([b - a for a, b in spans[:6]]))  # a long note of the soprano's first six
    page.locator("#choir-note input").click()
    page.get_by_role("option").nth(k).click()
    page.wait_for_function(f"() => ({PLOT_DATA})('#choir-plot').data.some(t => t.name === 'selected note')")
    _type(page, "#choir-note-semitones", -2)
    _wait_status(page, "#choir-status", f"soprano: note {k + 1} -2 st")
    page.wait_for_function("() => document.querySelector('#choir-part-soprano')?.innerText.includes('edited')")
    fig = _plot(page, "#choir-plot")
    traces = {t["name"]: t for t in fig["data"]}
    sep, edit = traces["soprano (separated)"], traces["soprano (edited)"]
    t_sep = np.array(sep["x"], float)
    f_sep = np.array([np.nan if v is None else v for v in sep["y"]], float)
    f_edit = np.interp(t_sep, np.array(edit["x"], float),
                       np.array([np.nan if v is None else v for v in edit["y"]], float))
    moved = []
    for a, b in spans:
        inside = (t_sep > a + (b - a) / 4) & (t_sep < b - (b - a) / 4)
        both = inside & np.isfinite(f_sep) & np.isfinite(f_edit) & (f_sep > 0) & (f_edit > 0)
        moved.append(float(np.median(cents_between(f_edit[both], f_sep[both]))))
    assert moved[k] == pytest.approx(-200, abs=10), moved
    neighbours = [m for i, m in enumerate(moved) if i != k and np.isfinite(m)]
    assert len(neighbours) >= 3 and all(abs(m) < 10 for m in neighbours), moved
    # and the sound: the soprano as it plays now (its voice model, resynthesized)
    wave, sr = _fetch_wav(page, "#choir-part-soprano")
    a, b = spans[k]
    heard = _median_f0(wave, sr, a, b)
    separated = float(np.nanmedian(f_sep[(t_sep > a + (b - a) / 4) & (t_sep < b - (b - a) / 4)]))
    assert cents_between(heard, separated) == pytest.approx(-200, abs=25)
