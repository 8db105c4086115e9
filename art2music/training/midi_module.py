"""Lightning training of the symbolic engine: token loss + VA-head loss + a VA loss that carries gradient.

Loss per batch (``B`` pairs, tokens ``(B, T)``):
  - ``token``: label-smoothed cross-entropy of the next token (smoothing 0.1 by default, as the seed paper);
  - ``va_head``: MSE of the VA the model predicts from the painting's grid against the painting's VA (so a user
    need not give a VA; the painting's own VA even for a mismatched pair, whose condition is the piece's);
  - ``va``: MSE between the painting's VA and the frozen regressor's VA of the decoder's *soft* tokens
    (:mod:`art2music.symbolic.va_regressor`), weighted by ``va_loss_weight`` (0 = the ablation without it).
The decoder is conditioned on the pair's VA (the painting's; the piece's for a mismatched pair, see the datamodule's
``mismatched_share``), or, with probability ``predicted_va_probability`` and only where the pair's VA is the
painting's, on the VA it predicted itself (detached), so it also works from its own prediction at inference; with probability ``va_dropout``
(models with ``null_va``) on the learned "no VA" token instead (with ``null_image``, and a blank image), so that
sampling can use classifier-free guidance.

The regressor is pre-trained on the datamodule's train pieces at the start of the first fit (seconds) and stored in
the checkpoint, so a resumed run does not retrain it.
"""

from __future__ import annotations

import math

import lightning as L
import torch
import torch.nn.functional as F

from art2music.symbolic.model import SymbolicConfig, SymbolicModel, token_loss
from art2music.symbolic.va_regressor import MidiVARegressor, RegressorConfig, pretrain_regressor, soft_tokens


