"""Offline training data that hiaudio makes itself: nothing is downloaded.

Three sets, each built deterministically from a seed and cached under
``$HIAUDIO_CACHE`` (default ``~/.cache/hiaudio``) in ``data/<set>/<version>/``:

* Chorales, parsed (`chorales`): Bach's four-part chorales from music21's corpus, kept only
  when the parts are exactly Soprano, Alto, Tenor, Bass (365 of 410 scores). Parsed once
  (about 100 s) into ``data/chorales/corpus-v1/corpus.json``.
* Chorales, rendered (`render`, `dataset`): excerpts rendered part by part, with fluidsynth
  and a GM vocal preset or with our own voice model, so the stems are exact; each example
  carries the mixture (S,), the stems (4, S), the score F0 per voice on a 5 ms grid (4, T)
  and its metadata. ``data/chorales/render-v1/<split>/<config>/<index>.npz``.
* Speech (`speech`): espeak-ng voices reading English sentences, for the vocoder.
  ``data/speech/speech-v1/<split>-<rate>hz-seed<seed>/<variant>/<index>.wav`` (+ .json).

A fourth view, `tokens`, turns a parsed chorale into a 16th-note x 4-voice token grid with
bar, position, beat and phrase labels, for a composer model.

Splits (all in `splits`, all pure functions of the item, the same on every machine):

* chorale pieces: SHA-1 of the piece's *melody family* (the soprano's first 12 pitch
  changes) cuts 80 / 10 / 10 into train / validation / test (278 / 48 / 39 pieces), so
  Bach's several harmonizations of one hymn tune never straddle two splits;
* chorale timbres: "seen" for every split; "held_out" -- soundfont program 54 Synth Voice,
  and voice-model singers on vowel "u" or with formant ratios 8-14 % off their part's
  norm -- only for validation and test;
* speech: voice variants m1 m2 m3 m5 m6 f1 f2 f4 klatt klatt3 for train and validation;
  m4 m7 f3 f5 klatt2 only for test; sentences 80 / 10 / 10 by SHA-1 of the text.

    from hiaudio.data import ChoraleDataset, render_chorale, tokenize
    ex = render_chorale("bwv269", renderer="voice", seed=0, duration_s=4.0)
    ds = ChoraleDataset("train", renderer="fluidsynth", n_examples=1000)

Command line: ``python -m hiaudio.data {corpus,chorales,speech} [--out DIR] [--n N] [--split S]``.
"""
from hiaudio.data.chorales import CORPUS_VERSION, PARTS, Chorale, get_chorale, load_chorales, parse_chorale
from hiaudio.data.dataset import VERSION, ChoraleDataset
from hiaudio.data.render import RENDER_VERSION, ChoraleExample, render_chorale
from hiaudio.data.speech import SPEECH_VERSION, SpeechDataset, speak
from hiaudio.data.splits import chorale_split, speech_variants
from hiaudio.data.tokens import ChoraleGrid, detokenize, random_transposition, tokenize, transpose

__all__ = ["CORPUS_VERSION", "PARTS", "RENDER_VERSION", "SPEECH_VERSION", "VERSION", "Chorale", "ChoraleDataset",
           "ChoraleExample", "ChoraleGrid", "SpeechDataset", "chorale_split", "detokenize", "get_chorale",
           "load_chorales", "parse_chorale", "random_transposition", "render_chorale", "speak", "speech_variants",
           "tokenize", "transpose"]
