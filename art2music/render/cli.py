"""``art2music render INPUT --out DIR``: batch-render an art collection to WAVs, spectrograms and a gallery.

One render at a time per output folder: a second one exits with 2 naming the process that holds the
folder, or waits with ``--wait``. Messages are one line each, with control characters escaped.

Exit codes:
  0    every item rendered (or was already done)
  1    some items failed (see results.json)
  2    usage or configuration error, before anything is rendered: missing INPUT, unreadable CSV header,
       bad options, a model folder that cannot be loaded, an output folder that cannot be created or
       written, or one in use by another render
  3    an output file could not be written during the run (disk full, read-only file system ...): the
       run stopped; what it finished is complete and listed in results.json when that could be written
  130  interrupted by SIGINT (Ctrl-C), 143 by SIGTERM: results.json and the gallery list what was
       finished (the rest as failed with reason 'interrupted'); a rerun renders the rest
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from art2music.cli import parse_arguments, printable, usage_error

ITEMS_FAILED, USAGE_ERROR, WRITE_FAILED = 1, 2, 3
MIDI_DEFAULT_SECONDS = 20.0
"""Length of a midi-engine piece when ``--seconds`` is not given."""
EXIT_CODES_HELP = ("Exit codes: 0 all rendered; 1 some items failed (see results.json); 2 usage error, model that "
                   "cannot be loaded, output folder that cannot be written or is in use by another render; 3 an "
                   "output file could not be written mid-run (disk full ...; finished items stay valid); 130/143 "
                   "interrupted by SIGINT/SIGTERM (results.json lists what was finished; rerun to render the rest).")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="art2music render",
        description="Render music for every image of a folder or CSV (columns image[,comment][,id], image paths "
                    "relative to the CSV). Writes OUT/audio/<id>.wav, OUT/mel/<id>.png, OUT/thumbs/<id>.jpg, "
                    "OUT/results.json + results.csv, and OUT/index.html. A rerun skips items already rendered with "
                    "the same image, comment and model.",
        epilog="ids: the CSV's id column (must be a safe file name and unique, else the row fails), otherwise the "
               "image's file stem made safe (unsafe characters -> _, repeats get -2, -3 ... in input order). The CSV "
               "must be UTF-8; rows with other bytes fail with 'undecodable_row'. " + EXIT_CODES_HELP)
    parser.add_argument("input", help="a folder of images (sub-folders too), or a CSV: columns image[,comment][,id]"
                                      "[,emotion][,valence,arousal]")
    parser.add_argument("--out", required=True, help="output folder (created; reruns resume in it)")
    parser.add_argument("--model", default="demo", help="'demo' (the shipped weights, default) or a pipeline folder "
                                                        "written by Art2Music.save_pretrained")
    # --- the midi engine (art2music.symbolic) ---
    parser.add_argument("--engine", choices=("audio", "midi"), default="audio",
                        help="audio (default): image -> mel -> vocoder; midi: image -> MIDI notes -> FluidSynth, also "
                             "writing OUT/midi/<id>.mid and OUT/pianoroll/<id>.png ('demo' then means 'demo-midi')")
    parser.add_argument("--temperature", type=float, default=None,
                        help="midi engine: sampling temperature (default: the model's own, in its symbolic/config.json)")
    parser.add_argument("--top-p", type=float, default=None,
                        help="midi engine: nucleus sampling mass (default: the model's own)")
    parser.add_argument("--vocoder", default=None, help="override the pipeline's vocoder: 'griffin-lim' or a HiFi-GAN "
                                                        "checkpoint")
    parser.add_argument("--precision", choices=("auto", "float32", "bfloat16"), default="auto",
                        help="arithmetic of the encoders, stage 1 and the vocoder: auto (default) = bfloat16 "
                             "where the processor runs it natively (AMX, AVX512-BF16, AVX10, CUDA bf16; 2-4x faster, "
                             "output within 40 dB of float32), float32 elsewhere; float32 = exact and the same on "
                             "every machine")
    parser.add_argument("--vocoder-precision", choices=("auto", "float32", "bfloat16"), default=None,
                        help="the vocoder's arithmetic, when it should differ from --precision")
    parser.add_argument("--batch-size", type=int, default=8, help="images per batch (default 8)")
    parser.add_argument("--devices", type=int, default=None,
                        help="render through Lightning's predict loop on N devices (DDP when N > 1); default: one "
                             "process, no Lightning")
    parser.add_argument("--accelerator", default="auto", help="with --devices: cpu, gpu, auto (default auto)")
    parser.add_argument("--device", default=None, help="without --devices: torch device (default cuda if available, "
                                                       "else cpu)")
    parser.add_argument("--num-workers", type=int, default=2, help="with --devices: image-decoding worker processes")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for torch (default: torch's choice). On a busy machine 1 can be much faster: "
                             "the BiLSTM waits for every thread at every frame")
    parser.add_argument("--wav-format", choices=("pcm16", "float"), default="pcm16",
                        help="16-bit PCM (default) or 32-bit float WAVs")
    parser.add_argument("--redo", action="store_true", help="re-render items that are already done")
    sampling = parser.add_argument_group("sampling (a flow stage 1 or the midi engine; the BiLSTM refuses seed, "
                                         "steps and guidance)")
    sampling.add_argument("--seed", type=int, default=None,
                          help="draw every item's piece from this seed (default: a seed derived from each item, so "
                               "reruns give the same pieces)")
    sampling.add_argument("--steps", type=int, default=None, help="flow: ODE steps (default: the model's)")
    sampling.add_argument("--guidance", type=float, default=None,
                          help="classifier-free guidance scale, 1 = none (flow: on the condition; midi: on the "
                               "feeling; default: the model's)")
    sampling.add_argument("--seconds", type=float, default=None,
                          help="length of each piece (default: the audio model's trained length; midi: 20 s, any "
                               "length)")
    sampling.add_argument("--loop", action="store_true",
                          help="a piece whose end flows into its start, to repeat seamlessly (audio: a flow stage 1; "
                               "midi: whole bars, the last resolving to the first)")
    feeling = parser.add_argument_group(
        "target feeling (default: the model reads it from the picture; a CSV row's emotion or valence,arousal "
        "columns override these; the audio engine needs a stage 1 trained with emotion conditioning)")
    feeling.add_argument("--emotion", default=None,
                         help="aim every piece at this ArtEmis emotion (amusement, awe, contentment, excitement, "
                              "anger, disgust, fear, sadness, 'something else'), placed through the NRC VAD table")
    feeling.add_argument("--valence", type=float, default=None, help="target valence in [-1, 1] (with --arousal)")
    feeling.add_argument("--arousal", type=float, default=None, help="target arousal in [-1, 1] (with --valence)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--wait", action="store_true",
                        help="if another render is writing into --out, wait for it to finish (default: exit with 2)")
    parser.add_argument("--wait-timeout", type=float, default=None, metavar="SECONDS",
                        help="with --wait: give up (exit 2) after this many seconds")
    return parser


def _error(message: str) -> int:
    return usage_error("render", message)


def _say(message: str) -> None:
    print(f"art2music render: {printable(message)}", file=sys.stderr)


def _check_options(args: argparse.Namespace) -> str | None:
    """The first problem with the options, or ``None``."""
    if args.batch_size < 1:
        return f"--batch-size must be at least 1, got {args.batch_size}"
    if args.devices is not None and args.devices < 1:
        return f"--devices must be at least 1, got {args.devices}"
    if args.threads is not None and args.threads < 1:
        return f"--threads must be at least 1, got {args.threads}"
    if args.num_workers < 0:
        return f"--num-workers must be 0 or more, got {args.num_workers}"
    if args.engine == "midi" and ((args.temperature is not None and not args.temperature > 0)
                                  or (args.top_p is not None and not 0 < args.top_p <= 1)):
        return "--temperature must be positive and --top-p in (0, 1]"
    if args.engine == "midi" and args.steps is not None:
        return "--steps is for the audio engine's flow decoder; the midi engine samples tokens"
    if args.engine == "midi" and args.devices:
        return "--devices is for the audio engine; the midi engine renders in one process"
    if args.wait_timeout is not None and (args.wait_timeout < 0 or not args.wait):
        return "--wait-timeout needs --wait and 0 or more seconds"
    if args.seed is not None and not 0 <= args.seed < 2 ** 63:
        return f"--seed must be in [0, 2**63), got {args.seed}"
    if args.steps is not None and args.steps < 1:
        return f"--steps must be at least 1, got {args.steps}"
    if args.guidance is not None and not 0 <= args.guidance < float("inf"):
        return f"--guidance must be a finite number >= 0, got {args.guidance}"
    if args.seconds is not None and not 0 < args.seconds < float("inf"):
        return f"--seconds must be a positive number, got {args.seconds}"
    try:
        _target(args)
    except ValueError as error:
        return f"--emotion/--valence/--arousal: {error}"
    return None


def _target(args: argparse.Namespace) -> tuple[tuple[float, float] | None, str]:
    """The run's default target feeling and its emotion name (``ValueError`` naming the valid range or list)."""
    from art2music.emotions import normalize_emotion, target_valence_arousal

    va = target_valence_arousal(args.emotion, args.valence, args.arousal)
    return va, normalize_emotion(args.emotion) if args.emotion else ""


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit code (see the module docstring: 0, 1, 2, 3, 130, 143)."""
    args = parse_arguments(build_parser(), argv)
    if isinstance(args, int):
        return args
    problem = _check_options(args)
    if problem:
        return _error(problem)
    out_dir = Path(args.out).expanduser()
    if out_dir.exists() and not out_dir.is_dir():
        return _error(f"--out {out_dir} exists and is not a folder")

    from art2music.render.inputs import CollectionError, read_collection
    from art2music.render.interrupt import RenderInterrupted, signals_interrupt
    from art2music.render.lock import OutputFolderError, OutputLocked, is_ddp_child, lock_output_folder
    from art2music.render.outputs import OutputWriteError

    try:
        collection = read_collection(args.input, exclude=out_dir)
    except CollectionError as error:
        return _error(str(error))
    for warning in collection.warnings:
        _say(f"warning: {warning}")
    try:
        with signals_interrupt():
            if is_ddp_child():  # the launching process holds the lock for the processes DDP starts
                return _load_and_render(args, collection, out_dir)
            with lock_output_folder(out_dir, wait=args.wait, timeout=args.wait_timeout, on_wait=_say):
                return _load_and_render(args, collection, out_dir)
    except (OutputLocked, OutputFolderError) as error:
        return _error(str(error))
    except OutputWriteError as error:
        _report(getattr(error, "report", None), out_dir)
        _say(f"error: {error}; the run stopped (items finished before it are complete; free space or fix the "
             f"folder, then rerun to render the rest)")
        return WRITE_FAILED
    except (RenderInterrupted, KeyboardInterrupt) as stop:
        _report(getattr(stop, "report", None), out_dir)
        return stop.exit_code if isinstance(stop, RenderInterrupted) else 130


def _load_and_render_midi(args: argparse.Namespace, collection, out_dir: Path) -> int:
    """The midi engine: load an Art2Midi pipeline, check FluidSynth, render (the folder's lock is held)."""
    import torch

    from art2music.export.format import ModelLoadError
    from art2music.export.identity import model_folder_identity
    from art2music.io.synthesis import SynthesisUnavailable, find_fluidsynth, find_soundfont
    from art2music.render.midi_runner import render_midi_collection
    from art2music.render.runner import RenderSettings
    from art2music.symbolic.pipeline import Art2Midi
    from art2music.symbolic.sampling import SamplingSettings

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    model = "demo-midi" if args.model == "demo" else args.model
    try:
        find_fluidsynth(), find_soundfont()
        pipe = Art2Midi.from_pretrained(model, device=args.device or "cpu")
        identity = model_folder_identity(model, None, None)
        judge = _midi_judge(model)
    except (ModelLoadError, ValueError, RuntimeError, FileNotFoundError, SynthesisUnavailable) as error:
        return _error(f"cannot load the model {model!r}: {error}")
    va, emotion = _target(args)
    settings = RenderSettings(batch_size=args.batch_size, wav_format=args.wav_format, redo=args.redo,
                              progress=not args.no_progress, va=va, emotion=emotion)
    sampling = SamplingSettings(**pipe.sampling.resolve(temperature=args.temperature, top_p=args.top_p),
                                seconds=args.seconds if args.seconds is not None else MIDI_DEFAULT_SECONDS,
                                seed=args.seed if args.seed is not None else 0,
                                guidance=args.guidance if args.guidance is not None else pipe.default_guidance(),
                                loop=args.loop)
    report = render_midi_collection(pipe, collection, out_dir, sampling, settings, identity, model_name=model,
                                    judge=judge)
    _report(report, out_dir)
    return report.exit_code


def _midi_judge(model: str):
    """The VA judge for midi-engine pieces: the pipeline folder's ``va_judge/``; for ``demo-midi`` (which ships
    none) the audio demo's, trained on the same demo corpus; ``None`` when there is none."""
    from art2music.emotion_judge import find_va_judge, load_va_judge
    from art2music.export.format import DEMO_DIR, resolve_pipeline_folder

    folder = find_va_judge(resolve_pipeline_folder(model))
    if folder is None and model == "demo-midi":
        folder = find_va_judge(DEMO_DIR)
    return None if folder is None else load_va_judge(folder)


def _load_and_render(args: argparse.Namespace, collection, out_dir: Path) -> int:
    """Load the model and render ``collection`` (the output folder's lock is held); returns the exit code."""
    import torch

    if args.engine == "midi":
        return _load_and_render_midi(args, collection, out_dir)

    from art2music.pipeline import Art2Music
    from art2music.export.identity import model_folder_identity
    from art2music.render.runner import RenderSettings
    from art2music.export.format import ModelLoadError
    from vocoder.precision import resolve_precision

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    try:
        # with --devices the pipeline is loaded on the CPU and Lightning moves it: "auto" is decided for where it runs
        runs_on = device if not args.devices else (
            "cuda" if args.accelerator in ("gpu", "cuda", "auto") and torch.cuda.is_available() else "cpu")
        precision = resolve_precision(args.precision, runs_on)
        vocoder_precision = None if args.vocoder_precision is None else resolve_precision(args.vocoder_precision,
                                                                                          runs_on)
        pipe = Art2Music.from_pretrained(args.model, device="cpu" if args.devices else device, vocoder=args.vocoder,
                                         precision=precision, vocoder_precision=vocoder_precision)
        model_identity = model_folder_identity(args.model, args.vocoder, pipe.precisions)
    except (ModelLoadError, ValueError, RuntimeError) as error:  # bad --device or --vocoder-precision: ValueError
        return _error(f"cannot load the model {args.model!r}: {error}")
    va, emotion = _target(args)
    settings = RenderSettings(batch_size=args.batch_size, wav_format=args.wav_format, redo=args.redo,
                              progress=not args.no_progress, seed=args.seed, steps=args.steps,
                              guidance=args.guidance, seconds=args.seconds, va=va, emotion=emotion, loop=args.loop)
    try:
        pipe.check_sampling(args.seed, args.steps, args.guidance)
        if args.loop and not pipe.is_generative:
            raise ValueError(f"--loop needs a generative stage 1; this pipeline's decoder is the deterministic "
                             f"'{pipe.decoder}' (export one with the flow decoder to make loops)")
        pipe.check_va(va)
        pipe.frames_for(args.seconds)
    except ValueError as error:
        return _error(str(error))
    if args.devices:
        from art2music.render.predict import render_with_trainer

        report = render_with_trainer(pipe, collection, out_dir, model_identity, settings, devices=args.devices,
                                     accelerator=args.accelerator, num_workers=args.num_workers,
                                     model_name=str(args.model))
        if report is None:  # a non-zero DDP rank: rank 0 reports
            return 0
    else:
        from art2music.render.runner import render_collection

        report = render_collection(pipe, collection, out_dir, settings, model_identity, model_name=str(args.model))
    _report(report, out_dir)
    return report.exit_code


def _report(report, out_dir: Path) -> None:
    """Print the summary line and one line per failed item (non-printable characters escaped)."""
    if report is None:
        return
    counts = report.summary
    interrupted = sum(result.reason == "interrupted" for result in report.results)
    where = out_dir / "index.html" if report.results_written else "(results.json could not be written)"
    if report.stopped:
        _say(f"{report.stopped}: rendered {counts['ok']}, kept {counts['skipped']}, failed "
             f"{counts['failed'] - interrupted}, not reached {interrupted} of {counts['total']} -> {where}")
    else:
        print(printable(f"rendered {counts['ok']}, kept {counts['skipped']}, failed {counts['failed']} of "
                        f"{counts['total']} -> {where}"), file=sys.stderr)
    for result in report.results:
        if result.status == "failed" and result.reason != "interrupted":
            print(printable(f"  failed {result.id or result.source}: {result.reason}: {result.detail}"),
                  file=sys.stderr)


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.exit(main())
