"""MIDI ↔ tokens: REMI with byte-pair encoding, through miditok (Fradet et al., 2023) on symusic scores.

REMI (Huang & Yang, 2020) writes a piece as ``Bar``, ``Position``, ``Tempo``, ``Program``, ``Pitch``,
``Velocity`` and ``Duration`` tokens in one stream (all instruments interleaved, drums as program -1);
BPE merges frequent token successions into new tokens, so a bar takes fewer decoder steps (the seed paper,
Kundu et al. 2024, also uses BPE). The trained tokenizer is one JSON file (``tokenizer.json``), saved with
the model and checked on load (:func:`load_tokenizer`).

Reading MIDI is where bad files show up: :func:`read_score` raises :class:`BadMidiError` with a reason
(``missing``, ``corrupt``, ``empty``, ``no_notes``, ``absurd_tempo``) and :func:`read_scores` skips such files and
reports them by name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

if TYPE_CHECKING:
    import numpy as np

    from art2music.symbolic.grammar import GrammarTables

TOKENIZER_FILE = "tokenizer.json"
TEMPO_RANGE_BPM = (30.0, 300.0)
"""Tempi the tokens can write (beats per minute); miditok clamps a tempo outside it to the nearest end."""
ABSURD_TEMPO_BPM = (10.0, 400.0)
"""Outside this a file's tempo is not music but a broken header (e.g. a zero or huge microseconds-per-beat value):
the file is reported as ``absurd_tempo`` and skipped."""
BEAT_RESOLUTION = {(0, 4): 8, (4, 12): 4}
"""Positions per beat by note length in beats: eighth-of-a-beat grid for notes under a bar, quarter above
(miditok's ``beat_res``; the demo composer writes nothing finer than sixteenth notes)."""
DEFAULT_VOCAB_SIZE = 1000
"""Base REMI vocabulary (about 500 tokens) plus BPE merges."""


class BadMidiError(ValueError):
    """A MIDI file that cannot be used: ``reason`` is ``missing``, ``corrupt``, ``empty``, ``no_notes`` or
    ``absurd_tempo``."""

    def __init__(self, path: str | os.PathLike, reason: str, detail: str):
        self.path, self.reason, self.detail = Path(path), reason, detail
        super().__init__(f"{self.path.name}: {reason}: {detail}")


@dataclass(frozen=True)
class SkippedMidi:
    """A file :func:`read_scores` left out, and why."""

    name: str
    reason: str
    detail: str


def build_tokenizer(num_velocities: int = 16, num_tempos: int = 32):
    """A fresh (untrained) REMI tokenizer with tempo, bar, position, pitch, velocity, duration and program tokens."""
    from miditok import REMI, TokenizerConfig

    config = TokenizerConfig(use_tempos=True, use_programs=True, use_velocities=True, num_velocities=num_velocities,
                             num_tempos=num_tempos, tempo_range=TEMPO_RANGE_BPM, beat_res=dict(BEAT_RESOLUTION),
                             one_token_stream_for_programs=True, special_tokens=["PAD", "BOS", "EOS"])
    return REMI(config)


def check_score(score, path: str | os.PathLike):
    """``score`` (a symusic Score) if usable, else :class:`BadMidiError` (no notes, absurd tempo)."""
    if sum(len(track.notes) for track in score.tracks) == 0:
        raise BadMidiError(path, "no_notes", "the file holds no notes")
    for tempo in score.tempos:
        bpm = float(tempo.qpm)
        if not ABSURD_TEMPO_BPM[0] <= bpm <= ABSURD_TEMPO_BPM[1]:
            raise BadMidiError(path, "absurd_tempo", f"tempo {bpm:.1f} bpm is outside {ABSURD_TEMPO_BPM[0]:g}-"
                                                     f"{ABSURD_TEMPO_BPM[1]:g}")
    return score


def read_score(path: str | os.PathLike):
    """Read a MIDI file as a symusic Score, checked by :func:`check_score`.

    Raises:
        BadMidiError: missing/empty/corrupt file, no notes, or a tempo outside :data:`ABSURD_TEMPO_BPM`.
    """
    from symusic import Score

    path = Path(path)
    if not path.exists():
        raise BadMidiError(path, "missing", "no such file")
    try:
        size = path.stat().st_size
    except OSError as error:
        raise BadMidiError(path, "corrupt", f"cannot read the file ({error.strerror or error})") from error
    if size == 0:
        raise BadMidiError(path, "empty", "the file is empty")
    try:
        score = Score(str(path))
    except Exception as error:  # symusic raises RuntimeError/ValueError/IOError variants for bad bytes
        raise BadMidiError(path, "corrupt", f"not a readable MIDI file ({type(error).__name__}: {error})") from error
    return check_score(score, path)


def read_scores(paths: Iterable[str | os.PathLike]) -> tuple[list, list[Path], list[SkippedMidi]]:
    """Read every file; returns ``(scores, their paths, skipped)``: bad files are left out and named (callers print
    :func:`skipped_lines`)."""
    scores, kept, skipped = [], [], []
    for path in paths:
        try:
            scores.append(read_score(path))
            kept.append(Path(path))
        except BadMidiError as error:
            skipped.append(SkippedMidi(error.path.name, error.reason, error.detail))
    return scores, kept, skipped


def skipped_lines(skipped: Sequence[SkippedMidi], total: int, what: str = "MIDI") -> list[str]:
    """One line per skipped file (``skipped NAME: REASON: DETAIL``) and a count line, or nothing if none was."""
    if not skipped:
        return []
    return [f"skipped {bad.name}: {bad.reason}: {bad.detail}" for bad in skipped] + [
        f"{len(skipped)} of {total} {what} files skipped"]


def train_tokenizer(paths: Sequence[str | os.PathLike], vocab_size: int = DEFAULT_VOCAB_SIZE):
    """Build a tokenizer and learn BPE merges on the usable files of ``paths`` (bad ones skipped).

    Returns:
        ``(tokenizer, skipped)``.
    """
    _, kept, skipped = read_scores(paths)
    if not kept:
        raise ValueError("no usable MIDI file to train the tokenizer on")
    tokenizer = build_tokenizer()
    if vocab_size <= len(tokenizer):
        raise ValueError(f"vocab_size {vocab_size} must exceed the {len(tokenizer)} base REMI tokens")
    tokenizer.train(vocab_size=vocab_size, files_paths=[str(path) for path in kept])
    return tokenizer, skipped


def save_tokenizer(tokenizer, path: str | os.PathLike) -> Path:
    """Write ``tokenizer.json`` atomically (``path`` is the file or a folder to put it in)."""
    from vocoder.files import atomic_write

    path = Path(path)
    if path.is_dir() or not path.suffix:
        path = path / TOKENIZER_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, tokenizer.save)
    return path


