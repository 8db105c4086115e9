"""The midi-engine evaluation: compose a piece for every held-out painting and score it against the held-out pieces.

``evaluate_midi(models, manifest, out_dir, settings)`` reads the manifest's ``settings.split`` (paintings: the rows'
``image_path``; reference pieces: their ``midi_path``) and its training split (``midi_path`` of the train rows, plus
any ``settings.train_midi`` folders, for the novelty check; ``audio_path`` for the emotion probe), then for each
model composes ``pieces_per_painting`` pieces per painting from the painting alone (the model reads the VA from the
image, as for a user who gives none), and writes::

    OUT/<system>/midi/<painting row id>-<k>.mid   each generated piece
    OUT/<system>/audio/<painting row id>-<k>.wav  the same rendered with FluidSynth (22050 Hz)
    OUT/emotion_probe_train.npz                   the probe's training features (reused on rerun)
    OUT/metrics.json, OUT/metrics.md              per system (the reference pieces, then each model):
        symbolic metrics and their ratio to the references', major-key share for positive/negative-valence targets,
        tempo and notes/s for high/low-arousal targets, VA distance by the feature judge, emotion accuracy of the
        rendered audio (the audio evaluation's probe, trained on the true training clips), novelty, and the error of
        the model's image → VA head (``image_va_error``, the VA the pieces were composed for)

A painting's target emotion is the most frequent emotion of its rows' comments (a reference piece's, of the rows it
is paired in); its target VA is that emotion's (:data:`art2music.emotions.VALENCE_AROUSAL`).
"""

from __future__ import annotations

import os
import sys
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from art2music.articaps.manifest import SPLITS, Manifest, ManifestError, read_manifest
from art2music.articaps.splits import majority_labels
from art2music.emotions import VALENCE_AROUSAL
from art2music.evaluation import midi_scores
from art2music.evaluation.setup import EvaluationConfigError

REFERENCE = "reference"


@dataclass(frozen=True)
class MidiEvaluationSettings:
    """How to evaluate a midi-engine model. ``limit``: only the first N paintings of the split (smoke runs)."""

    split: str = "test"
    limit: int | None = None
    pieces_per_painting: int = 1
    seconds: float = 12.0
    temperature: float | None = None   # None: each model's own default (its symbolic/config.json "sampling")
    top_k: int | None = None
    top_p: float | None = None
    key_prior: float | None = None
    mode_prior: float | None = None
    tempo_prior: float | None = None
    guidance: float | None = None      # None: each model's own (2 with a "no VA" token, else 1)
    seed: int = 0
    train_midi: tuple[str, ...] = ()
    render_audio: bool = True
    progress: bool = True

    def __post_init__(self) -> None:
        if self.split not in SPLITS:
            raise ValueError(f"--split {self.split!r} must be one of {', '.join(SPLITS)}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit must be at least 1, got {self.limit}")
        if self.pieces_per_painting < 1:
            raise ValueError(f"pieces per painting must be at least 1, got {self.pieces_per_painting}")
        if not self.seconds > 0:
            raise ValueError(f"seconds must be positive, got {self.seconds}")
        if self.temperature is not None and not self.temperature > 0:
            raise ValueError(f"--temperature must be positive, got {self.temperature}")
        if self.top_k is not None and self.top_k < 0:
            raise ValueError(f"--top-k must be 0 (off) or more, got {self.top_k}")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise ValueError(f"--top-p must be in (0, 1], got {self.top_p}")
        for flag, value in (("--key-prior", self.key_prior), ("--mode-prior", self.mode_prior),
                            ("--tempo-prior", self.tempo_prior)):
            if value is not None and not 0 <= value < float("inf"):
                raise ValueError(f"{flag} must be a finite number >= 0, got {value}")
        if self.guidance is not None and not 0 <= self.guidance <= 20:
            raise ValueError(f"--guidance must be in [0, 20], got {self.guidance}")


@dataclass(frozen=True)
class _Item:
    """A painting or a reference piece of the manifest: its first row's id, file and target emotion."""

    id: str
    path: Path
    emotion: str

    @property
    def va(self) -> tuple[float, float]:
        return VALENCE_AROUSAL[self.emotion]


def _items(manifest: Manifest, rows: Sequence[int], column: str) -> list[_Item]:
    """One item per distinct non-empty ``column`` value of ``rows``, in row order, with its majority emotion."""
    emotions = majority_labels((getattr(manifest[row], column), manifest[row].emotion) for row in rows
                               if getattr(manifest[row], column))
    first: dict[str, str] = {}
    for row in rows:
        first.setdefault(getattr(manifest[row], column), manifest[row].id)
    return [_Item(first[value], manifest.resolve(value), emotions[value]) for value in first if value]


def _midi_files(folders: Sequence[str]) -> list[Path]:
    files = []
    for folder in folders:
        path = Path(folder).expanduser()
        if not path.is_dir():
            raise EvaluationConfigError(f"--train-midi {folder} is not a folder")
        files += sorted(p for p in path.rglob("*") if p.suffix.lower() in (".mid", ".midi"))
    return files


