"""``art2music export-midi --checkpoint last.ckpt --tokenizer tokenizer.json --out DIR``: a midi-engine pipeline
folder from a training checkpoint (only the model's weights; the VA regressor and optimizer state stay behind).
``--temperature`` / ``--top-k`` / ``--top-p`` store the model's sampling defaults (chosen on the validation split)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from art2music.export.format import write_midi_pipeline
from art2music.symbolic.model import SymbolicConfig, SymbolicModel
from art2music.symbolic.sampling import SamplingDefaults
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


def export_checkpoint(checkpoint: str | Path, tokenizer: str | Path, out: str | Path,
                      sampling: SamplingDefaults = SamplingDefaults()) -> Path:
    model = model_from_checkpoint(checkpoint)
    return write_midi_pipeline(out, model, load_tokenizer(tokenizer, model.config.vocab_size), sampling=sampling)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="art2music export-midi", description=__doc__)
    parser.add_argument("--checkpoint", required=True, help="a train-midi checkpoint (e.g. runs/midi-demo/checkpoints/"
                                                            "last.ckpt)")
    parser.add_argument("--tokenizer", required=True, help="the run's tokenizer.json (data.work_dir/tokenizer.json)")
    parser.add_argument("--out", required=True, help="the pipeline folder to write")
    defaults = SamplingDefaults()
    parser.add_argument("--temperature", type=float, default=defaults.temperature,
                        help=f"the model's default sampling temperature (default {defaults.temperature})")
    parser.add_argument("--top-k", type=int, default=defaults.top_k,
                        help=f"its default top-k, 0 = off (default {defaults.top_k})")
    parser.add_argument("--top-p", type=float, default=defaults.top_p,
                        help=f"its default nucleus mass (default {defaults.top_p})")
    args = parser.parse_args(argv)
    try:
        sampling = SamplingDefaults(args.temperature, args.top_k, args.top_p)
        print(export_checkpoint(args.checkpoint, args.tokenizer, args.out, sampling))
    except (FileNotFoundError, KeyError, ValueError, RuntimeError) as error:
        print(f"art2music export-midi: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
