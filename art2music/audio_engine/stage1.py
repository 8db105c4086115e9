"""The stage-1 network: embeddings → fusion → BiLSTM decoder → log-mel. No encoder, no training code.

:class:`Stage1Config` holds every size, travels with the weights (``config.json`` beside
``model.safetensors``), and rebuilds the network on load.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping

import torch
from torch import nn

from art2music.audio_engine.decoders.bilstm import BiLSTMMelDecoder
from art2music.audio_engine.fusion import GatedResidualFusion
from art2music.io.audio import PAPER_FRAMES
from vocoder.mel import MelConfig


@dataclass(frozen=True)
class Stage1Config:
    """Sizes of the stage-1 network (defaults: the paper's, for ViT-H-14's 1024-d embeddings, 10 s clips)."""

    embed_dim: int = 1024
    fusion_dim: int = 512
    decoder_input_dim: int = 512
    lstm_hidden: int = 512
    lstm_layers: int = 4
    frames: int = PAPER_FRAMES
    n_mels: int = MelConfig().n_mels
    dropout: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "Stage1Config":
        """Sizes from a stored config, each checked: unknown keys, and values of the wrong type, are errors."""
        names = {f.name: f for f in fields(cls)}
        unknown = set(values) - set(names)
        if unknown:
            raise ValueError(f"unknown stage-1 config keys {sorted(unknown)}; expected some of {sorted(names)}")
        for name, value in values.items():
            _check_size(name, value)
        return cls(**values)


def _check_size(name: str, value: Any) -> None:
    """A stage-1 config value must be a positive int (``dropout``: a number in [0, 1)); JSON gives any type."""
    if name == "dropout":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
            raise ValueError(f"stage-1 field 'dropout' must be a number in [0, 1), got {value!r}")
    elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"stage-1 field {name!r} must be a positive integer, got {value!r} "
                         f"({type(value).__name__})")


class Stage1Model(nn.Module):
    """Text + image embeddings ``(B, D)`` → log-mel ``(B, n_mels, frames)``."""

    def __init__(self, config: Stage1Config = Stage1Config()):
        super().__init__()
        self.config = config
        self.fusion = GatedResidualFusion(config.embed_dim, config.fusion_dim)
        self.decoder = BiLSTMMelDecoder(condition_dim=config.fusion_dim, max_frames=config.frames,
                                        input_dim=config.decoder_input_dim, hidden_dim=config.lstm_hidden,
                                        num_layers=config.lstm_layers, n_mels=config.n_mels, dropout=config.dropout)

    def forward(self, text_embedding: torch.Tensor, image_embedding: torch.Tensor,
                frames: int | None = None) -> torch.Tensor:
        if text_embedding.shape[-1] != self.config.embed_dim:
            raise ValueError(f"expected {self.config.embed_dim}-d embeddings (the encoder this model was built for), "
                             f"got {text_embedding.shape[-1]}-d")
        return self.decoder(self.fusion(text_embedding, image_embedding), frames)

