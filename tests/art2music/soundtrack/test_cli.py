"""``art2music soundtrack`` end to end with tiny models: the files, the cue sheet, the player, and bad inputs."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import soundfile

from art2music.cli import main as art2music_main
from art2music.soundtrack.cli import main

FRAME_SECONDS = 256 / 22050


def _run(*args) -> int:
    return main([str(arg) for arg in args])


def _check_outputs(wav, count: int, seconds_per_image: float) -> dict:
    """The WAV, cue sheet, player and thumbnails agree; returns the cue sheet."""
    info = soundfile.info(str(wav))
    sheet = json.loads(wav.with_suffix(".json").read_text())
    assert info.samplerate == 22050 and info.channels == 1
    assert sheet["seconds"] == pytest.approx(info.frames / 22050, abs=1e-5)
    cues = sheet["cues"]
    assert len(cues) == count and cues[0]["start"] == 0.0
    assert all(a["end"] == b["start"] for a, b in zip(cues, cues[1:]))
    assert cues[-1]["end"] == pytest.approx(info.frames / 22050, abs=FRAME_SECONDS)
    assert all(abs(cue["end"] - cue["start"] - seconds_per_image) <= FRAME_SECONDS for cue in cues)
    page = wav.with_suffix(".html").read_text()
    assert f'<audio id="track" controls preload="metadata" src="{wav.name}">' in page
    for cue in cues:
        assert (wav.parent / cue["thumbnail"]).is_file() and f'"src": "{cue["thumbnail"]}"' in page
    assert "http://" not in page and "https://" not in page  # nothing from the network
    audio, _ = soundfile.read(str(wav))
    assert np.isfinite(audio).all() and float(np.abs(audio).max()) > 1e-3
    return sheet


def test_flow_soundtrack_from_image_files(flow_model_dir, slide_images, tmp_path, capsys):
    wav = tmp_path / "show" / "track.wav"
    code = art2music_main(["soundtrack", *map(str, slide_images), "--seconds-per-image", "0.6", "--out", str(wav),
                           "--model", str(flow_model_dir), "--seed", "4", "--steps", "2", "--precision", "float32"])
    assert code == 0, capsys.readouterr().err
    sheet = _check_outputs(wav, 3, 0.6)
    assert sheet["transitions"] == "continued" and sheet["notes"] == []
    assert sheet["settings"]["seed"] == 4 and sheet["settings"]["steps"] == 2
    assert sheet["settings"]["model"] == str(flow_model_dir)
    assert [cue["image"] for cue in sheet["cues"]] == [str(path) for path in slide_images]
    assert sorted(p.name for p in wav.parent.iterdir()) == ["track.html", "track.json", "track.wav", "track_images"]


def test_bilstm_soundtrack_from_a_csv_crossfades_and_says_so(bilstm_model_dir, slide_images, tmp_path, capsys):
    csv = slide_images[0].parent / "show.csv"
    csv.write_text('image,comment\np2.png,"a calm </script><b>sea</b>"\np0.png,\n', encoding="utf-8")
    wav = tmp_path / "track.wav"
    assert _run(csv, "--seconds-per-image", "0.5", "--out", wav, "--model", bilstm_model_dir) == 0
    err = capsys.readouterr().err
    assert re.search(r"note: .*BiLSTM.*crossfades", err)
    sheet = _check_outputs(wav, 2, 0.5)
    assert sheet["transitions"] == "crossfade" and "BiLSTM" in sheet["notes"][0]
    assert [cue["id"] for cue in sheet["cues"]] == ["p2", "p0"]
    assert sheet["cues"][0]["comment"] == "a calm </script><b>sea</b>"
    page = wav.with_suffix(".html").read_text()
    assert "</script><b>" not in page and "&lt;/script&gt;&lt;b&gt;sea" in page  # escaped in text and in the JSON
    # a rerun with other images replaces the thumbnails, leaving no stale ones
    assert _run(slide_images[1], "--seconds-per-image", "0.5", "--out", wav, "--model", bilstm_model_dir) == 0
    assert [p.name for p in (tmp_path / "track_images").iterdir()] == ["0-p1.jpg"]


@pytest.mark.parametrize("args, message", [
    ([], "no images given"),
    (["{bad}"], "not an image"),
    (["{good}", "--seconds-per-image", "-2"], "--seconds-per-image must be between"),
    (["{good}", "--out", "{tmp}/track.mp3"], "--out must name a .wav file"),
    (["{tmp}/missing.png"], "missing: no such file"),
    (["{tmp}/missing.csv"], "does not exist"),
    (["{good}", "--seed", "3"], "only apply to a generative stage 1"),
    (["{good}", "--engine", "midi", "--steps", "3"], "the midi engine samples tokens"),
    (["{good}", "--model", "{tmp}/no-model"], "cannot load the model"),
])
def test_bad_inputs_exit_2_with_one_line_and_write_nothing(args, message, bilstm_model_dir, slide_images, tmp_path,
                                                          capsys):
    bad = tmp_path / "notes.png"
    bad.write_text("not a picture")
    values = {"bad": bad, "good": slide_images[0], "tmp": tmp_path}
    args = [arg.format(**values) for arg in args]
    defaults = {"--seconds-per-image": "1", "--out": str(tmp_path / "out" / "track.wav"),
                "--model": str(bilstm_model_dir)}
    for option, value in defaults.items():
        if option not in args:
            args += [option, value]
    assert _run(*args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("art2music soundtrack: error:") and message in err, err
    assert not (tmp_path / "out").exists()


def test_a_failed_write_leaves_nothing_behind(bilstm_model_dir, slide_images, tmp_path, monkeypatch, capsys):
    from art2music.render.outputs import OutputWriteError
    from art2music.soundtrack import outputs

    def fail(path, text):
        raise OutputWriteError(path, OSError(28, "No space left on device"))

    monkeypatch.setattr(outputs, "write_text", fail)  # the WAV and thumbnails are staged, the cue sheet fails
    out = tmp_path / "out"
    assert _run(*slide_images, "--seconds-per-image", "0.5", "--out", out / "track.wav", "--model",
                bilstm_model_dir) == 3
    assert "No space left on device" in capsys.readouterr().err
    assert list(out.iterdir()) == []  # not even the staging folder
