"""bench/bench_va_sweep.py: Spearman rho of readings against swept targets, and a run on a tiny steerable pipeline."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "bench_va_sweep.py"


@pytest.fixture(scope="module")
def sweep_module():
    sys.path.insert(0, str(SCRIPT.parent))
    spec = importlib.util.spec_from_file_location("bench_va_sweep", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    sys.path.remove(str(SCRIPT.parent))


def test_summary_gives_rho_per_image_and_pooled(sweep_module):
    targets = np.linspace(-1, 1, 4)
    rising = {"valence": [{"judged_valence": v, "major": float(v > 0)} for v in (-0.5, -0.1, 0.2, 0.3)],
              "arousal": [{"judged_arousal": a, "tempo_bpm": 100.0, "notes_per_second": n}
                          for a, n in ((0.4, 1.0), (0.3, 2.0), (0.2, 3.0), (0.1, 4.0))]}
    summary = sweep_module.summarize([rising, rising], targets)
    assert summary["valence->judged_valence"]["rho_per_image"] == [pytest.approx(1.0)] * 2
    assert summary["arousal->judged_arousal"]["rho_mean_over_images"] == pytest.approx(-1.0)
    assert summary["arousal->notes_per_second"]["rho_pooled"] == pytest.approx(1.0)
    assert summary["arousal->tempo_bpm"]["images_with_constant_reading"] == 2  # a constant tempo has no rank order
    assert summary["valence->major"]["rho_mean_over_images"] == pytest.approx(np.sqrt(0.8), abs=1e-6)


def test_a_run_on_a_tiny_steerable_pipeline_writes_its_json(tmp_path):
    from art2music.audio_engine.stage1 import Stage1Model
    from art2music.emotion_judge import VAJudge, VAJudgeConfig
    from tests.art2music.render.conftest import build_tiny_pipeline

    pipe = build_tiny_pipeline()
    torch.manual_seed(2)
    stage1 = Stage1Model(dataclasses.replace(pipe.stage1.config, emotion_conditioning=True))
    stage1.load_state_dict(pipe.stage1.state_dict(), strict=False)
    pipe.stage1 = stage1
    pipe.va_judge = VAJudge(VAJudgeConfig(channels=(4,), hidden=4)).frozen()
    model = pipe.save_pretrained(tmp_path / "model")
    (tmp_path / "images").mkdir()
    Image.new("RGB", (32, 32), (200, 50, 50)).save(tmp_path / "images" / "red.png")
    out = tmp_path / "sweep.json"
    environment = {**os.environ, "PYTHONPATH": str(SCRIPT.parents[1]), "OMP_NUM_THREADS": "1"}
    completed = subprocess.run([sys.executable, str(SCRIPT), "--model", str(model), "--images",
                                str(tmp_path / "images"), "--count", "1", "--points", "3", "--out", str(out)],
                               capture_output=True, text=True, env=environment, timeout=300)
    assert completed.returncode == 0, completed.stderr
    result = json.loads(out.read_text())
    assert result["engine"] == "audio" and result["targets"] == [-1.0, 0.0, 1.0] and result["judge"] is True
    assert set(result["spearman"]) == {"valence->judged_valence", "arousal->judged_arousal"}
    points = result["sweeps"][0]["valence"]
    assert len(points) == 3 and all(-1 <= point["judged_valence"] <= 1 for point in points)
    unconditioned = build_tiny_pipeline().save_pretrained(tmp_path / "unconditioned")  # no emotion conditioning
    refused = subprocess.run([sys.executable, str(SCRIPT), "--model", str(unconditioned), "--images",
                              str(tmp_path / "images"),
                              "--out", str(tmp_path / "no.json")], capture_output=True, text=True, env=environment,
                             timeout=300)
    assert refused.returncode == 2 and "emotion_conditioning" in refused.stderr and not (tmp_path / "no.json").exists()
