"""The ``art2music`` command: one entry point, a subcommand per job.

Each subcommand lives in its own module and is imported only when used, so ``art2music --help`` is fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# name -> (module, function, one-line help). Each function takes argv (list[str]) and returns an exit code.
SUBCOMMANDS: dict[str, tuple[str, str, str]] = {
    "train-stage1": ("art2music.training.cli", "main", "train stage 1 (LightningCLI: fit --config FILE ...)"),
    "train-midi": ("art2music.training.midi_cli", "main", "train the symbolic (MIDI) engine (LightningCLI)"),
    "export-midi": ("art2music.training.midi_export", "main", "write a midi-engine pipeline folder from a checkpoint"),
    "train-vocoder": ("vocoder.cli", "main", "train / fine-tune the HiFi-GAN vocoder (LightningCLI)"),
    "export": ("art2music.training.export", "main", "assemble a pipeline folder from training checkpoints"),
    "export-stage1": ("art2music.training.export", "main_stage1", "write only the stage1/ part of a pipeline folder"),
    "train-va-judge": ("art2music.training.va_judge", "main", "train the music valence-arousal judge (metric and loss)"),
    "train-encoder": ("art2music.training.contrastive_encoder", "main", "train a tiny CLIP encoder on a manifest (demo)"),
    "predict-mels": ("art2music.training.predict_mels", "main", "store stage-1 predicted mels for vocoder fine-tuning"),
    "render": ("art2music.render.cli", "main", "render WAVs + an HTML gallery for a folder or CSV of images"),
    "soundtrack": ("art2music.soundtrack.cli", "main", "one continuous piece for a slideshow, a cue sheet and a player"),
    "evaluate": ("art2music.evaluation.cli", "main", "render a split and score it with MCD, LSD, FAD, cosine vs baselines"),
    "compare-evaluations": ("art2music.evaluation.compare", "main",
                            "join several `evaluate` runs on one split (e.g. both decoders) into one table"),
    "build-articaps": ("art2music.articaps.builder", "main", "build ArtiCaps pairs + feature cache from ArtEmis/MusicCaps"),
    "demo-corpus": ("art2music.demo_corpus", "main", "generate the demo corpus and build its ArtiCaps cache"),
    "serve": ("art2music.web.cli", "main", "a local web page: drop an image, listen, download (Gradio)"),
}

def parse_arguments(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace | int:
    """``parser.parse_args(argv)``, or argparse's exit code instead of exiting (0 after ``--help``, 2 after a
    usage error, whose message argparse has printed): subcommands return codes, they never call ``sys.exit``."""
    try:
        return parser.parse_args(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 2)


def printable(text: object) -> str:
    """``text`` safe to show on a terminal: control characters, escape sequences and other non-printable code
    points (newlines, ESC, bidi overrides ...) are written as Python writes them (``\\x1b``, ``\\n``,
    ``\\u202e``); ordinary Unicode (accents, CJK) is kept. For ids, comments, paths and error details."""
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in str(text))


def usage_error(command: str, message: str) -> int:
    """Print ``art2music <command>: error: <message>`` to stderr (argparse's style, on one line, non-printable
    characters escaped); returns exit code 2."""
    print(f"art2music {command}: error: {printable(message)}", file=sys.stderr)
    return 2


USAGE = "usage: art2music <command> [options]   (art2music <command> --help for a command's options)"


def _help() -> str:
    width = max(len(name) for name in SUBCOMMANDS)
    lines = [USAGE, "", "commands:"]
    lines += [f"  {name:<{width}}  {text}" for name, (_, _, text) in SUBCOMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Dispatch ``argv[0]`` to its subcommand; returns the process exit code (2 for usage errors)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(_help())
        return 0 if argv else 2
    if argv[0] in {"-V", "--version"}:
        from art2music import __version__

        print(f"art2music {__version__}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in SUBCOMMANDS:
        print(f"art2music: unknown command {name!r}\n\n{_help()}", file=sys.stderr)
        return 2
    module_name, function_name, _ = SUBCOMMANDS[name]
    function = getattr(importlib.import_module(module_name), function_name)
    result = function(rest)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
