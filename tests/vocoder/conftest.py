"""Shared fixtures: a tiny real-shaped audio corpus and a tiny generator architecture."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from vocoder.config import GeneratorConfig

#: A ~25 k-parameter generator with the real hop (256): the real code path in milliseconds.
TINY_GENERATOR = GeneratorConfig(resblock="2", upsample_rates=(8, 8, 4), upsample_kernel_sizes=(16, 16, 8),
                                 upsample_initial_channel=32, resblock_kernel_sizes=(3,),
                                 resblock_dilation_sizes=((1, 2),))


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One intra-op thread: on 2 cores shared with other jobs, 2 OpenMP threads spin-wait and run ~10x slower."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def write_tone(path: Path, seconds: float, rate: int, frequencies: tuple[float, ...], channels: int = 1) -> None:
    """A chord of decaying sines (music-like: harmonic, with onsets) written with soundfile."""
    time = np.arange(int(seconds * rate)) / rate
    envelope = np.exp(-3.0 * (time % 0.5))
    signal = sum(np.sin(2 * np.pi * f * time) for f in frequencies) * envelope * 0.3 / len(frequencies)
    data = np.stack([signal * (0.5 + 0.5 * c) for c in range(channels)], axis=1) if channels > 1 else signal
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), data.astype(np.float32), rate)


def write_manifest(path: Path, rows: list[dict[str, str]]) -> Path:
    columns = ["id", "image_path", "comment", "emotion", "audio_path", "caption", "match_score", "split"]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in columns} | {"match_score": "0.5"})
    return path


@pytest.fixture
def tiny_corpus(tmp_path: Path) -> Path:
    return make_tiny_corpus(tmp_path / "corpus")


def make_tiny_corpus(root: Path) -> Path:
    """``root/manifest.csv`` with 3 distinct train clips (one shared by two rows, one at 16 kHz stereo FLAC,
    one shorter than a segment) and 1 val clip at 44.1 kHz; returns the manifest path."""
    write_tone(root / "audio" / "a.wav", 1.0, 22050, (220.0, 277.0, 330.0))
    write_tone(root / "audio" / "b.flac", 1.0, 16000, (196.0, 247.0), channels=2)
    write_tone(root / "audio" / "c.wav", 0.2, 22050, (440.0,))
    write_tone(root / "audio" / "d.wav", 1.0, 44100, (262.0, 330.0, 392.0))
    rows = [dict(id="p1", audio_path="audio/a.wav", split="train"), dict(id="p2", audio_path="audio/a.wav", split="train"),
            dict(id="p3", audio_path="audio/b.flac", split="train"), dict(id="p4", audio_path="audio/c.wav", split="train"),
            dict(id="p5", audio_path="audio/d.wav", split="val")]
    return write_manifest(root / "manifest.csv", rows)


def tiny_config(tmp_path: Path, manifest: Path, run_dir: Path, max_steps: int, every_n: int = 2,
                logger: str = "csv", validate: bool = True) -> Path:
    """A complete LightningCLI YAML for a seconds-long CPU run of the real training code."""
    logger_block = (f"    class_path: lightning.pytorch.loggers.CSVLogger\n    init_args: {{save_dir: {run_dir}, name: csv}}"
                    if logger == "csv" else
                    f"    class_path: lightning.pytorch.loggers.TensorBoardLogger\n"
                    f"    init_args: {{save_dir: {run_dir}, name: tb, version: 0}}")
    text = f"""seed_everything: 0
trainer:
  max_steps: {max_steps}
  accelerator: cpu
  devices: 1
  default_root_dir: {run_dir}
  log_every_n_steps: 1
  enable_progress_bar: false
  enable_model_summary: false
  num_sanity_val_steps: 0
  limit_val_batches: {1.0 if validate else 0}
  logger:
{logger_block}
  callbacks:
    - class_path: lightning.pytorch.callbacks.ModelCheckpoint
      init_args: {{dirpath: {run_dir}/checkpoints, save_last: true, every_n_train_steps: {every_n}, save_top_k: 1}}
model:
  generator: {TINY_GENERATOR.to_dict()}
  discriminator_width: 0.125
data:
  manifest: {manifest}
  segment_size: 4096
  val_segment_size: 8192
  batch_size: 2
  num_workers: 0
  max_val_clips: 1
"""
    path = tmp_path / "tiny_vocoder.yaml"
    path.write_text(text)
    return path
