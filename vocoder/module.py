"""LightningModule that trains or fine-tunes HiFi-GAN (manual optimization, discriminator step first).

Recipe of the HiFi-GAN paper (Kong et al. 2020) and its ``train.py``: AdamW(lr 2e-4, betas (0.8, 0.99)) for the
generator and for MPD+MSD together, learning rate x0.999 after every epoch, loss
``L_G = L_adv + 2 L_fm + 45 L_mel`` where the mel L1 uses the full band (``fmax_for_loss: null`` -> Nyquist).

Note on step counting: with manual optimization Lightning counts every ``optimizer.step()``, so one batch
(discriminator step + generator step) advances ``trainer.global_step`` by 2; ``max_steps`` and
``every_n_train_steps`` are in those units.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F

from vocoder.checkpoint import checkpoint_configs, load_generator_for_training, load_official_discriminators
from vocoder.config import GeneratorConfig, read_official_config
from vocoder.discriminators import MultiPeriodDiscriminator, MultiScaleDiscriminator
from vocoder.generator import Generator
from vocoder.losses import LossWeights, discriminator_loss, feature_matching_loss, generator_adversarial_loss
from vocoder.mel import MelConfig, mel_spectrogram

__all__ = ["VocoderModule", "resolve_generator_config"]


def resolve_generator_config(generator: str | dict | None, init_generator: str | None) -> GeneratorConfig:
    """``generator``: a preset (``v1``/``v2``/``v3``), a path to a ``config.json`` or a dict of official keys;
    ``None`` takes the architecture of ``init_generator`` (else V1)."""
    if generator is None:
        return checkpoint_configs(init_generator)[0] if init_generator else GeneratorConfig.preset("v1")
    if isinstance(generator, dict):
        return GeneratorConfig.from_dict(generator)
    if Path(generator).suffix == ".json":
        return GeneratorConfig.from_dict(read_official_config(generator))
    return GeneratorConfig.preset(generator)


class VocoderModule(L.LightningModule):
    """HiFi-GAN generator + MPD + MSD, trained adversarially.

    Args:
        generator: architecture (see :func:`resolve_generator_config`).
        init_generator: official ``g_XXXXXXXX`` file or export directory to start from (fine-tuning).
        init_discriminator: official ``do_XXXXXXXX`` file with ``mpd`` / ``msd`` weights, ``"auto"`` (the
            ``do_`` file beside ``init_generator`` when present) or ``None`` (random discriminators).
        discriminator_width: channel multiplier of MPD and MSD (1.0 = official; smaller for demos/tests).
        learning_rate: AdamW learning rate of both optimizers.
        adam_betas: AdamW betas.
        lr_decay: learning-rate factor applied after every epoch.
        loss_weights: ``{"adversarial": 1, "feature_matching": 2, "mel": 45}``.
        mel_loss_fmax: top of the mel filterbank of the L1 loss in Hz (``None`` = Nyquist, as HiFi-GAN).
        num_logged_clips: validation clips whose audio and mel images go to TensorBoard.
        adversarial_start: batches trained with the mel L1 loss alone before the GAN losses start (0 = the
            official recipe; a warm-up makes short CPU training runs far cheaper).
    """

    def __init__(self, generator: str | dict | None = None, init_generator: str | None = None,
                 init_discriminator: str | None = None, discriminator_width: float = 1.0,
                 learning_rate: float = 2e-4, adam_betas: tuple[float, float] = (0.8, 0.99), lr_decay: float = 0.999,
                 loss_weights: dict[str, float] | None = None, mel_loss_fmax: float | None = None,
                 num_logged_clips: int = 2, adversarial_start: int = 0) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.automatic_optimization = False
        self.mel_config = MelConfig()
        self.generator = Generator(resolve_generator_config(generator, init_generator), self.mel_config)
        if init_generator:
            load_generator_for_training(self.generator, init_generator)
        self.mpd = MultiPeriodDiscriminator(width=discriminator_width)
        self.msd = MultiScaleDiscriminator(width=discriminator_width)
        init_discriminator = _discriminator_file(init_discriminator, init_generator)
        if init_discriminator:
            if discriminator_width != 1.0:
                raise ValueError(f"init_discriminator {init_discriminator} holds official-size discriminators; "
                                 f"set model.discriminator_width to 1.0 (it is {discriminator_width})")
            load_official_discriminators(self.mpd, self.msd, init_discriminator)
        self.loss_weights = LossWeights(**(loss_weights or {}))
        sample_rate = self.mel_config.sample_rate
        self.loss_mel_config = MelConfig(fmax=mel_loss_fmax if mel_loss_fmax is not None else sample_rate / 2)
        self._logged_references: set[int] = set()
        # Batches trained so far; a buffer so that it is saved in checkpoints and survives a resume.
        self.register_buffer("batches_seen", torch.zeros((), dtype=torch.long))

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """``(B, n_mels, frames)`` -> ``(B, 1, frames * hop)``."""
        return self.generator(mel)

    def _loss_mel(self, audio: torch.Tensor) -> torch.Tensor:
        return mel_spectrogram(audio.squeeze(1), self.loss_mel_config)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        mel, audio = batch
        optimizer_g, optimizer_d = self.optimizers()
        fake = self.generator(mel)
        self.batches_seen += 1
        if self.batches_seen <= self.hparams.adversarial_start:
            self._reconstruction_step(fake, audio, optimizer_g)
            return

        real_mpd, fake_mpd, _, _ = self.mpd(audio, fake.detach())
        real_msd, fake_msd, _, _ = self.msd(audio, fake.detach())
        loss_d = discriminator_loss(real_mpd, fake_mpd) + discriminator_loss(real_msd, fake_msd)
        optimizer_d.zero_grad(set_to_none=True)
        self.manual_backward(loss_d)
        optimizer_d.step()

        loss_mel = F.l1_loss(self._loss_mel(fake), self._loss_mel(audio))
        _, fake_mpd, real_maps_mpd, fake_maps_mpd = self.mpd(audio, fake)
        _, fake_msd, real_maps_msd, fake_maps_msd = self.msd(audio, fake)
        loss_adv = generator_adversarial_loss(fake_mpd) + generator_adversarial_loss(fake_msd)
        loss_fm = feature_matching_loss(real_maps_mpd, fake_maps_mpd) + feature_matching_loss(real_maps_msd, fake_maps_msd)
        weights = self.loss_weights
        loss_g = weights.adversarial * loss_adv + weights.feature_matching * loss_fm + weights.mel * loss_mel
        optimizer_g.zero_grad(set_to_none=True)
        self.manual_backward(loss_g)
        optimizer_g.step()

        self.log_dict({"train/loss_d": loss_d.detach(), "train/loss_g": loss_g.detach(), "train/mel_l1": loss_mel.detach(),
                       "train/adversarial": loss_adv.detach(), "train/feature_matching": loss_fm.detach()},
                      prog_bar=False, batch_size=mel.shape[0])
        self.log("train/mel_l1_bar", loss_mel.detach(), prog_bar=True, logger=False, batch_size=mel.shape[0])

    def _reconstruction_step(self, fake: torch.Tensor, audio: torch.Tensor, optimizer_g) -> None:
        """Warm-up before ``adversarial_start`` batches: the generator learns from the mel L1 loss alone
        (discriminators idle), as Parallel WaveGAN starts its discriminator late (Yamamoto et al., 2020)."""
        loss_mel = F.l1_loss(self._loss_mel(fake), self._loss_mel(audio))
        optimizer_g.zero_grad(set_to_none=True)
        self.manual_backward(self.loss_weights.mel * loss_mel)
        optimizer_g.step()
        self.log("train/mel_l1", loss_mel.detach(), batch_size=audio.shape[0])

    def on_train_epoch_end(self) -> None:
        for scheduler in self.lr_schedulers():
            scheduler.step()
        self.log("train/learning_rate", self.optimizers()[0].param_groups[0]["lr"])

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        mel, audio = batch
        fake = self.generator(mel)
        fake_mel, real_mel = self._loss_mel(fake), self._loss_mel(audio)
        self.log("val/mel_l1", F.l1_loss(fake_mel, real_mel), prog_bar=True, batch_size=mel.shape[0], sync_dist=True)
        if batch_idx < self.hparams.num_logged_clips:
            self._log_media(batch_idx, audio[0], fake[0], real_mel[0], fake_mel[0])

    def _log_media(self, index: int, real: torch.Tensor, fake: torch.Tensor, real_mel: torch.Tensor,
                   fake_mel: torch.Tensor) -> None:
        """Generated audio and mel images (and the reference, once) to TensorBoard, if that is the logger."""
        experiment = getattr(self.logger, "experiment", None)
        if experiment is None or not hasattr(experiment, "add_audio") or self.trainer.sanity_checking:
            return
        rate, step = self.mel_config.sample_rate, self.global_step
        experiment.add_audio(f"val/generated_{index}", fake.float().cpu().clamp(-1, 1), step, sample_rate=rate)
        experiment.add_image(f"val/mel_generated_{index}", _mel_image(fake_mel), step, dataformats="CHW")
        if index not in self._logged_references:
            experiment.add_audio(f"val/reference_{index}", real.float().cpu(), step, sample_rate=rate)
            experiment.add_image(f"val/mel_reference_{index}", _mel_image(real_mel), step, dataformats="CHW")
            self._logged_references.add(index)

    def configure_optimizers(self) -> Any:
        hp = self.hparams
        optimizer_g = torch.optim.AdamW(self.generator.parameters(), hp.learning_rate, betas=tuple(hp.adam_betas))
        optimizer_d = torch.optim.AdamW(list(self.msd.parameters()) + list(self.mpd.parameters()), hp.learning_rate,
                                        betas=tuple(hp.adam_betas))
        schedulers = [torch.optim.lr_scheduler.ExponentialLR(opt, gamma=hp.lr_decay) for opt in (optimizer_g, optimizer_d)]
        return [optimizer_g, optimizer_d], schedulers

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # The export step rebuilds the generator from these plain values (no pickled objects needed).
        checkpoint["vocoder"] = {"generator": self.generator.config.to_dict(), "mel": self.mel_config.to_dict()}


def _discriminator_file(init_discriminator: str | None, init_generator: str | None) -> str | None:
    """``"auto"``: the official ``do_XXXXXXXX`` beside ``init_generator``'s ``g_XXXXXXXX`` if it exists, else none."""
    if init_discriminator != "auto":
        return init_discriminator
    if init_generator is None or not Path(init_generator).name.startswith("g_"):
        return None
    candidate = Path(init_generator).with_name("do_" + Path(init_generator).name[2:])
    if candidate.is_file():
        return str(candidate)
    warnings.warn(f"no {candidate.name} beside {init_generator}: the discriminators start from random weights")
    return None


def _mel_image(mel: torch.Tensor) -> torch.Tensor:
    """``(n_mels, frames)`` log-mel -> ``(1, n_mels, frames)`` image in [0, 1], low frequencies at the bottom."""
    mel = mel.detach().float().cpu()
    scaled = (mel - mel.min()) / (mel.max() - mel.min()).clamp(min=1e-6)
    return scaled.flip(0).unsqueeze(0)
