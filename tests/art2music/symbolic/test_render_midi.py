"""``art2music render INPUT --engine midi``: the files, the gallery link, resuming and bad inputs."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import soundfile
from PIL import Image

from art2music.render.cli import main

pytestmark = pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="FluidSynth is not installed")


def _render(*args) -> int:
    return main([*map(str, args), "--no-progress"])


def test_render_midi_engine(tiny_midi_pipeline, tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    for k in range(2):
        Image.fromarray((np.random.default_rng(k).random((30, 30, 3)) * 255).astype(np.uint8)).save(images / f"p{k}.png")
    (images / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    out = tmp_path / "out"
    code = _render(images, "--out", out, "--engine", "midi", "--model", tiny_midi_pipeline, "--seconds", "4", "--temperature", "0.7")
    assert code == 1  # the broken image fails alone
    results = json.loads((out / "results.json").read_text())
    by_id = {item["id"]: item for item in results["items"]}
    assert by_id["broken"]["status"] == "failed"
    for item_id in ("p0", "p1"):
        item = by_id[item_id]
        assert item["status"] == "ok" and item["midi"] == f"midi/{item_id}.mid"
        assert (out / item["midi"]).stat().st_size > 0 and (out / item["png"]).is_file()
        info = soundfile.info(str(out / item["wav"]))
        assert info.samplerate == 22050 and abs(info.frames / 22050 - item["seconds"]) < 1e-3
    html = (out / "index.html").read_text()
    assert 'href="midi/p0.mid"' in html and "piano roll" in html
    stamp = (out / "midi" / "p0.mid").stat().st_mtime_ns
    assert _render(images, "--out", out, "--engine", "midi", "--model", tiny_midi_pipeline, "--seconds", "4", "--temperature", "0.7") == 1
    rerun = {item["id"]: item["status"] for item in json.loads((out / "results.json").read_text())["items"]}
    assert rerun == {"p0": "skipped", "p1": "skipped", "broken": "failed"}
    assert (out / "midi" / "p0.mid").stat().st_mtime_ns == stamp
    (out / "pianoroll" / "p1.png").unlink()  # an output lost: that item is rendered again, the same piece
    first = (out / "midi" / "p1.mid").read_bytes()
    assert _render(images, "--out", out, "--engine", "midi", "--model", tiny_midi_pipeline, "--seconds", "4", "--temperature", "0.7") == 1
    assert (out / "pianoroll" / "p1.png").is_file() and (out / "midi" / "p1.mid").read_bytes() == first


def test_render_midi_usage_errors(tiny_midi_pipeline, tmp_path, capsys):
    (tmp_path / "a.png").write_bytes(b"")
    assert _render(tmp_path, "--out", tmp_path / "o", "--engine", "midi", "--model", tmp_path / "nothing") == 2
    assert "cannot load the model" in capsys.readouterr().err
    assert _render(tmp_path, "--out", tmp_path / "o", "--engine", "midi", "--seconds", "0") == 2
