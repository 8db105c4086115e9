"""A small MIDI → valence-arousal regressor that reads *soft* tokens, so a VA loss can carry gradient.

The seed's public code computed its VA loss through argmax, MIDI file I/O and a weight of 1e-7, so no gradient
reached the model. Here the regressor reads token *embeddings*: for a real piece the rows of its own embedding table,
for the decoder's output the expected embedding under the decoder's softmax,
``e_t = softmax(logits_t) @ E`` (``(B, T, V) @ (V, d) → (B, T, d)``), which is differentiable in the logits.
Pre-trained on pieces whose VA is known (demo pieces: their emotion's VA), then frozen; the symbolic model's VA loss
is ``MSE(regressor(e), target VA)``.

Network: embedding → two dilated 1-D conv blocks (GELU) → masked mean over time → MLP → tanh → ``(B, 2)``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class RegressorConfig:
    vocab_size: int
    dim: int = 64
    kernel: int = 5


class MidiVARegressor(nn.Module):
    """Token ids ``(B, T)`` or token distributions ``(B, T, V)`` (+ mask ``(B, T)``) → VA ``(B, 2)`` in [-1, 1]."""

    def __init__(self, config: RegressorConfig):
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.dim)
        pad = config.kernel // 2
        self.convs = nn.ModuleList([nn.Conv1d(config.dim, config.dim, config.kernel, padding=pad),
                                    nn.Conv1d(config.dim, config.dim, config.kernel, padding=2 * pad, dilation=2)])
        self.head = nn.Sequential(nn.Linear(config.dim, config.dim), nn.GELU(), nn.Linear(config.dim, 2), nn.Tanh())

    def to_dict(self) -> dict:
        return asdict(self.config)

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        """Ids ``(B, T)`` → ``(B, T, dim)``; distributions ``(B, T, V)`` → expected embeddings ``(B, T, dim)``."""
        if tokens.dtype in (torch.long, torch.int32, torch.int64):
            return self.embedding(tokens)
        return tokens @ self.embedding.weight

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        x = self.embed(tokens).transpose(1, 2)  # (B, dim, T)
        for conv in self.convs:
            x = x + F.gelu(conv(x))
        if mask is None:
            pooled = x.mean(dim=2)
        else:
            weights = mask.to(x.dtype).unsqueeze(1)
            pooled = (x * weights).sum(dim=2) / weights.sum(dim=2).clamp_min(1.0)
        return self.head(pooled)


def soft_tokens(logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """``(B, T, V)`` logits → ``(B, T, V)`` token distributions (differentiable)."""
    return (logits / temperature).softmax(dim=-1)


def pretrain_regressor(sequences: list[list[int]], va: torch.Tensor, vocab_size: int, steps: int = 600,
                       batch_size: int = 32, max_tokens: int = 512, seed: int = 0, lr: float = 2e-3,
                       pad_id: int = 0) -> MidiVARegressor:
    """Fit a regressor to ``sequences`` (token ids) with known ``va`` ``(N, 2)``; returns it frozen, in eval mode.

    Each step reads a random crop of up to ``max_tokens`` tokens per piece, so the regressor judges any window of
    a piece, as the decoder's teacher-forced windows are.
    """
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = MidiVARegressor(RegressorConfig(vocab_size))
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-2)
    for _ in range(steps):
        rows = torch.randint(len(sequences), (batch_size,), generator=generator).tolist()
        crops = []
        for row in rows:
            sequence = sequences[row]
            length = min(len(sequence), max_tokens)
            start = int(torch.randint(len(sequence) - length + 1, (1,), generator=generator))
            crops.append(torch.tensor(sequence[start:start + length]))
        tokens = nn.utils.rnn.pad_sequence(crops, batch_first=True, padding_value=pad_id)
        loss = F.mse_loss(model(tokens, tokens != pad_id), va[rows])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.zero_grad(set_to_none=True)
    return model.eval().requires_grad_(False)