class SymbolicModule(L.LightningModule):
    """Trains a :class:`SymbolicModel`; model sizes are :class:`SymbolicConfig`'s (vocab and ids linked from data)."""

    def __init__(self, vocab_size: int = 1000, pad_id: int = 0, bos_id: int = 1, eos_id: int = 2, d_model: int = 128,
                 heads: int = 4, encoder_layers: int = 3, decoder_layers: int = 3, ffn_dim: int = 512,
                 dropout: float = 0.1, max_tokens: int = 512, image_size: int = 64, image_encoder: str = "small-cnn",
                 image_weights: str | None = None, freeze_cnn: bool = True, comment_dim: int = 0,
                 va_every_position: bool = False, null_va: bool = False, null_image: bool = False,
                 va_dropout: float = 0.0,
                 label_smoothing: float = 0.1, va_loss_weight: float = 1.0, va_head_weight: float = 1.0,
                 predicted_va_probability: float = 0.3, regressor_steps: int = 600, lr: float = 1e-3,
                 weight_decay: float = 0.01, warmup_steps: int = 200, init_weights: str | None = None):
        super().__init__()
        self.save_hyperparameters()
        self.config = SymbolicConfig(vocab_size, pad_id, bos_id, eos_id, d_model, heads, encoder_layers,
                                     decoder_layers, ffn_dim, dropout, max_tokens, image_size, image_encoder,
                                     comment_dim, va_every_position, null_va, null_image)
        if va_dropout and not null_va:
            raise ValueError("va_dropout needs null_va: true (the learned 'no VA' token)")
        self.model = SymbolicModel(self.config, image_weights, freeze_cnn)
        if init_weights:
            self._start_from(init_weights)
        self.va_regressor = MidiVARegressor(RegressorConfig(vocab_size)).requires_grad_(False)
        self.register_buffer("regressor_ready", torch.zeros((), dtype=torch.bool))

    def _start_from(self, folder: str) -> None:
        """Start from the weights of a midi pipeline folder (or ``"demo-midi"``), e.g. to fine-tune the shipped
        model with another pairing; its model sizes must be this module's.

        Raises:
            ValueError: the folder's model has other sizes (each differing field named).
        """
        from dataclasses import asdict

        from art2music.export.format import load_midi_parts

        start, _, _ = load_midi_parts(folder)
        ours, theirs = asdict(self.config), asdict(start.config)
        differing = {key: (theirs.get(key), value) for key, value in ours.items() if theirs.get(key) != value}
        if differing:
            raise ValueError(f"model.init_weights {folder}: its model differs from this config in "
                             + ", ".join(f"{key} ({a} there, {b} here)" for key, (a, b) in differing.items()))
        self.model.load_state_dict(start.state_dict(), strict=True)

    def on_fit_start(self) -> None:
        if self.hparams.va_loss_weight > 0 and not bool(self.regressor_ready):
            sequences, va = self.trainer.datamodule.regressor_data("train")
            trained = pretrain_regressor(sequences, va, self.config.vocab_size, steps=self.hparams.regressor_steps,
                                         max_tokens=self.config.max_tokens, seed=0, pad_id=self.config.pad_id)
            self.va_regressor.load_state_dict(trained.state_dict())
            self.regressor_ready.fill_(True)
        self.va_regressor.eval()

    def _step(self, batch, split: str) -> torch.Tensor:
        pixels, va, tokens, *rest = batch  # rest: the painting's VA (B, 2), when the datamodule gives it
        painting_va = torch.nan_to_num(rest[0]) if rest else None
        inputs, targets = tokens[:, :-1], tokens[:, 1:]
        unknown = torch.isnan(va).any(dim=1, keepdim=True)  # (B, 1): pre-training pieces, no feeling
        known = ~unknown.squeeze(1)
        va = torch.nan_to_num(va)  # a nan would poison the projection's gradient even where it is not selected
        if painting_va is None:
            painting_va = va
        own = (va == painting_va).all(dim=1, keepdim=True)  # (B, 1): conditioned on the painting's own feeling
        dropped = unknown if unknown.any() else None
        if split == "train" and self.hparams.va_dropout > 0:
            dropped = (torch.rand(va.shape[0], 1, device=va.device) < self.hparams.va_dropout) | unknown
        if dropped is not None and self.model.null_va is None:
            raise ValueError("pieces without a feeling (music21_pieces) need model.null_va: true")
        grid = self.model.image_grid(pixels)
        predicted_va = self.model.predict_va(grid)
        condition = va
        if split == "train" and self.hparams.predicted_va_probability > 0:
            use_predicted = (torch.rand(va.shape[0], 1, device=va.device) < self.hparams.predicted_va_probability) & own
            condition = torch.where(use_predicted, predicted_va.detach(), va)
        if dropped is not None and self.config.null_image:  # the whole condition goes: VA and painting
            grid = self.model.image_grid(torch.where(dropped[:, :, None, None], torch.zeros_like(pixels), pixels))
        logits = self.model.decode(inputs, self.model.encode(grid, condition, dropped=dropped))
        token = token_loss(logits, targets, self.config.pad_id, self.hparams.label_smoothing)
        va_head = F.mse_loss(predicted_va[known], painting_va[known]) if known.any() else predicted_va.sum() * 0
        loss = token + self.hparams.va_head_weight * va_head
        batch_size = tokens.shape[0]
        if bool(self.regressor_ready):
            mask = targets != self.config.pad_id
            music_va = self.va_regressor(soft_tokens(logits[known]), mask[known])
            va_loss = F.mse_loss(music_va, va[known]) if known.any() else logits.sum() * 0
            if self.hparams.va_loss_weight > 0:
                loss = loss + self.hparams.va_loss_weight * va_loss
            self.log(f"{split}/va_loss", va_loss, batch_size=batch_size, sync_dist=split != "train")
        self.log(f"{split}/token_loss", token, batch_size=batch_size, sync_dist=split != "train")
        self.log(f"{split}/va_head", va_head, batch_size=batch_size, sync_dist=split != "train")
        self.log(f"{split}/loss", loss, prog_bar=True, batch_size=batch_size, sync_dist=split != "train")
        return loss

    def training_step(self, batch, batch_index: int) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch, batch_index: int) -> None:
        self._step(batch, "val")

    def test_step(self, batch, batch_index: int) -> None:
        self._step(batch, "test")

    def configure_optimizers(self):
        parameters = [p for p in self.model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(parameters, lr=self.hparams.lr, weight_decay=self.hparams.weight_decay)
        total = self.trainer.max_steps if self.trainer and self.trainer.max_steps > 0 else None
        warmup = max(1, self.hparams.warmup_steps)

        def scale(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            if total is None:
                return 1.0
            progress = min(1.0, (step - warmup) / max(1, total - warmup))
            return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))  # cosine to a tenth of the rate

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, scale)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
