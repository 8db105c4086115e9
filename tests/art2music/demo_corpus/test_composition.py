"""MIDI composition follows the emotion; FluidSynth renders it to a clip of the exact length."""

from __future__ import annotations

import mido
import numpy as np
import pytest
import soundfile

from art2music.demo_corpus.composition import DRUM_CHANNEL, compose
from art2music.demo_corpus.profiles import DEFAULT_EMOTIONS, PROFILES
from art2music.io.synthesis import SynthesisUnavailable, find_soundfont, render_midi


def _notes(midi: mido.MidiFile, channel: int) -> list[tuple[int, int]]:
    return [(m.note, m.velocity) for track in midi.tracks for m in track
            if m.type == "note_on" and m.velocity > 0 and m.channel == channel]


@pytest.mark.parametrize("emotion", DEFAULT_EMOTIONS)
def test_composition_follows_the_profile(emotion):
    p = PROFILES[emotion]
    piece = compose(p, np.random.default_rng(1), seconds=4.0)
    assert p.tempo[0] <= piece.tempo_bpm <= p.tempo[1]
    assert piece.midi.length >= 4.0  # at least the clip
    melody = _notes(piece.midi, 0)
    assert melody, "the melody has notes"
    pitches = [pitch for pitch, _ in melody]
    assert p.melody_register[0] - 1 <= min(pitches) and max(pitches) <= p.melody_register[1] + 2
    assert piece.scale in p.scales and piece.melody_program in p.melody_programs
    has_drum_kit = bool(_notes(piece.midi, DRUM_CHANNEL))
    assert has_drum_kit == (piece.drums not in ("", "timpani"))


def test_composition_is_deterministic_and_emotions_differ():
    a = compose(PROFILES["sadness"], np.random.default_rng(2), 4.0)
    b = compose(PROFILES["sadness"], np.random.default_rng(2), 4.0)
    assert [str(m) for t in a.midi.tracks for m in t] == [str(m) for t in b.midi.tracks for m in t]
    density = {e: len(_notes(compose(PROFILES[e], np.random.default_rng(2), 4.0).midi, 0)) for e in ("amusement", "sadness")}
    assert density["amusement"] > 2 * density["sadness"]  # fast and busy vs slow and sparse


def test_render_gives_exact_length_mono_clip(tmp_path):
    piece = compose(PROFILES["amusement"], np.random.default_rng(0), 1.5)
    midi_path, wav_path = tmp_path / "a.mid", tmp_path / "a.wav"
    piece.midi.save(str(midi_path))
    peak = render_midi(midi_path, wav_path, find_soundfont(), 22050, 1.5)
    audio, rate = soundfile.read(wav_path)
    assert rate == 22050 and audio.shape == (int(1.5 * 22050),)
    assert 0.01 < peak <= 0.99 and abs(np.abs(audio).max() - peak) < 1e-3
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind


def test_missing_soundfont_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("ART2MUSIC_SOUNDFONT", str(tmp_path / "nope.sf2"))
    with pytest.raises(SynthesisUnavailable, match="ART2MUSIC_SOUNDFONT"):
        find_soundfont()
    monkeypatch.delenv("ART2MUSIC_SOUNDFONT")
    monkeypatch.setattr("art2music.io.synthesis.SOUNDFONT_CANDIDATES", (str(tmp_path / "none.sf2"),))
    with pytest.raises(SynthesisUnavailable, match="make install"):
        find_soundfont()
    monkeypatch.setenv("PATH", str(tmp_path))
    from art2music.io.synthesis import find_fluidsynth

    with pytest.raises(SynthesisUnavailable, match="make install"):
        find_fluidsynth()
