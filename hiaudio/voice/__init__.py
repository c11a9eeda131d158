"""The source-filter voice model: what a voice is (`VoiceParams`), how a recording becomes one
(`analyze`), how it is edited (`Edits`, `apply_edits`, the edit specification `EDIT_SPEC`), how it
sounds (`render`) and how it sings notes (`sing`). Gradio-free, below the studio, the choir
separation, the data and the training, which all import it.

    params = analyze(wave, sample_rate)
    edited = apply_edits(params, Edits(transpose_semitones=3, formant_shift=1.1))
    audio = render(edited)

Modules: params (the parameters and their checked JSON form), synthesis (the synthesizer, as
pure torch functions and on `VoiceParams`), analysis, edit, singing.
"""
from hiaudio.voice.analysis import analyze
from hiaudio.voice.edit import EDIT_SPEC, MIX, NO_EDITS, PITCH, PRESETS, TRACT, Edits, EditSpec, apply_edits
from hiaudio.voice.params import EXPORT_ADVICE, ParamsError, VoiceParams
from hiaudio.voice.singing import Singer, sing
from hiaudio.voice.synthesis import limit_peak, render, render_harmonic, render_noise

__all__ = ["EDIT_SPEC", "EXPORT_ADVICE", "EditSpec", "Edits", "MIX", "NO_EDITS", "PITCH", "PRESETS", "ParamsError", "Singer",
           "TRACT", "VoiceParams", "analyze", "apply_edits", "limit_peak", "render", "render_harmonic",
           "render_noise", "sing"]
