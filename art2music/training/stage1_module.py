"""LightningModule for stage 1: embeddings → fusion → mel decoder → log-mel.

``model.decoder: bilstm`` (the paper's): frequency-weighted L1 on whole clips. ``model.decoder: flow``: the
conditional flow-matching loss (:mod:`art2music.audio_engine.decoders.flow`) on random crops of
``model.flow.crop_frames`` frames, its squared error weighted per bin by the same 1.0 → 1.5 ramp; an EMA copy of
the weights (``model.ema_decay``) is kept in the checkpoint (so a resumed run restores it), used for the
validation samples logged to TensorBoard, and exported.

With the encoder frozen (the default) the training step reads cached embeddings and never runs the
encoder; it is not even built. With ``train_encoder=True`` it is built, trained at ``encoder_lr``, and fed
by the data module's on-the-fly mode.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import copy

import lightning as L
import torch

from art2music.audio_engine.decoders.flow import FlowConfig
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
        decoder: ``"bilstm"`` (the paper's regression) or ``"flow"`` (conditional flow matching).
        flow: the flow decoder's sizes and sampling defaults (used when ``decoder`` is ``"flow"``).
        ema_decay: decay of the exponential moving average of the weights used for validation samples and
            export; ``None``: 0.999 for the flow decoder, off (0) for the BiLSTM.
        emotion_conditioning: also condition on the pair's target (valence, arousal) (its comment's emotion
            through :data:`art2music.emotions.VALENCE_AROUSAL`), so users can steer the feeling.
        emotion_dropout: probability of training a pair without its target, so the control stays optional.
        va_judge: a music VA judge folder (``art2music train-va-judge``; the demo ships one in
            ``art2music/assets/demo/va_judge``), frozen, for the VA loss.
        va_loss_weight: weight of the VA loss (0: off, the ablation): the squared distance between the judged
            (valence, arousal) of what the decoder writes and the pair's target (its comment's emotion). The BiLSTM's
            output is judged directly; the flow decoder's one-step estimate of the clean mel is judged, each row
            weighted by its flow time (the estimate is a blur near t = 0) and left out where the condition was
            dropped. Pairs without a target are left out.
        init_stage1: start from the weights of an exported stage 1 (a pipeline folder or its ``stage1/``) with the
            same sizes: fine-tuning, e.g. the VA-loss ablation from the shipped demo.
    """

    def __init__(self, embed_dim: int = 1024, encoder_arch: str = "ViT-H-14",
                 encoder_pretrained: str | None = "laion2b_s32b_b79k", train_encoder: bool = False,
                 fusion_dim: int = 512, decoder_input_dim: int = 512, lstm_hidden: int = 512, lstm_layers: int = 4,
                 frames: int = PAPER_FRAMES, dropout: float = 0.0, lr: float = 1e-4, encoder_lr: float = 1e-6,
                 weight_low: float = 1.0, weight_high: float = 1.5, init_output_level: bool = True,
                 mel: MelConfig = MelConfig(), text_template: str = "{comment}", decoder: str = "bilstm",
                 flow: FlowConfig = FlowConfig(), ema_decay: float | None = None, emotion_conditioning: bool = False,
                 emotion_dropout: float = 0.3, va_judge: str | None = None, va_loss_weight: float = 0.0,
                 init_stage1: str | None = None):
        super().__init__()
        self.save_hyperparameters()
        self.mel_config = mel
        check_text_template(text_template)
        self.config = Stage1Config(embed_dim=embed_dim, fusion_dim=fusion_dim, decoder_input_dim=decoder_input_dim,
                                   lstm_hidden=lstm_hidden, lstm_layers=lstm_layers, frames=frames,
                                   n_mels=mel.n_mels, dropout=dropout, decoder=decoder,
                                   flow=flow if decoder == "flow" else None,
                                   emotion_conditioning=emotion_conditioning)
        if not 0.0 <= emotion_dropout <= 1.0:
            raise ValueError(f"emotion_dropout must be in [0, 1], got {emotion_dropout}")
        self.model = Stage1Model(self.config)
        if init_stage1:
            self._load_initial_weights(Path(init_stage1))
        self.va_judge = self._frozen_judge(va_judge, va_loss_weight)
        self.loss = FrequencyWeightedL1(mel.n_mels, weight_low, weight_high)
        self.ema_decay = (0.999 if decoder == "flow" else 0.0) if ema_decay is None else float(ema_decay)
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1), got {ema_decay}")
        # The EMA copy is a submodule, so it is saved in (and restored from) every checkpoint; it is not trained.
        self.ema = copy.deepcopy(self.model).requires_grad_(False) if self.ema_decay > 0 else None
        self.encoder = None
        if train_encoder:
            from art2music.encoders.clip import ClipEncoder

            self.encoder = ClipEncoder(encoder_arch, encoder_pretrained, trainable=True)
            if self.encoder.embed_dim != embed_dim:
                raise ValueError(f"{encoder_arch} gives {self.encoder.embed_dim}-d embeddings, embed_dim is {embed_dim}")

    def _load_initial_weights(self, folder: Path) -> None:
        from art2music.export.format import load_stage1

        folder = folder / "stage1" if (folder / "stage1").is_dir() else folder
        source, mel_config, _ = load_stage1(folder)
        if source.config != self.config:
            raise ValueError(f"init_stage1 {folder} has other sizes than this model: {source.config} against "
                             f"{self.config}")
        self.mel_config.check_matches(mel_config, f"init_stage1 {folder}")
        self.model.load_state_dict(source.state_dict())

    def _frozen_judge(self, folder: str | None, weight: float) -> torch.nn.Module | None:
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0.0 <= weight < float("inf"):
            raise ValueError(f"va_loss_weight must be a finite number >= 0, got {weight!r}")
        if weight == 0:
            return None
        if not folder:
            raise ValueError("va_loss_weight > 0 needs model.va_judge: a VA judge folder (art2music train-va-judge; "
                             "the demo's is art2music/assets/demo/va_judge)")
        from art2music.emotion_judge.folder import load_va_judge

        judge = load_va_judge(folder)
        self.mel_config.check_matches(judge.mel_config, f"the VA judge in {folder}")
        return judge

    def va_loss(self, mel: torch.Tensor, target_va: torch.Tensor, row_weights: torch.Tensor | None = None
                ) -> torch.Tensor:
        """The frozen judge's weighted squared VA error for ``mel`` ``(B, n_mels, T)`` against ``target_va``
        ``(B, 2)`` (NaN rows: no target, left out), rows weighted by ``row_weights`` ``(B,)`` (default 1)."""
        return self.va_judge.loss(mel, target_va, row_weights)

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
        # A resumed run overwrites these with the checkpoint's weights right after setup.
        if stage == "fit" and self.model.is_generative and hasattr(datamodule, "train_mel_statistics"):
            self.model.decoder.set_normalisation(*datamodule.train_mel_statistics())
        elif stage == "fit" and self.hparams.init_output_level and hasattr(datamodule, "mean_train_mel"):
            self.model.decoder.init_output_level(datamodule.mean_train_mel())
        if stage == "fit" and self.ema is not None:
            self.ema.load_state_dict(self.model.state_dict())

    # ------------------------------------------------------------------ steps
    def embeddings(self, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """``(text, image)`` embeddings ``(B, D)``: cached, or encoded now when the encoder is trained."""
        if "text_embedding" in batch:
            return batch["text_embedding"], batch["image_embedding"]
        if self.encoder is None:
            raise RuntimeError("batch holds encoder inputs but the encoder is frozen; use cached data")
        return self.encoder.encode_texts(batch["tokens"]), self.encoder.encode_images(batch["pixels"])

    def forward(self, text_embedding: torch.Tensor, image_embedding: torch.Tensor,
                frames: int | None = None, va: torch.Tensor | None = None) -> torch.Tensor:
        """``(B, D)``, ``(B, D)`` (, ``va`` ``(B, 2)``) → ``(B, n_mels, frames)`` log-mel."""
        return self.model(text_embedding, image_embedding, frames, va=va)

    def target_va(self, batch: dict[str, Any], split: str) -> torch.Tensor | None:
        """The batch's (valence, arousal) ``(B, 2)`` for an emotion-conditioned model (training: with dropout)."""
        if not self.model.accepts_va or "va" not in batch:
            return None
        if split != "train":
            return batch["va"]
        from art2music.audio_engine.emotion_condition import drop_targets

        return drop_targets(batch["va"], self.hparams.emotion_dropout)

    @property
    def inference_model(self) -> Stage1Model:
        """The weights used for samples and export: the EMA copy when kept, else the trained ones."""
        return self.ema if self.ema is not None else self.model

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        if self.ema is None:
            return
        # Warm-up as in Karras et al./timm: early averages do not drag in the random initialisation for long.
        decay = min(self.ema_decay, (1 + self.global_step) / (10 + self.global_step))
        with torch.no_grad():
            for average, current in zip(self.ema.parameters(), self.model.parameters()):
                average.lerp_(current.detach(), 1.0 - decay)
            for average, current in zip(self.ema.buffers(), self.model.buffers()):
                average.copy_(current)

    def _random_crops(self, mel: torch.Tensor) -> torch.Tensor:
        """``(B, n_mels, T)`` → ``(B, n_mels, crop_frames)`` windows at random offsets (whole clips if shorter)."""
        crop = self.config.flow.crop_frames
        frames = mel.shape[-1]
        if crop == 0 or crop >= frames:
            return mel
        starts = torch.randint(0, frames - crop + 1, (mel.shape[0],)).tolist()
        return torch.stack([mel[index, :, start:start + crop] for index, start in enumerate(starts)])

    def _flow_step(self, batch: dict[str, Any], split: str) -> torch.Tensor:
        text_embedding, image_embedding = self.embeddings(batch)
        target = batch["mel"]
        generator = None
        if split != "train":  # the same noise and times every validation, so the curve compares like with like
            generator = torch.Generator(device=target.device).manual_seed(int(batch["index"][0]))
        else:
            target = self._random_crops(target)
        condition = self.model.condition(text_embedding, image_embedding, self.target_va(batch, split))
        if self.va_judge is None:
            loss = self.model.decoder.loss(target, condition, self.loss.weights, generator)
        else:
            loss, estimate = self.model.decoder.loss(target, condition, self.loss.weights, generator,
                                                     return_estimate=True)
            loss = self._add_va_loss(loss, estimate.mel, batch, split, estimate.time * estimate.conditioned)
        self.log(f"{split}/loss", loss, prog_bar=True, batch_size=target.shape[0], sync_dist=split != "train")
        return loss

    def _add_va_loss(self, loss: torch.Tensor, mel: torch.Tensor, batch: dict[str, Any], split: str,
                     row_weights: torch.Tensor | None = None) -> torch.Tensor:
        if "va" not in batch:
            raise ValueError("va_loss_weight > 0 needs each pair's target (valence, arousal), but the batch has none")
        va_loss = self.va_loss(mel, batch["va"], row_weights)
        self.log(f"{split}/va_loss", va_loss, batch_size=mel.shape[0], sync_dist=split != "train")
        return loss + self.hparams.va_loss_weight * va_loss

    @torch.no_grad()
    def sample(self, text_embedding: torch.Tensor, image_embedding: torch.Tensor, frames: int | None = None,
               seed: int = 0, va: torch.Tensor | None = None, **sampling: Any) -> torch.Tensor:
        """Sample log-mels ``(B, n_mels, frames)`` with the inference weights (noise from ``seed``)."""
        generator = torch.Generator(device=text_embedding.device).manual_seed(seed)
        return self.inference_model(text_embedding, image_embedding, frames, va=va, generator=generator, **sampling)

    def _shared_step(self, batch: dict[str, Any], split: str) -> tuple[torch.Tensor, torch.Tensor]:
        text_embedding, image_embedding = self.embeddings(batch)
        target = batch["mel"]
        prediction = self(text_embedding, image_embedding, frames=target.shape[-1], va=self.target_va(batch, split))
        loss = self.loss(prediction, target)
        if self.va_judge is not None:
            loss = self._add_va_loss(loss, prediction, batch, split)
        batch_size = target.shape[0]
        self.log(f"{split}/loss", loss, prog_bar=True, batch_size=batch_size, sync_dist=split != "train")
        self.log(f"{split}/mel_l1", (prediction - target).abs().mean(), batch_size=batch_size,
                 sync_dist=split != "train")
        return loss, prediction

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        if self.model.is_generative:
            return self._flow_step(batch, "train")
        return self._shared_step(batch, "train")[0]

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        if not self.model.is_generative:
            _, prediction = self._shared_step(batch, "val")
            if batch_idx == 0:
                self._log_mel_image(prediction[0], batch["mel"][0])
            return
        self._flow_step(batch, "val")
        if batch_idx == 0 and not self.trainer.sanity_checking:
            text_embedding, image_embedding = self.embeddings(batch)
            va = self.target_va(batch, "val")
            sampled = self.sample(text_embedding[:1], image_embedding[:1], frames=batch["mel"].shape[-1],
                                  va=None if va is None else va[:1])
            self._log_mel_image(sampled[0], batch["mel"][0])

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        if self.model.is_generative:
            self._flow_step(batch, "test")
        else:
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
        tag = "val/mel_sample_vs_target" if self.model.is_generative else "val/mel_prediction_vs_target"
        experiment.add_figure(tag, figure, global_step=self.global_step)

    def export(self, directory: str | Path) -> None:
        """Write the stage-1 folder of a pipeline (``stage1/`` of :mod:`art2music.export.format`)."""
        from art2music.export.format import encoder_config, save_stage1

        encoder = encoder_config(self.hparams.encoder_arch, self.hparams.encoder_pretrained)
        save_stage1(self.inference_model, directory, self.mel_config, encoder)