def _read_pieces(paths: Sequence[Path], what: str):
    """Scores of the usable files; bad ones are named on stderr, one line each, and counted."""
    from art2music.symbolic.tokenizer import read_scores, skipped_lines

    scores, kept, skipped = read_scores(paths)
    for line in skipped_lines(skipped, len(paths), f"{what} MIDI"):
        print(f"evaluate: {line}", file=sys.stderr)
    return scores, kept, skipped


def _probe_accuracy(probe, audio_files: Sequence[Path | None], emotions: Sequence[str]) -> float | None:
    """Share of rendered files the probe labels with their target emotion (``None`` when nothing was rendered)."""
    from art2music.io.audio import AudioLoadError

    hits = []
    for path, emotion in zip(audio_files, emotions):
        if path is None:
            continue
        try:
            hits.append(probe.predict(probe.features(path)[None])[0] == emotion)
        except AudioLoadError:  # silent or unreadable render: counts as wrong, like the audio evaluation
            hits.append(False)
    return midi_scores.mean(hits)


def _clip_seconds(manifest: Manifest, rows: Sequence[int]) -> float:
    """Length of the first readable training clip (the probe reads that much of every file)."""
    import soundfile

    for row in rows:
        try:
            return float(soundfile.info(str(manifest.resolve(manifest[row].audio_path))).duration)
        except (OSError, RuntimeError):
            continue
    raise EvaluationConfigError("no training clip could be read; the emotion probe is trained on them")


def _compose(pipe, paintings: list[_Item], settings: MidiEvaluationSettings, folder: Path):
    """Every piece of one model: ``(pieces, their painting's index, audio files or None, failures)``."""
    from tqdm import tqdm

    from art2music.io.images import ImageLoadError
    from art2music.io.synthesis import SynthesisUnavailable
    from vocoder.audio import write_wav

    pieces, owners, audio_files, failures = [], [], [], []
    render = settings.render_audio
    (folder / "midi").mkdir(parents=True, exist_ok=True)
    if render:
        (folder / "audio").mkdir(parents=True, exist_ok=True)
    for index, painting in enumerate(tqdm(paintings, desc=f"composing ({folder.name})", unit="painting",
                                          file=sys.stderr, disable=not settings.progress)):
        for draw in range(settings.pieces_per_painting):
            name = f"{painting.id}-{draw}"
            try:
                piece = pipe(painting.path, seconds=settings.seconds, temperature=settings.temperature,
                             top_k=settings.top_k, top_p=settings.top_p, key_prior=settings.key_prior,
                             mode_prior=settings.mode_prior, tempo_prior=settings.tempo_prior,
                             guidance=settings.guidance, seed=settings.seed + 1000 * index + draw)
            except ImageLoadError as error:
                failures.append({"id": painting.id, "reason": f"image_{error.reason}", "detail": str(error)})
                break
            piece.save(folder / "midi" / f"{name}.mid")
            pieces.append(piece)
            owners.append(index)
            audio = None
            if render and piece.notes:
                try:
                    audio = folder / "audio" / f"{name}.wav"
                    write_wav(audio, np.clip(piece.to_audio(), -1.0, 1.0), pipe.sample_rate)
                except SynthesisUnavailable as error:
                    print(f"evaluate: no emotion accuracy: {error}", file=sys.stderr)
                    render, audio = False, None
            audio_files.append(audio)
    return pieces, owners, audio_files if render else [None] * len(pieces), failures


