"""Command line of the vocoder: ``python -m vocoder fit|validate|export ...``.

``fit`` / ``validate`` are LightningCLI subcommands over :class:`VocoderModule` and :class:`VocoderDataModule`
(``--config configs/vocoder.yaml``, any value overridable, ``--ckpt_path last`` resumes); ``export`` turns
a ``.ckpt`` into release files. art2music wires this as ``art2music train-vocoder ...``.

Exit codes: 0 success; 1 export failed on a bad checkpoint, or training stopped on an unreadable/silent clip;
2 usage or configuration error (bad option, unknown architecture, missing file, checkpoint mismatch).
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def _export_main(argv: list[str]) -> int:
    from vocoder.checkpoint import CheckpointError
    from vocoder.release import export

    parser = argparse.ArgumentParser(prog="vocoder export", description="Export a vocoder training checkpoint.")
    parser.add_argument("checkpoint", help="Lightning .ckpt of a vocoder run (e.g. runs/.../checkpoints/last.ckpt)")
    parser.add_argument("--out", help="export directory to write (config.json + model.safetensors)")
    parser.add_argument("--official", help="official {'generator': state_dict} file to write (config.json beside)")
    args = parser.parse_args(argv)
    if args.out is None and args.official is None:
        parser.error("give --out DIR and/or --official FILE")
    try:
        export(args.checkpoint, args.out, args.official)
    except (CheckpointError, FileNotFoundError, ValueError) as error:
        print(f"vocoder export: error: {error}", file=sys.stderr)
        return 1
    for target in (args.out, args.official):
        if target:
            print(f"wrote {target}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the vocoder command line on ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    from_command_line = argv is None
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "export":
        return _export_main(argv[1:])
    from lightning.pytorch.cli import LightningCLI

    from vocoder.audio import AudioError
    from vocoder.checkpoint import CheckpointError
    from vocoder.datamodule import VocoderDataModule
    from vocoder.last_checkpoint import SaveLastAtStop
    from vocoder.module import VocoderModule

    try:
        # args=None lets LightningCLI read sys.argv itself (passing it too only triggers a warning)
        LightningCLI(VocoderModule, VocoderDataModule, args=None if from_command_line else argv,
                     trainer_defaults={"callbacks": [SaveLastAtStop()]},
                     save_config_kwargs={"overwrite": True},
                     parser_kwargs={"prog": "vocoder"})
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 2)
    except AudioError as error:  # a bad clip met during training: the run stopped, its last checkpoint is kept
        print(f"vocoder: error: {error}", file=sys.stderr)
        return 1
    except (CheckpointError, FileNotFoundError, ValueError) as error:
        print(f"vocoder: error: {error}", file=sys.stderr)
        return 2
    return 0
