"""``art2music evaluate``: score a model on a manifest split against baselines; metrics.json + metrics.md.

An audio-engine model is scored by :mod:`art2music.evaluation.runner`; a midi-engine model (``--model demo-midi`` or
a folder whose ``pipeline.json`` says ``"engine": "midi"``; ``--model NAME=FOLDER`` repeated compares several) by
:mod:`art2music.evaluation.midi_run`.

Exit codes: 0 every item scored (or reused), 1 some items failed (listed in metrics.json; the others are
scored), 2 usage or configuration error (bad path, unknown or empty split, cache that does not match the
manifest or the model, model that cannot be loaded, bad option value).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from art2music.cli import parse_arguments, usage_error

USAGE_ERROR, ITEMS_FAILED = 2, 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="art2music evaluate",
        description="Render a manifest split with the model and with baselines (training mean mel, nearest-"
                    "neighbour retrieval, Griffin-Lim instead of the vocoder, copy-synthesis) and score every "
                    "system against the true clips: MCD, MCD-DTW, LSD, mel L1, FAD and cosine similarity per "
                    "audio embedding, emotion accuracy, and, when the pipeline folder has a va_judge/, each system's "
                    "judged valence-arousal against the painting's target (mean over its annotators). Writes "
                    "OUT/metrics.json, OUT/metrics.md, OUT/items/ "
                    "(per-item scores, reused on rerun unless the model, data or settings changed) and "
                    "OUT/audio/<system>/<id>.wav. A midi-engine model (--model demo-midi, or NAME=FOLDER repeated) "
                    "instead composes pieces for the split's paintings and scores them against the split's MIDI "
                    "(midi_path): pitch-class entropy, polyphony, scale and groove consistency, empty beats, notes/s, "
                    "tempo, judge VA distance, emotion accuracy of the FluidSynth render, novelty against training "
                    "pieces; OUT/<model>/midi/ and audio/.",
        epilog="exit codes: 0 all items scored, 1 some items failed, 2 usage or configuration error")
    parser.add_argument("--model", action="append", default=None, metavar="[NAME=]MODEL",
                        help="'demo' (default), 'demo-midi', or a pipeline folder (Art2Music/Art2Midi.save_pretrained); "
                             "midi-engine models may be repeated, named NAME=FOLDER, to compare them in one table")
    parser.add_argument("--manifest", required=True, help="ArtiCaps manifest.csv (its cache/ folder beside it)")
    parser.add_argument("--cache", default=None, help="feature cache folder (default: cache/ beside the manifest)")
    parser.add_argument("--split", default="test", help="train, val or test (default test)")
    parser.add_argument("--out", required=True, help="output folder (created; reruns resume in it)")
    parser.add_argument("--limit", type=int, default=None, help="score only the first N items of the split")
    parser.add_argument("--batch-size", type=int, default=8, help="items per model batch (default 8)")
    parser.add_argument("--griffin-lim-iters", type=int, default=32, help="Griffin-Lim iterations (default 32)")
    parser.add_argument("--vggish-weights", default=None,
                        help="torchvggish state dict (vggish-10086976.pth) for VGGish FAD/cosine; without it only the "
                             "offline mel-stats embedding is used (labelled 'not VGGish')")
    parser.add_argument("--no-dtw", action="store_true", help="skip MCD with DTW alignment (faster)")
    parser.add_argument("--steps", type=int, default=None, help="a flow stage 1's ODE steps (default: the model's)")
    parser.add_argument("--guidance", type=float, default=None,
                        help="guidance scale: a flow stage 1's, or a midi model's on its VA condition (default: the "
                             "model's)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (default 1: scoring is many small STFTs, and midi sampling many tiny "
                             "steps, where thread hand-offs cost more than they save; 1 thread was 3-4x faster than 2 "
                             "on a shared 2-core machine)")
    parser.add_argument("--precision", choices=("float32", "auto", "bfloat16"), default="float32",
                        help="arithmetic of the model under test (default float32: scores do not depend on the CPU; "
                             "auto = what a default render uses on this machine)")
    parser.add_argument("--device", default=None, help="torch device (default cuda if available, else cpu)")
    parser.add_argument("--redo", action="store_true", help="rescore items that are already done")
    midi = parser.add_argument_group("midi engine")
    midi.add_argument("--pieces-per-painting", type=int, default=1, help="pieces composed per painting (default 1)")
    midi.add_argument("--seconds", type=float, default=12.0, help="length asked of each piece (default 12)")
    midi.add_argument("--seed", type=int, default=0, help="first sampling seed (default 0)")
    midi.add_argument("--temperature", type=float, default=None,
                      help="sampling temperature (default: each model's own, in its symbolic/config.json)")
    midi.add_argument("--top-k", type=int, default=None, help="top-k filter, 0 = off (default: each model's own)")
    midi.add_argument("--top-p", type=float, default=None, help="nucleus mass (default: each model's own)")
    midi.add_argument("--key-prior", type=float, default=None,
                      help="logit penalty per out-of-key pitch, 0 = off (default: each model's own)")
    midi.add_argument("--mode-prior", type=float, default=None,
                      help="lean towards a major key for positive target valence, minor for negative, 0 = off "
                           "(default: each model's own)")
    midi.add_argument("--tempo-prior", type=float, default=None,
                      help="lean the first tempo towards fast for positive target arousal, slow for negative, 0 = off "
                           "(default: each model's own)")
    midi.add_argument("--train-midi", action="append", default=[], metavar="FOLDER",
                      help="more training MIDI for the novelty check (e.g. the run's composed pieces, "
                           "runs/midi-demo/data/composed); repeatable")
    midi.add_argument("--no-audio", action="store_true",
                      help="do not render with FluidSynth (no emotion accuracy)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def _error(message: str) -> int:
    return usage_error("evaluate", message)


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit code (0 ok, 1 some items failed, 2 usage/configuration error)."""
    args = parse_arguments(build_parser(), argv)
    if isinstance(args, int):
        return args
    out_dir = Path(args.out).expanduser()
    if out_dir.exists() and not out_dir.is_dir():
        return _error(f"--out {out_dir} exists and is not a folder")
    if args.vggish_weights is not None and not Path(args.vggish_weights).expanduser().is_file():
        return _error(f"--vggish-weights {args.vggish_weights} does not exist")
    try:
        models = _named_models(args.model or ["demo"])
        engine = _engine(next(iter(models.values())))
        if any(_engine(model) != engine for model in models.values()):
            raise ValueError("--model: give models of one engine")
    except ValueError as error:
        return _error(str(error))
    if args.threads < 1:
        return _error(f"--threads must be at least 1, got {args.threads}")
    if engine == "midi":
        return _with_threads(args.threads, lambda: _run_midi(args, models, out_dir))
    if len(models) > 1:
        return _error("--model: an audio-engine evaluation scores one model (repeat --model for midi-engine models)")
    args.model = next(iter(models.values()))

    from art2music.evaluation.runner import EvaluationSettings

    try:
        settings = EvaluationSettings(split=args.split, batch_size=args.batch_size, limit=args.limit,
                                      griffin_lim_iters=args.griffin_lim_iters, dtw=not args.no_dtw,
                                      redo=args.redo, progress=not args.no_progress,
                                      vggish_weights=str(Path(args.vggish_weights).expanduser())
                                      if args.vggish_weights else None, steps=args.steps, guidance=args.guidance)
    except ValueError as error:
        return _error(str(error))
    return _with_threads(args.threads, lambda: _run(args, settings, out_dir))


