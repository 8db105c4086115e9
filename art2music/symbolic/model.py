"""The emotion-guided symbolic model (after Kundu, Singh & Iwahori 2024): image grid → Transformer → REMI tokens.

::

    pixels (B, 3, S, S) ─> CNN grid (B, cells, d) + learned cell positions ─┐
    valence-arousal (B, 2) ─> linear ─> one memory token ───────────────────┼─> 3-layer Transformer encoder
      (or the learned "no VA" token, for classifier-free guidance)          │      = memory (B, M, d)
    comment embedding (B, C) ─> linear ─> one memory token (optional) ──────┘
    tokens (B, T) ─> embedding + learned absolute positions (+ the encoded VA token, projected, at every position
                     when ``va_every_position``) ─> 3 causal decoder layers (self-attention with a KV cache,
                     cross-attention to the memory, GELU FFN; pre-norm residuals) ─> logits (B, T, V)

Why the VA token also enters every decoder position: reached only through cross-attention, one memory token among
17 was too weak a signal for the demo model, whose pieces for positive-valence paintings came out in major keys
*less* often than for negative ones (0.29 against 0.46, references 0.77 against 0.33).

A small VA head on the pooled grid predicts the painting's VA, so a user need not give one: at inference the
target VA is the user's or this prediction. Training (:mod:`art2music.symbolic.training`) uses label-smoothed
cross-entropy plus the VA losses.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from art2music.config_dict import strict_from_dict
from art2music.symbolic.image_encoder import build_image_encoder, grid_cells

KVCache = dict[str, torch.Tensor]
"""Per-layer keys/values: ``"self.{i}.k"`` ``(B, heads, past, head_dim)`` grows by one step per token;
``"cross.{i}.k"`` holds the memory's projected keys, computed once."""


@dataclass
class SymbolicConfig:
    """Sizes and token ids of a :class:`SymbolicModel`; stored in the export's ``config.json``.

    ``max_tokens`` is the longest token sequence (BOS included) the learned positions cover.
    ``image_encoder``: ``small-cnn`` (demo), ``resnet18`` or ``resnet50`` (paper size; see :mod:`.image_encoder`).
    ``comment_dim``: size of the optional comment embedding (0 = no comment input).
    ``va_every_position``: add the encoded VA token (projected) to every decoder input, not only to the memory.
    ``null_va``: a learned "no VA given" token, trained by dropping the condition, for classifier-free guidance.
    ``null_image``: the condition was dropped together with the image (a blank, black one), so the unconditioned
    memory of guidance is "no VA, blank image" (guidance then amplifies everything the painting says).
    """


    vocab_size: int
    pad_id: int = 0
    bos_id: int = 1
    eos_id: int = 2
    d_model: int = 128
    heads: int = 4
    encoder_layers: int = 3
    decoder_layers: int = 3
    ffn_dim: int = 512
    dropout: float = 0.1
    max_tokens: int = 512
    image_size: int = 64
    image_encoder: str = "small-cnn"
    comment_dim: int = 0
    va_every_position: bool = False
    null_va: bool = False
    null_image: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "SymbolicConfig":
        return strict_from_dict(cls, values, "symbolic model")

    def __post_init__(self) -> None:
        if self.null_image and not self.null_va:
            raise ValueError("null_image needs null_va (the image is dropped together with the VA)")
        if self.d_model % self.heads:
            raise ValueError(f"d_model {self.d_model} is not divisible by heads {self.heads}")
        grid_cells(self.image_encoder, self.image_size)  # raises for a size the CNN cannot tile



