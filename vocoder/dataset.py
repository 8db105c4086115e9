"""Training examples for the vocoder: (input mel segment, matching audio segment) pairs.

Two sources of input mels (``mode``):

- ``ground_truth``: the mel is computed from the audio segment with :func:`vocoder.mel.mel_spectrogram`
  (pre-training, or domain adaptation of a speech checkpoint to music).
- ``predicted``: the mel is a stage-1 prediction stored as ``.npy`` ``(n_mels, frames)`` float32, aligned with
  the true audio exactly like ``mel_spectrogram(audio)`` (frame ``k`` <-> samples ``k*hop ...``); the generator
  learns to turn imperfect predicted mels into the true audio (HiFi-GAN's fine-tuning recipe, section 4.4).

Lists come from an ArtiCaps manifest CSV (columns ``id``, ``audio_path``, ``split``) or a predicted-mel folder's
``index.csv`` (columns ``id,audio_path,mel_path`` and optionally ``split``); relative paths are relative to the
CSV's folder. This module reads those CSVs itself so that ``vocoder`` never imports ``art2music``.
"""

from __future__ import annotations

import csv
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from vocoder.audio import AudioError, load_audio
from vocoder.mel import MelConfig, mel_spectrogram

__all__ = ["VocoderItem", "VocoderDataset", "read_manifest_items", "read_predicted_items", "MODES"]

MODES = ("ground_truth", "predicted")


@dataclass(frozen=True)
class VocoderItem:
    """One training clip: its id, audio file, optional predicted-mel file and split (train/val/test)."""

    id: str
    audio_path: Path
    split: str
    mel_path: Path | None = None


def _read_csv(path: Path, required: tuple[str, ...]) -> list[dict[str, str]]:
    if not path.is_file():
        raise FileNotFoundError(f"vocoder data list not found: {path}")
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            columns = reader.fieldnames or []
            missing = [c for c in required if c not in columns]
            if missing:
                raise ValueError(f"{path} lacks column(s) {missing}; it has {columns}")
            return list(reader)
    except UnicodeDecodeError as error:
        raise ValueError(f"{path} is not UTF-8 text ({error}); re-save it as UTF-8 CSV") from error


def _resolve(folder: Path, value: str, path: Path, line: int, column: str) -> Path:
    if not value:
        raise ValueError(f"{path} line {line}: empty {column}")
    candidate = Path(value)
    return candidate if candidate.is_absolute() else folder / candidate


def read_manifest_items(manifest: str | Path) -> list[VocoderItem]:
    """Distinct audio clips of an ArtiCaps manifest (many comments share one clip: each clip is kept once)."""
    manifest = Path(manifest)
    rows = _read_csv(manifest, ("audio_path", "split"))
    items, seen = [], set()
    for line, row in enumerate(rows, start=2):
        audio = _resolve(manifest.parent, row["audio_path"], manifest, line, "audio_path")
        if audio in seen:
            continue
        seen.add(audio)
        items.append(VocoderItem(row.get("id") or audio.stem, audio, row["split"].strip()))
    return items


def read_predicted_items(folder: str | Path, manifest: str | Path | None = None) -> list[VocoderItem]:
    """Rows of ``folder/index.csv``. The split comes from its ``split`` column, else from ``manifest`` by id,
    else a fixed 10 % of ids (by CRC32 of the id) is held out for validation."""
    index = Path(folder) / "index.csv"
    rows = _read_csv(index, ("id", "audio_path", "mel_path"))
    splits = {}
    if rows and "split" not in rows[0] and manifest is not None:
        splits = {row["id"]: row["split"].strip() for row in _read_csv(Path(manifest), ("id", "split"))}
    items = []
    for line, row in enumerate(rows, start=2):
        split = (row.get("split") or splits.get(row["id"]) or
                 ("val" if zlib.crc32(row["id"].encode()) % 10 == 0 else "train")).strip()
        items.append(VocoderItem(row["id"], _resolve(index.parent, row["audio_path"], index, line, "audio_path"),
                                 split, _resolve(index.parent, row["mel_path"], index, line, "mel_path")))
    return items


def check_files_exist(items: list[VocoderItem], what: str) -> None:
    """Raise ``FileNotFoundError`` listing (up to 5 of) the missing audio / mel files."""
    missing = [str(p) for item in items for p in (item.audio_path, item.mel_path) if p is not None and not p.is_file()]
    if missing:
        raise FileNotFoundError(f"{len(missing)} file(s) listed in {what} do not exist, e.g. {missing[:5]}")


