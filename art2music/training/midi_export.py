"""``art2music export-midi --checkpoint last.ckpt --tokenizer tokenizer.json --out DIR``: a midi-engine pipeline
folder from a training checkpoint (only the model's weights; the VA regressor and optimizer state stay behind).
``--sampling FILE`` (YAML: temperature, top_k, top_p, key_prior, mode_prior, tempo_prior; e.g.
``configs/demo/midi-sampling.yaml``) and ``--temperature`` / ``--top-k`` / ``--top-p`` / ``--key-prior`` /
``--mode-prior`` / ``--tempo-prior`` (which win over the file) store the model's sampling defaults, chosen on the
validation split."""

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


def read_sampling_file(path: str | Path) -> SamplingDefaults:
    """A YAML mapping of sampling defaults → :class:`SamplingDefaults`.

    Raises:
        FileNotFoundError: no such file.  ValueError: not a mapping, an unknown key or a value out of range.
    """
    import yaml

    values = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(values, dict):
        raise ValueError(f"{path}: expected a mapping of {', '.join(SamplingDefaults().to_dict())}")
    try:
        return SamplingDefaults.from_dict(values)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{path}: {error}") from error


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="art2music export-midi", description=__doc__)
    parser.add_argument("--checkpoint", required=True, help="a train-midi checkpoint (e.g. runs/midi-demo/checkpoints/"
                                                            "last.ckpt)")
    parser.add_argument("--tokenizer", required=True, help="the run's tokenizer.json (data.work_dir/tokenizer.json)")
    parser.add_argument("--out", required=True, help="the pipeline folder to write")
    defaults = SamplingDefaults()
    parser.add_argument("--sampling", default=None,
                        help="a YAML file of the model's sampling defaults (keys temperature, top_k, top_p, key_prior, "
                             "mode_prior, tempo_prior; missing keys: the built-in defaults)")
    parser.add_argument("--temperature", type=float, default=None,
                        help=f"the model's default sampling temperature (default {defaults.temperature})")
    parser.add_argument("--top-k", type=int, default=None, help=f"its default top-k, 0 = off (default {defaults.top_k})")
    parser.add_argument("--top-p", type=float, default=None, help=f"its default nucleus mass (default {defaults.top_p})")
    parser.add_argument("--key-prior", type=float, default=None,
                        help=f"its default logit penalty per out-of-key pitch, 0 = off (default {defaults.key_prior})")
    parser.add_argument("--mode-prior", type=float, default=None,
                        help=f"its default lean towards major keys for positive target valence and minor for negative "
                             f"(logits), 0 = off (default {defaults.mode_prior})")
    parser.add_argument("--tempo-prior", type=float, default=None,
                        help=f"its default lean of the first tempo towards fast for positive target arousal and slow "
                             f"for negative (logits per octave of tempo), 0 = off (default {defaults.tempo_prior})")
    args = parser.parse_args(argv)
    try:
        sampling = read_sampling_file(args.sampling) if args.sampling else defaults
        sampling = SamplingDefaults(**sampling.resolve(temperature=args.temperature, top_k=args.top_k,
                                                       top_p=args.top_p, key_prior=args.key_prior,
                                                       mode_prior=args.mode_prior, tempo_prior=args.tempo_prior))
        print(export_checkpoint(args.checkpoint, args.tokenizer, args.out, sampling))
    except (FileNotFoundError, KeyError, ValueError, RuntimeError) as error:
        print(f"art2music export-midi: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
