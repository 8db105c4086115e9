"""The midi soundtrack's parts without a model: one tempo in whole bars, filling and cutting sections, joining."""

from __future__ import annotations

import io

import numpy as np
import pytest

from art2music.soundtrack.keys import Key
from art2music.soundtrack.midi_track import Section, exact_length, fit_notes, joined_piece, shared_tempo

pytest.importorskip("symusic")

PIANO, DRUMS = (0, False), (0, True)


def test_shared_tempo_is_near_the_median_and_fills_sections_with_whole_bars():
    tempo, bars = shared_tempo([60.0, 100.0, 150.0], 8.0)  # median 100 bpm: 3.33 bars of 8 s -> 3 bars at 90 bpm
    assert (tempo, bars) == (pytest.approx(90.0), 3)
    assert bars * 4 * 60 / tempo == pytest.approx(8.0)
    assert shared_tempo([300.0], 0.5)[1] == 1 and shared_tempo([20.0], 0.5) == (pytest.approx(480.0), 1)


def test_fit_notes_repeats_short_music_in_whole_bars_cuts_at_the_end_and_transposes_pitched_notes():
    section = Section([(PIANO, 0.0, 1.0, 60, 80), (PIANO, 5.0, 2.0, 127, 70), (DRUMS, 1.0, 0.5, 36, 90)], beats=7.0,
                      tempo=100.0, key=Key(0, "major"))
    fitted = fit_notes(section, 12.0, transpose=2)  # 7 beats -> an 8-beat (2-bar) period, repeated from beat 8
    assert fitted == [(PIANO, 0.0, 1.0, 62, 80), (PIANO, 5.0, 2.0, 117, 70), (DRUMS, 1.0, 0.5, 36, 90),
                      (PIANO, 8.0, 1.0, 62, 80), (DRUMS, 9.0, 0.5, 36, 90)]  # 127 + 2 leaves MIDI: an octave down
    assert all(start + length <= 12.0 for _, start, length, _, _ in fit_notes(section, 6.0, 0))  # cut at the end
    assert (PIANO, 5.0, 1.0, 127, 70) in fit_notes(section, 6.0, 0)


def test_joined_piece_has_one_tempo_and_a_track_per_program():
    piece = joined_piece([(PIANO, 0.0, 1.0, 60, 80), ((40, False), 4.0, 4.0, 67, 70), (DRUMS, 2.0, 0.5, 36, 90)],
                         tempo=120.0)
    assert [float(t.qpm) for t in piece.score.tempos] == [120.0]
    assert sorted((int(t.program), bool(t.is_drum)) for t in piece.score.tracks) == [(0, False), (0, True), (40, False)]
    assert piece.seconds == pytest.approx(4.0)  # beat 8 at 120 bpm


def test_exact_length_pads_or_cuts_with_a_fade():
    audio = np.ones(1000, dtype=np.float32)
    assert exact_length(audio, 1500, 22050).shape == (1500,) and exact_length(audio, 1500, 22050)[1200] == 0
    cut = exact_length(audio, 600, 1000)
    assert cut.shape == (600,) and cut[0] == 1 and cut[-1] == 0 and 0 < cut[580] < 1


def test_fit_channels_keeps_the_most_used_programs_and_merges_the_rest_into_their_family():
    from art2music.soundtrack.midi_track import MELODIC_CHANNELS, fit_channels

    few = [((program, False), 0.0, 1.0, 60, 80) for program in range(5)]
    assert fit_channels(few) == (few, {})
    notes = [((8 * program, False), 0.0, 2.0, 60, 80) for program in range(16)]  # 16 families, one program each
    notes.insert(1, ((0, True), 0.0, 1.0, 36, 90))  # a drum track among them must not cost a melodic channel
    notes += [((1, False), 0.0, 0.5, 62, 80), ((9, False), 0.0, 0.5, 64, 80)]
    fitted, merged = fit_channels(notes)
    programs = {program for (program, drum), *_ in fitted if not drum}
    assert len(programs) == MELODIC_CHANNELS
    assert merged == {1: 0, 9: 8, 120: 112}  # pianos to the piano, the least-used family to its nearest neighbour
    assert ((0, True), 0.0, 1.0, 36, 90) in fitted and len(fitted) == len(notes)
    piece = joined_piece(fitted, 100.0)
    assert len(piece.score.tracks) == MELODIC_CHANNELS + 1
    mido = pytest.importorskip("mido")
    written = mido.MidiFile(file=io.BytesIO(piece.score.dumps_midi()))
    channels = [{message.channel for message in track if message.type == "note_on"} for track in written.tracks]
    channels = [next(iter(used)) for used in channels if used]
    assert len(channels) == MELODIC_CHANNELS + 1 == len(set(channels)) and 9 in channels  # no two tracks share one


def test_midi_sections_sample_with_the_composers_default_guidance(slide_images):
    from art2music.soundtrack.midi_track import compose_midi_track
    from art2music.soundtrack.slides import read_slides
    from art2music.symbolic.sampling import SamplingDefaults

    seen = []

    class Recorded(Exception):
        pass

    class Composer:
        sampling = SamplingDefaults(temperature=0.85)

        def default_guidance(self):
            return 2.5

        def compose(self, images, va, settings):
            seen.append((settings.guidance, settings.temperature, settings.seconds))
            raise Recorded

    with pytest.raises(Recorded):
        compose_midi_track(Composer(), read_slides([str(slide_images[0])]), 4.0)
    assert seen == [(2.5, 0.85, 4.0)]
