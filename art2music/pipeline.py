"""The notebook API: ``Art2Music.from_pretrained(path_or_"demo")`` and ``pipe(image, comment)``.

With a generative (flow) stage 1, every call samples a piece: ``pipe(image, comment, seed=…, steps=…,
guidance=…, seconds=…)``. The same seed gives the same audio on one machine, other seeds other pieces; without a
seed, each item's seed is derived from its image and comment (:func:`item_seed`), so reruns are reproducible.
The BiLSTM stage 1 (the paper's) is deterministic and refuses ``seed``, ``steps`` and ``guidance``.

A pipeline is stored as a folder in the one release format of :mod:`art2music.export.format` (written by
``art2music export`` or :meth:`Art2Music.save_pretrained`). Inference only: nothing here imports
Lightning, the training code or the data builders.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path
from typing import Sequence, Union

import numpy as np
import torch
from PIL import Image

from art2music.audio_engine.stage1 import Stage1Model
from art2music.encoders.clip import ClipEncoder, check_text_template, comment_text
from art2music.export.format import DEMO_DIR, PipelineParts, load_parts, write_pipeline
from vocoder.mel import MelConfig
from vocoder.precision import bf16_recurrent_pays, precision_name, resolve_precision

ImageInput = Union[str, os.PathLike, Image.Image]
LOOP_CONTEXT_FRAMES = 16
"""Frames of wrap-around context a loop is vocoded with (more than the demo vocoder's and V1's receptive field)."""
__all__ = ["Art2Music", "DEMO_DIR", "ImageInput", "item_seed"]


def item_seed(image_sha256: str, comment: str | None) -> int:
    """The default sampling seed of an item: from its image (hex SHA-256 of the file's bytes, or of a PIL
    image's RGB pixels) and its comment, in [0, 2**31)."""
    digest = hashlib.sha256(f"{image_sha256}\0{comment or ''}".encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def image_sha256(image: ImageInput) -> str:
    """What :func:`item_seed` keys an image by: its file's bytes, or a PIL image's RGB pixels and size."""
    if isinstance(image, Image.Image):
        rgb = image.convert("RGB")
        return hashlib.sha256(f"{rgb.size}".encode() + rgb.tobytes()).hexdigest()
    from art2music.io.hashing import file_sha256

    return file_sha256(image)


class Art2Music:
    """Artwork image (+ optional comment) → music waveform.

    Args:
        encoder: the OpenCLIP encoder (frozen).
        stage1: fusion + BiLSTM decoder.
        vocoder: a module mapping ``(B, n_mels, frames)`` log-mels to ``(B, 1, frames * hop)`` audio.
        mel_config: the mel definition shared by stage 1 and the vocoder.
        text_template: how a comment is written for the text encoder (``{comment}``, ``{emotion}``).
        device: where to run.
        precision: the arithmetic of the encoders and of stage 1 (``torch.bfloat16`` holds the encoders' weights in
            bf16 and runs stage 1 under autocast; what they return is float32). The BiLSTM follows only where
            oneDNN's bf16 LSTM is faster (Intel AMX, CUDA: :func:`vocoder.precision.bf16_recurrent_pays`) and
            stays float32 elsewhere; the flow network runs 1.6-2.4x faster in bf16 (README, Performance). The
            vocoder carries its own precision.
    """

    def __init__(self, encoder: ClipEncoder, stage1: Stage1Model, vocoder: torch.nn.Module, mel_config: MelConfig,
                 text_template: str = "{comment}", device: str | torch.device = "cpu",
                 precision: torch.dtype = torch.float32):
        self.device = torch.device(device)
        self.precision = resolve_precision(precision, self.device)
        #: whether a BiLSTM stage 1 runs in bf16 too (only where that measured faster than float32)
        self.recurrent_bf16 = self.precision == torch.bfloat16 and bf16_recurrent_pays(self.device)
        self.encoder = encoder.to(self.device).eval()
        self.stage1 = stage1.to(self.device).eval()
        self.vocoder = vocoder.to(self.device).eval()
        self.mel_config = mel_config
        check_text_template(text_template)
        self.text_template = text_template
        vocoder_mel = getattr(vocoder, "mel_config", None)
        if vocoder_mel is not None:
            mel_config.check_matches(vocoder_mel, "the vocoder")
        self.va_judge = None
        """The pipeline folder's music VA judge (:mod:`art2music.emotion_judge`), or ``None``; set by
        :meth:`from_pretrained` when the folder has ``va_judge/``."""

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

    @property
    def is_generative(self) -> bool:
        """Whether stage 1 samples (``seed``, ``steps`` and ``guidance`` apply): the flow decoder."""
        return self.stage1.is_generative

    @property
    def decoder(self) -> str:
        """The stage-1 decoder: ``"bilstm"`` or ``"flow"``."""
        return self.stage1.config.decoder

    def sampling_defaults(self) -> dict[str, object]:
        """The stored sampling defaults (``steps``, ``guidance``, ``solver``) of a flow stage 1; ``{}`` for the BiLSTM."""
        flow = self.stage1.config.flow
        return {"steps": flow.steps, "guidance": flow.guidance, "solver": flow.solver} if self.is_generative else {}

    def frames_for(self, seconds: float | None) -> int:
        """Mel frames for a piece of ``seconds`` (``None``: the trained length); the BiLSTM stops at its trained length."""
        if seconds is None:
            return self.frames
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds < float("inf"):
            raise ValueError(f"seconds must be a positive number, got {seconds!r}")
        frames = max(1, self.mel_config.seconds_to_frames(float(seconds)))
        if not self.is_generative and frames > self.frames:
            raise ValueError(f"the '{self.decoder}' stage-1 decoder makes at most {self.duration_seconds:.2f} s (its "
                             f"trained length), got seconds={seconds}")
        return frames

    @property
    def accepts_va(self) -> bool:
        """Whether a target feeling (``emotion``, or ``valence`` + ``arousal``) can steer this pipeline: its stage 1
        was trained with emotion conditioning."""
        return self.stage1.accepts_va

    def check_va(self, va: object) -> None:
        """Refuse a target feeling this pipeline cannot use (one-line error naming the retraining option)."""
        if va is not None and not self.accepts_va:
            raise ValueError(f"this pipeline's stage 1 ({self.decoder}) was trained without emotion conditioning, so "
                             f"emotion/valence/arousal cannot steer it; retrain it with model.emotion_conditioning: "
                             f"true (or use the midi engine)")

    def target_va(self, emotion: str | None = None, valence: float | None = None, arousal: float | None = None,
                  count: int = 1) -> torch.Tensor | None:
        """A user's target feeling as the ``(count, 2)`` ``va`` tensor stage 1 takes (``None``: none given).

        Raises:
            ValueError: an unknown emotion, values outside [-1, 1], only one of valence/arousal, or a target for a
                pipeline that cannot use one (see :meth:`check_va`).
        """
        from art2music.emotions import target_valence_arousal

        target = target_valence_arousal(emotion, valence, arousal)
        self.check_va(target)
        return None if target is None else torch.tensor([target] * count, dtype=torch.float32)

    def check_sampling(self, seed: object = None, steps: object = None, guidance: object = None) -> None:
        """Refuse sampling options a deterministic decoder cannot use (one-line error naming the decoder)."""
        given = [name for name, value in (("seed", seed), ("steps", steps), ("guidance", guidance)) if value is not None]
        if given and not self.is_generative:
            raise ValueError(f"{', '.join(given)} only apply to a generative stage 1; this pipeline's decoder is the "
                             f"deterministic '{self.decoder}' (export one with the flow decoder to sample)")

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
        pipe = cls(parts.encoder, parts.stage1, parts.vocoder, parts.mel_config, parts.text_template, device, dtype)
        pipe.va_judge = _load_judge(path_or_name, parts.mel_config, device)
        return pipe

    @property
    def precisions(self) -> dict[str, str]:
        """The arithmetic each stage actually runs in, e.g. ``{"encoder": "bfloat16", "stage1": "float32", ...}``
        (part of every render's fingerprint and shown in the gallery)."""
        vocoder_dtype = getattr(self.vocoder, "inference_dtype", torch.float32)
        return {"encoder": precision_name(self.precision),
                "stage1": precision_name(self.precision) if self.is_generative or self.recurrent_bf16 else "float32",
                "vocoder": precision_name(vocoder_dtype)}

    def _autocast(self, enabled: bool = True):
        """bf16 autocast on this pipeline's device when its precision is bf16 (and ``enabled``); else a no-op."""
        return torch.autocast(self.device.type, dtype=torch.bfloat16,
                              enabled=enabled and self.precision == torch.bfloat16)

    def save_pretrained(self, directory: str | os.PathLike, include_encoder_weights: bool | None = None) -> Path:
        """Write the pipeline folder (see :func:`art2music.export.format.write_pipeline`); returns it.

        Args:
            include_encoder_weights: store the encoder's weights (default: yes when it was loaded from a
                file or initialised randomly; a pretrained tag such as ViT-H-14's is stored by name only).
        """
        parts = PipelineParts(self.encoder, self.stage1, self.vocoder, self.mel_config, self.text_template)
        folder = write_pipeline(directory, parts, include_encoder_weights)
        if self.va_judge is not None:
            from art2music.emotion_judge import save_va_judge
            from art2music.export.format import JUDGE_DIR

            save_va_judge(self.va_judge, folder / JUDGE_DIR)
        return folder

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
        self.encoder.set_inference_dtype(self.precision)  # once: a no-op while the weights are already in it
        with self._autocast():
            text_embedding, image_embedding = self.encoder.encode_texts(tokens), self.encoder.encode_images(pixels)
        return text_embedding.float(), image_embedding.float()

    @torch.inference_mode()
    def embeddings_to_mel(self, text_embedding: torch.Tensor, image_embedding: torch.Tensor,
                          seeds: Sequence[int] | None = None, steps: int | None = None, guidance: float | None = None,
                          seconds: float | None = None, va: torch.Tensor | None = None, loop: bool = False
                          ) -> torch.Tensor:
        """``(B, D)`` embeddings → ``(B, n_mels, frames)`` log-mel.

        Args:
            va: ``(B, 2)`` target (valence, arousal) in [-1, 1], NaN rows for items without one; only for a stage 1
                trained with emotion conditioning (:attr:`accepts_va`).
            seeds: flow only: one seed per item; item ``i``'s starting noise comes from a CPU ``torch.Generator``
                seeded with ``seeds[i]``, so an item's piece does not depend on the batch it is in (default:
                seed 0 for every item).
            steps, guidance: flow only: ODE steps and guidance scale (default: the stored ones).
            seconds: length of the piece (default: the trained length; a flow stage 1 writes longer pieces from
                overlapping windows sampled together).
            loop: flow only: make the end lead into the start, so the piece repeats seamlessly (vocode it with
                ``mel_to_audio(mel, loop=True)``).
        """
        self.check_sampling(seeds, steps, guidance)
        if loop and not self.is_generative:
            raise ValueError(f"loop only applies to a generative stage 1; this pipeline's decoder is the "
                             f"deterministic '{self.decoder}' (export one with the flow decoder to make loops)")
        if va is not None:
            va = torch.as_tensor(va, dtype=torch.float32)
            if bool(torch.isnan(va).all()):
                va = None  # no item has a target: exactly the call without one
        self.check_va(va)
        frames = self.frames_for(seconds)
        text_embedding, image_embedding = text_embedding.to(self.device), image_embedding.to(self.device)
        if va is not None:
            va = va.to(self.device)
        if not self.is_generative:
            if self.recurrent_bf16:
                try:
                    with self._autocast():
                        return self.stage1(text_embedding, image_embedding, frames, va=va).float()
                except RuntimeError as error:  # oneDNN builds no bf16 LSTM without AVX512, whatever the CPU claims
                    if "primitive descriptor" not in str(error):
                        raise
                    warnings.warn("oneDNN could not build a bf16 LSTM on this CPU; stage 1 runs in float32 from now "
                                  "on", RuntimeWarning, stacklevel=2)
                    self.recurrent_bf16 = False
            return self.stage1(text_embedding, image_embedding, frames, va=va).float()
        count = text_embedding.shape[0]
        seeds = [0] * count if seeds is None else list(seeds)
        if len(seeds) != count:
            raise ValueError(f"got {count} items but {len(seeds)} seeds")
        for seed in seeds:
            if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2 ** 63:
                raise ValueError(f"a seed must be an integer in [0, 2**63), got {seed!r}")
        noise = torch.stack([torch.randn((self.mel_config.n_mels, frames), generator=torch.Generator().manual_seed(seed))
                             for seed in seeds])
        with self._autocast():
            mel = self.stage1(text_embedding, image_embedding, frames, va=va, noise=noise.to(self.device),
                              steps=steps, guidance=guidance, loop=loop or None)
        return mel.float()

    def image_to_mel(self, images: Sequence[ImageInput], comments: Sequence[str | None] | None = None,
                     **sampling) -> torch.Tensor:
        """Images and comments → ``(B, n_mels, frames)`` log-mel (``sampling``: see :meth:`embeddings_to_mel`)."""
        return self.embeddings_to_mel(*self.embed(images, comments), **sampling)

    @torch.inference_mode()
    def mel_to_audio(self, mel: torch.Tensor, loop: bool = False) -> np.ndarray:
        """``(B, n_mels, frames)`` log-mel → ``(B, frames * hop)`` float32 waveform in [-1, 1].

        ``loop``: vocode the mel as a cycle (its last frames before its first, its first after its last, then cut
        back), so the waveform's end runs into its start without the click of the vocoder's zero padding.
        """
        mel = mel.to(self.device)
        context = min(LOOP_CONTEXT_FRAMES, mel.shape[-1]) if loop else 0
        if context:
            mel = torch.cat([mel[..., -context:], mel, mel[..., :context]], dim=-1)
        audio = self.vocoder(mel).squeeze(1)
        if context:
            hop = self.mel_config.hop_length
            audio = audio[..., context * hop:audio.shape[-1] - context * hop]
        return audio.clamp(-1.0, 1.0).float().cpu().numpy()

    def __call__(self, image: ImageInput | Sequence[ImageInput], comment: str | None | Sequence[str | None] = None,
                 seed: int | Sequence[int] | None = None, steps: int | None = None, guidance: float | None = None,
                 seconds: float | None = None, emotion: str | None = None, valence: float | None = None,
                 arousal: float | None = None, loop: bool = False) -> np.ndarray:
        """One image → ``(samples,)`` float32 waveform; a list of images → ``(B, samples)``.

        ``comment`` is a string (or ``None``) for one image, or a list matching a list of images.

        Args:
            seed: flow only: the piece to draw (an int, or one per image); default: :func:`item_seed` of each
                image and comment.
            steps: flow only: ODE steps (more: slower, closer to the trained flow; default: the stored value).
            guidance: flow only: classifier-free guidance scale (1: none; default: the stored value).
            seconds: length of the piece (default: the trained length; the BiLSTM cannot go beyond it; the flow
                decoder writes any length from overlapping windows).
            loop: flow only: a piece whose end flows into its start, to repeat seamlessly.
            emotion: the feeling to aim for, an ArtEmis emotion name (placed through :mod:`art2music.emotions`' table);
            valence, arousal: or the feeling as two numbers in [-1, 1]; with neither, the model reads the feeling
                from the image and comment. Needs a stage 1 trained with emotion conditioning (:attr:`accepts_va`).

        Raises:
            ValueError: ``seed``, ``steps`` or ``guidance`` with the deterministic BiLSTM decoder, a target feeling for
                a stage 1 trained without emotion conditioning, or a bad value (one line naming the valid range/list).
        """
        single = isinstance(image, (str, os.PathLike, Image.Image))
        images = [image] if single else list(image)
        if not images:
            raise ValueError("no images given")
        comments = [comment] if single else (list(comment) if comment is not None else None)
        if not single and isinstance(comment, str):
            raise ValueError("for a list of images give a list of comments (or None)")
        self.check_sampling(seed, steps, guidance)
        va = self.target_va(emotion, valence, arousal, len(images))
        seeds = None
        if self.is_generative:
            if seed is None:
                item_comments = comments if comments is not None else [None] * len(images)
                seeds = [item_seed(image_sha256(item), text) for item, text in zip(images, item_comments)]
            elif isinstance(seed, int) and not isinstance(seed, bool):
                seeds = [seed] * len(images)
            else:
                seeds = list(seed)
        mel = self.image_to_mel(images, comments, seeds=seeds, steps=steps, guidance=guidance, seconds=seconds, va=va,
                                loop=loop)
        audio = self.mel_to_audio(mel, loop=loop)
        return audio[0] if single else audio

    def __repr__(self) -> str:
        return (f"Art2Music(encoder={self.encoder.arch}, decoder={self.decoder}, stage1={self.stage1.config}, "
                f"vocoder={type(self.vocoder).__name__}, sample_rate={self.sample_rate}, "
                f"seconds={self.duration_seconds:.2f})")


def _load_judge(path_or_name: str | os.PathLike, mel_config: MelConfig, device: str | torch.device):
    """The pipeline folder's ``va_judge/`` (checked to read this pipeline's mels), or ``None`` when it has none."""
    from art2music.emotion_judge import find_va_judge, load_va_judge
    from art2music.export.format import ModelLoadError, resolve_pipeline_folder

    folder = find_va_judge(resolve_pipeline_folder(path_or_name))
    if folder is None:
        return None
    judge = load_va_judge(folder, str(device))
    try:
        mel_config.check_matches(judge.mel_config, f"the VA judge in {folder}")
    except ValueError as error:
        raise ModelLoadError(folder, str(error), "mel") from error
    return judge
