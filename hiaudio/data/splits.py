"""Every train / validation / test split of the data module, in one place.

Chorales, by piece (`chorale_split`). Bach harmonized many hymn tunes several times (the
Passion chorale six times in this corpus), and some pieces come in two versions
(bwv18.5-lz / -w). Hashing the piece id alone would put one harmonization of a tune in
training and another in the test set, so the unit of the split is the *melody family*: the
soprano's first `MELODY_KEY_INTERVALS` pitch changes, in semitones (transposition-free,
rhythm-free). SHA-1 of that key cuts the families 80 / 10 / 10 into train / validation /
test. It is a pure function of one chorale: no list of pieces, the same on every machine.

Timbres (`TIMBRE_SPLITS`), for the rendered chorales. "seen" timbres are used by every split;
"held_out" timbres only in evaluation (validation or test), never in training:
  * fluidsynth: GM programs 52 Choir Aahs, 53 Voice Oohs, 85 Lead 6 (voice) are seen;
    54 Synth Voice is held out.
  * our voice model: seen singers sing "a", "e", "i" or "o" with a formant ratio within
    +-6 % of `VOICE_FORMANT_RATIO[part]`; a held-out singer sings "u", or has a formant
    ratio 8-14 % above or below it (or both). `is_held_out_singer` tells the two apart.

Speech (`speech_voice_split`, `speech_sentence_split`): espeak-ng voice variants are split
by name: `SPEECH_TRAIN_VARIANTS` for train and validation, `SPEECH_HELD_OUT_VARIANTS` only
for test, at any pitch or accent. Sentences are split by SHA-1 of the text 80 / 10 / 10 so
validation and test also hear text never seen in training.
"""
from __future__ import annotations

from hiaudio.data.cache import hash_split
from hiaudio.voice.singing import VOICE_FORMANT_RATIO

SPLITS = ("train", "validation", "test")
PIECE_FRACTIONS = {"train": 0.8, "validation": 0.1, "test": 0.1}
MELODY_KEY_INTERVALS = 12  # pitch changes of the soprano that name a melody family


# ---- chorales: pieces --------------------------------------------------------------------------

def melody_key(chorale) -> str:
    """The soprano's first pitch changes in semitones, e.g. "melody:+2,+2,-4,...": one per hymn tune."""
    pitches = [n.pitch for n in chorale.parts["soprano"]]
    changes = [b - a for a, b in zip(pitches, pitches[1:]) if b != a][:MELODY_KEY_INTERVALS]
    return "melody:" + ",".join(f"{d:+d}" for d in changes)


def chorale_split(chorale) -> str:
    """"train", "validation" or "test" for a `Chorale`: by hash of its melody family."""
    return hash_split(melody_key(chorale), PIECE_FRACTIONS)


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    return split


# ---- chorales: timbres -------------------------------------------------------------------------

SOUNDFONT_PROGRAMS = {52: "Choir Aahs", 53: "Voice Oohs", 54: "Synth Voice", 85: "Lead 6 (voice)"}  # GM, 0-based
SEEN_PROGRAMS = (52, 53, 85)
HELD_OUT_PROGRAMS = (54,)

SEEN_VOWELS = ("a", "e", "i", "o")
HELD_OUT_VOWELS = ("u",)
SEEN_FORMANT_SCALE = (0.94, 1.06)  # times VOICE_FORMANT_RATIO[part]
HELD_OUT_FORMANT_SCALES = ((0.86, 0.92), (1.08, 1.14))  # below or above the seen range, with a gap

TIMBRE_SPLITS = ("seen", "held_out")


def timbre_split_for(split: str, timbre: str | None) -> str:
    """The timbre split an example of `split` uses: "seen" by default; "held_out" only to evaluate."""
    check_split(split)
    timbre = timbre or "seen"
    if timbre not in TIMBRE_SPLITS:
        raise ValueError(f"unknown timbre split {timbre!r}; use 'seen' or 'held_out'")
    if split == "train" and timbre == "held_out":
        raise ValueError("held-out timbres are for evaluation only; use split='validation' or 'test'")
    return timbre


