"""``art2music soundtrack --engine midi`` end to end. It lives beside the symbolic tests to share their tiny trained
midi pipeline (a session fixture that takes ~40 s to fit on a busy 2-core machine), instead of fitting a second one."""

from __future__ import annotations

import shutil

import pytest

from art2music.soundtrack.cli import main
from tests.art2music.soundtrack.conftest import write_slide_images
from tests.art2music.soundtrack.test_cli import _check_outputs


@pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="FluidSynth is not installed")
def test_midi_soundtrack(tiny_midi_pipeline, tmp_path, capsys):
    from symusic import Score

    slide_images = write_slide_images(tmp_path / "slides")
    wav = tmp_path / "track.wav"
    arguments = [*slide_images, "--engine", "midi", "--seconds-per-image", "3", "--out", wav, "--model",
                 tiny_midi_pipeline, "--seed", "2", "--temperature", "0.7"]
    code = main([str(arg) for arg in arguments])
    assert code == 0, capsys.readouterr().err
    sheet = _check_outputs(wav, 3, 3.0)
    assert sheet["transitions"] == "continued" and sheet["midi"] == "track.mid"
    score = Score(str(wav.with_suffix(".mid")))
    assert len(score.tempos) == 1 and score.tempos[0].qpm == pytest.approx(sheet["settings"]["tempo_bpm"], rel=1e-3)
    beats = sheet["settings"]["bars_per_image"] * 4
    assert beats * 60 / sheet["settings"]["tempo_bpm"] == pytest.approx(3.0)
    assert max(note.end for track in score.tracks for note in track.notes) <= 3 * beats * score.ticks_per_quarter
    assert all(cue["key"] is None or cue["transposed_semitones"] in range(-6, 6) for cue in sheet["cues"])
