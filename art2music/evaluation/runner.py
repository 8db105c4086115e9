"""The evaluation job: render a split with the model and the baselines, score each item, aggregate.

``evaluate(model, manifest, out_dir, settings)`` writes::

    OUT/items/<id>.npz          one scored row (record JSON + embeddings + emotion features), written
                                atomically and last, so it marks the row done; reused on rerun when its
                                fingerprint (model files, manifest + cache, settings) is unchanged
    OUT/audio/<system>/<id>.wav what each system rendered, to listen to (16-bit PCM)
    OUT/emotion_probe_train.npz the probe's training features (true training clips), reused on rerun
    OUT/metrics.json, metrics.md   the aggregate (see :mod:`art2music.evaluation.report`)

A row fails alone (missing clip, unreadable image ...): it is listed with its reason, the rest is scored,
and the exit code says so.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from art2music.io.audio import AudioLoadError, load_clip, waveform_to_mel
from art2music.io.hashing import file_sha256
from art2music.articaps.manifest import Manifest, ManifestRow
from art2music.evaluation.aggregate import aggregate
from art2music.evaluation.baselines import EmotionProbe, nearest_training_rows, training_mean_mel
from art2music.evaluation.embeddings import VGGISH_MIN_SECONDS, AudioEmbedding, make_embeddings
from art2music.evaluation.setup import EvaluationConfigError, EvaluationContext
from art2music.evaluation.systems import SYSTEMS, SystemOutput, score_system
from art2music.evaluation.va_scores import judge_waveform, painting_targets
from vocoder import GriffinLim
from vocoder.audio import write_wav
from vocoder.files import atomic_write, remove_stale_temporaries

FORMAT_VERSION = 3  # 2: music figures (temporal variation, flux, mean mels, seed diversity); 3: judged VA
ITEM_DIR, AUDIO_DIR = "items", "audio"


@dataclass(frozen=True)
class EvaluationSettings:
    """How to evaluate. ``limit`` scores only the first N rows of the split (smoke runs)."""

    split: str = "test"
    batch_size: int = 8
    limit: int | None = None
    griffin_lim_iters: int = 32
    dtw: bool = True
    redo: bool = False
    progress: bool = True
    vggish_weights: str | None = None
    steps: int | None = None
    guidance: float | None = None

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch size must be at least 1, got {self.batch_size}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit must be at least 1, got {self.limit}")
        if self.griffin_lim_iters < 1:
            raise ValueError(f"Griffin-Lim iterations must be at least 1, got {self.griffin_lim_iters}")

    def scoring_settings(self) -> dict[str, Any]:
        """The settings that change an item's scores (part of its fingerprint)."""
        weights = self.vggish_weights
        return {"griffin_lim_iters": self.griffin_lim_iters, "dtw": self.dtw,
                "vggish": file_sha256(weights) if weights else None, "steps": self.steps, "guidance": self.guidance}

    def sampling(self, pipe: Any, rows: list[int], draw: int = 0) -> dict[str, Any]:
        """``embeddings_to_mel`` options for ``rows``: for a sampling stage 1 a seed per row (``2·row + draw``, so a
        row's piece does not depend on its batch) and the steps and guidance; nothing for the BiLSTM."""
        if not getattr(pipe, "is_generative", False):
            return {}
        return {"seeds": [2 * row + draw for row in rows], "steps": self.steps, "guidance": self.guidance}


