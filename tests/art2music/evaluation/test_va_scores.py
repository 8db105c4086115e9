"""``evaluate`` judges each system's feeling when the pipeline folder has a VA judge: per-item judged VA, the
painting's target (mean over its annotators), and per-system agreement in metrics.json and metrics.md."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import soundfile
import torch

from art2music.articaps.manifest import read_manifest
from art2music.emotion_judge import VAJudge, VAJudgeConfig, load_va_judge, save_va_judge
from art2music.emotions import mean_valence_arousal
from art2music.evaluation.cli import main
from art2music.evaluation.runner import read_item
from art2music.evaluation.va_scores import judge_waveform, painting_targets
from art2music.evaluation.systems import SYSTEMS
from art2music.export.format import JUDGE_DIR
from tests.art2music.evaluation.conftest import FRAMES


def test_painting_target_is_the_mean_over_rows_of_the_same_image():
    class Row:
        def __init__(self, image, emotion):
            self.image_path, self.emotion = image, emotion

    rows = [Row("a.jpg", "sadness"), Row("b.jpg", "fear"), Row("a.jpg", "amusement"), Row("a.jpg", "sadness")]
    targets = painting_targets(rows)
    assert targets[0] == targets[2] == targets[3] == pytest.approx(
        mean_valence_arousal(["sadness", "amusement", "sadness"]))
    assert targets[1] == mean_valence_arousal(["fear"])


def test_evaluate_records_judged_va_per_system(tiny_pipeline_dir, articaps, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(tiny_pipeline_dir, model)
    torch.manual_seed(3)
    save_va_judge(VAJudge(VAJudgeConfig(channels=(4, 8), hidden=8)), model / JUDGE_DIR)
    out = tmp_path / "eval"
    assert main(["--model", str(model), "--manifest", str(articaps / "manifest.csv"), "--out", str(out),
                 "--griffin-lim-iters", "2", "--no-progress", "--no-dtw"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    feeling = metrics["va_judge"]
    assert list(feeling["systems"]) == list(SYSTEMS)
    manifest = read_manifest(articaps / "manifest.csv")
    judge = load_va_judge(model / JUDGE_DIR)
    targets = painting_targets(manifest)
    row = manifest.split_indices("test")[0]
    record, _ = read_item(out / "items" / f"{manifest[row].id}.npz")
    assert record["target_va"] == pytest.approx(list(targets[row]))
    waveform, _ = soundfile.read(str(articaps / manifest[row].audio_path), dtype="float32")
    expected = judge_waveform(judge, waveform[:FRAMES * 256])
    assert record["metrics"]["reference"]["judged_va"] == pytest.approx(expected, abs=1e-4)
    judged = np.array([record["metrics"]["model"]["judged_va"]])
    assert (np.abs(judged) <= 1).all()
    reference = feeling["systems"]["reference"]
    assert reference["count"] == 2 and 0 <= reference["quadrant"] <= 1 and reference["distance"] >= 0
    assert "VA distance" in (out / "metrics.md").read_text()


def test_without_a_judge_nothing_is_judged(tiny_pipeline_dir, articaps, tmp_path):
    out = tmp_path / "eval"
    assert main(["--model", str(tiny_pipeline_dir), "--manifest", str(articaps / "manifest.csv"), "--out", str(out),
                 "--griffin-lim-iters", "2", "--no-progress", "--no-dtw", "--limit", "1"]) == 0
    assert "va_judge" not in json.loads((out / "metrics.json").read_text())
