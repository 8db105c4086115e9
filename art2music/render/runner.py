"""The batched render loop: plan (skip what is done), load, embed → mel → audio per batch, write, report.

``render_collection(pipe, collection, out_dir)`` is the whole job in one process. The multi-GPU path
(:mod:`art2music.render.predict`) reuses :func:`plan_render`, :func:`finish_item`, :func:`fail_item` and
:func:`collect_results`, so both paths write identical files.

Speed: images of batch *k + 1* are decoded in a thread pool while the model runs on batch *k*; the
encoder, stage 1 and the vocoder each run once per batch; spectrogram PNGs are colour-table lookups.
Robustness: an image that cannot be loaded fails alone; if a whole batch raises inside the model, its
items are retried one by one, so one bad item never takes its batch down. A run holds its output
folder's lock (:mod:`art2music.render.lock`); a stop (SIGINT/SIGTERM, a full disk) still writes
``results.json`` and the gallery for what was finished (:func:`finish_stopped_run`).
"""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from PIL import Image

from art2music.io.images import (DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_PIXELS, ImageLoadError, load_image,
                                   open_regular_file)
from art2music.export.identity import pipeline_identity
from art2music.io.hashing import stream_sha256
from art2music.pipeline import item_seed
from art2music.render.fingerprint import item_fingerprint
from art2music.render.inputs import Collection, RenderItem
from art2music.render.interrupt import RenderInterrupted
from art2music.render.lock import lock_output_folder
from art2music.render.outputs import (WAV_SUBTYPES, OutputWriteError, output_paths, remove_stale_temporaries,
                                      wav_is_complete, write_mel_png, write_thumbnail, write_wav)
from art2music.render.results import ItemResult, read_record, summarize, write_record, write_results


@dataclass(frozen=True)
class RenderSettings:
    """How to render. ``wav_format`` is ``pcm16`` or ``float``; ``redo`` re-renders items already done. ``va`` is
    the run's default target feeling (valence, arousal) and ``emotion`` its name if it came from one; an item's own
    target (a CSV row's) overrides it."""

    batch_size: int = 8
    wav_format: str = "pcm16"
    max_pixels: int = DEFAULT_MAX_PIXELS
    redo: bool = False
    progress: bool = True
    loader_threads: int = 2
    seed: int | None = None
    steps: int | None = None
    guidance: float | None = None
    seconds: float | None = None
    va: tuple[float, float] | None = None
    emotion: str = ""
    loop: bool = False

    def __post_init__(self) -> None:
        if self.va is not None:
            from art2music.emotions import target_valence_arousal

            object.__setattr__(self, "va", target_valence_arousal(None, *self.va))
        if self.batch_size < 1:
            raise ValueError(f"batch size must be at least 1, got {self.batch_size}")
        if self.wav_format not in WAV_SUBTYPES:
            raise ValueError(f"wav format must be one of {sorted(WAV_SUBTYPES)}, got {self.wav_format!r}")

    def sampling(self) -> dict[str, Any]:
        """The sampling options given (``seed``, ``steps``, ``guidance``, ``seconds``, ``loop``; unset ones left out)."""
        values = {"seed": self.seed, "steps": self.steps, "guidance": self.guidance, "seconds": self.seconds,
                  "loop": self.loop or None}
        return {name: value for name, value in values.items() if value is not None}

    def output_settings(self) -> dict[str, Any]:
        """The settings that change the output files (part of each item's fingerprint): a changed seed, number
        of steps, guidance or length re-renders; unset ones are left out, so older fingerprints still match."""
        return {"wav_format": self.wav_format, **self.sampling()}


@dataclass(frozen=True)
class PlannedItem:
    """An item to render now, with its fingerprint."""

    item: RenderItem
    fingerprint: str
    seed: int | None = None
    sampling: str = ""
    va: tuple[float, float] | None = None
    emotion: str = ""


@dataclass
class RenderPlan:
    """The outcome of planning: what to render, and results already known (skipped or failed early)."""

    pending: list[PlannedItem] = field(default_factory=list)
    known: dict[str, ItemResult] = field(default_factory=dict)


@dataclass(frozen=True)
class RenderReport:
    """A finished run: every item's result (input order) and the exit code (0 all fine, 1 some failed).

    A run that stopped early (signal, write error) has ``stopped`` set to why; ``results_written`` is false
    when even ``results.json`` could not be written (the results then exist only in this object).
    """

    results: list[ItemResult]
    out_dir: Path
    stopped: str = ""
    results_written: bool = True

    @property
    def summary(self) -> dict[str, int]:
        return summarize(self.results)

    @property
    def exit_code(self) -> int:
        return 1 if self.summary["failed"] else 0


def _relative(out_dir: Path, path: Path) -> str:
    return path.relative_to(out_dir).as_posix()


