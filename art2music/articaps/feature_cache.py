"""The feature cache: mels and frozen-encoder embeddings, computed once, read as memory maps.

Layout of a cache folder (row ``k`` everywhere is row ``k`` of the manifest it was built from)::

    cache.json               format version, row count, frames, mel config, encoder spec, embedding size
    ids.txt                  the pair ids, one per line, in row order
    mels.npy                 (N, frames, n_mels) float16 log-mels, silence-padded (this layout is private
                             to this module: readers get (n_mels, frames) float32 from mel() and friends)
    image_embeddings.npy     (N, D) float32 image embeddings
    text_embeddings.npy      (N, D) float32 comment embeddings
    mel_done.npy             (N,) uint8, 1 once row k's mel is written (so builders can resume)
    embedding_done.npy       (N,) uint8, 1 once row k's embeddings are written

The mel config and the encoder spec are recorded in ``cache.json`` and checked on open, so a cache is
never silently read with a different mel definition or encoder than it was built with.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from vocoder.files import atomic_write_text
from vocoder.mel import MelConfig

FORMAT_VERSION = 1
_ARRAYS = ("mels", "image_embeddings", "text_embeddings", "mel_done", "embedding_done")


class CacheMismatchError(ValueError):
    """The cache was built with a different mel config, encoder or manifest than the caller expects."""


class FeatureCache:
    """Memory-mapped mels and embeddings for one manifest.

    Use :meth:`create` to allocate a new cache and :meth:`open` to read (or resume writing) one.
    Attributes ``image_embeddings`` and ``text_embeddings`` are numpy memmaps; mels are read through
    :meth:`mel`, :meth:`mel_batch`, :meth:`mean_mel` and :meth:`mean_mel_per_bin`, which return the
    project's ``(n_mels, frames)`` layout whatever the file stores.
    """

    def __init__(self, directory: Path, meta: dict[str, Any], ids: list[str], writable: bool):
        self.directory = directory
        self.meta = meta
        self.ids = ids
        self.writable = writable
        mode = "r+" if writable else "r"
        self._mels = np.load(directory / "mels.npy", mmap_mode=mode)  # (N, frames, n_mels) float16
        self.image_embeddings = np.load(directory / "image_embeddings.npy", mmap_mode=mode)
        self.text_embeddings = np.load(directory / "text_embeddings.npy", mmap_mode=mode)
        self.mel_done = np.load(directory / "mel_done.npy", mmap_mode=mode)
        self.embedding_done = np.load(directory / "embedding_done.npy", mmap_mode=mode)

    # ------------------------------------------------------------------ metadata
    @property
    def mel_config(self) -> MelConfig:
        return MelConfig.from_dict(self.meta["mel_config"])

    @property
    def encoder_spec(self) -> dict[str, Any]:
        return dict(self.meta["encoder"])

    @property
    def frames(self) -> int:
        return int(self.meta["frames"])

    @property
    def embed_dim(self) -> int:
        return int(self.meta["embed_dim"])

    def __len__(self) -> int:
        return len(self.ids)

    # ------------------------------------------------------------------ create / open
    @classmethod
    def create(cls, directory: str | Path, ids: Sequence[str], frames: int, mel_config: MelConfig,
               encoder_spec: Mapping[str, Any], embed_dim: int) -> "FeatureCache":
        """Allocate a new cache for ``ids`` (mels filled with the silence value, nothing marked done).

        Raises:
            FileExistsError: ``directory`` already holds a cache (open it instead, to resume).
        """
        directory = Path(directory)
        if (directory / "cache.json").exists():
            raise FileExistsError(f"{directory} already holds a feature cache; open it to resume, or delete it")
        if frames <= 0 or embed_dim <= 0:
            raise ValueError(f"frames and embed_dim must be positive, got {frames} and {embed_dim}")
        directory.mkdir(parents=True, exist_ok=True)
        count = len(ids)
        mels = np.lib.format.open_memmap(directory / "mels.npy", mode="w+", dtype=np.float16,
                                         shape=(count, frames, mel_config.n_mels))
        mels[:] = mel_config.silence_value
        mels.flush()
        for name, shape, dtype in (("image_embeddings", (count, embed_dim), np.float32),
                                   ("text_embeddings", (count, embed_dim), np.float32),
                                   ("mel_done", (count,), np.uint8), ("embedding_done", (count,), np.uint8)):
            array = np.lib.format.open_memmap(directory / f"{name}.npy", mode="w+", dtype=dtype, shape=shape)
            array.flush()
        atomic_write_text(directory / "ids.txt", "".join(f"{i}\n" for i in ids))
        meta = {"format_version": FORMAT_VERSION, "num_items": count, "frames": int(frames),
                "embed_dim": int(embed_dim), "mel_config": mel_config.to_dict(), "encoder": dict(encoder_spec)}
        # cache.json is written last: its presence means the arrays are allocated.
        atomic_write_text(directory / "cache.json", json.dumps(meta, indent=2, sort_keys=True))
        return cls(directory, meta, list(ids), writable=True)

    @classmethod
    def open(cls, directory: str | Path, mel_config: MelConfig | None = None,
             encoder_spec: Mapping[str, Any] | None = None, ids: Sequence[str] | None = None,
             writable: bool = False) -> "FeatureCache":
        """Open an existing cache, checking it matches what the caller expects.

        Args:
            directory: the cache folder.
            mel_config: if given, must equal the recorded mel config.
            encoder_spec: if given, must equal the recorded encoder spec.
            ids: if given, must equal the recorded ids in order (i.e. the manifest's).
            writable: open the arrays read-write (for builders resuming work).

        Raises:
            FileNotFoundError: no cache there.
            CacheMismatchError: a recorded setting differs; the message lists each difference.
        """
        directory = Path(directory)
        meta_path = directory / "cache.json"
        if not meta_path.is_file():
            raise FileNotFoundError(f"no feature cache in {directory} (cache.json missing); build it with "
                                    f"`art2music build-articaps` or `make demo-data`")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("format_version") != FORMAT_VERSION:
            raise CacheMismatchError(f"{directory}: cache format {meta.get('format_version')} but this version of "
                                     f"art2music reads format {FORMAT_VERSION}; rebuild the cache")
        for name in _ARRAYS:
            if not (directory / f"{name}.npy").is_file():
                raise FileNotFoundError(f"{directory}: {name}.npy is missing; the cache is incomplete, rebuild it")
        recorded_ids = (directory / "ids.txt").read_text(encoding="utf-8").splitlines()
        if len(recorded_ids) != meta["num_items"]:
            raise CacheMismatchError(f"{directory}: ids.txt has {len(recorded_ids)} ids, cache.json says "
                                     f"{meta['num_items']}")
        if mel_config is not None:
            try:
                MelConfig.from_dict(meta["mel_config"]).check_matches(mel_config, f"feature cache {directory}")
            except ValueError as error:
                raise CacheMismatchError(str(error)) from error
        if encoder_spec is not None and dict(encoder_spec) != meta["encoder"]:
            diffs = sorted(set(encoder_spec) | set(meta["encoder"]))
            detail = "; ".join(f"{k}: expected {encoder_spec.get(k)!r}, cache has {meta['encoder'].get(k)!r}"
                               for k in diffs if encoder_spec.get(k) != meta["encoder"].get(k))
            raise CacheMismatchError(f"{directory}: built with a different encoder ({detail}); rebuild the "
                                     f"cache or configure the matching encoder")
        if ids is not None and list(ids) != recorded_ids:
            raise CacheMismatchError(f"{directory}: ids differ from the manifest's (cache has {len(recorded_ids)} "
                                     f"rows, manifest {len(ids)}); the manifest changed since the cache was built")
        cache = cls(directory, meta, recorded_ids, writable)
        expected = {"_mels": (len(recorded_ids), meta["frames"], cache.mel_config.n_mels),
                    "image_embeddings": (len(recorded_ids), meta["embed_dim"]),
                    "text_embeddings": (len(recorded_ids), meta["embed_dim"])}
        for name, shape in expected.items():
            if getattr(cache, name).shape != shape:
                raise CacheMismatchError(f"{directory}: {name.lstrip('_')}.npy has shape {getattr(cache, name).shape}, "
                                         f"expected {shape}")
        return cache

    # ------------------------------------------------------------------ writing
    def write_mel(self, index: int, mel: np.ndarray) -> None:
        """Store one log-mel ``(n_mels, frames)`` (the vocoder's layout) at row ``index`` and mark it done.

        Shorter mels are padded with the silence value, longer ones cropped.
        """
        self._require_writable()
        mel = np.asarray(mel, dtype=np.float32)
        n_mels = self.mel_config.n_mels
        if mel.ndim != 2 or mel.shape[0] != n_mels:
            raise ValueError(f"mel must have shape ({n_mels}, frames), got {mel.shape}")
        row = np.full((self.frames, n_mels), self.mel_config.silence_value, dtype=np.float32)
        length = min(self.frames, mel.shape[1])
        row[:length] = mel[:, :length].T
        self._mels[index] = row.astype(np.float16)
        self.mel_done[index] = 1

    def copy_row_from(self, index: int, source: "FeatureCache", source_index: int) -> None:
        """Copy row ``source_index`` of ``source`` (mel and embeddings, bit for bit) into row ``index``.

        Done-flags are left to the caller (set them after :meth:`flush`, as a merge does).
        """
        self._require_writable()
        self._mels[index] = source._mels[source_index]
        self.image_embeddings[index] = source.image_embeddings[source_index]
        self.text_embeddings[index] = source.text_embeddings[source_index]

    def write_embeddings(self, indices: Sequence[int], image_embeddings: np.ndarray,
                         text_embeddings: np.ndarray) -> None:
        """Store ``(n, D)`` image and text embeddings at rows ``indices`` and mark them done."""
        self._require_writable()
        indices = np.asarray(indices, dtype=np.int64)
        for name, values in (("image_embeddings", image_embeddings), ("text_embeddings", text_embeddings)):
            values = np.asarray(values, dtype=np.float32)
            if values.shape != (len(indices), self.embed_dim):
                raise ValueError(f"{name} must have shape ({len(indices)}, {self.embed_dim}), got {values.shape}")
            getattr(self, name)[indices] = values
        self.embedding_done[indices] = 1

    def flush(self) -> None:
        """Push written rows to disk (data before done-flags, so a crash never marks unwritten rows done)."""
        for array in (self._mels, self.image_embeddings, self.text_embeddings, self.mel_done, self.embedding_done):
            array.flush()

    def _require_writable(self) -> None:
        if not self.writable:
            raise PermissionError(f"feature cache {self.directory} was opened read-only")

    # ------------------------------------------------------------------ status
    def missing_rows(self) -> np.ndarray:
        """Row numbers whose mel or embeddings are not yet written."""
        return np.flatnonzero((np.asarray(self.mel_done) == 0) | (np.asarray(self.embedding_done) == 0))

    def is_complete(self) -> bool:
        return self.missing_rows().size == 0

    # ------------------------------------------------------------------ reading mels
    def mel(self, index: int) -> np.ndarray:
        """Row ``index``'s log-mel as contiguous float32 ``(n_mels, frames)``."""
        return np.ascontiguousarray(np.asarray(self._mels[index], dtype=np.float32).T)

    def mel_batch(self, rows: Sequence[int]) -> np.ndarray:
        """The log-mels of ``rows`` as contiguous float32 ``(len(rows), n_mels, frames)``."""
        stored = np.asarray(self._mels[np.asarray(rows, dtype=np.int64)], dtype=np.float32)
        return np.ascontiguousarray(stored.transpose(0, 2, 1))

    def mean_mel(self, rows: Sequence[int]) -> np.ndarray:
        """``(n_mels, frames)`` float32 mean of the log-mels of ``rows`` (accumulated in float64, row by row)."""
        if len(rows) == 0:
            raise ValueError("the mean of no mels is undefined; give at least one row")
        total = np.zeros(self._mels.shape[1:], dtype=np.float64)
        for row in rows:
            total += np.asarray(self._mels[row], dtype=np.float64)
        return np.ascontiguousarray((total / len(rows)).T.astype(np.float32))

    def mean_mel_per_bin(self, rows: Sequence[int], chunk: int = 256) -> np.ndarray:
        """``(n_mels,)`` float32 mean log-mel of each bin over all frames of ``rows`` (float64, ``chunk`` rows
        at a time so memory stays bounded)."""
        return self.mel_statistics_per_bin(rows, chunk)[0]

    def mel_statistics_per_bin(self, rows: Sequence[int], chunk: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """``(mean, std)``, each ``(n_mels,)`` float32: every bin's log-mel mean and standard deviation over all
        frames of ``rows`` (float64 sums, ``chunk`` rows at a time)."""
        if len(rows) == 0:
            raise ValueError("the mean of no mels is undefined; give at least one row")
        rows = np.asarray(rows, dtype=np.int64)
        total = np.zeros(self._mels.shape[-1], dtype=np.float64)
        squares = np.zeros(self._mels.shape[-1], dtype=np.float64)
        for start in range(0, len(rows), chunk):
            block = np.asarray(self._mels[rows[start:start + chunk]], dtype=np.float64)
            total += block.sum(axis=(0, 1))
            squares += (block ** 2).sum(axis=(0, 1))
        count = len(rows) * self.frames
        mean = total / count
        std = np.sqrt(np.maximum(squares / count - mean ** 2, 0.0))
        return mean.astype(np.float32), std.astype(np.float32)
