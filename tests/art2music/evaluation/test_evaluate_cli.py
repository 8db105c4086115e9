"""``art2music evaluate`` end to end on a tiny pipeline and a tiny ArtiCaps folder with real clips: outputs,
known values, resuming, a changed model, per-item failures (exit 1) and configuration errors (exit 2)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from art2music.io.audio import waveform_to_mel
from art2music.articaps.feature_cache import FeatureCache
from art2music.articaps.manifest import read_manifest
from art2music.evaluation.cli import main
from art2music.evaluation.metrics import mel_l1
from art2music.evaluation.systems import SYSTEMS
from art2music.pipeline import Art2Music
from tests.art2music.evaluation.conftest import FRAMES, build_tiny_pipeline, make_articaps_with_audio


def run(model: Path, data: Path, out: Path, *extra: str) -> int:
    return main(["--model", str(model), "--manifest", str(data / "manifest.csv"), "--out", str(out),
                 "--griffin-lim-iters", "2", "--no-progress", *extra])


def reference_mel(data: Path, audio_path: str) -> np.ndarray:
    waveform, _ = soundfile.read(str(data / audio_path), dtype="float32")
    return waveform_to_mel(waveform[:FRAMES * 256])


def test_evaluate_writes_metrics_with_known_values_and_resumes(tiny_pipeline_dir, articaps, tmp_path, capsys):
    out = tmp_path / "eval"
    assert run(tiny_pipeline_dir, articaps, out) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    manifest = read_manifest(articaps / "manifest.csv")
    test_rows = manifest.split_indices("test")
    assert metrics["items"] == {"scored": 2, "failed": 0} and metrics["split"] == "test"
    assert list(metrics["systems"]) == list(SYSTEMS)
    systems = metrics["systems"]

    # the true clip against itself is the sanity row
    reference = systems["reference"]
    assert reference["mcd"] == pytest.approx(0.0, abs=1e-9) and reference["lsd"] == pytest.approx(0.0, abs=1e-9)
    assert reference["fad"]["mel-stats"]["value"] == pytest.approx(0.0, abs=1e-6)
    assert reference["cosine"]["mel-stats"] == pytest.approx(1.0)
    assert reference["emotion_accuracy"] == 1.0  # low vs high tones: the probe separates true clips
    assert metrics["emotion_probe"]["chance"] == 0.5

    # the same stage-1 mels feed the vocoder and Griffin-Lim; copy-synthesis has no mel L1
    assert systems["model"]["mel_l1"] == systems["model-griffin-lim"]["mel_l1"]
    assert systems["copy-vocoder"]["mel_l1"] is None and systems["copy-griffin-lim"]["mel_l1"] is None
    cache = FeatureCache.open(articaps / "cache")
    train_rows = manifest.split_indices("train")
    mean_mel = np.mean([cache.mel(r) for r in train_rows], axis=0)
    expected = np.mean([mel_l1(reference_mel(articaps, manifest[r].audio_path), mean_mel) for r in test_rows])
    assert systems["mean-mel"]["mel_l1"] == pytest.approx(expected, rel=1e-4)

    # retrieval: the training row with the most cosine-similar cached image embedding
    pool = cache.image_embeddings[train_rows] / np.linalg.norm(cache.image_embeddings[train_rows], axis=1)[:, None]
    for row in test_rows:
        item = np.load(out / "items" / f"{manifest[row].id}.npz")
        record = json.loads(str(item["record"]))
        query = cache.image_embeddings[row] / np.linalg.norm(cache.image_embeddings[row])
        assert record["nearest_id"] == manifest[train_rows[int(np.argmax(pool @ query))]].id
        for system in SYSTEMS[1:]:
            assert (out / "audio" / system / f"{manifest[row].id}.wav").is_file()
        assert item["model.mel-stats"].shape == (1, 160)

    table = (out / "metrics.md").read_text()
    assert "FAD (mel-stats, not VGGish)" in table and "| model (stage 1 → model vocoder) |" in table
    assert "chance 0.500" in table

    # a rerun reuses every item; a different model redoes them
    capsys.readouterr()
    assert run(tiny_pipeline_dir, articaps, out) == 0
    assert "scored 0, reused 2" in capsys.readouterr().err
    other = tmp_path / "other-model"
    build_tiny_pipeline(seed=1).save_pretrained(other)
    assert run(other, articaps, out) == 0
    assert "scored 2, reused 0" in capsys.readouterr().err


def test_cached_embeddings_are_used_when_the_cache_matches_the_encoder(tiny_pipeline_dir, tmp_path):
    pipe = Art2Music.from_pretrained(tiny_pipeline_dir)
    spec = {**pipe.encoder.spec(), "text_template": pipe.text_template}
    data = make_articaps_with_audio(tmp_path / "data", encoder_spec=spec)
    out = tmp_path / "eval"
    assert run(tiny_pipeline_dir, data, out, "--no-dtw") == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["embeddings_source"] == "feature cache"
    assert metrics["systems"]["model"]["mcd_dtw"] is None
    manifest, cache = read_manifest(data / "manifest.csv"), FeatureCache.open(data / "cache")
    rows = manifest.split_indices("test")
    # the cache's (random) embeddings, not the encoder's, produced the model's mels
    predicted = pipe.embeddings_to_mel(torch.from_numpy(np.asarray(cache.text_embeddings[rows])),
                                       torch.from_numpy(np.asarray(cache.image_embeddings[rows]))).numpy()
    expected = np.mean([mel_l1(reference_mel(data, manifest[r].audio_path), predicted[i]) for i, r in enumerate(rows)])
    assert metrics["systems"]["model"]["mel_l1"] == pytest.approx(expected, rel=1e-4)


def test_an_item_that_fails_is_reported_and_the_rest_scored(tiny_pipeline_dir, articaps, tmp_path, capsys):
    manifest = read_manifest(articaps / "manifest.csv")
    broken = manifest[manifest.split_indices("test")[0]]
    (articaps / broken.audio_path).unlink()
    out = tmp_path / "eval"
    assert run(tiny_pipeline_dir, articaps, out, "--no-dtw") == 1
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["items"] == {"scored": 1, "failed": 1}
    assert metrics["failures"][0]["id"] == broken.id and metrics["failures"][0]["reason"] == "reference_missing_clip"
    assert f"failed {broken.id}: reference_missing_clip" in capsys.readouterr().err
    assert "Failed items" in (out / "metrics.md").read_text()


@pytest.mark.parametrize("case, message", [
    ("bad-split", "--split 'dev' must be one of train, val, test"),
    ("empty-split", "has no 'test' rows (train 12, val 4, test 0)"),
    ("no-manifest", "does not exist"),
    ("no-cache", "no feature cache"),
    ("reordered-manifest", "ids differ from the manifest's"),
    ("other-mel", "different mel definitions"),
    ("bad-model", "cannot load the model"),
    ("bad-template", "field 'text_template': text template '{mood}' has the unknown placeholder {mood}"),
    ("out-is-a-file", "exists and is not a folder"),
    ("bad-limit", "limit must be at least 1"),
    ("bad-vggish", "--vggish-weights"),
])
def test_configuration_errors_exit_2_with_a_specific_message(case, message, tiny_pipeline_dir, articaps, tmp_path,
                                                             capsys):
    model, data, out, extra = tiny_pipeline_dir, articaps, tmp_path / "eval", []
    manifest_text = (data / "manifest.csv").read_text()
    if case == "bad-split":
        extra = ["--split", "dev"]
    elif case == "empty-split":
        (data / "manifest.csv").write_text(manifest_text.replace(",test\n", ",val\n"))
    elif case == "no-manifest":
        data = tmp_path / "nowhere"
    elif case == "no-cache":
        shutil.rmtree(data / "cache")
    elif case == "reordered-manifest":
        header, *lines = manifest_text.splitlines(keepends=True)
        (data / "manifest.csv").write_text(header + "".join(lines[::-1]))
    elif case == "other-mel":
        meta = json.loads((data / "cache" / "cache.json").read_text())
        meta["mel_config"]["fmax"] = 11025.0
        (data / "cache" / "cache.json").write_text(json.dumps(meta))
    elif case == "bad-model":
        model = tmp_path / "not-a-model"
        model.mkdir()
    elif case == "bad-template":  # once loaded, then a crash at the first item; now refused at load time
        model = tmp_path / "model"
        shutil.copytree(tiny_pipeline_dir, model)
        meta = json.loads((model / "pipeline.json").read_text())
        (model / "pipeline.json").write_text(json.dumps({**meta, "text_template": "{mood}"}))
    elif case == "out-is-a-file":
        out.write_text("x")
    elif case == "bad-limit":
        extra = ["--limit", "0"]
    elif case == "bad-vggish":
        (tmp_path / "vggish.pth").write_text("not weights")
        extra = ["--vggish-weights", str(tmp_path / "vggish.pth")]
    assert run(model, data, out, *extra) == 2
    assert message in capsys.readouterr().err


def test_threads_option_is_applied_and_restored(tiny_pipeline_dir, articaps, tmp_path):
    before = torch.get_num_threads()
    assert run(tiny_pipeline_dir, articaps, tmp_path / "eval", "--threads", "0") == 2
    assert run(tiny_pipeline_dir, articaps, tmp_path / "eval", "--limit", "1", "--no-dtw", "--threads", "1") == 0
    assert torch.get_num_threads() == before
    assert json.loads((tmp_path / "eval" / "metrics.json").read_text())["items"]["scored"] == 1


def test_a_damaged_item_file_or_stray_temporary_is_redone_on_rerun(tiny_pipeline_dir, articaps, tmp_path, capsys):
    out = tmp_path / "eval"
    assert run(tiny_pipeline_dir, articaps, out, "--no-dtw") == 0
    items = sorted((out / "items").glob("*.npz"))
    assert len(items) == 2
    items[0].write_bytes(items[0].read_bytes()[:100])  # as if cut short (it is written atomically, but disks fail)
    stray = out / "items" / f".{items[1].name}.abc123de.tmp.npz"
    stray.write_bytes(b"partial")
    capsys.readouterr()
    assert run(tiny_pipeline_dir, articaps, out, "--no-dtw") == 0
    assert "scored 1, reused 1" in capsys.readouterr().err
    assert not stray.exists()
    assert json.loads((out / "metrics.json").read_text())["items"]["scored"] == 2


def test_vggish_columns_with_random_weights_in_torchvggish_format(tmp_path, capsys):
    from art2music.evaluation.embeddings import VGGishNetwork

    frames = 90  # 1.04 s: one 0.96 s VGGish example per clip
    data = make_articaps_with_audio(tmp_path / "data", frames=frames)
    model = tmp_path / "model"
    build_tiny_pipeline(frames=frames).save_pretrained(model)
    torch.manual_seed(0)
    torch.save(VGGishNetwork().state_dict(), tmp_path / "vggish.pth")
    out = tmp_path / "eval"
    assert run(model, data, out, "--no-dtw", "--vggish-weights", str(tmp_path / "vggish.pth")) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert [e["name"] for e in metrics["embeddings"]] == ["mel-stats", "vggish"]
    vggish = metrics["systems"]["reference"]["fad"]["vggish"]
    assert vggish["value"] == pytest.approx(0.0, abs=1e-6) and vggish["dim"] == 128 and vggish["n_reference"] == 2
    assert "FAD (VGGish) ↓" in (out / "metrics.md").read_text()
    # clips shorter than one VGGish example are refused up front
    assert run(model, make_articaps_with_audio(tmp_path / "short"), tmp_path / "eval2",
               "--vggish-weights", str(tmp_path / "vggish.pth")) == 2
    assert "VGGish needs clips of at least 0.975 s" in capsys.readouterr().err


def test_music_figures_and_seed_diversity_for_a_flow_model(articaps, tmp_path, capsys):
    flow_dir = tmp_path / "flow"
    build_tiny_pipeline(decoder="flow").save_pretrained(flow_dir)
    out = tmp_path / "eval"
    assert run(flow_dir, articaps, out, "--steps", "3") == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["decoder"] == "flow" and metrics["settings"]["steps"] == 3
    systems = metrics["systems"]
    reference = systems["reference"]
    assert reference["ratio_to_reference"]["flux"] == pytest.approx(1.0)
    assert reference["ratio_to_reference"]["inter_item_distance"] == pytest.approx(1.0)
    model = systems["model"]
    assert model["seed_diversity"] > 0 and systems["mean-mel"]["seed_diversity"] is None
    # the mean-mel baseline renders one clip for every item: no distance between items
    assert systems["mean-mel"]["inter_item_distance"] == pytest.approx(0.0, abs=1e-9)
    assert model["ratio_to_reference"]["temporal_variation"] == pytest.approx(
        model["temporal_variation"] / reference["temporal_variation"])
    assert "seed diversity" in (out / "metrics.md").read_text()
    # a rerun with other steps rescoring everything (the steps are part of each item's fingerprint)
    capsys.readouterr()
    assert run(flow_dir, articaps, out, "--steps", "2") == 0
    assert "scored 2, reused 0" in capsys.readouterr().err


def test_the_bilstm_refuses_sampling_options(tiny_pipeline_dir, articaps, tmp_path, capsys):
    assert run(tiny_pipeline_dir, articaps, tmp_path / "eval", "--steps", "3") == 2
    assert "--steps only apply" in capsys.readouterr().err