def plan_render(collection: Collection, out_dir: Path, model_identity: str, settings: RenderSettings,
                sample_rate: int, samples: int, sampling: dict[str, Any] | None = None,
                outputs_complete: Callable[[Path, str], bool] | None = None) -> RenderPlan:
    """Fingerprint every item and decide: skip (done, same fingerprint, outputs valid), fail now, or render.

    Args:
        sample_rate, samples: the WAV every done item must have (checked before skipping it).
        sampling: for a generative stage 1, the sampling settings in effect (``steps``, ``guidance``, ``solver``);
            each item then gets a seed: ``settings.seed``, or one derived from its image and comment.
        outputs_complete: ``(out_dir, item_id) → bool`` instead of those checks (the midi engine's pieces vary in
            length).
    """
    plan = RenderPlan()
    for item in collection.items:
        try:
            image_hash = _image_sha256(item.image)
        except ImageLoadError as error:
            plan.known[item.id] = _failed(item, error.reason, error.detail)
            continue
        va, emotion = item_target(item, settings)
        item_settings = settings.output_settings()
        if va is not None:  # a changed target re-renders; items without one keep their older fingerprints
            item_settings["va"] = [round(value, 6) for value in va]
        fingerprint = item_fingerprint(image_hash, item.comment, model_identity, item_settings)
        record = None if settings.redo else read_record(out_dir, item.id)
        paths = output_paths(out_dir, item.id)
        if (record is not None and record.status in ("ok", "skipped") and record.fingerprint == fingerprint
                and (outputs_complete(out_dir, item.id) if outputs_complete is not None else
                     paths["png"].is_file() and paths["thumbnail"].is_file()
                     and wav_is_complete(paths["wav"], sample_rate, samples))):
            plan.known[item.id] = record.as_skipped()
        else:
            seed = sampling_text = None
            if sampling is not None:
                seed = settings.seed if settings.seed is not None else item_seed(image_hash, item.comment)
                sampling_text = " ".join(f"{name}={value}" for name, value in sampling.items())
            plan.pending.append(PlannedItem(item, fingerprint, seed, sampling_text or "", va, emotion))
    return plan


def item_target(item: RenderItem, settings: RenderSettings) -> tuple[tuple[float, float] | None, str]:
    """The target feeling an item is rendered with: its own (a CSV row's), else the run's default, else none."""
    if item.va is not None:
        return item.va, item.emotion
    return settings.va, settings.emotion if settings.va is not None else ""


