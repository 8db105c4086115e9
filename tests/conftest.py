"""Shared test setup: offline hub, few threads, and a tiny synthetic ArtiCaps folder."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(2)


def call_within(seconds: float, function, *args, **kwargs):
    """``function(*args, **kwargs)``'s result, or the exception it raised (returned, for the test to assert on);
    fails the test instead of hanging the suite when it does not return within ``seconds`` (a FIFO read ...)."""
    import threading

    outcome: list = []

    def target() -> None:
        try:
            outcome.append(function(*args, **kwargs))
        except BaseException as error:  # handed to the test thread, which asserts on it
            outcome.append(error)

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"{getattr(function, '__name__', function)} did not return within {seconds} s"
    return outcome[0]


def make_tiny_articaps(directory: Path, count: int = 12, frames: int = 16, embed_dim: int = 8, seed: int = 0,
                       encoder_spec: dict | None = None) -> Path:
    """Write a synthetic ArtiCaps folder (manifest.csv, images/, cache/) whose mels depend on the embeddings.

    Each pair gets one of two 'emotions'; its embeddings are a per-emotion direction plus noise, its mel a
    per-emotion spectral shape, so a model can learn the mapping. Returns ``directory``.
    """
    from PIL import Image

    from art2music.articaps.feature_cache import FeatureCache
    from art2music.articaps.manifest import Manifest, ManifestRow
    from art2music.encoders.clip import DEFAULT_TEXT_TEMPLATE
    from vocoder.mel import MelConfig

    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "images").mkdir(exist_ok=True)
    emotions = ["amusement", "sadness"]
    directions = rng.normal(size=(2, embed_dim)).astype(np.float32)
    splits = ["train"] * (count - 4) + ["val"] * 2 + ["test"] * 2
    rows, labels = [], []
    for index in range(count):
        label = index % 2
        labels.append(label)
        colour = (230, 180, 40) if label == 0 else (30, 40, 120)
        Image.new("RGB", (24, 20), colour).save(directory / "images" / f"p{index}.png")
        rows.append(ManifestRow(id=f"pair{index:03d}", image_path=f"images/p{index}.png",
                                comment=f"comment {index}", emotion=emotions[label],
                                audio_path=f"audio/c{index}.wav", caption="a caption", match_score=0.5,
                                split=splits[index]))
    Manifest(rows, directory).write(directory / "manifest.csv")
    mel_config = MelConfig()
    spec = encoder_spec or {"arch": "art2music-tiny", "pretrained": None, "normalize": True, "embed_dim": embed_dim,
                            "text_template": DEFAULT_TEXT_TEMPLATE}
    cache = FeatureCache.create(directory / "cache", [r.id for r in rows], frames, mel_config, spec, embed_dim)
    bins = np.linspace(0, 1, mel_config.n_mels)[:, None]
    time = np.linspace(0, 1, frames)[None, :]
    for index, label in enumerate(labels):
        shape = -8 + 4 * np.exp(-((bins - (0.2 if label == 0 else 0.7)) ** 2) / 0.01) + 0.5 * np.sin(6 * time + label)
        cache.write_mel(index, shape.astype(np.float32))
    embeddings = directions[labels] + 0.1 * rng.normal(size=(count, embed_dim)).astype(np.float32)
    cache.write_embeddings(list(range(count)), embeddings, embeddings[:, ::-1].copy())
    cache.flush()
    return directory


@pytest.fixture
def tiny_articaps(tmp_path: Path) -> Path:
    return make_tiny_articaps(tmp_path / "articaps")
