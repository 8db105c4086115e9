"""Feature extraction for planned pairs: clip mels in a process pool, CLIP embeddings in batches.

Works on one :class:`~art2music.articaps.feature_cache.FeatureCache` whose row ``k`` is ``rows[k]``. Only rows
not yet marked done are processed, so an interrupted run resumes where it stopped. A clip shared by
several pairs is decoded once; a painting shared by several comments of one encoder batch is embedded once.
Embedding batches have boundaries fixed in plan order (:func:`embedding_batches`). Items that cannot
be used come back as :class:`SkippedItem` (their rows stay not-done and are left out when merging).
"""

from __future__ import annotations

import functools
import os
import multiprocessing
import sys
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from art2music.io.audio import (DEFAULT_MIN_SECONDS, PAPER_CLIP_SECONDS, ClipJob, ClipResult, check_clip_job,
                                clip_mel_job, clip_num_samples)
from art2music.articaps.build_report import SkippedItem
from art2music.articaps.feature_cache import FeatureCache
from art2music.io.images import ImageLoadError, load_image
from art2music.articaps.manifest import ManifestRow
from art2music.encoders.clip import DEFAULT_TEXT_TEMPLATE
from vocoder.mel import MelConfig

MIN_JOBS_PER_WORKER = 8
"""Below this many clips per worker, starting worker processes costs more than it saves (a clip takes tens
of milliseconds), so the clips are decoded in this process."""

FLUSH_EVERY = 64
"""Rows written between flushes of the memory maps (bounds the work lost to a crash)."""


@dataclass(frozen=True)
class FeatureSettings:
    """How features are computed.

    Attributes:
        mel_config: the mel definition.
        num_samples: clip length in samples at ``mel_config.sample_rate`` (crop/pad target).
        min_seconds: shorter clips are rejected.
        text_template: format string for the comment text given to CLIP (``{comment}``, ``{emotion}``).
        workers: processes decoding audio (1: in this process).
        batch_size: images/texts per encoder forward pass.
        progress: show tqdm bars on stderr.
    """

    mel_config: MelConfig = MelConfig()
    num_samples: int = clip_num_samples(PAPER_CLIP_SECONDS)
    min_seconds: float = DEFAULT_MIN_SECONDS
    text_template: str = DEFAULT_TEXT_TEMPLATE
    workers: int = 1
    batch_size: int = 32
    progress: bool = True


def progress_bar(iterable, total: int, desc: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, unit="item", file=sys.stderr, disable=not enabled, dynamic_ncols=True)


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)  # one process per core; intra-op threads would oversubscribe


def clip_mels(jobs: Sequence[ClipJob], mel_config: MelConfig, workers: int,
              use_pool: bool | None = None) -> Iterator[ClipResult]:
    """Decode clips and compute their mels, in ``workers`` processes (results in job order).

    ``use_pool`` None (default) decides: one worker or a small batch (see :data:`MIN_JOBS_PER_WORKER`) runs
    in this process; True/False force a process pool / this process.
    """
    yield from _map_clips(functools.partial(clip_mel_job, config=mel_config), jobs, workers, use_pool)


def clip_checks(jobs: Sequence[ClipJob], mel_config: MelConfig, workers: int) -> Iterator[ClipResult]:
    """Check clips are usable (:func:`~art2music.io.audio.check_clip_job`), like :func:`clip_mels`."""
    yield from _map_clips(functools.partial(check_clip_job, config=mel_config), jobs, workers, None)


