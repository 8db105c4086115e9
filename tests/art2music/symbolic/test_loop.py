"""Seamless loops, tested by measurement: whole bars, nothing past the end, the last sonority is the opening chord."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from art2music.symbolic.bars import bar_ticks
from art2music.symbolic.loop import close_loop, nearest_in_classes, opening_chord


def _chord_score(bars_of_chords: list[list[int]], overhang: int = 0):
    """One pitched track (and a drum) with one whole-bar chord per bar; the last chord rings ``overhang`` ticks on."""
    from symusic import Note, Score, Tempo, TimeSignature, Track

    score = Score(16)
    score.time_signatures.append(TimeSignature(0, 4, 4))
    score.tempos.append(Tempo(0, 100.0))
    piano, drums = Track(program=0), Track(program=0, is_drum=True)
    for bar, chord in enumerate(bars_of_chords):
        for pitch in chord:
            piano.notes.append(Note(bar * 64, 64 + (overhang if bar == len(bars_of_chords) - 1 else 0), pitch, 80))
        drums.notes.append(Note(bar * 64 + 60, 30, 42, 70))  # a hi-hat that rings past each bar
    piano.notes.append(Note(len(bars_of_chords) * 64 - 16, 8, 74, 90))  # a melody note on the last beat
    score.tracks.extend([piano, drums])
    return score


def _last_sonority(score, bars: int) -> set[int]:
    """Pitch classes of the pitched notes starting at, or sounding through, the last onset of the last bar."""
    ticks = bar_ticks(score)
    pitched = [n for track in score.tracks if not track.is_drum for n in track.notes]
    final = max((n.time for n in pitched if n.time >= (bars - 1) * ticks), default=None)
    assert final is not None, "the last bar has no pitched note"
    return {n.pitch % 12 for n in pitched if n.time == final or n.time < final < n.time + n.duration}


def test_close_loop_resolves_to_the_opening_chord_and_ends_on_the_bar():
    score = _chord_score([[60, 64, 67], [65, 69, 72], [62, 65, 69]], overhang=40)  # C, F, then D minor + D (74)
    assert opening_chord(score) == {0, 4, 7}
    assert _last_sonority(score, 3) == {2, 5, 9}  # D minor: not the opening chord
    closed = close_loop(score, 3)
    end = 3 * bar_ticks(closed)
    assert _last_sonority(closed, 3) <= {0, 4, 7}
    assert max(n.time + n.duration for track in closed.tracks for n in track.notes) == end  # held to the end, no more
    assert sum(len(t.notes) for t in closed.tracks) == sum(len(t.notes) for t in score.tracks)
    assert [n.pitch for n in closed.tracks[0].notes if n.time < 64] == [60, 64, 67]  # the opening is untouched
    assert nearest_in_classes(62, {0, 4, 7}) == 60 and nearest_in_classes(65, {0, 4, 7}) == 64
    with pytest.raises(ValueError, match="at least one bar"):
        close_loop(score, 0)


def test_an_empty_last_bar_gets_the_opening_chord():
    score = _chord_score([[57, 60, 64], [55, 59, 62]])
    for track in score.tracks:  # empty the last bar
        kept = [n for n in track.notes if n.time < 64]
        track.notes.clear()
        track.notes.extend(kept)
    closed = close_loop(score, 2)
    assert {n.pitch for n in closed.tracks[0].notes if n.time >= 64} == {57, 60, 64}
    # a note of bar 1 ringing into the empty last bar stops at its bar line: the last sonority is the chord alone
    from symusic import Note

    score.tracks[0].notes.append(Note(56, 20, 58, 80))  # A sharp, from beat 4 of bar 1 into bar 2
    closed = close_loop(score, 2)
    assert _last_sonority(closed, 2) == {9, 0, 4}
    assert [(n.time, n.duration) for n in closed.tracks[0].notes if n.pitch == 58] == [(56, 8)]


@pytest.fixture(scope="module")
def painting(tmp_path_factory):
    path = tmp_path_factory.mktemp("images") / "painting.png"
    Image.fromarray((np.random.default_rng(11).random((48, 48, 3)) * 255).astype(np.uint8)).save(path)
    return path


def test_a_loop_from_the_pipeline_is_whole_bars_and_resolves(tiny_midi_pipeline, painting):
    from art2music.symbolic.pipeline import Art2Midi

    pipe = Art2Midi.from_pretrained(tiny_midi_pipeline)
    resolved = 0
    for seed in range(4):
        piece = pipe(painting, seconds=12.0, seed=seed, loop=True)
        assert piece.loop and piece.bars >= 1
        assert 12.0 <= piece.bar_seconds < 12.0 + 4 * 60 / piece.tempo_bpm + 1e-6
        assert max(note.end for note in piece.notes) <= piece.bar_seconds + 1e-6  # nothing past the loop end
        if opening_chord(piece.score):  # the tiny model sometimes writes drums alone: nothing to resolve
            assert _last_sonority(piece.score, piece.bars) <= opening_chord(piece.score)
            resolved += 1
    assert resolved >= 2


@pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="FluidSynth is not installed")
def test_loop_audio_is_exactly_the_loop_and_render_writes_it(tiny_midi_pipeline, painting, tmp_path):
    from art2music.io.synthesis import SynthesisUnavailable, find_soundfont
    from art2music.render.cli import main
    from art2music.symbolic.pipeline import Art2Midi

    try:
        find_soundfont()
    except SynthesisUnavailable:
        pytest.skip("no General MIDI soundfont")
    piece = Art2Midi.from_pretrained(tiny_midi_pipeline)(painting, seconds=6.0, seed=1, loop=True)
    audio = piece.to_audio()
    assert abs(len(audio) - piece.bar_seconds * 22050) <= 1 and np.abs(audio).max() > 0.01
    folder = tmp_path / "images"
    folder.mkdir()
    shutil.copy(painting, folder / "p.png")
    out = tmp_path / "out"
    assert main([str(folder), "--out", str(out), "--engine", "midi", "--model", str(tiny_midi_pipeline), "--seconds",
                 "6", "--loop", "--no-progress"]) == 0
    item = json.loads((out / "results.json").read_text())["items"][0]
    assert 6.0 <= item["seconds"] < 6.0 + 4 * 60 / 30  # whole bars, no release tail
    # The demo's audio engine (a flow stage 1) makes loops too; a BiLSTM refuses them (tests/art2music/render).
    assert main([str(folder), "--out", str(tmp_path / "audio"), "--loop", "--steps", "2", "--no-progress"]) == 0
