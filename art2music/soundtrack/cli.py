"""``art2music soundtrack IMAGES… | FOLDER | CSV --seconds-per-image S --out track.wav``: one piece for a slideshow.

Writes ``track.wav``, the cue sheet ``track.json``, the player ``track.html`` with ``track_images/`` (and
``track.mid`` with ``--engine midi``), all together or none (:mod:`.outputs`). Messages are one line each.

Exit codes:
  0    written
  1    the model wrote no notes for a slide (midi engine; another --seed may work)
  2    usage or input error, before anything is written: no images, a file that is not an image, a bad CSV row,
       bad options, a model that cannot be loaded, FluidSynth missing (midi engine)
  3    the outputs could not be written (disk full, read-only folder ...); nothing was left behind
  130  interrupted (Ctrl-C); nothing was left behind
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from art2music.cli import parse_arguments, printable, usage_error

COMPOSITION_FAILED, WRITE_FAILED = 1, 3
MAX_SECONDS_PER_IMAGE = 600.0
MIN_SECONDS_PER_IMAGE = 0.5
MAX_TRACK_SECONDS = 4 * 3600.0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="art2music soundtrack",
        description="One continuous piece for a slideshow: each image's section follows that image's mood, with "
                    "smooth transitions. Writes OUT (a .wav), OUT's .json cue sheet (image, start, end, settings), "
                    "an .html player that shows the current image while the track plays, and <stem>_images/ "
                    "thumbnails (and a .mid with --engine midi).",
        epilog="Exit codes: 0 written; 1 the midi model wrote no notes for a slide; 2 usage or input error (nothing "
               "written); 3 the outputs could not be written (nothing left behind); 130 interrupted.")
    parser.add_argument("inputs", nargs="*", metavar="IMAGES|FOLDER|CSV",
                        help="image files in slideshow order, or one folder (sorted, sub-folders too), or one CSV with "
                             "columns image[,comment][,id] (image paths relative to the CSV)")
    parser.add_argument("--seconds-per-image", type=float, required=True, metavar="S",
                        help=f"length of each image's section in seconds ({MIN_SECONDS_PER_IMAGE:g} to "
                             f"{MAX_SECONDS_PER_IMAGE:g})")
    parser.add_argument("--out", required=True, help="the soundtrack's WAV file, e.g. track.wav")
    parser.add_argument("--model", default="demo", help="'demo' (the shipped weights, default) or a pipeline folder")
    parser.add_argument("--engine", choices=("audio", "midi"), default="audio",
                        help="audio (default): flow sections continue each other (the BiLSTM: crossfades); midi: "
                             "sections at one tempo in related keys, played by FluidSynth ('demo' means 'demo-midi')")
    parser.add_argument("--seed", type=int, default=None,
                        help="the piece to draw (flow stage 1 or midi engine; default: from the images and comments)")
    parser.add_argument("--steps", type=int, default=None, help="flow: ODE steps (default: the model's)")
    parser.add_argument("--guidance", type=float, default=None, help="flow: guidance scale (default: the model's)")
    parser.add_argument("--temperature", type=float, default=None,
                        help="midi engine: sampling temperature (default: the model's own, in its symbolic/config.json)")
    parser.add_argument("--top-p", type=float, default=None,
                        help="midi engine: nucleus sampling mass (default: the model's own)")
    parser.add_argument("--precision", choices=("auto", "float32", "bfloat16"), default="auto",
                        help="audio engine: arithmetic of the encoders, stage 1 and the vocoder (as render)")
    parser.add_argument("--device", default=None, help="torch device (default cuda if available, else cpu)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's choice)")
    parser.add_argument("--wav-format", choices=("pcm16", "float"), default="pcm16",
                        help="16-bit PCM (default) or 32-bit float WAV")
    return parser


class _LoadError(Exception):
    """The model or a setting does not fit (exit code 2)."""


def _error(message: str) -> int:
    return usage_error("soundtrack", message)


def _say(message: str) -> None:
    print(f"art2music soundtrack: {printable(message)}", file=sys.stderr)


def _check_options(args: argparse.Namespace) -> str | None:
    """The first problem with the options, or ``None``."""
    seconds = args.seconds_per_image
    if not MIN_SECONDS_PER_IMAGE <= seconds <= MAX_SECONDS_PER_IMAGE:
        return (f"--seconds-per-image must be between {MIN_SECONDS_PER_IMAGE:g} and {MAX_SECONDS_PER_IMAGE:g}, got "
                f"{seconds:g}")
    if not args.out.lower().endswith(".wav"):
        return f"--out must name a .wav file, got {args.out}"
    if Path(args.out).expanduser().is_dir():
        return f"--out {args.out} is a folder; give the soundtrack's file name, e.g. {args.out.rstrip('/')}/track.wav"
    if args.seed is not None and not 0 <= args.seed < 2 ** 63:
        return f"--seed must be in [0, 2**63), got {args.seed}"
    if args.steps is not None and args.steps < 1:
        return f"--steps must be at least 1, got {args.steps}"
    if args.guidance is not None and not 0 <= args.guidance < float("inf"):
        return f"--guidance must be a finite number >= 0, got {args.guidance}"
    if args.threads is not None and args.threads < 1:
        return f"--threads must be at least 1, got {args.threads}"
    if args.engine == "midi" and (args.steps is not None or args.guidance is not None):
        return "--steps and --guidance are for the audio engine's flow decoder; the midi engine samples tokens"
    if args.engine == "midi" and ((args.temperature is not None and not args.temperature > 0)
                                  or (args.top_p is not None and not 0 < args.top_p <= 1)):
        return "--temperature must be positive and --top-p in (0, 1]"
    return None


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit code (module docstring)."""
    args = parse_arguments(build_parser(), argv)
    if isinstance(args, int):
        return args
    problem = _check_options(args)
    if problem:
        return _error(problem)
    from art2music.soundtrack.slides import SlideError, read_slides

    out = Path(args.out).expanduser()
    try:
        slides = read_slides(args.inputs, exclude=out.parent / f"{out.stem}_images")
    except SlideError as error:
        return _error(str(error))
    if len(slides) * args.seconds_per_image > MAX_TRACK_SECONDS:
        return _error(f"{len(slides)} images x {args.seconds_per_image:g} s is over the limit of "
                      f"{MAX_TRACK_SECONDS / 3600:g} hours for one soundtrack")
    import torch

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    try:
        track = _compose(args, slides)
    except _LoadError as error:
        return _error(str(error))
    except KeyboardInterrupt:
        _say("interrupted; nothing was written")
        return 130
    if isinstance(track, int):
        return track
    for note in track.notes:
        _say(f"note: {note}")
    from art2music.render.outputs import WAV_SUBTYPES, OutputWriteError

    try:
        written = _write(track, slides, out, WAV_SUBTYPES[args.wav_format])
    except (OutputWriteError, OSError) as error:
        _say(f"error: {error}; nothing was written")
        return WRITE_FAILED
    except KeyboardInterrupt:
        _say("interrupted; nothing was written")
        return 130
    print(printable(f"wrote {track.seconds:.1f} s for {len(slides)} images ({track.transitions}) -> {written['wav']}, "
                    f"{written['json'].name}, {written['html'].name}"), file=sys.stderr)
    return 0


