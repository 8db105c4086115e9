"""The stage-1 network: embeddings → fusion → BiLSTM decoder → log-mel. No encoder, no training code.

:class:`Stage1Config` holds every size, travels with the weights (``config.json`` beside
``model.safetensors``), and rebuilds the network on load.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
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
        names = {f.name for f in fields(cls)}
        unknown = set(values) - names
        if unknown:
            raise ValueError(f"unknown stage-1 config keys {sorted(unknown)}; expected some of {sorted(names)}")
        return cls(**values)


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

    # ------------------------------------------------------------------ export format
    def save_pretrained(self, directory: str | Path, extra_config: Mapping[str, Any] | None = None) -> None:
        """Write ``config.json`` (sizes + ``extra_config``, e.g. mel and encoder) and ``model.safetensors``."""
        from art2music.io.weights import save_module

        save_module(self, directory, {"stage1": self.config.to_dict(), **dict(extra_config or {})})

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> tuple["Stage1Model", dict[str, Any]]:
        """Rebuild from :meth:`save_pretrained`'s folder; returns the model (eval mode) and its full config."""
        from art2music.io.weights import load_config, load_module_weights

        config = load_config(directory)
        if "stage1" not in config:
            raise ValueError(f"{Path(directory) / 'config.json'} has no 'stage1' section; is this a stage-1 export?")
        model = cls(Stage1Config.from_dict(config["stage1"]))
        load_module_weights(model, directory)
        return model.eval(), config