def is_held_out_singer(part: str, vowel: str, formant_ratio: float) -> bool:
    """True when a voice-model singer lies in the held-out region of timbre space."""
    scale = formant_ratio / VOICE_FORMANT_RATIO[part]
    lo, hi = SEEN_FORMANT_SCALE
    return vowel in HELD_OUT_VOWELS or not (lo - 1e-9 <= scale <= hi + 1e-9)


# ---- speech ------------------------------------------------------------------------------------

# espeak-ng voice variants (`-v en+<variant>`): male m1-m7, female f1-f5 and the Klatt
# formant-synthesis voices. Whispering or croaking variants are left out: a vocoder needs voicing.
SPEECH_TRAIN_VARIANTS = ("m1", "m2", "m3", "m5", "m6", "f1", "f2", "f4", "klatt", "klatt3")
SPEECH_HELD_OUT_VARIANTS = ("m4", "m7", "f3", "f5", "klatt2")
SENTENCE_FRACTIONS = {"train": 0.8, "validation": 0.1, "test": 0.1}


def speech_variants(split: str) -> tuple[str, ...]:
    """Voice variants a speech split may use: the train variants, or (test) only held-out ones."""
    return SPEECH_HELD_OUT_VARIANTS if check_split(split) == "test" else SPEECH_TRAIN_VARIANTS


def speech_sentence_split(text: str) -> str:
    return hash_split("sentence:" + text, SENTENCE_FRACTIONS)


# ---- choirs: composers and renderer families (issue 17) ----------------------------------------
#
# Three sets that share no composer, and a report set that shares no renderer family with the
# other two: every setting is chosen on the tuning set; the report set is run once per shipped
# change. Palestrina and Josquin are the report set's composers and nothing else may use them.

REPORT_COMPOSERS = ("palestrina", "josquin")
TRAIN_COMPOSERS = ("bach", "monteverdi", "trecento", "luca", "lusitano")  # train and tuning, by piece
CHOIR_SPLITS = ("train", "tuning", "report")
TUNING_FRACTION = 0.15  # of each non-report composer's pieces (Bach: the chorales' validation split)
# renderer families (`families.FAMILIES`): the report set's are never trained or tuned on
TRAIN_FAMILIES = ("voice", "timgm", "mbrola_eu")
REPORT_FAMILIES = ("gmbank", "opl3", "mbrola_latin")


def composer_split(piece) -> str:
    """"train", "tuning", "report" or "test" for a `repertoire.Piece`.

    Report: Palestrina and Josquin, whole. Bach's chorales keep their melody-family split
    (train -> train, validation -> tuning, test -> test: the chorale benchmark's). Every other
    piece: SHA-1 of its id, TUNING_FRACTION to tuning.
    """
    if piece.composer in REPORT_COMPOSERS:
        return "report"
    if piece.composer == "bach":  # a chorale's Piece keeps its soprano: the melody family is its split
        return {"train": "train", "validation": "tuning", "test": "test"}[chorale_split(piece)]
    return hash_split("piece:" + piece.piece_id, {"tuning": TUNING_FRACTION, "train": 1 - TUNING_FRACTION})


def choir_families(split: str) -> tuple[str, ...]:
    """Renderer families a choir split may use: the report set's own, or the training ones."""
    if split not in CHOIR_SPLITS:
        raise ValueError(f"unknown choir split {split!r}; use one of {', '.join(CHOIR_SPLITS)}")
    return REPORT_FAMILIES if split == "report" else TRAIN_FAMILIES


def choir_composers(split: str) -> tuple[str, ...]:
    if split not in CHOIR_SPLITS:
        raise ValueError(f"unknown choir split {split!r}; use one of {', '.join(CHOIR_SPLITS)}")
    return REPORT_COMPOSERS if split == "report" else TRAIN_COMPOSERS
