"""The notebook API: ``Art2Music.from_pretrained(path_or_"demo")`` and ``pipe(image, comment)``.

An exported pipeline is a folder::

    pipeline.json      {"format": "art2music-pipeline", "version": 1, "text_template": "{comment}"}
    encoder/           config.json (arch, pretrained tag, normalize) [+ open_clip_model.safetensors]
    stage1/            config.json (sizes, mel, encoder) + model.safetensors
    vocoder/           config.json (HiFi-GAN generator + mel) + model.safetensors

Inference only: nothing here imports Lightning or the data builders.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence, Union

import numpy as np
import torch
from PIL import Image

from vocoder.files import atomic_write_text
from art2music.encoders.clip import ClipEncoder, comment_text, weights_identity
from art2music.audio_engine.stage1 import Stage1Model
from vocoder.mel import MelConfig

ImageInput = Union[str, os.PathLike, Image.Image]
FORMAT = "art2music-pipeline"
DEMO_DIR = Path(__file__).with_name("assets") / "demo"
ENCODER_WEIGHTS = "open_clip_model.safetensors"


def _resolve(path_or_name: str | os.PathLike) -> Path:
    if str(path_or_name) == "demo":
        if not (DEMO_DIR / "pipeline.json").is_file():
            raise FileNotFoundError(f"the demo weights are missing from {DEMO_DIR}; rebuild them with `make demo-train`")
        return DEMO_DIR
    path = Path(path_or_name).expanduser()
    if not (path / "pipeline.json").is_file():
        raise FileNotFoundError(f"{path} is not an art2music pipeline folder (no pipeline.json); pass 'demo' or a "
                                f"folder written by Art2Music.save_pretrained")
    return path


class Art2Music:
    """Artwork image (+ optional comment) → music waveform.

    Args:
        encoder: the OpenCLIP encoder (frozen).
        stage1: fusion + BiLSTM decoder.
        vocoder: a module mapping ``(B, n_mels, frames)`` log-mels to ``(B, 1, frames * hop)`` audio.
        mel_config: the mel definition shared by stage 1 and the vocoder.
        text_template: how a comment is written for the text encoder (``{comment}``, ``{emotion}``).
        device: where to run.
    """

    def __init__(self, encoder: ClipEncoder, stage1: Stage1Model, vocoder: torch.nn.Module, mel_config: MelConfig,
                 text_template: str = "{comment}", device: str | torch.device = "cpu"):
        self.device = torch.device(device)
        self.encoder = encoder.to(self.device).eval()
        self.stage1 = stage1.to(self.device).eval()
        self.vocoder = vocoder.to(self.device).eval()
        self.mel_config = mel_config
        self.text_template = text_template
        vocoder_mel = getattr(vocoder, "mel_config", None)
        if vocoder_mel is not None:
            mel_config.check_matches(vocoder_mel, "the vocoder")

    # ------------------------------------------------------------------ properties
    @property
    def sample_rate(self) -> int:
        """Output sample rate in Hz (22050)."""
        return self.mel_config.sample_rate

    @property
    def frames(self) -> int:
        """Mel frames generated per image (the length the stage-1 model was trained for)."""
        return self.stage1.config.frames

    @property
    def duration_seconds(self) -> float:
        return self.mel_config.frames_to_seconds(self.frames)

    # ------------------------------------------------------------------ loading and saving
    @classmethod
    def from_pretrained(cls, path_or_name: str | os.PathLike = "demo", device: str | torch.device = "cpu",
                        vocoder: str | os.PathLike | None = None,
                        vocoder_precision: str | torch.dtype = "auto") -> "Art2Music":
        """Load an exported pipeline folder, or ``"demo"`` for the weights shipped with art2music.

        Args:
            vocoder: override the stored vocoder, e.g. ``"griffin-lim"`` or another HiFi-GAN checkpoint.
            vocoder_precision: ``"auto"`` (bfloat16 HiFi-GAN convolutions on CPUs with AMX, float32 elsewhere),
                ``"float32"`` (exact, the same on every machine) or ``"bfloat16"``; see :mod:`vocoder.precision`.
        """
        from vocoder import load_vocoder

        root = _resolve(path_or_name)
        meta = json.loads((root / "pipeline.json").read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise ValueError(f"{root / 'pipeline.json'} is not an art2music pipeline (format {meta.get('format')!r})")
        encoder_config = json.loads((root / "encoder" / "config.json").read_text(encoding="utf-8"))
        weights = root / "encoder" / ENCODER_WEIGHTS
        encoder = ClipEncoder(encoder_config["arch"], str(weights) if weights.is_file() else encoder_config["pretrained"],
                              normalize=encoder_config.get("normalize", True))
        stage1, stage1_config = Stage1Model.from_pretrained(root / "stage1")
        mel_config = MelConfig.from_dict(stage1_config["mel"])
        if stage1.config.embed_dim != encoder.embed_dim:
            raise ValueError(f"stage 1 expects {stage1.config.embed_dim}-d embeddings but the encoder "
                             f"{encoder_config['arch']} gives {encoder.embed_dim}-d")
        voc = load_vocoder(vocoder if vocoder is not None else root / "vocoder", mel_config=mel_config, device=device,
                           precision=vocoder_precision)
        return cls(encoder, stage1, voc, mel_config, meta.get("text_template", "{comment}"), device)

    def save_pretrained(self, directory: str | os.PathLike, include_encoder_weights: bool | None = None) -> Path:
        """Write the pipeline folder (each file atomically); ``from_pretrained`` reads it back bit-exactly.

        Args:
            include_encoder_weights: store the encoder's weights (default: yes when it was loaded from a
                file or initialised randomly; a pretrained tag such as ViT-H-14's is stored by name only).
        """
        from art2music.io.weights import save_state
        from vocoder import Generator, save_export

        directory = Path(directory)
        (directory / "encoder").mkdir(parents=True, exist_ok=True)
        pretrained = self.encoder.pretrained
        is_tag = pretrained is not None and weights_identity(pretrained) == pretrained
        if include_encoder_weights is None:
            include_encoder_weights = not is_tag
        if include_encoder_weights:
            save_state(self.encoder.clip, directory / "encoder" / ENCODER_WEIGHTS)
        encoder_config = {"arch": self.encoder.arch, "pretrained": pretrained if is_tag else None,
                          "normalize": self.encoder.normalize}
        atomic_write_text(directory / "encoder" / "config.json", json.dumps(encoder_config, indent=2) + "\n")
        self.stage1.save_pretrained(directory / "stage1", {"mel": self.mel_config.to_dict(), "encoder": encoder_config})
        if not isinstance(self.vocoder, Generator):
            raise TypeError(f"only a HiFi-GAN generator can be saved, not {type(self.vocoder).__name__}")
        save_export(self.vocoder, directory / "vocoder")
        atomic_write_text(directory / "pipeline.json", json.dumps(
            {"format": FORMAT, "version": 1, "text_template": self.text_template}, indent=2) + "\n")
        return directory

    # ------------------------------------------------------------------ the steps
    def _images(self, images: Sequence[ImageInput]) -> list[Image.Image]:
        from art2music.io.images import load_image, to_rgb

        return [to_rgb(image) if isinstance(image, Image.Image) else load_image(image) for image in images]

    def _texts(self, comments: Sequence[str | None] | None, count: int) -> list[str]:
        if comments is None:
            comments = [None] * count
        if len(comments) != count:
            raise ValueError(f"got {count} images but {len(comments)} comments")
        return [comment_text(self.text_template, comment) for comment in comments]

    @torch.inference_mode()
    def embed(self, images: Sequence[ImageInput], comments: Sequence[str | None] | None = None
              ) -> tuple[torch.Tensor, torch.Tensor]:
        """Images (paths or PIL) and comments → ``(text_embedding, image_embedding)``, each ``(B, D)``."""
        pixels = self.encoder.preprocess(self._images(images)).to(self.device)
        tokens = self.encoder.tokenize(self._texts(comments, len(images))).to(self.device)
        return self.encoder.encode_texts(tokens), self.encoder.encode_images(pixels)

    @torch.inference_mode()
    def embeddings_to_mel(self, text_embedding: torch.Tensor, image_embedding: torch.Tensor) -> torch.Tensor:
        """``(B, D)`` embeddings → ``(B, n_mels, frames)`` log-mel."""
        return self.stage1(text_embedding.to(self.device), image_embedding.to(self.device))

    def image_to_mel(self, images: Sequence[ImageInput], comments: Sequence[str | None] | None = None) -> torch.Tensor:
        """Images and comments → ``(B, n_mels, frames)`` log-mel."""
        return self.embeddings_to_mel(*self.embed(images, comments))

    @torch.inference_mode()
    def mel_to_audio(self, mel: torch.Tensor) -> np.ndarray:
        """``(B, n_mels, frames)`` log-mel → ``(B, frames * hop)`` float32 waveform in [-1, 1]."""
        audio = self.vocoder(mel.to(self.device)).squeeze(1)
        return audio.clamp(-1.0, 1.0).float().cpu().numpy()

    def __call__(self, image: ImageInput | Sequence[ImageInput], comment: str | None | Sequence[str | None] = None
                 ) -> np.ndarray:
        """One image → ``(samples,)`` float32 waveform; a list of images → ``(B, samples)``.

        ``comment`` is a string (or ``None``) for one image, or a list matching a list of images.
        """
        single = isinstance(image, (str, os.PathLike, Image.Image))
        images = [image] if single else list(image)
        if not images:
            raise ValueError("no images given")
        comments = [comment] if single else (list(comment) if comment is not None else None)
        if not single and isinstance(comment, str):
            raise ValueError("for a list of images give a list of comments (or None)")
        audio = self.mel_to_audio(self.image_to_mel(images, comments))
        return audio[0] if single else audio

    def __repr__(self) -> str:
        return (f"Art2Music(encoder={self.encoder.arch}, stage1={self.stage1.config}, "
                f"vocoder={type(self.vocoder).__name__}, sample_rate={self.sample_rate}, "
                f"seconds={self.duration_seconds:.2f})")
