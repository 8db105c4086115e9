"""Our symbolic metrics agree with MusPy 0.5 (Dong et al., 2020), the issue's reference, on real MIDI files.

The files are the demo composer's pieces (what the demo corpus and the references hold) and random pieces written
here with symusic: off-grid onsets and durations down to one tick, chords, drums, rests and an odd tempo. Where
MusPy's definition differs on purpose (see :mod:`art2music.symbolic.metrics`), the mapping is exact and stated:
MusPy's ``polyphony_rate`` counts steps with MORE than ``threshold`` pitches, and its empty-beat and groove
measures count a note ending exactly on a beat or bar line as reaching into the next one, which is what MusPy
computes on the same notes each made one tick shorter.
"""

from __future__ import annotations

import copy

import muspy
import numpy as np
import pytest

from art2music.symbolic import metrics
from art2music.symbolic.piece import MidiPiece


def _random_piece(path, seed: int, tempo: float = 97.0, ticks_per_beat: int = 480) -> None:
    from symusic import Note, Score, Tempo, Track

    rng = np.random.default_rng(seed)
    score = Score(ticks_per_beat)
    score.tempos.append(Tempo(0, tempo))
    melody, chords, drums = Track("melody", 0), Track("chords", 48), Track("drums", 0, True)
    time = 0
    for _ in range(40):
        duration = int(rng.choice([1, 60, 120, 240, 480, 700]))
        melody.notes.append(Note(time, duration, int(rng.integers(55, 80)), 80))
        time += int(rng.choice([0, 120, 240, 480, 300, 960 + 37]))
    for bar in range(0, time // (4 * ticks_per_beat), 2):  # a triad every other bar
        for pitch in (48, 52, 55):
            chords.notes.append(Note(bar * 4 * ticks_per_beat, 2 * ticks_per_beat, pitch, 70))
    for beat in range(0, time // ticks_per_beat, 3):
        drums.notes.append(Note(beat * ticks_per_beat, 120, 36, 90))
    score.tracks.extend([melody, chords, drums])
    score.dump_midi(str(path))


def _composed_piece(path, emotion: str, seed: int) -> None:
    from art2music.demo_corpus.composition import compose
    from art2music.demo_corpus.profiles import PROFILES

    compose(PROFILES[emotion], np.random.default_rng(seed), 8.0).midi.save(str(path))


def _one_tick_shorter(music: muspy.Music) -> muspy.Music:
    shorter = copy.deepcopy(music)
    for track in shorter.tracks:
        for note in track.notes:
            note.duration = max(0, note.duration - 1)
    return shorter


@pytest.fixture(scope="module")
def midi_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("muspy")
    files = []
    for seed in range(3):
        _random_piece(folder / f"random-{seed}.mid", seed)
        files.append(folder / f"random-{seed}.mid")
    for seed, emotion in enumerate(("excitement", "sadness", "contentment", "fear")):
        _composed_piece(folder / f"{emotion}.mid", emotion, seed)
        files.append(folder / f"{emotion}.mid")
    return files


def _both(path):
    from symusic import Score

    piece = MidiPiece(Score(str(path)))
    music = muspy.read_midi(str(path))
    assert len(music.tempos) == 1 and sum(len(t.notes) for t in music.tracks) == len(piece.notes) > 10
    return piece, music


def test_pitch_metrics_equal_muspys(midi_files):
    for path in midi_files:
        piece, music = _both(path)
        assert metrics.pitch_class_entropy(piece.notes) == pytest.approx(muspy.pitch_class_entropy(music), abs=1e-9)
        assert metrics.scale_consistency(piece.notes) == pytest.approx(muspy.scale_consistency(music), abs=1e-9)


def test_polyphony_rate_equals_muspys_at_tick_resolution(midi_files):
    rates = []
    for path in midi_files:
        piece, music = _both(path)
        ours = metrics.polyphony_rate(piece.notes, piece.tempo_bpm, steps_per_beat=music.resolution)
        assert ours == pytest.approx(muspy.polyphony_rate(music, threshold=1), abs=1e-9)
        rates.append(ours)
    assert all(0.0 < rate < 1.0 for rate in rates[:3])  # the random pieces have single notes, chords and rests


def test_empty_beat_rate_and_groove_consistency_equal_muspys_on_one_tick_shorter_notes(midi_files):
    empty_rates = []
    for path in midi_files:
        piece, music = _both(path)
        shorter = _one_tick_shorter(music)
        empty = metrics.empty_beat_rate(piece.notes, piece.tempo_bpm)
        assert empty == pytest.approx(muspy.empty_beat_rate(shorter), abs=1e-9)
        bar = 4 * music.resolution
        groove = metrics.groove_consistency(piece.notes, piece.tempo_bpm, positions=bar)
        assert groove == pytest.approx(muspy.groove_consistency(shorter, bar), abs=1e-9)
        empty_rates.append(empty)
    assert max(empty_rates) > 0.0  # the random pieces have silent beats, so the test exercises the count


def test_the_default_grids_stay_close_to_tick_resolution(midi_files):
    """The evaluation's grids (24 steps per beat, 16 positions per bar) agree with MusPy's tick-level values within
    what quantisation can move on the demo composer's pieces (onsets on sixteenths)."""
    for path in midi_files[3:]:
        piece, music = _both(path)
        assert metrics.polyphony_rate(piece.notes, piece.tempo_bpm) == pytest.approx(
            muspy.polyphony_rate(music, threshold=1), abs=0.05)
        music.adjust_resolution(4)
        assert metrics.groove_consistency(piece.notes, piece.tempo_bpm) == pytest.approx(
            muspy.groove_consistency(_one_tick_shorter(music), 16), abs=0.05)
