"""The batched render loop: plan (skip what is done), load, embed → mel → audio per batch, write, report.

``render_collection(pipe, collection, out_dir)`` is the whole job in one process. The multi-GPU path
(:mod:`art2music.render.predict`) reuses :func:`plan_render`, :func:`finish_item`, :func:`fail_item` and
:func:`collect_results`, so both paths write identical files.

Speed: images of batch *k + 1* are decoded in a thread pool while the model runs on batch *k*; the
encoder, stage 1 and the vocoder each run once per batch; spectrogram PNGs are colour-table lookups.
Robustness: an image that cannot be loaded fails alone; if a whole batch raises inside the model, its
items are retried one by one, so one bad item never takes its batch down.
"""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from PIL import Image

from art2music.io.images import DEFAULT_MAX_PIXELS, ImageLoadError, load_image
from art2music.io.hashing import file_sha256
from art2music.render.fingerprint import item_fingerprint, pipeline_identity
from art2music.render.inputs import Collection, RenderItem
from art2music.render.outputs import (WAV_SUBTYPES, output_paths, remove_stale_temporaries,
                                      wav_is_complete, write_mel_png, write_thumbnail)
from art2music.render.results import ItemResult, read_record, summarize, write_record, write_results
from vocoder.audio import write_wav


@dataclass(frozen=True)
class RenderSettings:
    """How to render. ``wav_format`` is ``pcm16`` or ``float``; ``redo`` re-renders items already done."""

    batch_size: int = 8
    wav_format: str = "pcm16"
    max_pixels: int = DEFAULT_MAX_PIXELS
    redo: bool = False
    progress: bool = True
    loader_threads: int = 2

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch size must be at least 1, got {self.batch_size}")
        if self.wav_format not in WAV_SUBTYPES:
            raise ValueError(f"wav format must be one of {sorted(WAV_SUBTYPES)}, got {self.wav_format!r}")

    def output_settings(self) -> dict[str, Any]:
        """The settings that change the output files (part of each item's fingerprint)."""
        return {"wav_format": self.wav_format}


@dataclass(frozen=True)
class PlannedItem:
    """An item to render now, with its fingerprint."""

    item: RenderItem
    fingerprint: str


@dataclass
class RenderPlan:
    """The outcome of planning: what to render, and results already known (skipped or failed early)."""

    pending: list[PlannedItem] = field(default_factory=list)
    known: dict[str, ItemResult] = field(default_factory=dict)


@dataclass(frozen=True)
class RenderReport:
    """A finished run: every item's result (input order) and the exit code (0 all fine, 1 some failed)."""

    results: list[ItemResult]
    out_dir: Path

    @property
    def summary(self) -> dict[str, int]:
        return summarize(self.results)

    @property
    def exit_code(self) -> int:
        return 1 if self.summary["failed"] else 0


def _relative(out_dir: Path, path: Path) -> str:
    return path.relative_to(out_dir).as_posix()


def plan_render(collection: Collection, out_dir: Path, model_identity: str, settings: RenderSettings,
                sample_rate: int, samples: int) -> RenderPlan:
    """Fingerprint every item and decide: skip (done, same fingerprint, outputs valid), fail now, or render.

    Args:
        sample_rate, samples: the WAV every done item must have (checked before skipping it).
    """
    plan = RenderPlan()
    for item in collection.items:
        try:
            image_hash = file_sha256(item.image)
        except FileNotFoundError:
            plan.known[item.id] = _failed(item, "missing", "no such file")
            continue
        except IsADirectoryError:
            plan.known[item.id] = _failed(item, "not_a_file", "is a directory, not an image file")
            continue
        except OSError as error:
            plan.known[item.id] = _failed(item, "unreadable", f"cannot read the file ({error.strerror or error})")
            continue
        fingerprint = item_fingerprint(image_hash, item.comment, model_identity, settings.output_settings())
        record = None if settings.redo else read_record(out_dir, item.id)
        paths = output_paths(out_dir, item.id)
        if (record is not None and record.status in ("ok", "skipped") and record.fingerprint == fingerprint
                and paths["png"].is_file() and paths["thumbnail"].is_file()
                and wav_is_complete(paths["wav"], sample_rate, samples)):
            plan.known[item.id] = record.as_skipped()
        else:
            plan.pending.append(PlannedItem(item, fingerprint))
    return plan


def _failed(item: RenderItem, reason: str, detail: str, fingerprint: str = "") -> ItemResult:
    return ItemResult(item.id, str(item.image), item.comment, "failed", reason, detail, source=item.source,
                      fingerprint=fingerprint)


def fail_item(out_dir: Path, planned: PlannedItem, reason: str, detail: str) -> ItemResult:
    """Record a failure (replacing any older record, so the item is retried next run) and return it."""
    result = _failed(planned.item, reason, detail, planned.fingerprint)
    write_record(out_dir, result)
    return result


def finish_item(out_dir: Path, planned: PlannedItem, thumbnail: Image.Image, mel: np.ndarray, waveform: np.ndarray,
                sample_rate: int, wav_format: str, render_seconds: float) -> ItemResult:
    """Write an item's WAV, mel PNG, thumbnail and, last, its record; return the record.

    Args:
        mel: ``(n_mels, frames)`` log-mel; waveform: ``(samples,)`` float32 in [-1, 1] at ``sample_rate`` Hz.
    """
    paths = output_paths(out_dir, planned.item.id)
    write_wav(paths["wav"], waveform, sample_rate, WAV_SUBTYPES[wav_format])
    write_mel_png(paths["png"], mel)
    write_thumbnail(paths["thumbnail"], thumbnail)
    item = planned.item
    result = ItemResult(item.id, str(item.image), item.comment, "ok", wav=_relative(out_dir, paths["wav"]),
                        png=_relative(out_dir, paths["png"]), thumbnail=_relative(out_dir, paths["thumbnail"]),
                        seconds=round(len(waveform) / sample_rate, 4), render_seconds=round(render_seconds, 4),
                        source=item.source, fingerprint=planned.fingerprint)
    write_record(out_dir, result)
    return result


