"""``art2music train-stage1``: LightningCLI over :class:`Stage1Module` and :class:`Stage1DataModule`.

The embedding size, frame count and text template are read from the data's feature cache and linked into the model,
and ``model.train_encoder`` switches the data to on-the-fly encoding, so a config states each fact once.
"""

from __future__ import annotations

import sys

from lightning.pytorch.cli import LightningCLI

from vocoder.last_checkpoint import SaveLastAtStop

from art2music.training.stage1_data import Stage1DataModule
from art2music.training.stage1_module import Stage1Module


class Stage1CLI(LightningCLI):
    def add_arguments_to_parser(self, parser) -> None:
        parser.link_arguments("model.train_encoder", "data.on_the_fly")
        parser.link_arguments("data.embed_dim", "model.embed_dim", apply_on="instantiate")
        parser.link_arguments("data.frames", "model.frames", apply_on="instantiate")
        parser.link_arguments("data.text_template", "model.text_template", apply_on="instantiate")


def main(argv: list[str] | None = None) -> int:
    """Run ``fit``/``validate``/``test`` for stage 1, e.g. ``fit --config configs/demo/stage1.yaml``.

    Returns 0 on success, 2 for a configuration or data error (missing cache, mismatched encoder or mel
    config, missing encoder weights), printed as one line instead of a traceback.
    """
    try:
        Stage1CLI(Stage1Module, Stage1DataModule, args=argv, trainer_defaults={"callbacks": [SaveLastAtStop()]},
                  save_config_kwargs={"overwrite": True},
                  auto_configure_optimizers=False)
    except (FileNotFoundError, ValueError) as error:  # includes ManifestError, CacheMismatchError
        print(f"art2music train-stage1: error: {error}", file=sys.stderr)
        return 2
    return 0