def load_tokenizer(path: str | os.PathLike, vocab_size: int | None = None):
    """Read a ``tokenizer.json`` (or a folder holding one); with ``vocab_size``, check it matches the model.

    Raises:
        FileNotFoundError: no such file.  ValueError: not a REMI tokenizer, untrained, or the wrong size.
    """
    from miditok import REMI

    path = Path(path)
    if path.is_dir():
        path = path / TOKENIZER_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no tokenizer file at {path}")
    try:
        tokenizer = REMI(params=path)
    except Exception as error:  # miditok raises KeyError/JSONDecodeError/TypeError for a damaged file
        raise ValueError(f"{path}: not a miditok REMI tokenizer ({type(error).__name__}: {error})") from error
    if not tokenizer.is_trained:
        raise ValueError(f"{path}: the tokenizer has no trained BPE vocabulary")
    if vocab_size is not None and len(tokenizer) != vocab_size:
        raise ValueError(f"{path}: the tokenizer has {len(tokenizer)} tokens but the model expects {vocab_size}")
    return tokenizer


def score_to_ids(tokenizer, score) -> list[int]:
    """A symusic Score → token ids (BPE applied), without BOS/EOS."""
    return list(tokenizer.encode(score).ids)


def ids_to_score(tokenizer, ids: Sequence[int]):
    """Token ids (BPE, specials ignored) → a symusic Score. Ill-formed successions are dropped by miditok."""
    from miditok import TokSequence

    specials = {tokenizer.vocab[name] for name in ("PAD_None", "BOS_None", "EOS_None") if name in tokenizer.vocab}
    kept = [int(i) for i in ids if int(i) not in specials]
    return tokenizer.decode(TokSequence(ids=kept, are_ids_encoded=tokenizer.is_trained))


@dataclass(frozen=True)
class TokenFacts:
    """What sampling needs to know about each token id of a trained tokenizer (``V`` = vocabulary size).

    bars: ``(V,)`` how many ``Bar`` base tokens the (BPE) token contains.
    tempo_bpm: ``(V,)`` the last tempo the token sets, ``nan`` if none.
    pad, bos, eos: the special token ids.  bar: the id of the lone ``Bar`` token (an empty bar).
    pitch_classes: ``(V, 12)`` how many ``Pitch`` base tokens of each pitch class (C = 0) the token contains
        (drum hits are ``PitchDrum`` tokens and are not counted); ``None`` when not read.
    grammar: the tables :class:`art2music.symbolic.grammar.GrammarTracker` keeps sampling inside the REMI grammar
        with; ``None`` when not read.
    """

    bars: "np.ndarray"
    tempo_bpm: "np.ndarray"
    pad: int
    bos: int
    eos: int
    bar: int = -1
    pitch_classes: "np.ndarray | None" = None
    grammar: "GrammarTables | None" = None


def base_tokens(tokenizer) -> list[list[str]]:
    """Each token id's base REMI tokens (a BPE token expands to several: ``["Position_4", "Program_0", ...]``)."""
    return [tokenizer._vocab_learned_bytes_to_tokens[tokenizer._model.id_to_token(index)]
            for index in range(len(tokenizer))]


def token_facts(tokenizer) -> TokenFacts:
    """:class:`TokenFacts` of a trained tokenizer, read from its BPE vocabulary (each merged token expands to base
    REMI tokens)."""
    import numpy as np

    from art2music.symbolic.grammar import grammar_tables

    size = len(tokenizer)
    bars = np.zeros(size, dtype=np.int64)
    tempo = np.full(size, np.nan)
    pitch_classes = np.zeros((size, 12), dtype=np.int64)
    specials: dict[str, int] = {}
    bases = base_tokens(tokenizer)
    for index, base in enumerate(bases):
        if base == ["Bar_None"]:
            specials["Bar_None"] = index
        for token in base:
            kind, _, value = token.partition("_")
            if kind == "Bar":
                bars[index] += 1
            elif kind == "Tempo":
                tempo[index] = float(value)
            elif kind == "Pitch":
                pitch_classes[index, int(value) % 12] += 1
            elif token in ("PAD_None", "BOS_None", "EOS_None"):
                specials[token] = index
    missing = {"PAD_None", "BOS_None", "EOS_None", "Bar_None"} - specials.keys()
    if missing:
        raise ValueError(f"the tokenizer lacks the tokens {sorted(missing)}")
    return TokenFacts(bars, tempo, specials["PAD_None"], specials["BOS_None"], specials["EOS_None"],
                      specials["Bar_None"], pitch_classes, grammar_tables(bases))
