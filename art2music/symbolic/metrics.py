"""Symbolic music metrics, reimplemented after MusPy's definitions (Dong et al., 2020), on a piece's notes in seconds.

All take a list of :class:`~art2music.symbolic.piece.Note` (drums, program -1, are left out of the pitch metrics) and
the piece's tempo in BPM where beats matter; bars are 4 beats. Times are first put on a lattice of
:data:`LATTICE` points per beat (exact integers, so a note on a beat stays on it whatever float rounding the seconds
carry). ``tests/art2music/symbolic/test_metrics_muspy.py`` checks each against MusPy 0.5 on real and constructed files.

- ``pitch_class_entropy``: Shannon entropy (bits) of the duration-free pitch-class histogram of the notes (MusPy's).
- ``polyphony_rate``: share of time steps (``steps_per_beat`` per beat, from 0 to the last note's end) in which at
  least 2 pitches sound (MusPy's ``polyphony_rate(threshold=1)``: MusPy counts steps with *more than* ``threshold``).
- ``scale_consistency``: the largest share of notes inside one major or natural-minor scale (24 candidates; MusPy's).
- ``groove_consistency``: 1 − the mean Hamming distance (over ``positions`` onset positions per bar, all notes) between
  the onset patterns of neighbouring bars, over the bars the piece spans (MusPy's, except that MusPy also counts a
  note ending exactly on a bar line as reaching into the next bar; 1.0 for a one-bar piece, where MusPy gives NaN).
- ``empty_beat_rate``: share of beats (up to the last note's end, all notes) in which no note sounds (MusPy's,
  except that MusPy counts a note ending exactly on a beat as sounding in the next beat).
- ``notes_per_second`` and the tempo.
And for the emotion checks: :func:`estimate_key` (Krumhansl-Kessler key profiles, Krumhansl 1990) and
:func:`judge_va`, an independent feature-based VA estimate (mode → valence; tempo and density → arousal).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from art2music.symbolic.piece import Note

MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
"""Krumhansl & Kessler (1982) probe-tone ratings of the 12 pitch classes in C major and C minor."""
_MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
_MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10)


LATTICE = 3840
"""Lattice points per beat: a multiple of the usual MIDI resolutions (96, 120, 384, 480, 960 ticks per beat)."""


def _pitched(notes: Sequence[Note]) -> list[Note]:
    return [note for note in notes if note.program >= 0]


def _lattice(seconds: float, tempo_bpm: float) -> int:
    """A time in seconds → the nearest lattice point (beats × :data:`LATTICE`)."""
    return int(round(seconds * tempo_bpm / 60.0 * LATTICE))


def _spans(notes: Sequence[Note], tempo_bpm: float) -> np.ndarray:
    """``(N, 2)`` int64 start and end of each note in lattice points."""
    return np.array([(_lattice(note.start, tempo_bpm), _lattice(note.end, tempo_bpm)) for note in notes],
                    dtype=np.int64).reshape(-1, 2)


def pitch_class_entropy(notes: Sequence[Note]) -> float:
    counts = np.bincount([note.pitch % 12 for note in _pitched(notes)], minlength=12).astype(float)
    if counts.sum() == 0:
        return 0.0
    share = counts[counts > 0] / counts.sum()
    return float(-(share * np.log2(share)).sum())


def polyphony_rate(notes: Sequence[Note], tempo_bpm: float, threshold: int = 2, steps_per_beat: int = 24) -> float:
    """Share of the ``steps_per_beat``-per-beat time steps up to the last note's end (drums included in the length,
    as in MusPy) in which at least ``threshold`` pitched notes sound. ``LATTICE`` must be a multiple of
    ``steps_per_beat`` (24, the default, resolves sixteenths and triplets)."""
    if LATTICE % steps_per_beat:
        raise ValueError(f"steps_per_beat must divide {LATTICE}, got {steps_per_beat}")
    if not notes:
        return 0.0
    step = LATTICE // steps_per_beat
    steps = int(round(_spans(notes, tempo_bpm)[:, 1].max() / step))
    if steps < 1:
        return 0.0
    sounding = np.zeros((steps, 128), dtype=bool)
    pitched = _pitched(notes)
    for note, (start, end) in zip(pitched, _spans(pitched, tempo_bpm)):
        sounding[int(round(start / step)):int(round(end / step)), note.pitch] = True
    return float((sounding.sum(axis=1) >= threshold).sum() / steps)


def scale_consistency(notes: Sequence[Note]) -> float:
    pitches = [note.pitch % 12 for note in _pitched(notes)]
    if not pitches:
        return 0.0
    histogram = np.bincount(pitches, minlength=12)
    best = 0
    for root in range(12):
        for scale in (_MAJOR_SCALE, _MINOR_SCALE):
            best = max(best, int(sum(histogram[(root + step) % 12] for step in scale)))
    return best / len(pitches)


def groove_consistency(notes: Sequence[Note], tempo_bpm: float, positions: int = 16) -> float:
    """1 − mean Hamming distance between neighbouring bars' onset patterns at ``positions`` per bar (0..1)."""
    if not notes:
        return 0.0
    spans = _spans(notes, tempo_bpm)
    bar = 4 * LATTICE
    bars = max(1, -(-int(spans[:, 1].max()) // bar))  # the bars the piece spans (ceil)
    if bars < 2:
        return 1.0
    pattern = np.zeros((bars, positions), dtype=bool)
    for start in spans[:, 0]:
        index = min(int(start) // bar, bars - 1)
        pattern[index, (int(start) - index * bar) * positions // bar] = True
    return float(1.0 - np.mean(np.logical_xor(pattern[1:], pattern[:-1]).mean(axis=1)))


def empty_beat_rate(notes: Sequence[Note], tempo_bpm: float) -> float:
    """Share of the beats up to the last note's end in which no note (drums included) sounds."""
    if not notes:
        return 1.0
    spans = _spans(notes, tempo_bpm)
    beats = max(1, -(-int(spans[:, 1].max()) // LATTICE))
    filled = np.zeros(beats, dtype=bool)
    for start, end in spans:
        first = int(start) // LATTICE
        filled[first:max(first + 1, -(-int(end) // LATTICE))] = True
    return float(1.0 - filled.mean())


def notes_per_second(notes: Sequence[Note]) -> float:
    if not notes:
        return 0.0
    span = max(note.end for note in notes) - min(note.start for note in notes)
    return len(notes) / max(span, 1e-3)


def estimate_key(notes: Sequence[Note]) -> tuple[int, str, float]:
    """(tonic pitch class, ``"major"``/``"minor"``, correlation) of the best-matching Krumhansl-Kessler profile,
    the pitch classes weighted by note duration."""
    histogram = np.zeros(12)
    for note in _pitched(notes):
        histogram[note.pitch % 12] += max(note.end - note.start, 1e-3)
    if histogram.sum() == 0:
        return 0, "major", 0.0
    best = (0, "major", -2.0)
    for tonic in range(12):
        for mode, profile in (("major", MAJOR_PROFILE), ("minor", MINOR_PROFILE)):
            correlation = float(np.corrcoef(histogram, np.roll(profile, tonic))[0, 1])
            if correlation > best[2]:
                best = (tonic, mode, correlation)
    return best


def judge_va(notes: Sequence[Note], tempo_bpm: float) -> tuple[float, float]:
    """A feature-based (valence, arousal) in [-1, 1], independent of any learned model: mode (major +, minor −,
    scaled by the key correlation) and register for valence; tempo and note density for arousal (the cues of
    Gabrielsson & Lindström 2010). Centres: 100 BPM, 4 notes per second, middle C."""
    if not notes:
        return 0.0, -1.0
    _, mode, correlation = estimate_key(notes)
    pitched = _pitched(notes)
    register = np.mean([note.pitch for note in pitched]) if pitched else 60.0
    valence = 0.75 * (1 if mode == "major" else -1) * max(0.0, correlation) + 0.25 * math.tanh((register - 60) / 12)
    arousal = 0.5 * math.tanh((tempo_bpm - 100) / 30) + 0.5 * math.tanh((notes_per_second(notes) - 4) / 3)
    return float(np.clip(valence, -1, 1)), float(np.clip(arousal, -1, 1))


def piece_metrics(notes: Sequence[Note], tempo_bpm: float) -> dict[str, float]:
    """Every metric of one piece, by name."""
    return {"pitch_class_entropy": pitch_class_entropy(notes), "polyphony_rate": polyphony_rate(notes, tempo_bpm),
            "scale_consistency": scale_consistency(notes), "groove_consistency": groove_consistency(notes, tempo_bpm),
            "empty_beat_rate": empty_beat_rate(notes, tempo_bpm), "notes_per_second": notes_per_second(notes),
            "tempo_bpm": float(tempo_bpm)}


def longest_shared_run(generated: Sequence[int], corpus: Sequence[Sequence[int]],
                       grams: dict[int, set] | None = None) -> tuple[int, int]:
    """``(length, start)``: the longest run of consecutive tokens of ``generated`` (beginning at ``start``) that also
    occurs in one corpus sequence (binary search over the length with sets of n-grams). ``grams``, a dict kept by the
    caller, caches the corpus's n-gram sets by length across calls with the same corpus."""
    grams = {} if grams is None else grams

    def first_shared(length: int) -> int:
        if length not in grams:
            grams[length] = {tuple(sequence[k:k + length]) for sequence in corpus
                             for k in range(len(sequence) - length + 1)}
        return next((k for k in range(len(generated) - length + 1) if tuple(generated[k:k + length]) in grams[length]),
                    -1)

    low, high, start = 0, len(generated), 0
    while low < high:
        middle = (low + high + 1) // 2
        found = first_shared(middle)
        if found >= 0:
            low, start = middle, found
        else:
            high = middle - 1
    return low, start