def _map_clips(worker, jobs: Sequence[ClipJob], workers: int, use_pool: bool | None) -> Iterator[ClipResult]:
    """``worker`` over ``jobs`` in this process or a process pool (see :func:`clip_mels`)."""
    if use_pool is None:
        use_pool = workers > 1 and len(jobs) >= MIN_JOBS_PER_WORKER * workers
    if not use_pool:
        import torch

        # One intra-op thread: a clip's STFT is too small to split, and on a busy machine two threads
        # contending for cores made it 4x slower (bench/bench_builder.py).
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield from map(worker, jobs)
        finally:
            torch.set_num_threads(threads)
        return
    # fork starts a worker in milliseconds; spawn re-imports torch in each worker (seconds). Forking after
    # torch ran is safe here because workers set one intra-op thread (as DataLoader workers do) before any op.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_init_worker) as pool:
        yield from pool.map(worker, jobs, chunksize=max(1, min(16, len(jobs) // (4 * workers))))


def extract_mels(cache: FeatureCache, rows: Sequence[ManifestRow], root: Path, settings: FeatureSettings
                 ) -> list[SkippedItem]:
    """Fill the mels of every row not yet done; returns the clips that failed (one item per clip)."""
    by_clip: dict[str, list[int]] = defaultdict(list)
    for index in np.flatnonzero(np.asarray(cache.mel_done) == 0):
        by_clip[rows[index].audio_path].append(int(index))
    jobs = [ClipJob(path, str(_resolve(root, path)), settings.num_samples, settings.min_seconds) for path in by_clip]
    failures: list[SkippedItem] = []
    written = 0
    results = clip_mels(jobs, settings.mel_config, settings.workers)
    for result in progress_bar(results, len(jobs), "clip mels", settings.progress):
        targets = by_clip[result.key]
        if result.mel is None:
            failures.append(SkippedItem("audio", str(_resolve(root, result.key)), result.reason, result.detail))
            continue
        for index in targets:
            cache.write_mel(index, result.mel)
        written += len(targets)
        if written >= FLUSH_EVERY:
            cache.flush()
            written = 0
    cache.flush()
    return failures


def _resolve(root: Path, path: str) -> Path:
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else Path(os.path.normpath(root / candidate))


def comment_text(template: str, row: ManifestRow) -> str:
    """The text CLIP embeds for a row: ``template`` filled with the row's ``comment`` and ``emotion``."""
    from art2music.encoders.clip import comment_text as encoder_text

    return encoder_text(template, row.comment, row.emotion)


def embedding_batches(positions: Sequence[int], batch_size: int) -> list[list[int]]:
    """Group rows into encoder batches whose boundaries are fixed in plan order.

    Args:
        positions: ``positions[i]`` is the plan row (0-based, in the whole plan) of local row ``i``.
        batch_size: rows per batch.

    Returns:
        Local row indices, grouped by ``position // batch_size`` (in plan order). A batch's composition,
        not only its rows, changes an encoder's float results in the last bits, so a shard that owns whole
        chunks of the plan (see :mod:`art2music.articaps.shards`) computes the batches a single build computes.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    groups: dict[int, list[int]] = defaultdict(list)
    for local, position in enumerate(positions):
        groups[int(position) // batch_size].append(local)
    return [groups[key] for key in sorted(groups)]


def extract_embeddings(cache: FeatureCache, rows: Sequence[ManifestRow], root: Path, encoder,
                       settings: FeatureSettings, skip: set[int] = frozenset(),
                       positions: Sequence[int] | None = None) -> list[SkippedItem]:
    """Fill the image and comment embeddings of rows not yet done (rows in ``skip`` are left alone).

    Rows are embedded in the batches of :func:`embedding_batches` (``positions`` default: the local row
    numbers). A batch with any row left to do is embedded whole, so a resumed run computes the same
    batches as an uninterrupted one. A painting used by several rows of a batch is embedded once.
    Images are decoded by a thread pool (Pillow releases the GIL) while the encoder runs in this process.
    Returns one item per image that could not be loaded.
    """
    positions = range(len(rows)) if positions is None else positions
    done = np.asarray(cache.embedding_done) == 1
    batches = [[index for index in batch if index not in skip]
               for batch in embedding_batches(positions, settings.batch_size)]
    batches = [batch for batch in batches if batch and not done[batch].all()]
    failures: list[SkippedItem] = []

    def load(path: str):
        try:
            return encoder.preprocess([load_image(_resolve(root, path))])[0], None
        except ImageLoadError as error:
            return None, error

    bar = progress_bar(None, sum(len(batch) for batch in batches), "embeddings", settings.progress)
    with ThreadPoolExecutor(max_workers=max(1, settings.workers)) as threads:
        for batch in batches:
            by_image: dict[str, list[int]] = defaultdict(list)
            for index in batch:
                by_image[rows[index].image_path].append(index)
            pixels, row_groups = [], []
            for (path, group), (tensor, error) in zip(by_image.items(), threads.map(load, by_image)):
                if error is not None:
                    failures.append(SkippedItem("wikiart", str(error.path), "corrupt_image",
                                                f"{error.reason}: {error.detail}"))
                    continue
                pixels.append(tensor)
                row_groups.append(group)
            bar.update(len(batch))
            if pixels:
                _embed_batch(cache, rows, encoder, settings.text_template, pixels, row_groups)
    bar.close()
    return failures


def _embed_batch(cache: FeatureCache, rows: Sequence[ManifestRow], encoder, text_template: str,
                 pixels: list, row_groups: list[list[int]]) -> None:
    """Embed one batch: ``pixels[i]`` is the preprocessed painting of rows ``row_groups[i]``."""
    import torch

    device = next(encoder.parameters()).device
    indices = [index for group in row_groups for index in group]
    texts = [comment_text(text_template, rows[index]) for index in indices]
    with torch.no_grad():
        image_vectors = encoder.encode_images(torch.stack(pixels).to(device)).float().cpu().numpy()
        text_vectors = encoder.encode_texts(encoder.tokenize(texts).to(device)).float().cpu().numpy()
    image_rows = np.repeat(image_vectors, [len(group) for group in row_groups], axis=0)
    cache.write_embeddings(indices, image_rows, text_vectors)
    cache.flush()
