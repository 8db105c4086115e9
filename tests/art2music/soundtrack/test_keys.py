"""Key estimation and the transposition to a closely related key."""

from __future__ import annotations

import itertools

import pytest

from art2music.soundtrack.keys import Key, circle_distance, estimate_key, related_shift

MAJOR_SCALE, MINOR_SCALE = (0, 2, 4, 5, 7, 9, 11), (0, 2, 3, 5, 7, 8, 10)


def _cadence(tonic: int, scale: tuple[int, ...]) -> list[tuple[int, float]]:
    """A scale with its tonic triad held long, as (pitch, duration) pairs."""
    notes = [(60 + tonic + step, 0.5) for step in scale]
    return notes + [(60 + tonic, 2.0), (60 + tonic + scale[2], 1.5), (60 + tonic + scale[4], 1.5)]


@pytest.mark.parametrize("tonic", range(12))
def test_estimate_key_finds_the_tonic_and_mode_of_a_cadence(tonic):
    assert estimate_key(_cadence(tonic, MAJOR_SCALE)) == Key(tonic, "major")
    assert estimate_key(_cadence(tonic, MINOR_SCALE)) == Key(tonic, "minor")
    assert estimate_key([]) is None


def test_circle_of_fifths_positions():
    assert Key(0, "major").fifths == Key(9, "minor").fifths == 0  # C major and A minor share a signature
    assert circle_distance(Key(0, "major"), Key(7, "major")) == 1 and circle_distance(Key(0, "major"),
                                                                                      Key(6, "major")) == 6


def test_related_shift_is_the_smallest_move_to_a_closely_related_key():
    keys = [Key(tonic, mode) for tonic in range(12) for mode in ("major", "minor")]
    for key, previous in itertools.product(keys, keys):
        shift = related_shift(key, previous)
        assert -6 <= shift <= 5 and key.transposed(shift).mode == key.mode
        assert circle_distance(key.transposed(shift), previous) <= 1
        for smaller in range(-abs(shift) + 1, abs(shift)):
            assert circle_distance(key.transposed(smaller), previous) > 1
    assert related_shift(Key(7, "major"), Key(0, "major")) == 0  # G major after C major: already related
    assert related_shift(Key(6, "major"), Key(0, "major")) == -1  # F# major after C: down to F major
    assert related_shift(Key(1, "minor"), Key(0, "major")) == 1  # C# minor after C: up to D minor
