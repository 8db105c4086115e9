"""The stage-1 network: embeddings → fusion → mel decoder → log-mel. No encoder, no training code.

Two decoders: the paper's BiLSTM regression (``decoder="bilstm"``, the default and the baseline) and a
conditional flow-matching sampler (``decoder="flow"``, :mod:`.decoders.flow`). :class:`Stage1Config` holds
every size, travels with the weights (``config.json`` beside ``model.safetensors``), and rebuilds the network
on load; a stored config without ``decoder`` is a BiLSTM (folders written before the flow decoder existed).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping

import torch
from torch import nn

from art2music.config_dict import check_keys
from art2music.audio_engine.decoders.bilstm import BiLSTMMelDecoder
from art2music.audio_engine.decoders.flow import FlowConfig, FlowMelDecoder
from art2music.audio_engine.emotion_condition import EmotionConditioning, check_va
from art2music.audio_engine.fusion import GatedResidualFusion
from art2music.io.audio import PAPER_FRAMES
from vocoder.mel import MelConfig


DECODERS = ("bilstm", "flow")


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
    decoder: str = "bilstm"
    flow: FlowConfig | None = None
    emotion_conditioning: bool = False

    def __post_init__(self) -> None:
        if self.decoder not in DECODERS:
            raise ValueError(f"stage-1 field 'decoder' must be one of {', '.join(DECODERS)}, got {self.decoder!r}")
        if self.decoder == "flow" and self.flow is None:
            object.__setattr__(self, "flow", FlowConfig())
        if self.flow is not None and not isinstance(self.flow, FlowConfig):
            raise ValueError(f"stage-1 field 'flow' must be a FlowConfig, got {type(self.flow).__name__}")

    def to_dict(self) -> dict[str, Any]:
        """Every field; ``flow`` only for the flow decoder (a BiLSTM's config stays as it always was)."""
        values = asdict(self)
        if self.decoder != "flow":
            values.pop("flow")
        if not self.emotion_conditioning:  # folders written before emotion control keep their exact config
            values.pop("emotion_conditioning")
        return values

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "Stage1Config":
        """Sizes from a stored config, each checked: unknown keys, and values of the wrong type, are errors."""
        check_keys(cls, values, "stage-1 config")
        values = dict(values)
        flow = values.pop("flow", None)
        for name, value in values.items():
            if name == "emotion_conditioning":
                if not isinstance(value, bool):
                    raise ValueError(f"stage-1 field 'emotion_conditioning' must be true or false, got {value!r}")
            elif name != "decoder":
                _check_size(name, value)
        if flow is not None:
            if not isinstance(flow, Mapping):
                raise ValueError(f"stage-1 field 'flow' must be an object, got {flow!r}")
            flow = FlowConfig.from_dict(flow)
        return cls(**values, flow=flow)


def _check_size(name: str, value: Any) -> None:
    """A stage-1 config value must be a positive int (``dropout``: a number in [0, 1)); JSON gives any type."""
    if name == "dropout":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
            raise ValueError(f"stage-1 field 'dropout' must be a number in [0, 1), got {value!r}")
    elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"stage-1 field {name!r} must be a positive integer, got {value!r} "
                         f"({type(value).__name__})")


class Stage1Model(nn.Module):
    """Text + image embeddings ``(B, D)`` (and optionally a target ``va`` ``(B, 2)``) → log-mel ``(B, n_mels, frames)``.

    With the flow decoder, ``forward`` samples: ``noise``/``generator`` choose the piece, ``steps``, ``guidance``
    and ``solver`` the ODE integration (see :meth:`FlowMelDecoder.forward`). The BiLSTM is deterministic and
    refuses those options.
    """

    def __init__(self, config: Stage1Config = Stage1Config()):
        super().__init__()
        self.config = config
        self.fusion = GatedResidualFusion(config.embed_dim, config.fusion_dim)
        if config.decoder == "flow":
            self.decoder = FlowMelDecoder(config.fusion_dim, config.n_mels, config.frames, config.flow)
        else:
            self.decoder = BiLSTMMelDecoder(condition_dim=config.fusion_dim, max_frames=config.frames,
                                            input_dim=config.decoder_input_dim, hidden_dim=config.lstm_hidden,
                                            num_layers=config.lstm_layers, n_mels=config.n_mels,
                                            dropout=config.dropout)
        self.emotion = EmotionConditioning(config.fusion_dim) if config.emotion_conditioning else None

    @property
    def is_generative(self) -> bool:
        """Whether the decoder samples (seeds, steps and guidance apply)."""
        return self.config.decoder == "flow"

    @property
    def accepts_va(self) -> bool:
        """Whether a target (valence, arousal) can steer this model (it was trained with emotion conditioning)."""
        return self.emotion is not None

    def condition(self, text_embedding: torch.Tensor, image_embedding: torch.Tensor,
                  va: torch.Tensor | None = None) -> torch.Tensor:
        """The fused vector ``z`` ``(B, fusion_dim)`` the decoder is conditioned on.

        ``va`` ``(B, 2)``: target valence and arousal in [-1, 1] (NaN rows: none given), for a model trained with
        emotion conditioning; without a target such a model infers the feeling from the embeddings.
        """
        if text_embedding.shape[-1] != self.config.embed_dim:
            raise ValueError(f"expected {self.config.embed_dim}-d embeddings (the encoder this model was built for), "
                             f"got {text_embedding.shape[-1]}-d")
        z = self.fusion(text_embedding, image_embedding)
        if self.emotion is None:
            if va is not None:
                raise ValueError("this stage-1 model was trained without emotion conditioning, so a target valence/"
                                 "arousal cannot steer it; retrain it with model.emotion_conditioning: true")
            return z
        return z + self.emotion(None if va is None else check_va(va), z.shape[0])

    def forward(self, text_embedding: torch.Tensor, image_embedding: torch.Tensor,
                frames: int | None = None, va: torch.Tensor | None = None, **sampling: Any) -> torch.Tensor:
        condition = self.condition(text_embedding, image_embedding, va)
        if not self.is_generative:
            given = sorted(name for name, value in sampling.items() if value is not None)
            if given:
                raise ValueError(f"{', '.join(given)} only apply to a generative decoder; this model's stage-1 "
                                 f"decoder is the deterministic '{self.config.decoder}'")
            return self.decoder(condition, frames)
        return self.decoder(condition, frames, **sampling)
