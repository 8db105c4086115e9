"""Gated residual fusion of image and comment embeddings (Art2Music, Hong et al. 2025).

    h = MLP([t; i])            MLP: 2D → hidden → hidden, ReLU between
    g = σ(W_g h)
    z = g ⊙ h + (1 − g) ⊙ W_t t

The gate decides, per feature, how much of the joint representation ``h`` to use versus a projection of the
text alone; with an empty comment the image still drives ``h``. (The official code built this block but never
handed its parameters to the optimizer, so it stayed at random init; here it is trained like everything else.)
"""

from __future__ import annotations

import torch
from torch import nn


class GatedResidualFusion(nn.Module):
    """Fuse ``(B, D)`` text and image embeddings into a ``(B, hidden)`` conditioning vector.

    Args:
        embed_dim: size ``D`` of each input embedding.
        hidden_dim: size of ``h``, ``g`` and ``z`` (512 in the paper).
    """

    def __init__(self, embed_dim: int, hidden_dim: int = 512):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(2 * embed_dim, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, hidden_dim))
        self.gate = nn.Linear(hidden_dim, hidden_dim)        # W_g
        self.text_projection = nn.Linear(embed_dim, hidden_dim)  # W_t

    def forward(self, text_embedding: torch.Tensor, image_embedding: torch.Tensor) -> torch.Tensor:
        """``(B, D)``, ``(B, D)`` → ``(B, hidden)``."""
        if text_embedding.shape != image_embedding.shape:
            raise ValueError(f"text and image embeddings must have the same shape, got "
                             f"{tuple(text_embedding.shape)} and {tuple(image_embedding.shape)}")
        joint = self.mlp(torch.cat([text_embedding, image_embedding], dim=-1))
        gate = torch.sigmoid(self.gate(joint))
        return gate * joint + (1.0 - gate) * self.text_projection(text_embedding)
