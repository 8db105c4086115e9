"""LightningModule for stage 1: embeddings → fusion → BiLSTM → log-mel, frequency-weighted L1.

With the encoder frozen (the default) the training step reads cached embeddings and never runs the
encoder; it is not even built. With ``train_encoder=True`` it is built, trained at ``encoder_lr``, and fed
by the data module's on-the-fly mode.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch

from art2music.audio_engine.loss import FrequencyWeightedL1
from art2music.audio_engine.stage1 import Stage1Config, Stage1Model
from art2music.encoders.clip import check_text_template
from art2music.io.audio import PAPER_FRAMES
from vocoder.mel import MelConfig


class Stage1Module(L.LightningModule):
    """Stage-1 training.

    Args:
        embed_dim: encoder embedding size (linked from the data's cache by the CLI).
        encoder_arch: OpenCLIP architecture the embeddings come from (checked against the cache).
        encoder_pretrained: its pretrained tag or weights file (checked against the cache).
        train_encoder: fine-tune the encoder too (switches the data to on-the-fly encoding).
        fusion_dim, decoder_input_dim, lstm_hidden, lstm_layers, dropout: network sizes (paper: 512, 512, 512, 4).
        frames: mel frames per clip (linked from the cache; 862 = 10 s in the paper).
        lr: Adam learning rate for fusion + decoder (paper: 1e-4).
        encoder_lr: learning rate for the encoder when it is trained.
        weight_low, weight_high: the loss's per-bin weights at the lowest and highest mel bin.
        init_output_level: start the decoder's output at the training data's mean log-mel per bin.
        mel: the mel definition (stored in checkpoints and exports).
        text_template: how comments were written for the encoder (linked from the data's cache by the CLI),
            stored so that ``art2music export`` gives the pipeline the same template.
    """

    def __init__(self, embed_dim: int = 1024, encoder_arch: str = "ViT-H-14",
                 encoder_pretrained: str | None = "laion2b_s32b_b79k", train_encoder: bool = False,
                 fusion_dim: int = 512, decoder_input_dim: int = 512, lstm_hidden: int = 512, lstm_layers: int = 4,
                 frames: int = PAPER_FRAMES, dropout: float = 0.0, lr: float = 1e-4, encoder_lr: float = 1e-6,
                 weight_low: float = 1.0, weight_high: float = 1.5, init_output_level: bool = True,
                 mel: MelConfig = MelConfig(), text_template: str = "{comment}"):
        super().__init__()
        self.save_hyperparameters()
        self.mel_config = mel
        check_text_template(text_template)
        self.config = Stage1Config(embed_dim=embed_dim, fusion_dim=fusion_dim, decoder_input_dim=decoder_input_dim,
                                   lstm_hidden=lstm_hidden, lstm_layers=lstm_layers, frames=frames,
                                   n_mels=mel.n_mels, dropout=dropout)
        self.model = Stage1Model(self.config)
        self.loss = FrequencyWeightedL1(mel.n_mels, weight_low, weight_high)
        self.encoder = None
        if train_encoder:
            from art2music.encoders.clip import ClipEncoder

            self.encoder = ClipEncoder(encoder_arch, encoder_pretrained, trainable=True)
            if self.encoder.embed_dim != embed_dim:
                raise ValueError(f"{encoder_arch} gives {self.encoder.embed_dim}-d embeddings, embed_dim is {embed_dim}")

    # ------------------------------------------------------------------ data hand-shake
    def setup(self, stage: str) -> None:
        datamodule = getattr(self.trainer, "datamodule", None) if self._trainer is not None else None
        if datamodule is None or not hasattr(datamodule, "encoder_spec"):
            return
        if getattr(datamodule, "cache", None) is not None:
            self.mel_config.check_matches(datamodule.cache.mel_config, f"the feature cache of {datamodule.data_dir}")
        spec = datamodule.encoder_spec
        from art2music.encoders.clip import weights_identity

        expected_pretrained = weights_identity(self.hparams.encoder_pretrained)
        if spec.get("arch") != self.hparams.encoder_arch or spec.get("pretrained") != expected_pretrained:
            raise ValueError(f"the data in {datamodule.data_dir} was encoded with {spec.get('arch')} / "
                             f"{spec.get('pretrained')}, but the model is configured for "
                             f"{self.hparams.encoder_arch} / {expected_pretrained}; set model.encoder_arch and "
                             f"model.encoder_pretrained to match, or rebuild the cache")
        if self.encoder is not None:
            datamodule.attach_encoder(self.encoder.image_transform, self.encoder.tokenizer)
        if stage == "fit" and self.hparams.init_output_level and hasattr(datamodule, "mean_train_mel"):
            # A resumed run overwrites this with the checkpoint's weights right after setup.
            self.model.decoder.init_output_level(datamodule.mean_train_mel())

    # ------------------------------------------------------------------ steps
    def embeddings(self, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """``(text, image)`` embeddings ``(B, D)``: cached, or encoded now when the encoder is trained."""
        if "text_embedding" in batch:
            return batch["text_embedding"], batch["image_embedding"]
        if self.encoder is None:
            raise RuntimeError("batch holds encoder inputs but the encoder is frozen; use cached data")
        return self.encoder.encode_texts(batch["tokens"]), self.encoder.encode_images(batch["pixels"])

    def forward(self, text_embedding: torch.Tensor, image_embedding: torch.Tensor,
                frames: int | None = None) -> torch.Tensor:
        """``(B, D)``, ``(B, D)`` → ``(B, n_mels, frames)`` log-mel."""
        return self.model(text_embedding, image_embedding, frames)

    def _shared_step(self, batch: dict[str, Any], split: str) -> tuple[torch.Tensor, torch.Tensor]:
        text_embedding, image_embedding = self.embeddings(batch)
        target = batch["mel"]
        prediction = self(text_embedding, image_embedding, frames=target.shape[-1])
        loss = self.loss(prediction, target)
        batch_size = target.shape[0]
        self.log(f"{split}/loss", loss, prog_bar=True, batch_size=batch_size, sync_dist=split != "train")
        self.log(f"{split}/mel_l1", (prediction - target).abs().mean(), batch_size=batch_size,
                 sync_dist=split != "train")
        return loss, prediction

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        return self._shared_step(batch, "train")[0]

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        _, prediction = self._shared_step(batch, "val")
        if batch_idx == 0:
            self._log_mel_image(prediction[0], batch["mel"][0])

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._shared_step(batch, "test")

    def configure_optimizers(self) -> torch.optim.Optimizer:
        groups = [{"params": [p for p in self.model.parameters() if p.requires_grad], "lr": self.hparams.lr}]
        if self.encoder is not None:
            groups.append({"params": [p for p in self.encoder.parameters() if p.requires_grad],
                           "lr": self.hparams.encoder_lr})
        return torch.optim.Adam(groups)

    # ------------------------------------------------------------------ logging and export
    def _log_mel_image(self, prediction: torch.Tensor, target: torch.Tensor) -> None:
        experiment = getattr(self.logger, "experiment", None)
        if experiment is None or not hasattr(experiment, "add_figure") or self.trainer.sanity_checking:
            return
        from art2music.training.plotting import mel_comparison_figure

        figure = mel_comparison_figure(prediction.detach().float().cpu().numpy(),
                                       target.detach().float().cpu().numpy(), self.mel_config)
        experiment.add_figure("val/mel_prediction_vs_target", figure, global_step=self.global_step)

    def export(self, directory: str | Path) -> None:
        """Write the stage-1 folder of a pipeline (``stage1/`` of :mod:`art2music.export.format`)."""
        from art2music.export.format import encoder_config, save_stage1

        encoder = encoder_config(self.hparams.encoder_arch, self.hparams.encoder_pretrained)
        save_stage1(self.model, directory, self.mel_config, encoder)
