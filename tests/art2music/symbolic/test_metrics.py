from __future__ import annotations

import pytest

from art2music.symbolic import metrics
from art2music.symbolic.piece import Note


def _notes(pitches, start=0.0, step=0.5, length=0.5, program=0):
    return [Note(start + k * step, start + k * step + length, pitch, 80, program) for k, pitch in enumerate(pitches)]


def test_pitch_metrics_on_known_pieces():
    c_major = _notes([60, 62, 64, 65, 67, 69, 71, 72])
    assert metrics.scale_consistency(c_major) == 1.0
    assert metrics.pitch_class_entropy(_notes([60] * 8)) == 0.0
    assert metrics.pitch_class_entropy(_notes(list(range(60, 72)))) == pytest.approx(3.5849625, abs=1e-6)  # log2 12
    assert metrics.scale_consistency(_notes(list(range(60, 72)))) == pytest.approx(7 / 12)
    tonic, mode, _ = metrics.estimate_key(_notes([60, 64, 67, 72, 64, 67, 60, 65, 69, 67, 71, 72]))
    assert (tonic, mode) == (0, "major")
    tonic, mode, _ = metrics.estimate_key(_notes([57, 60, 64, 69, 60, 64, 57, 62, 65, 64, 68, 69]))
    assert (tonic, mode) == (9, "minor")


def test_time_metrics_on_known_pieces():
    # 120 BPM: a beat is 0.5 s. Two bars of quarter notes, then a bar of rest, then one note.
    notes = _notes([60] * 8, step=0.5, length=0.5) + [Note(6.0, 6.5, 60, 80, 0)]
    assert metrics.empty_beat_rate(notes, 120) == pytest.approx(4 / 13)
    assert metrics.notes_per_second(notes) == pytest.approx(9 / 6.5)
    same_groove = _notes([60] * 8, step=0.5, length=0.4)
    assert metrics.groove_consistency(same_groove, 120) == 1.0
    chords = _notes([60] * 4, length=0.5) + _notes([64] * 4, length=0.5)
    assert metrics.polyphony_rate(chords, 120) == 1.0 and metrics.polyphony_rate(same_groove, 120) == 0.0


def test_judge_reads_mode_and_tempo():
    bright = _notes([72, 76, 79, 84, 76, 79, 72, 77, 81, 79, 83, 84] * 2, step=0.15, length=0.15)
    dark = _notes([45, 48, 52, 57, 48, 52, 45, 50, 53, 52, 56, 57], step=1.0, length=1.0)
    bright_va, dark_va = metrics.judge_va(bright, 160), metrics.judge_va(dark, 60)
    assert bright_va[0] > 0.3 > -0.3 > dark_va[0]
    assert bright_va[1] > 0.3 > -0.3 > dark_va[1]


def test_longest_shared_run():
    corpus = [[1, 2, 3, 4, 5, 6], [9, 9, 7, 8]]
    assert metrics.longest_shared_run([0, 2, 3, 4, 0, 7, 8], corpus) == (3, 1)
    assert metrics.longest_shared_run([10, 11], corpus)[0] == 0
    assert metrics.longest_shared_run([1, 2, 3, 4, 5, 6], corpus) == (6, 0)
