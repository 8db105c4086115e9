"""Rendering on several devices through Lightning's predict loop (``art2music render --devices N``).

``Trainer(accelerator, devices=N, strategy="ddp").predict(RenderModule(pipe), dataloader)`` splits the
pending items over the processes (Lightning's predict sampler does not repeat items); each process
decodes its images in data-loader workers (:class:`RenderDataset`), runs the pipeline on its device
(:class:`RenderModule`) and writes each item's files itself (:class:`RenderWriter`, a
``BasePredictionWriter``), with the same functions as the one-process loop. Rank 0 then waits for the
others and writes ``results.json`` and ``index.html`` from the per-item records.

Lightning is imported only here: the notebook API and the one-process loop never need it.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import lightning
import torch
from lightning.pytorch.callbacks import BasePredictionWriter
from PIL import Image

from art2music.io.images import ImageLoadError
from art2music.render.inputs import Collection
from art2music.render.interrupt import RenderInterrupted
from art2music.render.lock import is_ddp_child, lock_output_folder
from art2music.render.outputs import OutputWriteError, make_thumbnail, remove_stale_temporaries
from art2music.render.runner import (PlannedItem, RenderReport, RenderSettings, collect_results, fail_item,
                                     effective_sampling, finish_item, finish_run, finish_stopped_run,
                                     load_for_render, plan_render, render_images)


@dataclass
class LoadedItem:
    """One decoded item: the full RGB image for the encoder and a small thumbnail to write (or the error)."""

    index: int
    comment: str
    image: Image.Image | None
    thumbnail: Image.Image | None
    error: ImageLoadError | None
    seed: int | None = None
    va: tuple[float, float] | None = None


class RenderDataset(torch.utils.data.Dataset):
    """Pending items → :class:`LoadedItem` (images decoded in the data-loader workers)."""

    def __init__(self, pending: list[PlannedItem], max_pixels: int):
        self.pending = pending
        self.max_pixels = max_pixels

    def __len__(self) -> int:
        return len(self.pending)

    def __getitem__(self, index: int) -> LoadedItem:
        planned = self.pending[index]
        image = load_for_render(planned, self.max_pixels)
        if isinstance(image, ImageLoadError):
            return LoadedItem(index, planned.item.comment, None, None, image)
        return LoadedItem(index, planned.item.comment, image, make_thumbnail(image), None, planned.seed, planned.va)


def collate_items(items: list[LoadedItem]) -> list[LoadedItem]:
    """Keep a batch as a list: images differ in size until the encoder's preprocessing."""
    return items


class RenderModule(lightning.LightningModule):
    """Wraps an ``Art2Music`` pipeline so Lightning places it on each process's device."""

    def __init__(self, pipe: Any, settings: RenderSettings | None = None):
        super().__init__()
        self.pipe, self.settings = pipe, settings
        # Registered as submodules so that Lightning moves them to the device.
        self.encoder, self.stage1, self.vocoder = pipe.encoder, pipe.stage1, pipe.vocoder

    def on_predict_start(self) -> None:
        self.pipe.device = self.device

    def predict_step(self, batch: list[LoadedItem], batch_idx: int = 0) -> dict[str, Any]:
        """Returns ``{"items": batch, "outputs": [...], "seconds": wall time}``; ``outputs[i]`` is
        ``(mel (n_mels, frames), audio (samples,))`` or, for an item the model failed on, the error text."""
        started = time.perf_counter()
        ready = [item for item in batch if item.image is not None]
        outputs: dict[int, tuple | str] = {}
        try:
            if ready:
                mels, audio = render_images(self.pipe, [item.image for item in ready], [item.comment for item in ready],
                                            [item.seed for item in ready], self.settings, [item.va for item in ready])
                outputs = {item.index: (mels[i], audio[i]) for i, item in enumerate(ready)}
        except (RuntimeError, ValueError) as batch_error:
            for item in ready:  # find the culprit instead of failing the whole batch
                try:
                    mels, audio = render_images(self.pipe, [item.image], [item.comment], [item.seed], self.settings,
                                                [item.va])
                    outputs[item.index] = (mels[0], audio[0])
                except (RuntimeError, ValueError) as error:
                    outputs[item.index] = f"the model failed: {error if len(ready) > 1 else batch_error}"
        return {"items": batch, "outputs": [outputs.get(item.index) for item in batch],
                "seconds": time.perf_counter() - started}