def evaluate_midi(models: dict[str, str], manifest_path: str | os.PathLike, out_dir: str | os.PathLike,
                  settings: MidiEvaluationSettings = MidiEvaluationSettings()) -> dict[str, Any]:
    """Evaluate midi-engine pipelines (``{system name: folder or "demo-midi"}``) on a manifest split; returns the
    metrics (also written to ``OUT/metrics.json`` and ``OUT/metrics.md``).

    Raises:
        EvaluationConfigError: a missing or malformed manifest, a split without paintings or MIDI, a model that
        cannot be loaded, a ``--train-midi`` that is not a folder.
    """
    from art2music.evaluation.midi_report import targets as target_checks, write_midi_report
    from art2music.evaluation.runner import fit_emotion_probe
    from art2music.io.hashing import file_sha256
    from art2music.export.format import ModelLoadError
    from art2music.symbolic.piece import MidiPiece
    from art2music.symbolic.pipeline import Art2Midi
    from art2music.symbolic.tokenizer import score_to_ids

    manifest_path = Path(manifest_path).expanduser()
    try:
        manifest = read_manifest(manifest_path)
    except (FileNotFoundError, ManifestError) as error:
        raise EvaluationConfigError(str(error)) from error
    rows, train_rows = manifest.split_indices(settings.split), manifest.split_indices("train")
    paintings = _items(manifest, rows, "image_path")[:settings.limit]
    references = _items(manifest, rows, "midi_path")
    if not paintings:
        raise EvaluationConfigError(f"{manifest_path} has no {settings.split!r} rows; pick another --split")
    if not references:
        raise EvaluationConfigError(f"{manifest_path} names no MIDI (midi_path) in its {settings.split!r} rows: the "
                                    f"midi engine is scored against reference pieces; rebuild the manifest with "
                                    f"`art2music build-articaps --midi DIR` (the demo corpus: "
                                    f"`make demo-data ARGS=--rebuild`)")
    if not train_rows:
        raise EvaluationConfigError(f"{manifest_path} has no 'train' rows; the emotion probe and the novelty check "
                                    f"read the training split")
    pipes = {}
    for name, model in models.items():
        try:
            pipes[name] = Art2Midi.from_pretrained(model)
        except (ModelLoadError, FileNotFoundError, ValueError) as error:
            raise EvaluationConfigError(f"cannot load the model {model!r}: {error}") from error
        if settings.guidance not in (None, 1.0) and pipes[name].model.null_va is None:
            raise EvaluationConfigError(f"--guidance {settings.guidance}: the model {model!r} was not trained for "
                                        f"guidance (no 'no VA' token); leave --guidance out or give 1")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    ref_scores, ref_paths, ref_skipped = _read_pieces([item.path for item in references], "reference")
    kept = set(ref_paths)
    references = [item for item in references if item.path in kept]
    if not references:
        raise EvaluationConfigError(f"none of the {len(ref_skipped)} reference MIDI files of the {settings.split!r} "
                                    f"split could be read (listed above)")
    train_paths = [item.path for item in _items(manifest, train_rows, "midi_path")]
    train_scores, _, train_skipped = _read_pieces(train_paths + _midi_files(settings.train_midi), "training")
    train_bars = [midi_scores.bar_signatures(score) for score in train_scores]
    probe = None
    if settings.render_audio:
        probe = fit_emotion_probe(manifest, train_rows, _clip_seconds(manifest, train_rows), out_dir,
                                  file_sha256(manifest_path))

    reference_pieces = [MidiPiece(score) for score in ref_scores]
    reference_targets = np.array([item.va for item in references])
    first_pipe = next(iter(pipes.values()))
    reference_corpus = midi_scores.TrainingCorpus([score_to_ids(first_pipe.tokenizer, s) for s in train_scores],
                                                  train_bars)
    reference_tokens = [score_to_ids(first_pipe.tokenizer, score) for score in ref_scores]
    systems: dict[str, Any] = {REFERENCE: midi_scores.score_pieces(reference_pieces, reference_targets)}
    systems[REFERENCE]["emotion_accuracy"] = (_probe_accuracy(probe, [manifest.resolve(manifest[manifest.index_of(
        item.id)].audio_path) for item in references], [item.emotion for item in references]) if probe else None)
    systems[REFERENCE]["novelty"] = midi_scores.novelty(reference_pieces, reference_tokens, reference_corpus)
    failures: list[dict[str, str]] = []
    for name, pipe in pipes.items():
        pieces, owners, audio_files, failed = _compose(pipe, paintings, settings, out_dir / name)
        failures += [{**failure, "system": name} for failure in failed]
        targets = np.array([paintings[k].va for k in owners]).reshape(-1, 2)
        scored = midi_scores.score_pieces(pieces, targets)
        scored["ratio_to_reference"] = midi_scores.ratios(scored["metrics"], systems[REFERENCE]["metrics"])
        scored["emotion_accuracy"] = _probe_accuracy(probe, audio_files, [paintings[k].emotion for k in owners]) \
            if probe else None
        corpus = reference_corpus if pipe is first_pipe else midi_scores.TrainingCorpus(
            [score_to_ids(pipe.tokenizer, s) for s in train_scores], train_bars)
        scored["novelty"] = midi_scores.novelty(pieces, [piece.tokens for piece in pieces], corpus)
        composed = sorted(set(owners))  # the paintings that could be read
        if composed:  # how well the model's image → VA head reads the paintings it composed for
            predicted = pipe.predict_va([paintings[k].path for k in composed]).numpy()
            scored["image_va_error"] = midi_scores.mean(np.linalg.norm(
                predicted - np.array([paintings[k].va for k in composed]), axis=1))
        scored["model"] = models[name]
        scored["sampling"] = dict(pipe.sampling.resolve(temperature=settings.temperature, top_k=settings.top_k,
                                                        top_p=settings.top_p, key_prior=settings.key_prior,
                                                        mode_prior=settings.mode_prior,
                                                        tempo_prior=settings.tempo_prior),
                                  guidance=pipe.default_guidance() if settings.guidance is None else settings.guidance)
        scored["targets"] = target_checks(scored, probe.chance if probe else None)
        systems[name] = scored
    result = {"engine": "midi", "models": dict(models), "manifest": str(manifest_path), "split": settings.split,
              "paintings": len(paintings), "reference_pieces": len(references), "training_pieces": len(train_scores),
              "skipped_midi": [{"name": bad.name, "reason": bad.reason, "detail": bad.detail}
                               for bad in ref_skipped + train_skipped],
              "emotion_probe": {"classes": probe.classes, "chance": probe.chance, "seconds": probe.seconds}
              if probe else None,
              "settings": {**asdict(settings), "train_midi": list(settings.train_midi)}, "systems": systems,
              "failures": failures, "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    write_midi_report(out_dir, result)
    return result