def _with_threads(threads: int, job) -> int:
    """Run ``job()`` with ``threads`` torch CPU threads, then restore the previous count (main() may be called
    in-process: tests, notebooks). One thread also suits the midi engine: sampling is many tiny steps, and with 2
    threads on the loaded 2-core machine a 12 s piece took 7-16 s instead of 0.5 s."""
    import torch

    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return job()
    finally:
        torch.set_num_threads(previous_threads)


def _named_models(values: list[str]) -> dict[str, str]:
    """``["demo-midi", "va=runs/a"]`` → ``{"demo-midi": "demo-midi", "va": "runs/a"}`` (a name is letters, digits,
    ``.``, ``_`` or ``-``; a value without one is its own name)."""
    import re

    models: dict[str, str] = {}
    for value in values:
        name, _, folder = value.partition("=")
        if not (folder and re.fullmatch(r"[\w.-]+", name)):
            name, folder = value, value
        if name in models:
            raise ValueError(f"--model: the name {name!r} is given twice")
        models[name] = folder
    return models


def _engine(model: str) -> str:
    """``"audio"`` or ``"midi"``: the engine a pipeline folder (or a shipped name) holds; ``"audio"`` for a model that
    cannot be read yet (loading it reports the problem)."""
    from art2music.export.format import ModelLoadError, read_pipeline_meta, resolve_pipeline_folder

    try:
        return read_pipeline_meta(resolve_pipeline_folder(model))["engine"]
    except (ModelLoadError, FileNotFoundError, ValueError):
        return "audio"