class Attention(nn.Module):
    """Multi-head attention (``F.scaled_dot_product_attention``) with an optional KV cache."""

    def __init__(self, d_model: int, heads: int, dropout: float):
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.query = nn.Linear(d_model, d_model)
        self.key_value = nn.Linear(d_model, 2 * d_model)
        self.out = nn.Linear(d_model, d_model)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, _ = x.shape
        return x.view(batch, length, self.heads, -1).transpose(1, 2)

    def forward(self, x: torch.Tensor, source: torch.Tensor | None, causal: bool, cache: KVCache | None = None,
                name: str = "") -> torch.Tensor:
        """``x`` (B, T, d) attends to ``source`` (B, S, d), or to itself (``source=None``, causal)."""
        query = self._split(self.query(x))
        if source is not None and cache is not None and f"{name}.k" in cache:
            key, value = cache[f"{name}.k"], cache[f"{name}.v"]  # cross-attention: the memory never changes
        else:
            key, value = (self._split(part) for part in self.key_value(x if source is None else source).chunk(2, -1))
            if cache is not None and source is None and f"{name}.k" in cache:
                key = torch.cat([cache[f"{name}.k"], key], dim=2)
                value = torch.cat([cache[f"{name}.v"], value], dim=2)
            if cache is not None:
                cache[f"{name}.k"], cache[f"{name}.v"] = key, value
        mask = None
        if causal and query.shape[2] > 1:  # one new query may see every cached key
            past = key.shape[2] - query.shape[2]
            steps = torch.arange(query.shape[2], device=x.device).unsqueeze(1) + past
            mask = torch.arange(key.shape[2], device=x.device).unsqueeze(0) <= steps  # (T, past + T)
        attended = F.scaled_dot_product_attention(query, key, value, attn_mask=mask,
                                                  dropout_p=self.dropout if self.training else 0.0)
        return self.out(attended.transpose(1, 2).flatten(2))


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


class DecoderLayer(nn.Module):
    """Pre-norm decoder block: causal self-attention, cross-attention to the memory, GELU feed-forward."""

    def __init__(self, config: SymbolicConfig):
        super().__init__()
        d = config.d_model
        self.self_norm, self.cross_norm, self.ffn_norm = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.self_attention = Attention(d, config.heads, config.dropout)
        self.cross_attention = Attention(d, config.heads, config.dropout)
        self.ffn = nn.Sequential(nn.Linear(d, config.ffn_dim), nn.GELU(), nn.Dropout(config.dropout),
                                 nn.Linear(config.ffn_dim, d))
        self.drop = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, memory: torch.Tensor, cache: KVCache | None, index: int) -> torch.Tensor:
        drop = self.drop if self.training else _identity  # no module call per step when sampling
        x = x + drop(self.self_attention(self.self_norm(x), None, True, cache, f"self.{index}"))
        x = x + drop(self.cross_attention(self.cross_norm(x), memory, False, cache, f"cross.{index}"))
        return x + drop(self.ffn(self.ffn_norm(x)))


