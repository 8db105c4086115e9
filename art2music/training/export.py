"""``art2music export-stage1 --checkpoint FILE --out DIR``: Lightning checkpoint → export folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="art2music export-stage1", description=__doc__)
    parser.add_argument("--checkpoint", required=True, type=Path, help="stage-1 .ckpt (e.g. runs/.../last.ckpt)")
    parser.add_argument("--out", required=True, type=Path, help="export folder to write (config.json + model.safetensors)")
    args = parser.parse_args(argv)
    if not args.checkpoint.is_file():
        print(f"export-stage1: checkpoint {args.checkpoint} does not exist", file=sys.stderr)
        return 2
    from art2music.training.stage1_module import Stage1Module

    module = Stage1Module.load_from_checkpoint(str(args.checkpoint), map_location="cpu", weights_only=True)
    module.export(args.out)
    print(f"wrote {args.out}")
    return 0