def load_for_render(planned: PlannedItem, max_pixels: int) -> Image.Image | ImageLoadError:
    """Decode an item's image (upright RGB) or return the :class:`ImageLoadError` saying why not."""
    try:
        return load_image(planned.item.image, max_pixels=max_pixels)
    except ImageLoadError as error:
        return error


def render_images(pipe: Any, images: Sequence[Image.Image], comments: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """One batched pass: ``B`` images + comments → mels ``(B, n_mels, frames)`` and audio ``(B, samples)``."""
    mel = pipe.embeddings_to_mel(*pipe.embed(list(images), list(comments)))
    audio = pipe.mel_to_audio(mel)
    return mel.float().cpu().numpy(), audio


def _render_batch(pipe: Any, out_dir: Path, batch: list[PlannedItem], loaded: list[Image.Image | ImageLoadError],
                  settings: RenderSettings, started: float) -> list[ItemResult]:
    results = []
    ready = []
    for planned, image in zip(batch, loaded):
        if isinstance(image, ImageLoadError):
            results.append(fail_item(out_dir, planned, image.reason, image.detail))
        else:
            ready.append((planned, image))
    if not ready:
        return results
    try:
        mels, audio = render_images(pipe, [image for _, image in ready], [p.item.comment for p, _ in ready])
    except (RuntimeError, ValueError) as error:
        if len(ready) == 1:
            return results + [fail_item(out_dir, ready[0][0], "render_error", f"the model failed: {error}")]
        # Find the culprit instead of failing the whole batch.
        for planned, image in ready:
            results += _render_batch(pipe, out_dir, [planned], [image], settings, time.perf_counter())
        return results
    share = (time.perf_counter() - started) / len(batch)
    for index, (planned, image) in enumerate(ready):
        results.append(finish_item(out_dir, planned, image, mels[index], audio[index], pipe.sample_rate,
                                   settings.wav_format, share))
    return results


def collect_results(collection: Collection, plan: RenderPlan, out_dir: Path,
                    rendered: dict[str, ItemResult] | None = None) -> list[ItemResult]:
    """Every item's result in input order, then the rows that could not be planned.

    Results of pending items come from ``rendered`` or, when missing there (other processes rendered
    them), from their records on disk; a pending item with no record of the current fingerprint failed.
    """
    rendered = rendered or {}
    pending = {planned.item.id: planned.fingerprint for planned in plan.pending}
    results = []
    for item in collection.items:
        if item.id in plan.known:
            results.append(plan.known[item.id])
            continue
        fingerprint = pending[item.id]
        result = rendered.get(item.id) or read_record(out_dir, item.id)
        if result is None or result.fingerprint != fingerprint:
            result = _failed(item, "not_rendered", "no output was recorded for this item (did a worker process die? "
                                                   "rerun to render it)", fingerprint)
        results.append(result)
    for bad in collection.bad:
        results.append(ItemResult(bad.id, bad.image, bad.comment, "failed", bad.reason, bad.detail, source=bad.source))
    return results


def finish_run(out_dir: Path, results: list[ItemResult], run_info: dict[str, Any]) -> RenderReport:
    """Write ``results.json``, ``results.csv`` and ``index.html``; return the report."""
    from art2music.render.gallery import write_gallery

    run_info = {**run_info, "finished": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    write_results(out_dir, results, run_info)
    write_gallery(out_dir, results, run_info)
    return RenderReport(results, out_dir)


def render_collection(pipe: Any, collection: Collection, out_dir: str | os.PathLike,
                      settings: RenderSettings = RenderSettings(), model_identity: str | None = None,
                      model_name: str = "") -> RenderReport:
    """Render every item of ``collection`` with ``pipe`` (an ``Art2Music``) into ``out_dir``.

    Args:
        model_identity: the model's hash for fingerprints (default: hashed from the pipeline's tensors).
        model_name: shown in the results and the gallery (e.g. ``demo`` or a folder).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out_dir)
    run_info = {"started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "model": model_name,
                "model_identity": model_identity or pipeline_identity(pipe), "batch_size": settings.batch_size,
                "wav_format": settings.wav_format, "sample_rate": pipe.sample_rate, "devices": 1}
    samples = pipe.frames * pipe.mel_config.hop_length
    plan = plan_render(collection, out_dir, run_info["model_identity"], settings, pipe.sample_rate, samples)
    rendered: dict[str, ItemResult] = {}
    batches = [plan.pending[start:start + settings.batch_size]
               for start in range(0, len(plan.pending), settings.batch_size)]
    from tqdm import tqdm

    with ThreadPoolExecutor(max_workers=max(1, settings.loader_threads)) as pool, \
            tqdm(total=len(plan.pending), desc="rendering", unit="image", file=sys.stderr,
                 disable=not settings.progress) as bar:
        def submit(batch: list[PlannedItem]) -> list[Future]:
            return [pool.submit(load_for_render, planned, settings.max_pixels) for planned in batch]

        upcoming = submit(batches[0]) if batches else []
        for index, batch in enumerate(batches):
            started = time.perf_counter()
            loaded = [future.result() for future in upcoming]
            upcoming = submit(batches[index + 1]) if index + 1 < len(batches) else []
            for result in _render_batch(pipe, out_dir, batch, loaded, settings, started):
                rendered[result.id] = result
            bar.update(len(batch))
    return finish_run(out_dir, collect_results(collection, plan, out_dir, rendered), run_info)