class SymbolicModel(nn.Module):
    """Image (+ VA, + comment embedding) → next-token logits over the REMI+BPE vocabulary."""

    def __init__(self, config: SymbolicConfig, image_weights: str | None = None, freeze_cnn: bool = True):
        super().__init__()
        self.config = config
        d = config.d_model
        self.image_encoder = build_image_encoder(config.image_encoder, d, image_weights, freeze_cnn)
        cells = grid_cells(config.image_encoder, config.image_size)
        self.cell_position = nn.Parameter(torch.randn(1, cells, d) * 0.02)
        self.va_project = nn.Linear(2, d)
        self.va_to_positions = nn.Linear(d, d) if config.va_every_position else None
        self.null_va = nn.Parameter(torch.randn(1, d) * 0.02) if config.null_va else None
        self.va_head = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, d), nn.GELU(), nn.Linear(d, 2), nn.Tanh())
        self.comment_project = nn.Linear(config.comment_dim, d) if config.comment_dim else None
        layer = nn.TransformerEncoderLayer(d, config.heads, config.ffn_dim, config.dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, config.encoder_layers, norm=nn.LayerNorm(d),
                                             enable_nested_tensor=False)
        self.token_embedding = nn.Embedding(config.vocab_size, d)
        self.token_position = nn.Embedding(config.max_tokens, d)
        self.decoder = nn.ModuleList(DecoderLayer(config) for _ in range(config.decoder_layers))
        self.final_norm = nn.LayerNorm(d)
        # Small embeddings (GPT-2's 0.02): the output is tied to them, and unit-variance rows would start with
        # logits of size sqrt(d) and a loss far above log(V).
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        nn.init.normal_(self.token_position.weight, std=0.02)
        if self.va_to_positions is not None:
            # Zero at the start (as adaLN-zero, Peebles & Xie 2023): a default-initialised projection of the
            # unit-variance encoder output would be ~30x larger than the 0.02-scale token embeddings and drown them.
            nn.init.zeros_(self.va_to_positions.weight)
            nn.init.zeros_(self.va_to_positions.bias)

    def image_grid(self, pixels: torch.Tensor) -> torch.Tensor:
        """``(B, 3, S, S)`` in [0, 1] → ``(B, cells, d)`` grid features with cell positions."""
        return self.image_encoder(pixels) + self.cell_position

    def predict_va(self, grid: torch.Tensor) -> torch.Tensor:
        """``(B, cells, d)`` grid → ``(B, 2)`` predicted (valence, arousal) in [-1, 1]."""
        return self.va_head(grid.mean(dim=1))

    def va_token(self, va: torch.Tensor | None, batch: int, dropped: torch.Tensor | None = None) -> torch.Tensor:
        """The VA memory token ``(B, 1, d)``: ``va`` ``(B, 2)`` projected, or the learned "no VA" token where ``va`` is
        ``None`` or ``dropped`` ``(B, 1)`` is true (models with ``null_va``)."""
        if va is None or dropped is not None:
            if self.null_va is None:
                raise ValueError("this model has no 'no VA' token (it was not trained for guidance)")
            null = self.null_va.expand(batch, -1).unsqueeze(1)
            if va is None:
                return null
            return torch.where(dropped.unsqueeze(-1), null, self.va_project(va).unsqueeze(1))
        return self.va_project(va).unsqueeze(1)

    def unconditioned_memory(self, pixels: torch.Tensor) -> torch.Tensor:
        """Memory ``(B, M, d)`` without the condition, for classifier-free guidance: the "no VA" token, and a blank
        image instead of ``pixels`` ``(B, 3, S, S)`` when the model was trained so (``null_image``)."""
        grid = self.image_grid(torch.zeros_like(pixels) if self.config.null_image else pixels)
        return self.encode(grid, None)

    def encode(self, grid: torch.Tensor, va: torch.Tensor | None, comment: torch.Tensor | None = None,
               dropped: torch.Tensor | None = None) -> torch.Tensor:
        """Grid ``(B, cells, d)``, target VA ``(B, 2)`` (``None``: no VA, for guidance) and comment ``(B, C)`` → memory
        ``(B, M, d)``, the VA token first; ``dropped`` ``(B, 1)`` bool puts the "no VA" token in chosen rows."""
        parts = [self.va_token(va, grid.shape[0], dropped)]
        if self.comment_project is not None:
            if comment is None:
                comment = torch.zeros(grid.shape[0], self.config.comment_dim, device=grid.device)
            parts.append(self.comment_project(comment).unsqueeze(1))
        return self.encoder(torch.cat(parts + [grid], dim=1))

    def decode(self, tokens: torch.Tensor, memory: torch.Tensor, cache: KVCache | None = None,
               start: int = 0) -> torch.Tensor:
        """Tokens ``(B, T)`` at positions ``start .. start+T-1`` → logits ``(B, T, V)``.

        With ``cache`` (a dict, empty at the first call) only the new tokens are given and the keys/values of
        earlier steps are reused.
        """
        if start + tokens.shape[1] > self.config.max_tokens:
            raise ValueError(f"sequence of {start + tokens.shape[1]} tokens exceeds max_tokens "
                             f"{self.config.max_tokens}")
        positions = torch.arange(start, start + tokens.shape[1], device=tokens.device)
        x = self.token_embedding(tokens) + self.token_position(positions)
        if self.va_to_positions is not None:  # the encoded VA token, at every position (once per cache)
            condition = cache.get("va_positions") if cache is not None else None
            if condition is None:
                condition = self.va_to_positions(memory[:, :1])
                if cache is not None:
                    cache["va_positions"] = condition
            x = x + condition
        for index, layer in enumerate(self.decoder):
            x = layer(x, memory, cache, index)
        return F.linear(self.final_norm(x), self.token_embedding.weight)  # output tied to the input embedding

    def forward(self, pixels: torch.Tensor, va: torch.Tensor, tokens: torch.Tensor,
                comment: torch.Tensor | None = None) -> torch.Tensor:
        """Teacher-forced logits ``(B, T, V)`` for ``tokens`` ``(B, T)`` (BOS first)."""
        return self.decode(tokens, self.encode(self.image_grid(pixels), va, comment))


def token_loss(logits: torch.Tensor, targets: torch.Tensor, pad_id: int, label_smoothing: float = 0.1
               ) -> torch.Tensor:
    """Label-smoothed cross-entropy of ``(B, T, V)`` logits against ``(B, T)`` targets, padding ignored."""
    return F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=pad_id,
                           label_smoothing=label_smoothing)
