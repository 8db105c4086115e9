"""Stage-1 training data: pairs read from an ArtiCaps folder (``manifest.csv`` + ``cache/``).

Two modes:

- **cached** (default, encoder frozen): each item is the cached image and comment embeddings plus the
  cached mel, read from memory maps. No image is opened and the encoder never runs.
- **on the fly** (``on_the_fly=True``, used only when the encoder is trained): each item is the
  preprocessed image and the tokenized comment, encoded in the training step; mels still come from the cache.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from art2music.articaps.feature_cache import FeatureCache
from art2music.articaps.manifest import Manifest, read_manifest
from art2music.encoders.clip import DEFAULT_TEXT_TEMPLATE, comment_text
from art2music.io.images import load_image
from vocoder.mel import MelConfig


def pair_valence_arousal(manifest: Manifest) -> np.ndarray:
    """``(rows, 2)`` float32: each pair's (valence, arousal), its comment's emotion through the emotion table."""
    from art2music.emotions import VALENCE_AROUSAL

    return np.asarray([VALENCE_AROUSAL[record.emotion] for record in manifest], dtype=np.float32).reshape(-1, 2)


class CachedPairs(Dataset):
    """Rows ``indices`` of a feature cache → dicts of ``text_embedding (D,)``, ``image_embedding (D,)``,
    ``mel (n_mels, frames)`` float32 tensors, ``va (2,)`` (the pair's valence/arousal, NaN when unknown) and
    ``index``.

    The memory maps are opened lazily in each worker process (a memmap pickled into a worker would be copied).
    """

    def __init__(self, cache_dir: str | Path, indices: list[int], va: np.ndarray | None = None):
        self.cache_dir = Path(cache_dir)
        self.indices = list(indices)
        self.va = va
        self._cache: FeatureCache | None = None

    def _open(self) -> FeatureCache:
        if self._cache is None:
            self._cache = FeatureCache.open(self.cache_dir)
        return self._cache

    def __len__(self) -> int:
        return len(self.indices)

    def _va(self, row: int) -> torch.Tensor:
        if self.va is None:
            return torch.full((2,), float("nan"))
        return torch.from_numpy(self.va[row].copy())

    def __getitem__(self, item: int) -> dict[str, Any]:
        cache = self._open()
        row = self.indices[item]
        return {"text_embedding": torch.from_numpy(np.array(cache.text_embeddings[row], dtype=np.float32)),
                "image_embedding": torch.from_numpy(np.array(cache.image_embeddings[row], dtype=np.float32)),
                "mel": torch.from_numpy(cache.mel(row)),
                "va": self._va(row),
                "index": row}

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_cache": None}


class EncoderInputPairs(CachedPairs):
    """Like :class:`CachedPairs` but yields ``pixels (3, H, W)`` and ``tokens (L,)`` instead of embeddings."""

    def __init__(self, cache_dir: str | Path, indices: list[int], manifest: Manifest,
                 image_transform: Callable, tokenizer: Callable, text_template: str, va: np.ndarray | None = None):
        super().__init__(cache_dir, indices, va)
        self.manifest = manifest
        self.image_transform = image_transform
        self.tokenizer = tokenizer
        self.text_template = text_template

    def __getitem__(self, item: int) -> dict[str, Any]:
        cache = self._open()
        row = self.indices[item]
        record = self.manifest[row]
        pixels = self.image_transform(load_image(self.manifest.resolve(record.image_path)))
        text = comment_text(self.text_template, record.comment, record.emotion)
        return {"pixels": pixels, "tokens": self.tokenizer([text])[0],
                "mel": torch.from_numpy(cache.mel(row)),
                "va": self._va(row),
                "index": row}


class Stage1DataModule(L.LightningDataModule):
    """Train/val/test loaders over an ArtiCaps folder built by ``art2music build-articaps``.

    Args:
        data_dir: folder with ``manifest.csv`` and ``cache/`` (e.g. ``datasets/demo/articaps``).
        batch_size: pairs per batch.
        num_workers: loader worker processes (0 = load in the main process).
        on_the_fly: yield encoder inputs instead of cached embeddings (set when the encoder is trained).
        mel: the mel definition the model is trained for; the cache must have been built with it.
    """

    def __init__(self, data_dir: str = "datasets/demo/articaps", batch_size: int = 32, num_workers: int = 2,
                 on_the_fly: bool = False, mel: MelConfig = MelConfig()):
        super().__init__()
        self.data_dir = Path(data_dir)
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.on_the_fly = on_the_fly
        self.mel_config = mel
        self.manifest: Manifest | None = None
        self.cache: FeatureCache | None = None
        self.image_transform: Callable | None = None
        self.tokenizer: Callable | None = None
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")

    # Read from cache.json without opening the arrays: LightningCLI links these into the model's arguments.
    def _meta(self) -> dict[str, Any]:
        import json

        path = self.data_dir / "cache" / "cache.json"
        if not path.is_file():
            raise FileNotFoundError(f"no feature cache at {path.parent}: build the data first "
                                    f"(`make demo-data`, or `art2music build-articaps ... --out {self.data_dir}`)")
        return json.loads(path.read_text(encoding="utf-8"))

    @property
    def embed_dim(self) -> int:
        """Size of the cached embeddings (the encoder's output size)."""
        return int(self._meta()["embed_dim"])

    @property
    def frames(self) -> int:
        """Frames per cached mel."""
        return int(self._meta()["frames"])

    @property
    def encoder_spec(self) -> dict[str, Any]:
        """The encoder (and text template) the cache was built with."""
        return dict(self._meta()["encoder"])

    @property
    def text_template(self) -> str:
        """How comments were written for the encoder when the cache was built."""
        return str(self.encoder_spec.get("text_template", "{comment}"))

    def attach_encoder(self, image_transform: Callable, tokenizer: Callable) -> None:
        """Give the on-the-fly mode the encoder's image preprocessing and tokenizer."""
        self.image_transform, self.tokenizer = image_transform, tokenizer

    def setup(self, stage: str | None = None) -> None:
        if self.manifest is not None:
            return
        self.manifest = read_manifest(self.data_dir / "manifest.csv")
        self.cache = FeatureCache.open(self.data_dir / "cache", mel_config=self.mel_config, ids=self.manifest.ids)
        missing = self.cache.missing_rows()
        if missing.size:
            raise RuntimeError(f"feature cache {self.data_dir / 'cache'} is incomplete: {missing.size} of "
                               f"{len(self.cache)} rows not computed (e.g. {self.manifest[int(missing[0])].id}); "
                               f"rerun the builder to finish it")
        if not self.manifest.split_indices("train"):
            raise RuntimeError(f"{self.data_dir / 'manifest.csv'} has no 'train' rows")

    def mean_train_mel(self) -> torch.Tensor:
        """Per-bin mean log-mel ``(n_mels,)`` over the training split (a decoder initialisation)."""
        assert self.manifest is not None and self.cache is not None, "call setup() first"
        rows = np.asarray(self.manifest.split_indices("train"))
        return torch.from_numpy(self.cache.mean_mel_per_bin(rows))

    def train_mel_statistics(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-bin mean and std ``(n_mels,)`` of the training split's log-mels (the flow decoder's normalisation)."""
        assert self.manifest is not None and self.cache is not None, "call setup() first"
        mean, std = self.cache.mel_statistics_per_bin(np.asarray(self.manifest.split_indices("train")))
        return torch.from_numpy(mean), torch.from_numpy(std)

    def _dataset(self, split: str) -> Dataset:
        assert self.manifest is not None, "call setup() first"
        indices = self.manifest.split_indices(split)
        va = pair_valence_arousal(self.manifest)
        if self.on_the_fly:
            if self.image_transform is None or self.tokenizer is None:
                raise RuntimeError("on_the_fly data needs attach_encoder(image_transform, tokenizer) first")
            template = self.encoder_spec.get("text_template", DEFAULT_TEXT_TEMPLATE)
            return EncoderInputPairs(self.data_dir / "cache", indices, self.manifest, self.image_transform,
                                     self.tokenizer, template, va)
        return CachedPairs(self.data_dir / "cache", indices, va)

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        dataset = self._dataset(split)
        return DataLoader(dataset, batch_size=self.batch_size, shuffle=shuffle, num_workers=self.num_workers,
                          persistent_workers=self.num_workers > 0, drop_last=False,
                          pin_memory=torch.cuda.is_available())

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)
