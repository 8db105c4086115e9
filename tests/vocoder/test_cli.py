"""The command line: `python -m vocoder fit` survives kill -9 and resumes; export; usage errors exit 2."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.vocoder.conftest import tiny_config
from vocoder import load_generator
from vocoder.cli import main

ROOT = Path(__file__).resolve().parents[2]


def run_vocoder(*args: str) -> subprocess.Popen:
    env = os.environ | {"OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "PYTHONWARNINGS": "ignore"}
    return subprocess.Popen([sys.executable, "-m", "vocoder", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def saved_step(path: Path) -> int:
    """global_step of a checkpoint, or -1 while it does not exist yet."""
    try:
        return int(torch.load(path, weights_only=True)["global_step"])
    except (FileNotFoundError, RuntimeError, EOFError):
        return -1


def test_kill_9_then_restart_resumes_from_the_saved_step(tmp_path: Path, tiny_corpus: Path) -> None:
    run = tmp_path / "run"
    config = tiny_config(tmp_path, tiny_corpus, run, max_steps=10_000, every_n=2, validate=False)
    last = run / "checkpoints" / "last.ckpt"
    process = run_vocoder("fit", "--config", str(config), "--ckpt_path", "last")
    deadline = time.monotonic() + 90
    while saved_step(last) < 2:
        assert process.poll() is None, process.communicate()[0][-3000:]
        assert time.monotonic() < deadline, "no checkpoint at step >= 2 within 90 s"
        time.sleep(0.3)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    killed_at = saved_step(last)
    assert killed_at >= 2

    restarted = run_vocoder("fit", "--config", str(config), "--ckpt_path", "last",
                            f"--trainer.max_steps={killed_at + 2}")
    output, _ = restarted.communicate(timeout=120)
    assert restarted.returncode == 0, output[-3000:]
    assert saved_step(last) == killed_at + 2
    # the restarted run logged only batches after the checkpoint (logger steps count batches, i.e. optimizer
    # steps / 2): it did not start again from zero
    versions = sorted((run / "csv").iterdir())
    with open(versions[-1] / "metrics.csv") as handle:
        steps = [int(row["step"]) for row in csv.DictReader(handle) if row.get("train/mel_l1")]
    assert steps and min(steps) == killed_at // 2

    exported = tmp_path / "export"
    assert main(["export", str(last), "--out", str(exported), "--official", str(tmp_path / "official" / "g_0")]) == 0
    mel = torch.randn(1, 80, 8)
    with torch.no_grad():
        torch.testing.assert_close(load_generator(exported, precision="float32")(mel),
                                   load_generator(tmp_path / "official" / "g_0", precision="float32")(mel),
                                   rtol=1e-5, atol=1e-6)


def test_usage_and_config_errors_exit_2(tmp_path: Path, tiny_corpus: Path, capsys) -> None:
    assert main(["fit", "--trainer.max_stepz", "3"]) == 2
    config = tiny_config(tmp_path, tiny_corpus, tmp_path / "run", max_steps=2)
    assert main(["fit", "--config", str(config), "--model.generator", "v9"]) == 2
    assert "unknown HiFi-GAN version 'v9'" in capsys.readouterr().err


def test_export_of_a_non_checkpoint_exits_1(tmp_path: Path, capsys) -> None:
    torch.save({"generator": {}}, tmp_path / "g_1")
    assert main(["export", str(tmp_path / "g_1"), "--out", str(tmp_path / "out")]) == 1
    assert "not a vocoder training checkpoint" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["export", str(tmp_path / "g_1")])
    assert exit_.value.code == 2


def test_fit_logs_metrics_audio_and_mel_images_to_tensorboard(tmp_path: Path, tiny_corpus: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = tmp_path / "run"
    config = tiny_config(tmp_path, tiny_corpus, run, max_steps=4, logger="tensorboard")
    assert main(["fit", "--config", str(config)]) == 0
    events = EventAccumulator(str(run / "tb" / "version_0"), size_guidance={"audio": 0, "images": 0}).Reload()
    tags = events.Tags()
    assert {"train/mel_l1", "train/loss_d", "train/loss_g", "val/mel_l1"} <= set(tags["scalars"])
    assert {"val/generated_0", "val/reference_0"} <= set(tags["audio"])
    assert {"val/mel_generated_0", "val/mel_reference_0"} <= set(tags["images"])
    assert events.Audio("val/generated_0")[0].sample_rate == 22050


def test_a_silent_clip_met_in_training_exits_1_naming_it(tmp_path: Path, tiny_corpus: Path, capsys) -> None:
    import numpy as np
    import soundfile

    for name in ("a.wav", "c.wav"):
        soundfile.write(str(tiny_corpus.parent / "audio" / name), np.zeros(22050, dtype=np.float32), 22050)
    config = tiny_config(tmp_path, tiny_corpus, tmp_path / "run", max_steps=2)
    assert main(["fit", "--config", str(config)]) == 1
    assert "a.wav: silent audio" in capsys.readouterr().err