def load_predicted_mel(path: Path, config: MelConfig) -> np.ndarray:
    """Read a predicted log-mel ``.npy`` (``allow_pickle=False``); returns float32 ``(n_mels, frames)``."""
    try:
        mel = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as error:
        raise ValueError(f"cannot read predicted mel {path}: {error} (expected a float32 .npy array)") from error
    if mel.ndim != 2 or mel.shape[0] != config.n_mels or not np.issubdtype(mel.dtype, np.floating):
        raise ValueError(f"predicted mel {path} has shape {mel.shape} dtype {mel.dtype}; expected float "
                         f"({config.n_mels}, frames)")
    return mel.astype(np.float32, copy=False)


class VocoderDataset(Dataset):
    """``(mel (n_mels, segment/hop) float32, audio (1, segment) float32)`` pairs.

    Args:
        items: the clips.
        mode: ``"ground_truth"`` or ``"predicted"`` (see the module docstring).
        segment_size: audio samples per example (a multiple of the hop; HiFi-GAN uses 8192).
        mel_config: the mel definition.
        random_segments: random crop (training) or the clip's start (validation, deterministic).
        skip_bad_audio: on an unreadable or silent clip, warn (naming it) and use the next clip instead of
            raising :class:`vocoder.audio.AudioError` (which stops training).
    """

    def __init__(self, items: list[VocoderItem], mode: str, segment_size: int = 8192,
                 mel_config: MelConfig = MelConfig(), random_segments: bool = True,
                 skip_bad_audio: bool = False) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if segment_size <= 0 or segment_size % mel_config.hop_length:
            raise ValueError(f"segment_size {segment_size} must be a positive multiple of the hop "
                             f"({mel_config.hop_length} samples)")
        if mode == "predicted" and any(item.mel_path is None for item in items):
            raise ValueError("mode 'predicted' needs a mel_path for every item (read them with read_predicted_items)")
        self.items, self.mode, self.segment_size = items, mode, segment_size
        self.mel_config, self.random_segments, self.skip_bad_audio = mel_config, random_segments, skip_bad_audio

    def __len__(self) -> int:
        return len(self.items)

    def _start(self, available: int) -> int:
        if not self.random_segments or available <= 0:
            return 0
        return int(torch.randint(0, available + 1, ()).item())

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        last_error: AudioError | None = None
        for offset in range(len(self.items)):
            item = self.items[(index + offset) % len(self.items)]
            try:
                return self._example(item)
            except AudioError as error:
                if not self.skip_bad_audio:
                    raise AudioError(error.path, error.reason, f"{error.detail}; remove it from the training list, "
                                     f"or set data.skip_bad_audio to skip such clips") from error
                warnings.warn(f"skipping clip {item.id}: {error}")
                last_error = error
        if last_error is None:
            raise IndexError("the dataset is empty")
        raise AudioError(last_error.path, last_error.reason, f"none of the {len(self.items)} clips could be read "
                         f"(see the warnings above); the last one: {last_error.detail}") from last_error

    def _example(self, item: VocoderItem) -> tuple[torch.Tensor, torch.Tensor]:
        config = self.mel_config
        audio = load_audio(item.audio_path, config.sample_rate)
        if self.mode == "ground_truth":
            start = self._start(len(audio) - self.segment_size)
            segment = torch.from_numpy(_fit(audio[start:start + self.segment_size], self.segment_size, 0.0))
            return mel_spectrogram(segment.unsqueeze(0), config)[0], segment.unsqueeze(0)
        mel = load_predicted_mel(item.mel_path, config)
        audio_frames = len(audio) // config.hop_length
        if abs(mel.shape[1] - audio_frames) > 2:
            raise ValueError(f"predicted mel {item.mel_path} has {mel.shape[1]} frames but its audio "
                             f"{item.audio_path} has {len(audio)} samples (~{audio_frames} frames): not aligned")
        frames = self.segment_size // config.hop_length
        start = self._start(mel.shape[1] - frames)
        mel_segment = _fit(mel[:, start:start + frames], frames, config.silence_value)
        hop = config.hop_length
        audio_segment = _fit(audio[start * hop:(start + frames) * hop], self.segment_size, 0.0)
        return torch.from_numpy(mel_segment), torch.from_numpy(audio_segment).unsqueeze(0)


def _fit(array: np.ndarray, length: int, fill: float) -> np.ndarray:
    """Pad the last axis of ``array`` with ``fill`` up to ``length`` (short clips), as a contiguous float32 copy."""
    missing = length - array.shape[-1]
    if missing > 0:
        pad = [(0, 0)] * (array.ndim - 1) + [(0, missing)]
        array = np.pad(array, pad, constant_values=fill)
    return np.ascontiguousarray(array, dtype=np.float32)
