"""The notebook API: ``Art2Music.from_pretrained(path_or_"demo")`` and ``pipe(image, comment)``.

A pipeline is stored as a folder in the one release format of :mod:`art2music.export.format` (written by
``art2music export`` or :meth:`Art2Music.save_pretrained`). Inference only: nothing here imports
Lightning, the training code or the data builders.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence, Union

import numpy as np
import torch
from PIL import Image

from art2music.audio_engine.stage1 import Stage1Model
from art2music.encoders.clip import ClipEncoder, check_text_template, comment_text
from art2music.export.format import DEMO_DIR, PipelineParts, load_parts, write_pipeline
from vocoder.mel import MelConfig
from vocoder.precision import precision_name, resolve_precision

ImageInput = Union[str, os.PathLike, Image.Image]
__all__ = ["Art2Music", "DEMO_DIR", "ImageInput"]


class Art2Music:
    """Artwork image (+ optional comment) → music waveform.

    Args:
        encoder: the OpenCLIP encoder (frozen).
        stage1: fusion + BiLSTM decoder.
        vocoder: a module mapping ``(B, n_mels, frames)`` log-mels to ``(B, 1, frames * hop)`` audio.
        mel_config: the mel definition shared by stage 1 and the vocoder.
        text_template: how a comment is written for the text encoder (``{comment}``, ``{emotion}``).
        device: where to run.
        precision: the arithmetic of the encoders (``torch.bfloat16`` runs them under autocast; their
            embeddings come back float32). Stage 1's BiLSTM always runs in float32: oneDNN's bf16 LSTM measured
            slower than its float32 one (``bench/RESULTS.md``). The vocoder carries its own precision.
    """

    def __init__(self, encoder: ClipEncoder, stage1: Stage1Model, vocoder: torch.nn.Module, mel_config: MelConfig,
                 text_template: str = "{comment}", device: str | torch.device = "cpu",
                 precision: torch.dtype = torch.float32):
        self.device = torch.device(device)
        self.precision = resolve_precision(precision, self.device)
        self.encoder = encoder.to(self.device).eval()
        self.stage1 = stage1.to(self.device).eval()
        self.vocoder = vocoder.to(self.device).eval()
        self.mel_config = mel_config
        check_text_template(text_template)
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
                        vocoder: str | os.PathLike | None = None, precision: str | torch.dtype = "auto",
                        vocoder_precision: str | torch.dtype | None = None) -> "Art2Music":
        """Load a pipeline folder, or ``"demo"`` for the weights shipped with art2music.

        Args:
            vocoder: override the stored vocoder, e.g. ``"griffin-lim"`` or another HiFi-GAN checkpoint.
            precision: ``"auto"`` (bfloat16 where the processor runs it natively: AMX, AVX512-BF16, AVX10,
                CUDA with bf16; float32 elsewhere), ``"float32"`` (exact, the same on every machine) or
                ``"bfloat16"``; see :mod:`vocoder.precision`.
            vocoder_precision: the vocoder's own choice, when it should differ from ``precision``.

        Raises:
            FileNotFoundError: pretrained encoder weights not on this machine (the message says where to put them).
            art2music.export.format.ModelLoadError: no such pipeline folder, or a file or value in it does not fit
                (the message names the file and the field).
        """
        dtype = resolve_precision(precision, device)
        if str(precision) == "auto" and torch.device(device).type == "cuda":
            # what stays float32 on an NVIDIA GPU (the BiLSTM) runs in TF32, as PyTorch's convolutions already do
            torch.backends.cuda.matmul.allow_tf32 = True
        vocoder_dtype = dtype if vocoder_precision is None else resolve_precision(vocoder_precision, device)
        parts = load_parts(path_or_name, device, vocoder, vocoder_dtype)
        return cls(parts.encoder, parts.stage1, parts.vocoder, parts.mel_config, parts.text_template, device, dtype)

    @property
    def precisions(self) -> dict[str, str]:
        """The arithmetic each stage actually runs in, e.g. ``{"encoder": "bfloat16", "stage1": "float32", ...}``
        (part of every render's fingerprint and shown in the gallery)."""
        vocoder_dtype = getattr(self.vocoder, "inference_dtype", torch.float32)
        return {"encoder": precision_name(self.precision), "stage1": "float32",
                "vocoder": precision_name(vocoder_dtype)}

    def _autocast(self):
        """bf16 autocast on this pipeline's device when its precision is bf16; otherwise a no-op."""
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.precision == torch.bfloat16)

    def save_pretrained(self, directory: str | os.PathLike, include_encoder_weights: bool | None = None) -> Path:
        """Write the pipeline folder (see :func:`art2music.export.format.write_pipeline`); returns it.

        Args:
            include_encoder_weights: store the encoder's weights (default: yes when it was loaded from a
                file or initialised randomly; a pretrained tag such as ViT-H-14's is stored by name only).
        """
        parts = PipelineParts(self.encoder, self.stage1, self.vocoder, self.mel_config, self.text_template)
        return write_pipeline(directory, parts, include_encoder_weights)

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
        with self._autocast():
            text_embedding, image_embedding = self.encoder.encode_texts(tokens), self.encoder.encode_images(pixels)
        return text_embedding.float(), image_embedding.float()

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