def _run_midi(args: argparse.Namespace, models: dict[str, str], out_dir: Path) -> int:
    """The midi-engine evaluation (:func:`art2music.evaluation.midi_run.evaluate_midi`)."""
    from art2music.evaluation.midi_run import MidiEvaluationSettings, evaluate_midi
    from art2music.evaluation.setup import EvaluationConfigError

    if args.steps is not None:
        return _error("--steps: a midi-engine model has no ODE steps (the option is a flow stage 1's)")
    try:
        settings = MidiEvaluationSettings(split=args.split, limit=args.limit, pieces_per_painting=args.pieces_per_painting,
                                          seconds=args.seconds, seed=args.seed, temperature=args.temperature,
                                          top_k=args.top_k, top_p=args.top_p, key_prior=args.key_prior,
                                          mode_prior=args.mode_prior, tempo_prior=args.tempo_prior,
                                          guidance=args.guidance,
                                          train_midi=tuple(args.train_midi),
                                          render_audio=not args.no_audio, progress=not args.no_progress)
        result = evaluate_midi(models, args.manifest, out_dir, settings)
    except (ValueError, EvaluationConfigError) as error:
        return _error(str(error))
    print(f"scored {result['paintings']} paintings x {len(models)} model(s) against {result['reference_pieces']} "
          f"reference pieces -> {out_dir / 'metrics.md'}", file=sys.stderr)
    for failure in result["failures"]:
        print(f"  failed {failure['id']} ({failure['system']}): {failure['reason']}: {failure['detail']}",
              file=sys.stderr)
    return 1 if result["failures"] else 0


def _run(args: argparse.Namespace, settings: Any, out_dir: Path) -> int:
    """Load, check, evaluate and print the summary (threads already set)."""
    import torch

    from art2music.evaluation.embeddings import make_embeddings
    from art2music.evaluation.runner import evaluate
    from art2music.evaluation.setup import EvaluationConfigError, EvaluationContext

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    try:
        context = EvaluationContext.load(args.model, args.manifest, args.split, args.cache, device,
                                         args.precision)
    except EvaluationConfigError as error:
        return _error(str(error))
    try:
        context.pipe.check_sampling(steps=settings.steps, guidance=settings.guidance)
    except ValueError as error:
        return _error(str(error).replace("steps", "--steps").replace("guidance", "--guidance", 1))
    try:  # before rendering anything, so a bad weights file fails in seconds
        embeddings = make_embeddings(settings.vggish_weights, context.pipe.mel_config)
    except (FileNotFoundError, ValueError) as error:
        return _error(f"--vggish-weights: {error}")
    try:
        report = evaluate(context, out_dir, settings, embeddings)
    except EvaluationConfigError as error:
        return _error(str(error))
    counts = report.metrics["items"]
    print(f"scored {len(report.scored)}, reused {len(report.reused)}, failed {counts['failed']} -> "
          f"{out_dir / 'metrics.md'}", file=sys.stderr)
    for failure in report.failures:
        print(f"  failed {failure['id']}: {failure['reason']}: {failure['detail']}", file=sys.stderr)
    return report.exit_code


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.exit(main())
