"""Everything an evaluation reads, loaded and cross-checked once: manifest, feature cache, model.

Configuration problems become :class:`EvaluationConfigError` with a message that says what to fix (the CLI
turns it into exit code 2): a missing or malformed manifest, a split with no rows, a missing or
incomplete cache, a cache built for another manifest or mel definition, a model that cannot be loaded.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

from art2music.articaps.feature_cache import CacheMismatchError, FeatureCache
from art2music.articaps.manifest import SPLITS, Manifest, ManifestError, read_manifest


class EvaluationConfigError(ValueError):
    """The inputs of an evaluation are unusable or inconsistent; the message says how to fix it."""


def _digest_files(paths: list[Path], by_stat: tuple[str, ...] = ()) -> str:
    """SHA-256 over file contents (or, for the large files named in ``by_stat``, their size and mtime)."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0")
        if path.name in by_stat:
            stat = path.stat()
            digest.update(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
        else:
            digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass
class EvaluationContext:
    """The loaded inputs. ``split_rows``/``train_rows`` are manifest row numbers; ``num_samples`` is the
    reference clip length (cache frames × hop); ``use_cached_embeddings`` says whether the model's encoder
    is the one the cache was built with (then its embeddings are read instead of recomputed)."""

    model_name: str
    manifest_path: Path
    manifest: Manifest
    cache: FeatureCache
    pipe: Any
    split: str
    split_rows: list[int]
    train_rows: list[int]
    model_identity: str
    data_identity: str
    use_cached_embeddings: bool

    @property
    def num_samples(self) -> int:
        return self.cache.frames * self.pipe.mel_config.hop_length

    @classmethod
    def load(cls, model: str, manifest_path: str | os.PathLike, split: str = "test",
             cache_dir: str | os.PathLike | None = None, device: str = "cpu",
             precision: str = "float32") -> "EvaluationContext":
        """Load and check everything (see the module docstring for the errors).

        ``precision`` stays ``"float32"`` unless asked: scores must not depend on whether this machine's CPU
        has bf16 units (``"auto"``/``"bfloat16"`` evaluate what a default render sounds like here).
        """
        from art2music.pipeline import Art2Music
        from art2music.export.identity import model_folder_identity

        manifest_path = Path(manifest_path).expanduser()
        if split not in SPLITS:
            raise EvaluationConfigError(f"--split {split!r} must be one of {', '.join(SPLITS)}")
        try:
            manifest = read_manifest(manifest_path)
        except (FileNotFoundError, ManifestError) as error:
            raise EvaluationConfigError(str(error)) from error
        split_rows, train_rows = manifest.split_indices(split), manifest.split_indices("train")
        counts = ", ".join(f"{name} {len(manifest.split_indices(name))}" for name in SPLITS)
        if not split_rows:
            raise EvaluationConfigError(f"{manifest_path} has no {split!r} rows ({counts}); pick another --split")
        if not train_rows:
            raise EvaluationConfigError(f"{manifest_path} has no 'train' rows ({counts}); the baselines and the "
                                        f"emotion probe are built from the training split")
        cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else manifest_path.parent / "cache"
        try:
            cache = FeatureCache.open(cache_dir, ids=manifest.ids)
        except (FileNotFoundError, CacheMismatchError) as error:
            raise EvaluationConfigError(f"feature cache: {error}") from error
        missing = np.intersect1d(cache.missing_rows(), np.asarray(split_rows + train_rows))
        if missing.size:
            raise EvaluationConfigError(f"feature cache {cache_dir} is incomplete: {missing.size} of the rows needed "
                                        f"(e.g. {manifest[int(missing[0])].id}) have no mel or embeddings yet; "
                                        f"finish building it (rerun the builder to resume)")
        try:
            pipe = Art2Music.from_pretrained(model, device=device, precision=precision)
            model_identity = model_folder_identity(model, precisions=pipe.precisions)
        except (FileNotFoundError, ValueError, KeyError, RuntimeError) as error:
            raise EvaluationConfigError(f"cannot load the model {model!r}: {error}") from error
        try:
            cache.mel_config.check_matches(pipe.mel_config, f"the model {model!r}")
        except ValueError as error:
            raise EvaluationConfigError(f"the model and the feature cache {cache_dir} use different mel "
                                        f"definitions: {error}") from error
        model_spec = {**pipe.encoder.spec(), "text_template": pipe.text_template}
        cache_spec = cache.encoder_spec
        use_cached = {key: model_spec.get(key) for key in cache_spec} == cache_spec and \
            cache.embed_dim == pipe.encoder.embed_dim
        cache_files = sorted(p for p in cache_dir.iterdir() if p.suffix in (".json", ".txt", ".npy"))
        data_identity = _digest_files([manifest_path, *cache_files], by_stat=("mels.npy",))
        return cls(str(model), manifest_path, manifest, cache, pipe, split, split_rows, train_rows, model_identity,
                   data_identity, use_cached)

    def embeddings_for(self, rows: list[int]) -> tuple[torch.Tensor, torch.Tensor, dict[int, tuple[str, str]]]:
        """``(text (B, D), image (B, D), failures)`` for the rows that could be embedded, in order.

        From the cache when it matches the model's encoder; otherwise each row's image and comment go
        through the model's encoder (an image that cannot be loaded fails its row alone).
        """
        if self.use_cached_embeddings or not rows:
            return (torch.from_numpy(np.asarray(self.cache.text_embeddings[rows], dtype=np.float32)),
                    torch.from_numpy(np.asarray(self.cache.image_embeddings[rows], dtype=np.float32)), {})
        from art2music.io.images import ImageLoadError, load_image

        images, comments, failures = [], [], {}
        for row in rows:
            try:
                images.append(load_image(self.manifest.resolve(self.manifest[row].image_path)))
                comments.append(self.manifest[row].comment)
            except ImageLoadError as error:
                failures[row] = (f"image_{error.reason}", str(error))
        if not images:
            empty = torch.empty(0, self.pipe.encoder.embed_dim)
            return empty, empty, failures
        text, image = self.pipe.embed(images, comments)
        return text.float().cpu(), image.float().cpu(), failures

    def describe(self, settings: Any, rows: int) -> dict[str, Any]:
        """The header of metrics.json: what was evaluated, on what, how."""
        from dataclasses import asdict

        return {"model": self.model_name, "model_identity": self.model_identity,
                "decoder": getattr(self.pipe, "decoder", "bilstm"),
                "sampling": self.pipe.sampling_defaults() if getattr(self.pipe, "is_generative", False) else None, "manifest": str(self.manifest_path),
                "cache": str(self.cache.directory), "split": self.split, "rows": rows,
                "train_rows": len(self.train_rows),
                "frames": {"model": self.pipe.frames, "reference": self.cache.frames},
                "sample_rate": self.pipe.sample_rate,
                "embeddings_source": "feature cache" if self.use_cached_embeddings else "model encoder",
                "settings": asdict(settings),
                "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