class RenderWriter(BasePredictionWriter):
    """Writes each predicted batch's files and records as soon as the batch is done."""

    def __init__(self, out_dir: Path, pending: list[PlannedItem], settings: RenderSettings, sample_rate: int,
                 judge: Any = None):
        super().__init__(write_interval="batch")
        self.out_dir, self.pending, self.settings, self.sample_rate = out_dir, pending, settings, sample_rate
        self.judge = judge  # the pipeline folder's VA judge: records what it hears in each piece
        self.bar = None

    def on_predict_start(self, trainer: lightning.Trainer, pl_module: lightning.LightningModule) -> None:
        from tqdm import tqdm

        share = -(-len(self.pending) // max(1, trainer.world_size))
        self.bar = tqdm(total=share, desc=f"rendering (rank {trainer.global_rank})", unit="image", file=sys.stderr,
                        disable=not self.settings.progress or not trainer.is_global_zero)

    def on_predict_end(self, trainer: lightning.Trainer, pl_module: lightning.LightningModule) -> None:
        if self.bar is not None:
            self.bar.close()

    def write_on_batch_end(self, trainer, pl_module, prediction, batch_indices, batch, batch_idx,
                           dataloader_idx) -> None:
        share = prediction["seconds"] / max(1, len(prediction["items"]))
        for item, output in zip(prediction["items"], prediction["outputs"]):
            planned = self.pending[item.index]
            if item.error is not None:
                fail_item(self.out_dir, planned, item.error.reason, item.error.detail)
            elif isinstance(output, str):
                fail_item(self.out_dir, planned, "render_error", output)
            else:
                finish_item(self.out_dir, planned, item.thumbnail, output[0], output[1], self.sample_rate,
                            self.settings.wav_format, share, self.judge)
        if self.bar is not None:
            self.bar.update(len(prediction["items"]))


def render_with_trainer(pipe: Any, collection: Collection, out_dir: str | os.PathLike, model_identity: str,
                        settings: RenderSettings = RenderSettings(), devices: int = 1, accelerator: str = "auto",
                        num_workers: int = 0, model_name: str = "", wait_for_lock: bool = False
                        ) -> RenderReport | None:
    """Render through ``Trainer.predict`` on ``devices`` devices (DDP when more than one).

    The launching process holds the output folder's lock for the run (the processes DDP starts run inside
    it); a stop (signal, write error) is handled as in :func:`art2music.render.runner.render_collection`.
    Returns the report in the global-zero process and ``None`` in the others.
    """
    out_dir = Path(out_dir)
    if is_ddp_child():
        out_dir.mkdir(parents=True, exist_ok=True)
        return _render_on_devices(pipe, collection, out_dir, model_identity, settings, devices, accelerator,
                                  num_workers, model_name)
    with lock_output_folder(out_dir, wait=wait_for_lock):
        remove_stale_temporaries(out_dir)  # before any process starts writing
        return _render_on_devices(pipe, collection, out_dir, model_identity, settings, devices, accelerator,
                                  num_workers, model_name)


def _render_on_devices(pipe: Any, collection: Collection, out_dir: Path, model_identity: str,
                       settings: RenderSettings, devices: int, accelerator: str, num_workers: int,
                       model_name: str) -> RenderReport | None:
    run_info = {"started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "model": model_name,
                "model_identity": model_identity, "batch_size": settings.batch_size,
                "wav_format": settings.wav_format, "sample_rate": pipe.sample_rate, "devices": devices,
                "precision": getattr(pipe, "precisions", {})}
    samples = pipe.frames_for(settings.seconds) * pipe.mel_config.hop_length
    plan = plan_render(collection, out_dir, model_identity, settings, pipe.sample_rate, samples,
                       effective_sampling(pipe, settings))
    module = RenderModule(pipe, settings)
    try:
        if plan.pending:
            loader = torch.utils.data.DataLoader(RenderDataset(plan.pending, settings.max_pixels),
                                                 batch_size=settings.batch_size, shuffle=False,
                                                 num_workers=num_workers, collate_fn=collate_items)
            # Lightning's predict sampler needs at least one item per process. Every process plans the same
            # items (the others start before any output is written), so they all agree on this number.
            devices = min(devices, len(plan.pending))
            strategy = "ddp" if devices > 1 else "auto"
            trainer = lightning.Trainer(accelerator=accelerator, devices=devices, strategy=strategy, logger=False,
                                        enable_progress_bar=False, enable_model_summary=False,
                                        enable_checkpointing=False,
                                        callbacks=[RenderWriter(out_dir, plan.pending, settings, pipe.sample_rate,
                                                               getattr(pipe, "va_judge", None))])
            trainer.predict(module, dataloaders=loader, return_predictions=False)
            trainer.strategy.barrier("render-written")
            if not trainer.is_global_zero:
                return None
        return finish_run(out_dir, collect_results(collection, plan, out_dir), run_info)
    except (RenderInterrupted, KeyboardInterrupt, OutputWriteError) as stop:
        if not is_ddp_child():  # the launcher reports what every process finished (their records)
            stop.report = finish_stopped_run(out_dir, collect_results(collection, plan, out_dir), run_info, stop)
        raise
