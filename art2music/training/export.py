"""``art2music export``: training checkpoints → one complete pipeline folder (the release format).

::

    art2music export --stage1 runs/stage1/checkpoints/best.ckpt --vocoder runs/vocoder/checkpoints/last.ckpt \\
        --out exports/my-model [--encoder-weights FILE] [--text-template "{comment}"]

The stage-1 checkpoint names its encoder (architecture and pretrained tag or weights file) and the text
template its cache was built with; a fine-tuned encoder travels inside it. ``--vocoder`` takes a vocoder
training checkpoint (``.ckpt``), an exported vocoder folder, or an official HiFi-GAN ``g_XXXXXXXX`` file.
The folder is written by :func:`art2music.export.format.write_pipeline_folder` and loads with
``Art2Music.from_pretrained(OUT)``. ``art2music export-stage1`` (older) writes only the ``stage1/`` part.

Exit codes: 0 written, 2 a usage error or a checkpoint that cannot be read (one line, no traceback).
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

from art2music.cli import parse_arguments, usage_error


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="art2music export", description="Assemble a pipeline folder (pipeline.json, "
                                     "encoder/, stage1/, vocoder/) from training checkpoints.")
    parser.add_argument("--stage1", required=True, type=Path, help="stage-1 Lightning checkpoint (train-stage1's .ckpt)")
    parser.add_argument("--vocoder", required=True, type=Path,
                        help="vocoder: a train-vocoder .ckpt, an exported vocoder folder, or an official g_XXXXXXXX file")
    parser.add_argument("--out", required=True, type=Path, help="the pipeline folder to write (replaced if present)")
    parser.add_argument("--encoder-weights", type=Path, default=None,
                        help="OpenCLIP weights file to store, instead of what the stage-1 checkpoint names")
    parser.add_argument("--va-judge", type=Path, default=None,
                        help="a VA judge folder (art2music train-va-judge) to ship as va_judge/ (default: keep the "
                             "judge of the folder being replaced, if any)")
    parser.add_argument("--text-template", default=None,
                        help="override the text template recorded in the stage-1 checkpoint (placeholders {comment}, "
                             "{emotion}); must match how the training cache was built")
    return parser


def _load_vocoder(path: Path):
    from vocoder import load_generator
    from vocoder.release import generator_from_training_checkpoint

    if path.suffix == ".ckpt":
        return generator_from_training_checkpoint(path).remove_weight_norm()
    return load_generator(path, precision="float32")


def _encoder(module, weights_file: Path | None):
    """``(config, clip_module_or_None)``: what the pipeline stores for the stage-1 run's encoder."""
    from art2music.encoders.clip import ClipEncoder, weights_identity
    from art2music.export.format import encoder_config

    arch, pretrained = module.hparams.encoder_arch, module.hparams.encoder_pretrained
    if module.encoder is not None:  # fine-tuned with stage 1: its weights are in the checkpoint
        return encoder_config(arch, None), module.encoder.clip
    if weights_file is not None:
        return encoder_config(arch, None), ClipEncoder(arch, str(weights_file)).clip
    if pretrained is not None and weights_identity(pretrained) != pretrained:  # a weights file: copy its content
        return encoder_config(arch, None), ClipEncoder(arch, pretrained).clip
    if pretrained is None:
        raise ValueError(f"the stage-1 run used a randomly initialised {arch} encoder that is not in the checkpoint; "
                         f"pass the weights its cache was built with as --encoder-weights")
    return encoder_config(arch, pretrained), None  # a pretrained tag: stored by name


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit code."""
    args = parse_arguments(build_parser(), argv)
    if isinstance(args, int):
        return args
    for flag, path in (("--stage1", args.stage1), ("--vocoder", args.vocoder), ("--encoder-weights", args.encoder_weights),
                       ("--va-judge", args.va_judge)):
        if path is not None and not path.exists():
            return usage_error("export", f"{flag} {path} does not exist")
    if args.out.exists() and not args.out.is_dir():
        return usage_error("export", f"--out {args.out} exists and is not a folder")
    from art2music.export.format import write_pipeline_folder
    from art2music.training.stage1_module import Stage1Module

    try:
        module = Stage1Module.load_from_checkpoint(str(args.stage1), map_location="cpu", weights_only=True)
        template = args.text_template or module.hparams.get("text_template", "{comment}")
        encoder, encoder_weights = _encoder(module, args.encoder_weights)
        vocoder = _load_vocoder(args.vocoder)
        write_pipeline_folder(args.out, encoder, encoder_weights, module.inference_model.eval(), vocoder,
                              module.mel_config, template, args.va_judge)
    except (OSError, ValueError, KeyError, RuntimeError, TypeError, EOFError, pickle.UnpicklingError) as error:
        # a checkpoint that is not one (weights_only refuses pickled objects), or one from another model
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        return usage_error("export", f"{type(error).__name__}: {first_line}")
    print(f"wrote {args.out} (load it with Art2Music.from_pretrained({str(args.out)!r}))", file=sys.stderr)
    return 0


def main_stage1(argv: list[str] | None = None) -> int:
    """``art2music export-stage1 --checkpoint FILE --out DIR``: only the ``stage1/`` part of a pipeline folder."""
    parser = argparse.ArgumentParser(prog="art2music export-stage1", description=main_stage1.__doc__)
    parser.add_argument("--checkpoint", required=True, type=Path, help="stage-1 .ckpt (e.g. runs/.../last.ckpt)")
    parser.add_argument("--out", required=True, type=Path, help="folder to write (config.json + model.safetensors)")
    args = parse_arguments(parser, argv)
    if isinstance(args, int):
        return args
    if not args.checkpoint.is_file():
        return usage_error("export-stage1", f"checkpoint {args.checkpoint} does not exist")
    from art2music.training.stage1_module import Stage1Module

    module = Stage1Module.load_from_checkpoint(str(args.checkpoint), map_location="cpu", weights_only=True)
    module.export(args.out)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0
