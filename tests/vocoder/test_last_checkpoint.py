"""SaveLastAtStop: a run stopped between two rolling checkpoints (max_time) still leaves its last step."""

from __future__ import annotations

import logging

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.demos.boring_classes import BoringModel

from vocoder.last_checkpoint import SaveLastAtStop


def _fit(tmp_path, *callbacks) -> int:
    rolling = ModelCheckpoint(dirpath=tmp_path / "checkpoints", save_last=True, every_n_train_steps=25,
                              save_top_k=1)
    best = ModelCheckpoint(dirpath=tmp_path / "best", save_top_k=1)  # no save_last: left alone
    trainer = L.Trainer(max_steps=37, max_epochs=100, check_val_every_n_epoch=10, limit_train_batches=8,
                        limit_val_batches=2, callbacks=[rolling, best, *callbacks], logger=False,
                        enable_progress_bar=False, enable_model_summary=False, accelerator="cpu",
                        default_root_dir=tmp_path)
    trainer.fit(BoringModel())
    return trainer.global_step


def test_last_checkpoint_holds_the_step_the_run_ended_on(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="lightning.pytorch"):
        steps = _fit(tmp_path, SaveLastAtStop())
    state = torch.load(tmp_path / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert steps == 37 and state["global_step"] == 37
    assert state["optimizer_states"] and "loops" in state  # the whole state: a run resumes from it
    assert "`weights_only` was not set" not in caplog.text
    assert not (tmp_path / "best" / "last.ckpt").exists()


def test_without_it_the_rolling_checkpoint_lags(tmp_path):
    """The case it exists for (as under --trainer.max_time): Lightning alone leaves last.ckpt at the rolling save."""
    _fit(tmp_path)
    state = torch.load(tmp_path / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert state["global_step"] < 37
