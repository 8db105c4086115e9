"""``art2music train-midi``: LightningCLI over :class:`SymbolicModule` and :class:`SymbolicDataModule`.

The vocabulary size and the special token ids come from the data's tokenizer (linked), so a config states each
fact once. ``make train-midi`` passes ``--ckpt_path last`` so a killed run resumes from ``last.ckpt``; DDP is a
config matter (``trainer.devices``, ``trainer.strategy: ddp``).
"""

from __future__ import annotations

import sys

from lightning.pytorch.cli import LightningCLI

from vocoder.last_checkpoint import SaveLastAtStop

from art2music.training.midi_data import SymbolicDataModule
from art2music.training.midi_module import SymbolicModule


class SymbolicCLI(LightningCLI):
    def add_arguments_to_parser(self, parser) -> None:
        for name in ("vocab_size", "pad_id", "bos_id", "eos_id"):
            parser.link_arguments(f"data.{name}", f"model.{name}", apply_on="instantiate")
        parser.link_arguments("model.image_size", "data.image_size")
        parser.link_arguments("model.max_tokens", "data.max_tokens")


def main(argv: list[str] | None = None) -> int:
    """Run ``fit``/``validate``/``test``, e.g. ``fit --config configs/demo/midi.yaml``; 2 for a data error."""
    try:
        SymbolicCLI(SymbolicModule, SymbolicDataModule, args=argv, trainer_defaults={"callbacks": [SaveLastAtStop()]},
                    save_config_kwargs={"overwrite": True})
    except (FileNotFoundError, ValueError) as error:
        print(f"art2music train-midi: error: {error}", file=sys.stderr)
        return 2
    return 0