def _image_sha256(path: Path, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> str:
    """Hex SHA-256 of an image file's bytes, reading only a regular file and never more than ``max_bytes``.

    Raises:
        ImageLoadError: the path is missing, special (FIFO, device, socket, directory), unreadable, empty or too
            large (see :func:`art2music.io.images.open_regular_file`).
    """
    with open_regular_file(path, max_bytes) as handle:
        try:
            return stream_sha256(handle, max_bytes)
        except ValueError:  # the file grew while being read
            raise ImageLoadError(path, "too_large", f"the file grew past the limit of {max_bytes} bytes") from None
        except OSError as error:
            raise ImageLoadError(path, "unreadable", f"cannot read the file ({error.strerror or error})") from error


def _failed(item: RenderItem, reason: str, detail: str, fingerprint: str = "") -> ItemResult:
    return ItemResult(item.id, str(item.image), item.comment, "failed", reason, detail, source=item.source,
                      fingerprint=fingerprint)


def fail_item(out_dir: Path, planned: PlannedItem, reason: str, detail: str) -> ItemResult:
    """Record a failure (replacing any older record, so the item is retried next run) and return it."""
    result = _failed(planned.item, reason, detail, planned.fingerprint)
    write_record(out_dir, result)
    return result


def finish_item(out_dir: Path, planned: PlannedItem, thumbnail: Image.Image, mel: np.ndarray, waveform: np.ndarray,
                sample_rate: int, wav_format: str, render_seconds: float, judge: Any = None) -> ItemResult:
    """Write an item's WAV, mel PNG, thumbnail and, last, its record; return the record.

    Args:
        mel: ``(n_mels, frames)`` log-mel; waveform: ``(samples,)`` float32 in [-1, 1] at ``sample_rate`` Hz.
        judge: the pipeline folder's VA judge (:class:`art2music.emotion_judge.VAJudge`): the record then holds the
            feeling it hears in ``waveform``.
    """
    paths = output_paths(out_dir, planned.item.id)
    write_wav(paths["wav"], waveform, sample_rate, WAV_SUBTYPES[wav_format])
    write_mel_png(paths["png"], mel)
    write_thumbnail(paths["thumbnail"], thumbnail)
    item = planned.item
    result = ItemResult(item.id, str(item.image), item.comment, "ok", wav=_relative(out_dir, paths["wav"]),
                        png=_relative(out_dir, paths["png"]), thumbnail=_relative(out_dir, paths["thumbnail"]),
                        seconds=round(len(waveform) / sample_rate, 4), render_seconds=round(render_seconds, 4),
                        source=item.source, fingerprint=planned.fingerprint, seed=planned.seed,
                        sampling=planned.sampling, **feeling_fields(planned.va, planned.emotion, judge, waveform))
    write_record(out_dir, result)
    return result


def feeling_fields(va: tuple[float, float] | None, emotion: str, judge: Any, waveform: np.ndarray) -> dict[str, Any]:
    """An item record's target and judged feeling (:class:`ItemResult` fields), values rounded to 4 digits."""
    values: dict[str, Any] = {"emotion": emotion}
    if va is not None:
        values.update(target_valence=round(float(va[0]), 4), target_arousal=round(float(va[1]), 4))
    if judge is not None:
        valence, arousal = judge.judge_waveform(waveform)
        values.update(judged_valence=round(valence, 4), judged_arousal=round(arousal, 4))
    return values


def load_for_render(planned: PlannedItem, max_pixels: int) -> Image.Image | ImageLoadError:
    """Decode an item's image (upright RGB) or return the :class:`ImageLoadError` saying why not."""
    try:
        return load_image(planned.item.image, max_pixels=max_pixels)
    except ImageLoadError as error:
        return error


def render_images(pipe: Any, images: Sequence[Image.Image], comments: Sequence[str],
                  seeds: Sequence[int | None] | None = None, settings: RenderSettings | None = None,
                  targets: Sequence[tuple[float, float] | None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One batched pass: ``B`` images + comments → mels ``(B, n_mels, frames)`` and audio ``(B, samples)``.

    Args:
        seeds: one per item for a generative stage 1 (``None`` entries or no list: a deterministic one).
        settings: the render's ``steps``, ``guidance`` and ``seconds``.
        targets: one target feeling (valence, arousal) per item, ``None`` for items without one.
    """
    sampling = {"seconds": settings.seconds, "loop": settings.loop} if settings is not None else {}
    if targets is not None and any(target is not None for target in targets):
        import torch

        nan = (float("nan"), float("nan"))
        sampling["va"] = torch.tensor([nan if target is None else target for target in targets], dtype=torch.float32)
    if seeds is not None and all(seed is not None for seed in seeds):
        sampling.update(seeds=list(seeds))
        if settings is not None:
            sampling.update(steps=settings.steps, guidance=settings.guidance)
    mel = pipe.embeddings_to_mel(*pipe.embed(list(images), list(comments)), **sampling)
    audio = pipe.mel_to_audio(mel, loop=sampling.get("loop", False))
    return mel.float().cpu().numpy(), audio


def _render_batch(pipe: Any, out_dir: Path, batch: list[PlannedItem], loaded: list[Image.Image | ImageLoadError],
                  settings: RenderSettings, started: float) -> list[ItemResult]:
    results = []
    ready = []
    for planned, image in zip(batch, loaded):
        if isinstance(image, ImageLoadError):
            results.append(fail_item(out_dir, planned, image.reason, image.detail))
        elif planned.va is not None and not getattr(pipe, "accepts_va", False):
            results.append(fail_item(out_dir, planned, "bad_target", target_refusal(pipe)))
        else:
            ready.append((planned, image))
    if not ready:
        return results
    try:
        mels, audio = render_images(pipe, [image for _, image in ready], [p.item.comment for p, _ in ready],
                                    [p.seed for p, _ in ready], settings, [p.va for p, _ in ready])
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
                                   settings.wav_format, share, getattr(pipe, "va_judge", None)))
    return results


def target_refusal(pipe: Any) -> str:
    """Why ``pipe`` cannot take a target feeling (its own one-line error)."""
    try:
        pipe.check_va((0.0, 0.0))
    except ValueError as error:
        return str(error)
    return "this pipeline cannot take a target feeling"


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
    return RenderReport(results, out_dir, stopped=run_info.get("stopped", ""))


def stop_reason(stop: BaseException) -> str:
    """Why a run stopped, for ``results.json`` and the items it did not reach."""
    if isinstance(stop, RenderInterrupted):
        return f"the run was interrupted by {stop.signal_name}"
    if isinstance(stop, KeyboardInterrupt):
        return "the run was interrupted by SIGINT"
    return f"the run stopped: {stop}"


def finish_stopped_run(out_dir: Path, results: list[ItemResult], run_info: dict[str, Any],
                       stop: BaseException) -> RenderReport:
    """Results and gallery of a run that stopped early: the items it did not reach (``not_rendered``) fail with
    reason ``interrupted``; finished items keep their results. If even these files cannot be written (a full
    disk), the report says so instead of raising."""
    why = stop_reason(stop)
    results = [replace(result, reason="interrupted", detail=f"{why} before this item; rerun to render it")
               if result.status == "failed" and result.reason == "not_rendered" else result for result in results]
    try:
        return finish_run(out_dir, results, {**run_info, "stopped": why})
    except OutputWriteError:
        return RenderReport(results, out_dir, stopped=why, results_written=False)


def _render_pending(pipe: Any, plan: RenderPlan, out_dir: Path, settings: RenderSettings,
                    rendered: dict[str, ItemResult]) -> None:
    """Render ``plan.pending`` batch by batch, adding each item's result to ``rendered`` as it is written."""
    from tqdm import tqdm

    batches = [plan.pending[start:start + settings.batch_size]
               for start in range(0, len(plan.pending), settings.batch_size)]
    pool = ThreadPoolExecutor(max_workers=max(1, settings.loader_threads))

    def submit(batch: list[PlannedItem]) -> list[Future]:
        return [pool.submit(load_for_render, planned, settings.max_pixels) for planned in batch]

    try:
        with tqdm(total=len(plan.pending), desc="rendering", unit="image", file=sys.stderr,
                  disable=not settings.progress) as bar:
            upcoming = submit(batches[0]) if batches else []
            for index, batch in enumerate(batches):
                started = time.perf_counter()
                loaded = [future.result() for future in upcoming]
                upcoming = submit(batches[index + 1]) if index + 1 < len(batches) else []
                for result in _render_batch(pipe, out_dir, batch, loaded, settings, started):
                    rendered[result.id] = result
                bar.update(len(batch))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # on a stop, do not decode the next batch first


def effective_sampling(pipe: Any, settings: RenderSettings) -> dict[str, Any] | None:
    """The sampling settings in effect (the pipeline's defaults, overridden by ``settings``), or ``None`` for a
    deterministic stage 1 (which refuses seed, steps and guidance: one-line ``ValueError``)."""
    pipe.check_sampling(settings.seed, settings.steps, settings.guidance)
    if not getattr(pipe, "is_generative", False):
        return None
    values = dict(pipe.sampling_defaults())
    values.update({name: value for name, value in (("steps", settings.steps), ("guidance", settings.guidance))
                   if value is not None})
    return values


def render_collection(pipe: Any, collection: Collection, out_dir: str | os.PathLike,
                      settings: RenderSettings = RenderSettings(), model_identity: str | None = None,
                      model_name: str = "", wait_for_lock: bool = False) -> RenderReport:
    """Render every item of ``collection`` with ``pipe`` (an ``Art2Music``) into ``out_dir``.

    Holds the output folder's lock (:mod:`art2music.render.lock`) for the whole run.

    Args:
        model_identity: the model's hash for fingerprints (default: hashed from the pipeline's tensors).
        model_name: shown in the results and the gallery (e.g. ``demo`` or a folder).
        wait_for_lock: if another process renders into ``out_dir``, wait for it instead of raising.

    Raises:
        OutputLocked, OutputFolderError: before anything is rendered (another render holds the folder; the
            folder cannot be created or written).
        RenderInterrupted, KeyboardInterrupt, OutputWriteError: the run stopped early. ``results.json`` and the
            gallery then list what was finished (items not reached fail with reason ``interrupted``), finished
            outputs are complete, a rerun renders the rest; the exception's ``report`` attribute holds the
            :class:`RenderReport`.
    """
    out_dir = Path(out_dir)
    with lock_output_folder(out_dir, wait=wait_for_lock):
        remove_stale_temporaries(out_dir)
        run_info = {"started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "model": model_name,
                    "model_identity": model_identity or pipeline_identity(pipe), "batch_size": settings.batch_size,
                    "wav_format": settings.wav_format, "sample_rate": pipe.sample_rate, "devices": 1,
                    "precision": getattr(pipe, "precisions", {}),
                    "target": {"emotion": settings.emotion, "va": list(settings.va)} if settings.va else None,
                    "va_judge": getattr(pipe, "va_judge", None) is not None}
        samples = pipe.frames_for(settings.seconds) * pipe.mel_config.hop_length
        plan = plan_render(collection, out_dir, run_info["model_identity"], settings, pipe.sample_rate, samples,
                           effective_sampling(pipe, settings))
        rendered: dict[str, ItemResult] = {}
        try:
            _render_pending(pipe, plan, out_dir, settings, rendered)
            return finish_run(out_dir, collect_results(collection, plan, out_dir, rendered), run_info)
        except (RenderInterrupted, KeyboardInterrupt, OutputWriteError) as stop:
            stop.report = finish_stopped_run(out_dir, collect_results(collection, plan, out_dir, rendered),
                                              run_info, stop)
            raise
