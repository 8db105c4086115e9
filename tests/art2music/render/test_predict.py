"""The Lightning predict-loop path (``--devices``), run here on one CPU device: same files as the plain loop."""

from __future__ import annotations

import numpy as np
import soundfile
from PIL import Image

from art2music.export.identity import model_folder_identity
from art2music.render.inputs import read_collection
from art2music.render.predict import render_with_trainer
from art2music.render.results import read_results
from art2music.render.runner import RenderSettings, render_collection
from tests.art2music.render.conftest import SAMPLES, write_bad_images, write_tricky_images

SETTINGS = RenderSettings(batch_size=3, wav_format="float", progress=False)


def test_predict_path_writes_the_same_outputs_as_the_plain_loop(tiny_pipe, tiny_model_dir, tmp_path):
    tricky = write_tricky_images(tmp_path / "in")
    bad = write_bad_images(tmp_path / "in")
    collection = read_collection(tmp_path / "in")
    identity = model_folder_identity(tiny_model_dir)
    report = render_with_trainer(tiny_pipe, collection, tmp_path / "predict", identity, SETTINGS, devices=1,
                                 accelerator="cpu", num_workers=0, model_name="tiny")
    render_collection(tiny_pipe, collection, tmp_path / "plain", SETTINGS, identity)
    assert report is not None and report.exit_code == 1
    assert report.summary == {"ok": len(tricky), "skipped": 0, "failed": len(bad), "total": len(tricky) + len(bad)}
    predicted, plain = read_results(tmp_path / "predict"), read_results(tmp_path / "plain")
    assert [(r.id, r.status, r.reason) for r in predicted] == [(r.id, r.status, r.reason) for r in plain]
    for one, other in zip(predicted, plain):
        assert one.fingerprint == other.fingerprint
        if one.status == "ok":
            audio = soundfile.read(tmp_path / "predict" / one.wav, dtype="float32")[0]
            assert audio.shape == (SAMPLES,)
            assert np.abs(audio - soundfile.read(tmp_path / "plain" / other.wav, dtype="float32")[0]).max() < 1e-4
            assert (tmp_path / "predict" / one.png).is_file() and (tmp_path / "predict" / one.thumbnail).is_file()
    assert "index.html" in {p.name for p in (tmp_path / "predict").iterdir()}
    # The rerun finds everything done: no trainer is even started, every good item is kept.
    again = render_with_trainer(tiny_pipe, collection, tmp_path / "predict", identity, SETTINGS, devices=1,
                                accelerator="cpu")
    assert again.summary == {"ok": 0, "skipped": len(tricky), "failed": len(bad), "total": len(tricky) + len(bad)}


def test_predict_path_isolates_an_item_that_breaks_the_model(tiny_pipe, tiny_model_dir, tmp_path, monkeypatch):
    for name in ("a", "b", "c"):
        Image.new("RGB", (24, 24), (200, 100, 0)).save(tmp_path / f"{name}.png")
    (tmp_path / "list.csv").write_text("image,comment\na.png,fine\nb.png,boom\nc.png,fine\n", encoding="utf-8")
    original = tiny_pipe.embed

    def fragile_embed(images, comments=None):
        if "boom" in comments:
            raise RuntimeError("simulated CUDA error")
        return original(images, comments)

    monkeypatch.setattr(tiny_pipe, "embed", fragile_embed)
    report = render_with_trainer(tiny_pipe, read_collection(tmp_path / "list.csv"), tmp_path / "out",
                                 model_folder_identity(tiny_model_dir), SETTINGS, devices=1, accelerator="cpu")
    assert [(r.id, r.status, r.reason) for r in report.results] == [("a", "ok", ""), ("b", "failed", "render_error"),
                                                                   ("c", "ok", "")]
    assert "simulated CUDA error" in report.results[1].detail
