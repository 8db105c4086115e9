"""BiLSTM mel decoder: a conditioning vector → a ``(B, n_mels, frames)`` log-mel-spectrogram.

``z`` is projected, repeated over the ``frames`` time steps, given a learned positional embedding (so
the otherwise identical inputs can tell time apart), run through a stacked bidirectional LSTM and mapped
to ``n_mels`` bins per frame. Paper sizes: 4 layers, hidden 512 per direction.
"""

from __future__ import annotations

import torch
from torch import nn

from art2music.io.audio import PAPER_FRAMES
from vocoder.mel import MelConfig


class BiLSTMMelDecoder(nn.Module):
    """Decode ``(B, condition_dim)`` → ``(B, n_mels, frames)``.

    Args:
        condition_dim: size of the fusion output ``z``.
        max_frames: longest sequence the positional embedding covers (default: 862, the paper's 10 s).
        input_dim: size of the per-frame LSTM input (projection of ``z`` + positional embedding).
        hidden_dim: LSTM hidden size per direction.
        num_layers: stacked LSTM layers.
        n_mels: output mel bins.
        dropout: dropout between LSTM layers.
    """

    def __init__(self, condition_dim: int = 512, max_frames: int = PAPER_FRAMES, input_dim: int = 512,
                 hidden_dim: int = 512, num_layers: int = 4, n_mels: int = MelConfig().n_mels, dropout: float = 0.0):
        super().__init__()
        self.max_frames = max_frames
        self.n_mels = n_mels
        self.input_projection = nn.Linear(condition_dim, input_dim)
        self.positional_embedding = nn.Parameter(torch.randn(max_frames, input_dim) * 0.02)
        self.lstm = nn.LSTM(input_dim, hidden_dim, num_layers=num_layers, batch_first=True, bidirectional=True,
                            dropout=dropout if num_layers > 1 else 0.0)
        self.output_projection = nn.Linear(2 * hidden_dim, n_mels)

    @torch.no_grad()
    def init_output_level(self, mean_mel: torch.Tensor) -> None:
        """Start the output at the data's per-bin mean log-mel ``(n_mels,)``.

        Log-mels sit around -5 to -11, far from a fresh linear layer's zero output; without this, the early
        updates saturate the LSTM while chasing the offset and it collapses to one output for every input.
        """
        if mean_mel.shape != (self.n_mels,):
            raise ValueError(f"mean_mel must have shape ({self.n_mels},), got {tuple(mean_mel.shape)}")
        self.output_projection.bias.copy_(mean_mel)

    def forward(self, condition: torch.Tensor, frames: int | None = None) -> torch.Tensor:
        """``(B, condition_dim)`` → ``(B, n_mels, frames)``; ``frames`` defaults to ``max_frames``."""
        frames = self.max_frames if frames is None else int(frames)
        if not 0 < frames <= self.max_frames:
            raise ValueError(f"frames must be in 1..{self.max_frames} (the positional embedding's length), got {frames}")
        steps = self.input_projection(condition).unsqueeze(1) + self.positional_embedding[:frames].unsqueeze(0)
        hidden, _ = self.lstm(steps)                 # (B, frames, 2 * hidden_dim)
        return self.output_projection(hidden).transpose(1, 2)  # (B, n_mels, frames)
