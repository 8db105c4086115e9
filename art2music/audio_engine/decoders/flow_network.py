"""The velocity network of the flow-matching decoder: ``v_θ(x_t, t, c)`` over mel frames.

A 1-D U-Net over time with the mel bins as channels, as in Matcha-TTS's decoder (Mehta et al. 2024): residual
convolution blocks at each resolution, a few Transformer blocks at the coarsest one (where attention over frames
is cheap), and skip connections back up. The flow time ``t`` and the condition ``c`` (the fused vector ``z``)
form one style vector that enters every block by adaptive normalisation (FiLM on GroupNorm in the convolution
blocks, adaLN with a gate in the Transformer blocks; Peebles & Xie 2023). Nothing depends on the number of
frames, so a network trained on random crops generates any length; inputs are padded to a multiple of
``2 ** levels`` frames and the output is cropped back.

The flow logic (loss, guidance, ODE solver) lives apart, in :mod:`.flow`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def timestep_embedding(t: torch.Tensor, dim: int, scale: float = 1000.0) -> torch.Tensor:
    """Sinusoidal embedding of flow times ``t`` ``(B,)`` in [0, 1] → ``(B, dim)`` (``t`` scaled by 1000 as in DDPM)."""
    half = dim // 2
    frequencies = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    angles = scale * t.float()[:, None] * frequencies[None]
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


def _groups(channels: int) -> int:
    return math.gcd(8, channels)


class StyledResBlock(nn.Module):
    """Two convolutions with FiLM from the style vector: ``(B, C_in, T)`` → ``(B, C_out, T)``."""

    def __init__(self, in_channels: int, out_channels: int, style_dim: int, kernel_size: int = 5):
        super().__init__()
        self.norm1 = nn.GroupNorm(_groups(in_channels), in_channels, affine=False)
        self.film1 = nn.Linear(style_dim, 2 * in_channels)
        self.conv1 = nn.Conv1d(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        self.norm2 = nn.GroupNorm(_groups(out_channels), out_channels, affine=False)
        self.film2 = nn.Linear(style_dim, 2 * out_channels)
        self.conv2 = nn.Conv1d(out_channels, out_channels, kernel_size, padding=kernel_size // 2)
        nn.init.zeros_(self.conv2.weight)  # each block starts as the identity (plus the skip projection)
        nn.init.zeros_(self.conv2.bias)
        self.skip = nn.Conv1d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()

    @staticmethod
    def _film(x: torch.Tensor, film: torch.Tensor) -> torch.Tensor:
        scale, shift = film.unsqueeze(-1).chunk(2, dim=1)
        return x * (1.0 + scale) + shift

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        hidden = self.conv1(F.silu(self._film(self.norm1(x), self.film1(style))))
        hidden = self.conv2(F.silu(self._film(self.norm2(hidden), self.film2(style))))
        return self.skip(x) + hidden


class StyledTransformerBlock(nn.Module):
    """Self-attention over frames + MLP, each behind adaLN (scale, shift, gate from the style): ``(B, C, T)``."""

    def __init__(self, channels: int, style_dim: int, heads: int = 4, mlp_ratio: int = 4):
        super().__init__()
        if channels % heads:
            raise ValueError(f"attention channels {channels} must be divisible by heads {heads}")
        self.heads = heads
        self.position = nn.Conv1d(channels, channels, 3, padding=1, groups=channels)  # convolutional position cue
        self.norm1 = nn.LayerNorm(channels, elementwise_affine=False)
        self.qkv = nn.Linear(channels, 3 * channels)
        self.attention_out = nn.Linear(channels, channels)
        self.norm2 = nn.LayerNorm(channels, elementwise_affine=False)
        self.mlp = nn.Sequential(nn.Linear(channels, mlp_ratio * channels), nn.GELU(),
                                 nn.Linear(mlp_ratio * channels, channels))
        self.modulation = nn.Linear(style_dim, 6 * channels)
        nn.init.zeros_(self.modulation.weight)  # adaLN-Zero: gates start at 0, the block at the identity
        nn.init.zeros_(self.modulation.bias)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        x = x + self.position(x)
        tokens = x.transpose(1, 2)                                      # (B, T, C)
        shift1, scale1, gate1, shift2, scale2, gate2 = self.modulation(style).unsqueeze(1).chunk(6, dim=-1)
        hidden = self.norm1(tokens) * (1 + scale1) + shift1
        batch, frames, channels = hidden.shape
        q, k, v = self.qkv(hidden).view(batch, frames, 3, self.heads, channels // self.heads).permute(2, 0, 3, 1, 4)
        attended = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(batch, frames, channels)
        tokens = tokens + gate1 * self.attention_out(attended)
        tokens = tokens + gate2 * self.mlp(self.norm2(tokens) * (1 + scale2) + shift2)
        return tokens.transpose(1, 2)


class FlowVelocityNetwork(nn.Module):
    """``v_θ(x_t, t, c)``: ``(B, n_mels, T)``, ``(B,)``, ``(B, condition_dim)`` → ``(B, n_mels, T)``.

    Args:
        n_mels: mel bins (the input and output channels).
        condition_dim: size of the condition vector (the fusion output ``z``).
        channels: channels at the finest resolution; coarser levels use twice as many.
        levels: down-samplings by 2 (the Transformer blocks run at ``T / 2**levels`` frames).
        blocks_per_level: residual blocks per level on the way down (and up).
        attention_blocks: Transformer blocks at the coarsest level.
        heads: attention heads.
        kernel_size: convolution width in frames.
    """

    def __init__(self, n_mels: int = 80, condition_dim: int = 512, channels: int = 128, levels: int = 2,
                 blocks_per_level: int = 2, attention_blocks: int = 2, heads: int = 4, kernel_size: int = 5):
        super().__init__()
        self.levels = levels
        self.channels = channels
        style_dim = 2 * channels  # the (time + condition) vector every block is modulated by
        self.time_mlp = nn.Sequential(nn.Linear(channels, style_dim), nn.SiLU(), nn.Linear(style_dim, style_dim))
        self.condition_mlp = nn.Sequential(nn.Linear(condition_dim, style_dim), nn.SiLU(),
                                           nn.Linear(style_dim, style_dim))
        widths = [channels] + [2 * channels] * levels
        self.input = nn.Conv1d(n_mels, channels, kernel_size, padding=kernel_size // 2)
        self.down_blocks = nn.ModuleList()
        self.downsamples = nn.ModuleList()
        for level in range(levels):
            blocks = [StyledResBlock(widths[level] if i == 0 else widths[level + 1], widths[level + 1], style_dim,
                                     kernel_size) for i in range(blocks_per_level)]
            self.down_blocks.append(nn.ModuleList(blocks))
            self.downsamples.append(nn.Conv1d(widths[level + 1], widths[level + 1], 4, stride=2, padding=1))
        self.middle = nn.ModuleList([StyledTransformerBlock(widths[-1], style_dim, heads)
                                     for _ in range(attention_blocks)])
        self.up_blocks = nn.ModuleList()
        for level in reversed(range(levels)):
            blocks = [StyledResBlock(2 * widths[level + 1] if i == 0 else widths[level], widths[level], style_dim,
                                     kernel_size) for i in range(blocks_per_level)]
            self.up_blocks.append(nn.ModuleList(blocks))
        self.output_norm = nn.GroupNorm(_groups(channels), channels)
        self.output = nn.Conv1d(channels, n_mels, 1)
        nn.init.zeros_(self.output.weight)  # start at velocity 0
        nn.init.zeros_(self.output.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        frames = x.shape[-1]
        multiple = 2 ** self.levels
        padded = -(-frames // multiple) * multiple
        if padded != frames:
            x = F.pad(x, (0, padded - frames))
        style = F.silu(self.time_mlp(timestep_embedding(t, self.channels)) + self.condition_mlp(condition))
        hidden = self.input(x)
        skips = []
        for blocks, downsample in zip(self.down_blocks, self.downsamples):
            for block in blocks:
                hidden = block(hidden, style)
            skips.append(hidden)
            hidden = downsample(hidden)
        for block in self.middle:
            hidden = block(hidden, style)
        for blocks, skip in zip(self.up_blocks, reversed(skips)):
            hidden = F.interpolate(hidden, scale_factor=2, mode="nearest")
            hidden = torch.cat([hidden, skip], dim=1)
            for block in blocks:
                hidden = block(hidden, style)
        velocity = self.output(F.silu(self.output_norm(hidden)))
        return velocity[..., :frames]
