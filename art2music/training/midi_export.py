"""``art2music export-midi --checkpoint last.ckpt --tokenizer tokenizer.json --out DIR``: a midi-engine pipeline
folder from a training checkpoint (only the model's weights; the VA regressor and optimizer state stay behind)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from art2music.export.format import write_midi_pipeline
from art2music.symbolic.model import SymbolicConfig, SymbolicModel
from art2music.symbolic.tokenizer import load_tokenizer

_CONFIG_KEYS = ("vocab_size", "pad_id", "bos_id", "eos_id", "d_model", "heads", "encoder_layers", "decoder_layers",
                "ffn_dim", "dropout", "max_tokens", "image_size", "image_encoder", "comment_dim", "va_every_position",
                "null_va", "null_image")


def model_from_checkpoint(checkpoint: str | Path) -> SymbolicModel:
    """The :class:`SymbolicModel` of a :class:`SymbolicModule` checkpoint (read with ``weights_only=True``)."""
    stored = torch.load(checkpoint, map_location="cpu", weights_only=True)
    hparams = stored["hyper_parameters"]
    model = SymbolicModel(SymbolicConfig(**{key: hparams[key] for key in _CONFIG_KEYS if key in hparams}))
    weights = {key.removeprefix("model."): value for key, value in stored["state_dict"].items()
               if key.startswith("model.")}
    model.load_state_dict(weights, strict=True)
    return model.eval()


def export_checkpoint(checkpoint: str | Path, tokenizer: str | Path, out: str | Path) -> Path:
    model = model_from_checkpoint(checkpoint)
    return write_midi_pipeline(out, model, load_tokenizer(tokenizer, model.config.vocab_size))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="art2music export-midi", description=__doc__)
    parser.add_argument("--checkpoint", required=True, help="a train-midi checkpoint (e.g. runs/midi-demo/checkpoints/"
                                                            "last.ckpt)")
    parser.add_argument("--tokenizer", required=True, help="the run's tokenizer.json (data.work_dir/tokenizer.json)")
    parser.add_argument("--out", required=True, help="the pipeline folder to write")
    args = parser.parse_args(argv)
    try:
        print(export_checkpoint(args.checkpoint, args.tokenizer, args.out))
    except (FileNotFoundError, KeyError, ValueError, RuntimeError) as error:
        print(f"art2music export-midi: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
