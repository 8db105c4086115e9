"""``--devices 2`` for real: two DDP processes (CPU, gloo) split the items and rank 0 writes the results.

Slow (two interpreter start-ups of torch + open_clip, and DDP set-up): run with ``make test-full``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
from PIL import Image

from art2music.render.results import read_results
from tests.art2music.render.conftest import SAMPLES

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_two_ddp_processes_render_every_item_once(tiny_model_dir, tmp_path):
    rng = np.random.default_rng(1)
    for index in range(7):  # odd: the predict sampler must not repeat or drop items
        Image.fromarray(rng.integers(0, 256, (20, 28, 3), dtype=np.uint8)).save(tmp_path / f"p{index}.png")
    (tmp_path / "empty.png").write_bytes(b"")
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "art2music.render.cli", str(tmp_path), "--out", str(out), "--model",
               str(tiny_model_dir), "--devices", "2", "--accelerator", "cpu", "--num-workers", "0",
               "--batch-size", "2", "--no-progress"]
    finished = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 1, finished.stderr[-3000:]  # the empty file failed
    results = read_results(out)
    assert sorted(r.id for r in results if r.status == "ok") == [f"p{i}" for i in range(7)]
    assert [(r.id, r.reason) for r in results if r.status == "failed"] == [("empty", "empty")]
    for result in results:
        if result.status == "ok":
            assert soundfile.read(out / result.wav)[0].shape == (SAMPLES,)
    assert (out / "index.html").is_file()
    rerun = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 1
    assert sorted(r.status for r in read_results(out)) == ["failed"] + ["skipped"] * 7
