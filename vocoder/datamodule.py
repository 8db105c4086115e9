"""Lightning data module for vocoder training: train/val loaders of (mel segment, audio segment) pairs."""

from __future__ import annotations

import lightning as L
import torch
from torch.utils.data import DataLoader

from vocoder.dataset import (MODES, VocoderDataset, VocoderItem, check_files_exist, read_manifest_items,
                             read_predicted_items)
from vocoder.mel import MelConfig

__all__ = ["VocoderDataModule"]


class VocoderDataModule(L.LightningDataModule):
    """Batches of ``mel (B, n_mels, segment/hop)`` and ``audio (B, 1, segment)``.

    Args:
        manifest: ArtiCaps manifest CSV (columns ``id``, ``audio_path``, ``split``); the clips for
            ``ground_truth`` mode, and the split of each id in ``predicted`` mode if ``index.csv`` has none.
        predicted_mels: folder with ``index.csv`` (``id,audio_path,mel_path``) of stage-1 predicted mels
            (``predicted`` mode).
        mode: ``"ground_truth"`` (mels computed from the audio) or ``"predicted"``.
        segment_size: training segment in samples (HiFi-GAN: 8192 = 0.37 s at 22.05 kHz).
        val_segment_size: validation segment in samples, taken from each clip's start.
        batch_size: training batch size (HiFi-GAN V1: 16).
        num_workers: data-loading worker processes.
        max_val_clips: at most this many validation clips (validation runs every epoch).
        train_split / val_split: manifest ``split`` values used for training and validation.
        skip_bad_audio: warn about and skip unreadable or silent clips instead of stopping (exit code 1).
    """

    def __init__(self, manifest: str | None = None, predicted_mels: str | None = None, mode: str = "ground_truth",
                 segment_size: int = 8192, val_segment_size: int = 65536, batch_size: int = 16,
                 num_workers: int = 2, max_val_clips: int = 8, train_split: str = "train",
                 val_split: str = "val", skip_bad_audio: bool = False) -> None:
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"data.mode must be one of {MODES}, got {mode!r}")
        if mode == "ground_truth" and manifest is None:
            raise ValueError("data.mode 'ground_truth' needs data.manifest (an ArtiCaps manifest CSV with audio_path)")
        if mode == "predicted" and predicted_mels is None:
            raise ValueError("data.mode 'predicted' needs data.predicted_mels (a folder with index.csv)")
        if batch_size < 1 or max_val_clips < 0 or num_workers < 0:
            raise ValueError("batch_size must be >= 1, max_val_clips and num_workers >= 0")
        self.save_hyperparameters()
        self.mel_config = MelConfig()
        self.train_set: VocoderDataset | None = None
        self.val_set: VocoderDataset | None = None

    def _items(self) -> tuple[list[VocoderItem], str]:
        hp = self.hparams
        if hp.mode == "ground_truth":
            return read_manifest_items(hp.manifest), str(hp.manifest)
        return read_predicted_items(hp.predicted_mels, hp.manifest), f"{hp.predicted_mels}/index.csv"

    def setup(self, stage: str | None = None) -> None:
        hp = self.hparams
        items, source = self._items()
        train = [item for item in items if item.split == hp.train_split]
        val = [item for item in items if item.split == hp.val_split][: hp.max_val_clips]
        if stage in (None, "fit") and not train:
            splits = sorted({item.split for item in items})
            raise ValueError(f"no '{hp.train_split}' clips in {source} (splits present: {splits})")
        check_files_exist(train + val, source)
        self.train_set = VocoderDataset(train, hp.mode, hp.segment_size, self.mel_config, random_segments=True,
                                        skip_bad_audio=hp.skip_bad_audio)
        self.val_set = VocoderDataset(val, hp.mode, hp.val_segment_size, self.mel_config, random_segments=False,
                                      skip_bad_audio=hp.skip_bad_audio)

    def _loader(self, dataset: VocoderDataset, batch_size: int, shuffle: bool) -> DataLoader:
        workers = self.hparams.num_workers
        return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, num_workers=workers,
                          drop_last=shuffle and len(dataset) >= batch_size, persistent_workers=workers > 0,
                          pin_memory=torch.cuda.is_available())

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, self.hparams.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, 1, shuffle=False)
