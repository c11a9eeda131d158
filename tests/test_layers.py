"""The package's architecture, read from its own source: imports run downward, gradio stays in
ui/, hiaudio's own imports sit at the top of each file, app.py stays a thin shell, and each unit
conversion, key helper and STFT has one home."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "hiaudio"
# lowest first: a module may import its own layer and the layers below, never one above
LAYERS = (
    ("limits", "device", "checkpoints", "audio"),  # the edge and the plumbing
    ("dsp",),  # pure signal functions
    ("voice",),  # the source-filter voice model
    ("data",),  # the data we make
    ("models",),  # networks
    ("separation",),  # choir separation
    ("studio", "examples"),  # gradio-free pipelines and sessions for the tabs
    ("ui", "cli", "__main__"),  # the tabs (gradio) and the command line
    ("train",),  # offline training: nothing else imports it
)
LAYER_OF = {name: i for i, names in enumerate(LAYERS) for name in names}


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _top(path: Path) -> str:
    """hiaudio/<top>/... -> <top> (a sub-package, or a top-level module's name)."""
    rel = path.relative_to(PACKAGE).parts
    return rel[0] if len(rel) > 1 else Path(rel[0]).stem


def _imports(tree):
    """(node, imported module, is at module level) for every import in the file."""
    top_level = {id(n) for n in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node, alias.name, id(node) in top_level
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            yield node, names, id(node) in top_level


def _hiaudio_targets(module) -> set[str]:
    """The hiaudio sub-packages / top modules an import names."""
    out = set()
    for name in ([module] if isinstance(module, str) else module):
        parts = name.split(".")
        if parts[0] == "hiaudio" and len(parts) > 1 and parts[1] in LAYER_OF:
            out.add(parts[1])
    return out


def test_every_module_has_a_layer():
    tops = {_top(p) for p, _ in _modules()} - {"__init__"}
    assert tops <= set(LAYER_OF), sorted(tops - set(LAYER_OF))


def test_no_import_runs_up_a_layer_and_hiaudio_imports_sit_at_the_top():
    upward, buried = [], []
    for path, tree in _modules():
        here = _top(path)
        if here == "__init__":
            continue
        for node, module, at_top in _imports(tree):
            for target in _hiaudio_targets(module):
                if LAYER_OF[target] > LAYER_OF[here]:
                    upward.append(f"{path.relative_to(ROOT)}:{node.lineno} {here} -> {target}")
                if not at_top:
                    buried.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not upward, upward
    assert not buried, buried


def test_only_ui_imports_gradio_and_nothing_imports_train():
    offenders = []
    for path, tree in _modules():
        here = _top(path)
        for node, module, _ in _imports(tree):
            names = [module] if isinstance(module, str) else module
            if here != "ui" and any(n == "gradio" or n.startswith("gradio.") for n in names):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} imports gradio")
            if here != "train" and "train" in _hiaudio_targets(module):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} imports hiaudio.train")
    assert not offenders, offenders


def test_app_is_a_thin_shell():
    source = (ROOT / "app.py").read_text(encoding="utf-8")
    assert len(source.splitlines()) <= 150
    modules = {m for _, m, _ in _imports(ast.parse(source)) for m in ([m] if isinstance(m, str) else m)}
    assert not any(m == "gradio" or m.startswith("gradio.") for m in modules)


# one home each: (function name, the module that defines it)
ONE_HOME = {
    "midi_to_hz": "hiaudio/dsp/units.py", "hz_to_midi": "hiaudio/dsp/units.py",
    "hz_to_cents": "hiaudio/dsp/units.py", "cents_to_hz": "hiaudio/dsp/units.py",
    "cents_between": "hiaudio/dsp/units.py", "note_name": "hiaudio/dsp/units.py",
    "parse_key": "hiaudio/dsp/units.py", "key_name": "hiaudio/dsp/units.py",
    "stft": "hiaudio/dsp/spectral.py", "istft": "hiaudio/dsp/spectral.py",
    "known_f0": "hiaudio/dsp/f0grid.py", "comb_layout": "hiaudio/dsp/partials.py",
    "edits_from": None,  # one way from controls to Edits: Edits.from_values
}


def test_conversions_keys_and_the_stft_have_one_home():
    defined = {}
    for path, tree in _modules():
        for node in tree.body:  # module-level functions (a method may share a name)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in ONE_HOME:
                defined.setdefault(node.name, []).append(str(path.relative_to(ROOT)))
    for name, home in ONE_HOME.items():
        assert defined.get(name, []) == ([home] if home else []), (name, defined.get(name))
    # the constants too: one MAX_HARMONICS, one set of key profiles, one list of note names
    for constant in ("MAX_HARMONICS", "NOTE_NAMES", "KEY_PROFILES", "SCALES"):
        homes = [str(p.relative_to(ROOT)) for p, tree in _modules() for node in tree.body
                 if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == constant for t in node.targets)]
        assert len(homes) == 1, (constant, homes)


def test_a_slider_move_runs_downward_from_ui_through_voice_to_dsp(vowel):
    """Follow one Voice-tab slider move (the transpose) call by call: it goes from ui/ through
    studio/ and voice/ down to dsp/, and no call ever goes back up a layer."""
    import sys

    from hiaudio.studio.session import new_session
    from hiaudio.ui import voice as voice_ui
    from hiaudio.voice import Edits

    audio, _, params = vowel
    state = voice_ui.VoiceTab(session=new_session(params, audio))
    values = Edits(transpose_semitones=3).values(voice_ui.VOICE_EDITS)
    calls, visited = [], set()

    def layer_of(frame):
        name = frame.f_globals.get("__name__", "")
        parts = name.split(".")
        return parts[1] if parts[0] == "hiaudio" and len(parts) > 1 and parts[1] in LAYER_OF else None

    def profile(frame, event, arg):
        if event != "call":
            return
        callee = layer_of(frame)
        if callee is None:
            return
        visited.add(callee)
        caller = frame.f_back
        while caller is not None and layer_of(caller) is None:  # through numpy, torch, functools
            caller = caller.f_back
        if caller is not None and LAYER_OF[callee] > LAYER_OF[layer_of(caller)]:
            calls.append(f"{caller.f_code.co_name} ({layer_of(caller)}) -> {frame.f_code.co_name} ({callee})")

    sys.setprofile(profile)
    try:
        out = voice_ui.render_edits(state, *values)
        voice_ui.redraw(out[0], ())  # then the plots, as in the page
    finally:
        sys.setprofile(None)
    assert out[0].session.edits.transpose_semitones == 3
    assert {"ui", "studio", "voice", "dsp"} <= visited, visited
    assert not calls, calls


def test_one_slider_move_checks_the_edits_once(vowel, monkeypatch):
    """The controls' values become one Edits, checked when made; nothing downstream checks again."""
    from hiaudio.studio.session import new_session
    from hiaudio.ui import voice as voice_ui
    from hiaudio.voice import Edits
    from hiaudio.voice.edit import EDIT_SPEC, EditSpec

    audio, _, params = vowel
    state = voice_ui.VoiceTab(session=new_session(params, audio))
    values = Edits(transpose_semitones=2, formant_shift=1.1).values(voice_ui.VOICE_EDITS)
    checks = []
    original = EditSpec.check
    monkeypatch.setattr(EditSpec, "check", lambda self, value: checks.append(self.name) or original(self, value))
    voice_ui.render_edits(state, *values)
    assert sorted(checks) == sorted(s.name for s in EDIT_SPEC)  # each edit checked exactly once