@dataclass
class EvaluationReport:
    """What a run did: the aggregate ``metrics`` (also in metrics.json) and per-row outcomes."""

    metrics: dict[str, Any]
    scored: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    failures: list[dict[str, str]] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 every row scored, 1 some rows failed."""
        return 1 if self.failures else 0


def item_fingerprint(context: EvaluationContext, row: ManifestRow, settings: EvaluationSettings) -> str:
    """SHA-256 of everything an item's scores depend on: model files, manifest, cache metadata, settings."""
    payload = json.dumps({"version": FORMAT_VERSION, "model": context.model_identity,
                          "data": context.data_identity, "row": asdict(row),
                          "settings": settings.scoring_settings()}, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


# ----------------------------------------------------------------------------------------------- item files
def item_path(out_dir: Path, item_id: str) -> Path:
    return out_dir / ITEM_DIR / f"{item_id}.npz"


def write_item(path: Path, record: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """Write one scored row atomically (``np.savez`` to a temporary sibling, then rename)."""
    # The temporary keeps the .npz suffix, so numpy writes to it under that name.
    atomic_write(path, lambda tmp: np.savez(tmp, record=np.array(json.dumps(record)), **arrays))


def read_item(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]] | None:
    """A scored row's record and arrays, or ``None`` if the file is absent or unreadable (then it is redone)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
        record = json.loads(str(arrays.pop("record")))
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile):  # absent, truncated, not ours
        return None
    return record, arrays


# ----------------------------------------------------------------------------------------------- the job
class _Scorer:
    """Renders every system for a batch of rows and scores each row (state shared across batches)."""

    def __init__(self, context: EvaluationContext, settings: EvaluationSettings, out_dir: Path,
                 embeddings: list[AudioEmbedding], probe: EmotionProbe):
        self.context, self.settings, self.out_dir = context, settings, out_dir
        self.embeddings, self.probe = embeddings, probe
        pipe, cache = context.pipe, context.cache
        self.mel_config = pipe.mel_config
        self.griffin_lim = GriffinLim(pipe.mel_config, n_iter=settings.griffin_lim_iters).to(pipe.device)
        self.mean_mel = training_mean_mel(cache, context.train_rows)
        self.mean_waveform = pipe.mel_to_audio(torch.from_numpy(self.mean_mel)[None])[0]
        self.va_judge = getattr(pipe, "va_judge", None)  # the folder's VA judge: judged feeling vs the painting's
        self.va_targets = painting_targets(context.manifest) if self.va_judge is not None else None
        for system in SYSTEMS[1:]:
            (out_dir / AUDIO_DIR / system).mkdir(parents=True, exist_ok=True)

    def _griffin_lim(self, mels: torch.Tensor) -> np.ndarray:
        with torch.inference_mode():
            audio = self.griffin_lim(mels.to(self.context.pipe.device)).squeeze(1)
        return audio.clamp(-1.0, 1.0).float().cpu().numpy()

    def score_batch(self, rows: list[int]) -> dict[int, tuple[dict, dict] | tuple[str, str]]:
        """Row number → ``(record, arrays)`` or ``(reason, detail)`` for a failed row."""
        context, pipe, cache = self.context, self.context.pipe, self.context.cache
        outcomes: dict[int, Any] = {}
        references: dict[int, np.ndarray] = {}
        for row in rows:
            try:
                references[row] = load_clip(context.manifest.resolve(context.manifest[row].audio_path),
                                            context.num_samples, self.mel_config, min_seconds=0.05)
            except AudioLoadError as error:
                outcomes[row] = (f"reference_{error.reason}", str(error))
        text, image, failed = context.embeddings_for([row for row in rows if row not in outcomes])
        outcomes.update(failed)
        live = [row for row in rows if row not in outcomes]
        if not live:
            return outcomes
        predicted = pipe.embeddings_to_mel(text, image, **self.settings.sampling(pipe, live)).float().cpu()
        other_seed_mels = None
        if getattr(pipe, "is_generative", False):  # the same inputs with other seeds: how different are the pieces
            other = pipe.embeddings_to_mel(text, image, **self.settings.sampling(pipe, live, draw=1)).float().cpu()
            other_seed_mels = [waveform_to_mel(audio, self.mel_config) for audio in pipe.mel_to_audio(other)]
        true_mels = torch.from_numpy(cache.mel_batch(live))
        model_audio = pipe.mel_to_audio(predicted)
        model_gl_audio = self._griffin_lim(predicted)
        copy_audio = pipe.mel_to_audio(true_mels)
        copy_gl_audio = self._griffin_lim(true_mels)
        nearest = nearest_training_rows(cache.image_embeddings[live], cache.image_embeddings[context.train_rows],
                                        context.train_rows, query_rows=live)
        for position, row in enumerate(live):
            neighbour_path = context.manifest.resolve(context.manifest[int(nearest[position])].audio_path)
            try:
                neighbour_audio = load_clip(neighbour_path, context.num_samples, self.mel_config, min_seconds=0.05)
            except AudioLoadError as error:
                outcomes[row] = (f"neighbour_{error.reason}", str(error))
                continue
            outputs = {
                "reference": SystemOutput(references[row], true_mels[position].numpy()),
                "model": SystemOutput(model_audio[position], predicted[position].numpy()),
                "model-griffin-lim": SystemOutput(model_gl_audio[position], predicted[position].numpy()),
                "mean-mel": SystemOutput(self.mean_waveform, self.mean_mel),
                "nearest-neighbour": SystemOutput(neighbour_audio, cache.mel(int(nearest[position]))),
                "copy-vocoder": SystemOutput(copy_audio[position], None),
                "copy-griffin-lim": SystemOutput(copy_gl_audio[position], None),
            }
            outcomes[row] = self._score_row(row, outputs, int(nearest[position]))
            if other_seed_mels is not None:
                record, arrays = outcomes[row]
                record["metrics"]["model"]["seed_diversity"] = float(
                    np.abs(arrays["model.mean_mel"] - other_seed_mels[position].mean(axis=1)).mean())
        return outcomes

    def _score_row(self, row: int, outputs: dict[str, SystemOutput], nearest: int) -> tuple[dict, dict]:
        context = self.context
        manifest_row = context.manifest[row]
        reference_waveform = outputs["reference"].waveform
        reference_mel = waveform_to_mel(reference_waveform, self.mel_config)
        record: dict[str, Any] = {"id": manifest_row.id, "row": row, "emotion": manifest_row.emotion,
                                  "nearest_id": context.manifest[nearest].id,
                                  "fingerprint": item_fingerprint(context, manifest_row, self.settings),
                                  "metrics": {}}
        arrays: dict[str, np.ndarray] = {}
        for system, output in outputs.items():
            metrics, embedded = score_system(output, reference_waveform, reference_mel, self.embeddings,
                                             self.mel_config, self.settings.dtw)
            record["metrics"][system] = metrics
            if self.va_judge is not None:
                record["target_va"] = list(self.va_targets[row])
                metrics["judged_va"] = judge_waveform(self.va_judge, output.waveform)
            for name, windows in embedded.items():
                arrays[f"{system}.{name}"] = windows
            if system == "reference":
                audio_file = context.manifest.resolve(manifest_row.audio_path)
            else:
                audio_file = self.out_dir / AUDIO_DIR / system / f"{manifest_row.id}.wav"
                write_wav(audio_file, np.clip(output.waveform, -1.0, 1.0), self.mel_config.sample_rate)
            try:
                arrays[f"{system}.emotion_features"] = self.probe.features(audio_file)
            except AudioLoadError:  # silent or too short: the probe cannot classify it, it counts as wrong
                arrays[f"{system}.emotion_features"] = np.full(2 * self.mel_config.n_mels, np.nan)
        return record, arrays


def train_emotion_probe(context: EvaluationContext, out_dir: Path) -> EmotionProbe:
    """Fit the emotion probe on the true training clips (features cached in OUT, keyed by the data)."""
    return fit_emotion_probe(context.manifest, context.train_rows, context.num_samples / context.pipe.sample_rate,
                             out_dir, context.data_identity)


def fit_emotion_probe(manifest: Manifest, train_rows: list[int], seconds: float, out_dir: Path,
                      data_identity: str) -> EmotionProbe:
    """Fit the emotion probe on the first ``seconds`` of the training rows' true clips; their features are cached in
    ``OUT/emotion_probe_train.npz`` under a key of ``data_identity`` and ``seconds``."""
    probe = EmotionProbe(seconds)
    cache_file = out_dir / "emotion_probe_train.npz"
    key = hashlib.sha256(f"{data_identity}|{probe.seconds}".encode()).hexdigest()
    stored = read_item(cache_file) if cache_file.is_file() else None
    if stored is not None and stored[0].get("key") == key:
        record, arrays = stored
        return probe.fit(arrays["features"], record["labels"])
    features, labels = [], []
    for row in train_rows:
        try:
            features.append(probe.features(manifest.resolve(manifest[row].audio_path)))
        except AudioLoadError:
            continue  # a training clip that cannot be read simply does not train the probe
        labels.append(manifest[row].emotion)
    if len(set(labels)) < 2:
        raise EvaluationConfigError(f"only {len(labels)} training clips with {len(set(labels))} emotion(s) could be "
                                    f"read; the emotion probe needs clips of at least two emotions")
    write_item(cache_file, {"key": key, "labels": labels}, {"features": np.stack(features)})
    return probe.fit(np.stack(features), labels)


def evaluate(context: EvaluationContext, out_dir: str | os.PathLike,
             settings: EvaluationSettings = EvaluationSettings(),
             embeddings: list[AudioEmbedding] | None = None) -> EvaluationReport:
    """Score ``settings.split`` of the context's manifest; write item files, metrics.json and metrics.md.

    Args:
        embeddings: the audio embeddings for FAD/cosine (default :func:`make_embeddings` of the settings).
    """
    from tqdm import tqdm

    from art2music.evaluation.report import write_report

    if embeddings is None:
        embeddings = make_embeddings(settings.vggish_weights, context.pipe.mel_config)
    seconds = context.num_samples / context.pipe.sample_rate
    if any(embedding.name == "vggish" for embedding in embeddings) and seconds < VGGISH_MIN_SECONDS:
        raise EvaluationConfigError(f"VGGish needs clips of at least {VGGISH_MIN_SECONDS} s, the cache's are "
                                    f"{seconds:.2f} s; evaluate without --vggish-weights")
    out_dir = Path(out_dir)
    (out_dir / ITEM_DIR).mkdir(parents=True, exist_ok=True)
    for folder in [out_dir / ITEM_DIR, out_dir, *sorted((out_dir / AUDIO_DIR).glob("*/"))]:
        remove_stale_temporaries(folder)  # left by a run killed mid-write
    rows = context.split_rows[:settings.limit] if settings.limit else list(context.split_rows)
    done: dict[int, tuple[dict, dict]] = {}
    pending: list[int] = []
    for row in rows:
        stored = None if settings.redo else read_item(item_path(out_dir, context.manifest[row].id))
        fingerprint = item_fingerprint(context, context.manifest[row], settings)
        if stored is not None and stored[0].get("fingerprint") == fingerprint:
            done[row] = stored
        else:
            pending.append(row)
    report = EvaluationReport(metrics={}, reused=[context.manifest[row].id for row in done])
    probe = train_emotion_probe(context, out_dir)
    if pending:
        scorer = _Scorer(context, settings, out_dir, embeddings, probe)
        with tqdm(total=len(pending), desc="evaluating", unit="item", file=sys.stderr,
                  disable=not settings.progress) as bar:
            for start in range(0, len(pending), settings.batch_size):
                batch = pending[start:start + settings.batch_size]
                for row, outcome in scorer.score_batch(batch).items():
                    item_id = context.manifest[row].id
                    if isinstance(outcome[0], dict):
                        write_item(item_path(out_dir, item_id), *outcome)
                        done[row] = outcome
                        report.scored.append(item_id)
                    else:
                        report.failures.append({"id": item_id, "reason": outcome[0], "detail": outcome[1]})
                bar.update(len(batch))
    ordered = [done[row] for row in rows if row in done]
    report.metrics = aggregate(ordered, embeddings, probe, context.describe(settings, len(rows)), report.failures)
    write_report(out_dir, report.metrics)
    return report
