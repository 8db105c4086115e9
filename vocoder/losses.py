"""HiFi-GAN's training losses: least-squares GAN (Mao et al. 2017), feature matching, mel-spectrogram L1.

Weights from the paper (section 2.4): ``L_G = L_adv + 2 * L_fm + 45 * L_mel``; the discriminator minimises
``(D(real) - 1)^2 + D(fake)^2`` summed over its sub-discriminators.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["LossWeights", "discriminator_loss", "generator_adversarial_loss", "feature_matching_loss"]


@dataclass(frozen=True)
class LossWeights:
    """Multipliers of the generator's loss terms (paper: adversarial 1, feature matching 2, mel 45)."""

    adversarial: float = 1.0
    feature_matching: float = 2.0
    mel: float = 45.0


def discriminator_loss(real_scores: list[torch.Tensor], fake_scores: list[torch.Tensor]) -> torch.Tensor:
    """LSGAN discriminator loss ``sum_k mean((1 - D_k(real))^2) + mean(D_k(fake)^2)`` (scalar)."""
    loss = real_scores[0].new_zeros(())
    for real, fake in zip(real_scores, fake_scores):
        loss = loss + torch.mean((1 - real) ** 2) + torch.mean(fake ** 2)
    return loss


def generator_adversarial_loss(fake_scores: list[torch.Tensor]) -> torch.Tensor:
    """LSGAN generator loss ``sum_k mean((1 - D_k(fake))^2)`` (scalar)."""
    loss = fake_scores[0].new_zeros(())
    for fake in fake_scores:
        loss = loss + torch.mean((1 - fake) ** 2)
    return loss


def feature_matching_loss(real_maps: list[list[torch.Tensor]], fake_maps: list[list[torch.Tensor]]) -> torch.Tensor:
    """Sum over sub-discriminators and layers of ``mean |real - fake|`` (real maps detached)."""
    loss = real_maps[0][0].new_zeros(())
    for real_layers, fake_layers in zip(real_maps, fake_maps):
        for real, fake in zip(real_layers, fake_layers):
            loss = loss + torch.mean(torch.abs(real.detach() - fake))
    return loss
