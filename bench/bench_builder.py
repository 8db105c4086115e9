"""ArtiCaps builder throughput: clip mels (clips/s, 1 vs 2 worker processes), image embeddings (images/s),
and comment/caption sentence embeddings for matching (sentences/s).

- mels: MusicCaps-like clips (10 s, 48 kHz stereo WAV; decoded, mixed to mono, resampled to 22050 Hz with
  soxr, 10 s + 1 hop cropped, log-mel) through :func:`art2music.articaps.features.clip_mels`, the builder's own
  path, with a process pool of 1 and of 2 workers (forked; one torch thread each), and once in this process
  (torch's default threads). The wall time includes the pool's start-up; ``steady_clips_per_s`` leaves it
  out (from the first result to the last).
- images: 256x256 JPEG paintings through ``load_image`` → ``ClipEncoder.preprocess`` → ``encode_images`` in
  batches of 32 (what the builder does per batch), for the tiny demo encoder and ViT-B-32 (random init: the
  speed does not depend on the weights; ViT-H-14 is ~15x ViT-B-32's compute and too slow to time on CPU).
- sentences: all-MiniLM-L6-v2 on ArtEmis-length comments, batch 128.

The load average is recorded with the results: the machine is shared, so numbers vary with other jobs.

Usage: python bench/bench_builder.py [--clips 48] [--images 64] [--quick]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from common import write_result


def make_clips(directory: Path, count: int, seconds: float = 10.0, rate: int = 48000) -> list[Path]:
    import soundfile

    rng = np.random.default_rng(0)
    paths = []
    t = np.arange(int(seconds * rate)) / rate
    for index in range(count):
        left = 0.3 * np.sin(2 * np.pi * (110 + 20 * index) * t) + 0.05 * rng.normal(size=t.size)
        stereo = np.stack([left, np.roll(left, 100)], axis=1).astype(np.float32)
        path = directory / f"clip{index:03d}.wav"
        soundfile.write(path, stereo, rate, subtype="PCM_16")
        paths.append(path)
    return paths


def time_mels(paths: list[Path], workers: int, use_pool: bool) -> dict:
    from art2music.io.audio import ClipJob, clip_num_samples
    from art2music.articaps.features import clip_mels
    from vocoder.mel import MelConfig

    jobs = [ClipJob(str(p), str(p), clip_num_samples(10.0)) for p in paths]
    list(clip_mels(jobs[:1], MelConfig(), 1))  # warm-up: librosa's filterbank, soxr, first-call costs
    started = time.perf_counter()
    first = None
    for result in clip_mels(jobs, MelConfig(), workers, use_pool=use_pool):
        assert result.mel is not None, result.detail
        first = first or time.perf_counter()
    wall = time.perf_counter() - started
    steady = time.perf_counter() - first
    return {"workers": workers, "process_pool": use_pool, "clips": len(jobs), "wall_s": round(wall, 2), "clips_per_s": round(len(jobs) / wall, 2),
            "steady_clips_per_s": round((len(jobs) - 1) / steady, 2) if steady > 0 else None}


def time_images(directory: Path, count: int, arch: str, batch_size: int = 32) -> dict:
    import torch
    from concurrent.futures import ThreadPoolExecutor
    from PIL import Image

    from art2music.io.images import load_image
    from art2music.encoders.clip import ClipEncoder

    rng = np.random.default_rng(0)
    paths = []
    for index in range(count):
        path = directory / f"painting{index:03d}.jpg"
        if not path.exists():
            Image.fromarray(rng.integers(0, 255, (256, 256, 3), dtype=np.uint8)).save(path, quality=90)
        paths.append(path)
    encoder = ClipEncoder(arch, None)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as threads, torch.no_grad():
        for start in range(0, count, batch_size):
            pixels = list(threads.map(lambda p: encoder.preprocess([load_image(p)])[0], paths[start:start + batch_size]))
            encoder.encode_images(torch.stack(pixels))
    wall = time.perf_counter() - started
    return {"arch": arch, "images": count, "wall_s": round(wall, 2), "images_per_s": round(count / wall, 1)}


def time_sentences(count: int) -> dict:
    from art2music.articaps.text_embedding import SentenceEmbedder

    embedder = SentenceEmbedder()
    texts = [f"The swirling blue strokes and the dark sky make me feel lonely and small, number {i}" for i in range(count)]
    embedder.embed(texts[:16])  # warm-up
    started = time.perf_counter()
    embedder.embed(texts)
    wall = time.perf_counter() - started
    return {"model": "all-MiniLM-L6-v2", "sentences": count, "wall_s": round(wall, 2),
            "sentences_per_s": round(count / wall, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=48)
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--sentences", type=int, default=512)
    parser.add_argument("--quick", action="store_true", help="fewer items (a smoke run)")
    args = parser.parse_args()
    if args.quick:
        args.clips, args.images, args.sentences = 32, 32, 128
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        paths = make_clips(tmp_path, args.clips)
        in_process = time_mels(paths, 1, use_pool=False)
        mels = [time_mels(paths, workers, use_pool=True) for workers in (1, 2)]
        images = [time_images(tmp_path, args.images, arch) for arch in ("art2music-tiny", "ViT-B-32")]
    sentences = time_sentences(args.sentences)
    speedup = mels[1]["clips_per_s"] / mels[0]["clips_per_s"]
    steady_speedup = (mels[1]["steady_clips_per_s"] or 0) / (mels[0]["steady_clips_per_s"] or 1)
    payload = {"mel_extraction": mels, "mel_extraction_in_process": in_process, "mel_speedup_1_to_2_workers": round(speedup, 2),
               "mel_steady_speedup_1_to_2_workers": round(steady_speedup, 2), "image_embedding": images,
               "sentence_embedding": sentences,
               "load_average": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)}}
    path = write_result("builder", payload)
    print(path.read_text())


if __name__ == "__main__":
    main()
