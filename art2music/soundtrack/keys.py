"""Keys of MIDI sections: estimating one, and the transposition that lands it in a key close to the last one.

**Estimation** (Krumhansl & Kessler 1982 profiles, the Krumhansl-Schmuckler algorithm): the duration-weighted
pitch-class histogram of a section's pitched notes is correlated with the major and minor profile rotated to each
of the 12 tonics; the best of the 24 is the key.

**Modulation.** Two keys are *closely related* when their key signatures differ by at most one accidental (C major:
G, F majors and A, E, D minors). Each section keeps its own mode (its feeling: minor for sadness) and is transposed by
the smallest shift (at most a tritone, so its register barely moves) that puts its key at most one step from the
previous section's on the circle of fifths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


@dataclass(frozen=True)
class Key:
    """``tonic``: pitch class 0-11 (C = 0); ``mode``: ``"major"`` or ``"minor"``."""

    tonic: int
    mode: str

    @property
    def fifths(self) -> int:
        """Position of the key signature on the circle of fifths, 0-11 (C major / A minor: 0, G major: 1, F: 11)."""
        major_tonic = self.tonic if self.mode == "major" else (self.tonic + 3) % 12  # the relative major
        return (7 * major_tonic) % 12

    def transposed(self, semitones: int) -> "Key":
        return Key((self.tonic + semitones) % 12, self.mode)

    def __str__(self) -> str:
        return f"{PITCH_NAMES[self.tonic]} {self.mode}"


def estimate_key(notes: Iterable[tuple[int, float]]) -> Key | None:
    """``(pitch, duration)`` pairs → the best-correlated major or minor key; ``None`` when there are no notes."""
    histogram = np.zeros(12)
    for pitch, duration in notes:
        histogram[int(pitch) % 12] += max(float(duration), 1e-3)
    if not histogram.any():
        return None
    best, best_score = None, -np.inf
    for mode, profile in (("major", MAJOR_PROFILE), ("minor", MINOR_PROFILE)):
        for tonic in range(12):
            score = _correlation(histogram, np.roll(profile, tonic))
            if score > best_score:
                best, best_score = Key(tonic, mode), score
    return best


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    norm = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / norm) if norm > 0 else 0.0


def circle_distance(a: Key, b: Key) -> int:
    """Steps between two keys' signatures on the circle of fifths (0-6)."""
    steps = abs(a.fifths - b.fifths) % 12
    return min(steps, 12 - steps)


def related_shift(key: Key, previous: Key) -> int:
    """The transposition in semitones (−6..5) of the smallest size that puts ``key`` (mode kept) at most one step from
    ``previous`` on the circle of fifths (0 when it already is)."""
    candidates = [shift for shift in range(-6, 6) if circle_distance(key.transposed(shift), previous) <= 1]
    return min(candidates, key=lambda shift: (abs(shift), circle_distance(key.transposed(shift), previous)))