def _write(track, slides, out: Path, subtype: str):
    from art2music.soundtrack.outputs import write_soundtrack

    return write_soundtrack(track, slides, out, subtype)


def _compose(args: argparse.Namespace, slides):
    """Load the engine's model and compose; a :class:`Soundtrack`, or an exit code."""
    import torch

    from art2music.export.format import ModelLoadError

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if args.engine == "midi":
        from art2music.io.synthesis import SynthesisUnavailable, find_fluidsynth, find_soundfont
        from art2music.soundtrack.midi_track import CompositionError, compose_midi_track
        from art2music.symbolic.pipeline import Art2Midi

        model = "demo-midi" if args.model == "demo" else args.model
        try:
            find_fluidsynth(), find_soundfont()
            pipe = Art2Midi.from_pretrained(model, device=device)
        except (ModelLoadError, ValueError, RuntimeError, FileNotFoundError, SynthesisUnavailable) as error:
            raise _LoadError(f"cannot load the model {model!r}: {error}") from None
        try:
            track = compose_midi_track(pipe, slides, args.seconds_per_image, seed=args.seed or 0,
                                       temperature=args.temperature, top_p=args.top_p)
        except CompositionError as error:
            _say(f"error: {error}")
            return COMPOSITION_FAILED
        track.settings["model"] = model
        return track
    from art2music.pipeline import Art2Music
    from art2music.soundtrack.audio_track import compose_audio_track

    try:
        pipe = Art2Music.from_pretrained(args.model, device=device, precision=args.precision)
    except (ModelLoadError, ValueError, RuntimeError, FileNotFoundError) as error:
        raise _LoadError(f"cannot load the model {args.model!r}: {error}") from None
    try:
        pipe.check_sampling(args.seed, args.steps, args.guidance)
    except ValueError as error:
        raise _LoadError(str(error)) from None
    track = compose_audio_track(pipe, slides, args.seconds_per_image, args.seed, args.steps, args.guidance)
    track.settings["model"] = str(args.model)
    return track


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.exit(main())
