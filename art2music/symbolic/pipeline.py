"""The midi engine's notebook API: ``Art2Midi.from_pretrained("demo-midi")`` and ``pipe(image) → MidiPiece``.

The sibling of :class:`art2music.pipeline.Art2Music` with the same conventions (a pipeline folder in the one release
format, ``from_pretrained`` / ``save_pretrained``, images as paths or PIL). It returns music as notes: a
:class:`~art2music.symbolic.piece.MidiPiece` to ``.save("x.mid")`` or turn ``.to_audio()`` with FluidSynth.

    >>> pipe = Art2Midi.from_pretrained("demo-midi")
    >>> piece = pipe("painting.jpg", seconds=20, seed=3)            # VA predicted from the painting
    >>> piece = pipe("painting.jpg", emotion="sadness", bars=8)     # or a chosen feeling / (valence, arousal)
    >>> audio = piece.to_audio()                                    # (samples,) float32 at 22050 Hz

Inference only: nothing here imports Lightning or the training code.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Sequence, Union

import torch
from PIL import Image

from art2music.symbolic.model import SymbolicModel
from art2music.symbolic.piece import SAMPLE_RATE, MidiPiece
from art2music.symbolic.continuation import windowed_piece
from art2music.symbolic.sampling import SamplingDefaults, SamplingSettings, row_generator, sampling_threads
from art2music.symbolic.tokenizer import token_facts

ImageInput = Union[str, os.PathLike, Image.Image]
DEFAULT_SECONDS = 20.0
DEFAULT_GUIDANCE = 2.0
"""Classifier-free guidance on the VA condition for models trained with a "no VA" token (others: 1.0, none)."""


class Art2Midi:
    """Artwork image (+ optional feeling) → a MIDI piece.

    Args:
        model: the trained :class:`SymbolicModel`.  tokenizer: its REMI+BPE tokenizer.
        text_template: kept for the pipeline format (comments are used only by models with ``comment_dim > 0``).
        sampling: the model's temperature / top-k / top-p defaults (stored with it; used where a call leaves them
            unset).
    """

    sample_rate = SAMPLE_RATE

    def __init__(self, model: SymbolicModel, tokenizer, device: str | torch.device = "cpu",
                 text_template: str = "{comment}", sampling: SamplingDefaults = SamplingDefaults()):
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.tokenizer = tokenizer
        self.facts = token_facts(tokenizer)
        self.text_template = text_template
        self.sampling = sampling

    @classmethod
    def from_pretrained(cls, path_or_name: str | os.PathLike = "demo-midi", device: str | torch.device = "cpu"
                        ) -> "Art2Midi":
        """Load a midi-engine pipeline folder, or ``"demo-midi"`` for the weights shipped with art2music.

        Raises:
            art2music.export.format.ModelLoadError: no such folder, not the midi engine, or a file that does not fit.
        """
        from art2music.export.format import load_midi_parts

        model, tokenizer, meta = load_midi_parts(path_or_name)
        return cls(model, tokenizer, device, meta["text_template"], meta["sampling"])

    def save_pretrained(self, directory: str | os.PathLike) -> Path:
        """Write the pipeline folder (``pipeline.json`` with ``"engine": "midi"`` + ``symbolic/``); returns it."""
        from art2music.export.format import write_midi_pipeline

        return write_midi_pipeline(directory, self.model, self.tokenizer, self.text_template, self.sampling)

    def pixels(self, images: Sequence[ImageInput]) -> torch.Tensor:
        """Images → ``(B, 3, S, S)`` pixels in [0, 1] at the model's image size."""
        from art2music.io.images import load_image, to_rgb
        from art2music.symbolic.image_encoder import image_pixels

        loaded = [to_rgb(image) if isinstance(image, Image.Image) else load_image(image) for image in images]
        return image_pixels(loaded, self.model.config.image_size).to(self.device)

    @torch.no_grad()
    def predict_va(self, images: Sequence[ImageInput]) -> torch.Tensor:
        """The (valence, arousal) the model reads in each image: ``(B, 2)`` in [-1, 1]."""
        return self.model.predict_va(self.model.image_grid(self.pixels(images))).cpu()

    def compose(self, images: Sequence[ImageInput], va: torch.Tensor | Sequence[Sequence[float]] | None = None,
                settings: SamplingSettings | None = None) -> list[MidiPiece]:
        """One piece per image. ``va`` ``(B, 2)`` is the target feeling; ``None`` uses the VA read from each image.
        ``settings`` ``None``: :data:`DEFAULT_SECONDS` with the model's sampling defaults and guidance.

        Each image is composed on its own random stream (:func:`~art2music.symbolic.sampling.row_generator`), window
        by window to any length (:mod:`art2music.symbolic.continuation`).
        """
        if settings is None:
            settings = SamplingSettings(**self.sampling.resolve(), seconds=DEFAULT_SECONDS,
                                        guidance=self.default_guidance())
        with torch.inference_mode(), sampling_threads(self.model):
            return self._compose(images, va, settings)

    def _compose(self, images: Sequence[ImageInput], va, settings: SamplingSettings) -> list[MidiPiece]:
        pixels = self.pixels(images)
        grid = self.model.image_grid(pixels)
        target = self.model.predict_va(grid) if va is None else torch.as_tensor(va, dtype=torch.float32,
                                                                                   device=self.device)
        if target.shape != (len(images), 2):
            raise ValueError(f"va must be (images, 2) = ({len(images)}, 2), got {tuple(target.shape)}")
        memory = self.model.encode(grid, target.clamp(-1, 1))
        if settings.guidance != 1.0:
            if self.model.null_va is None:
                raise ValueError("this model was not trained for guidance (no 'no VA' token): use guidance=1")
            unconditioned = self.model.unconditioned_memory(pixels)
            memory = torch.stack([memory, unconditioned], dim=1)  # (B, 2, M, d): rows (with VA, without)
        else:
            memory = memory.unsqueeze(1)
        feeling = target.clamp(-1, 1).tolist()  # each piece's mode and tempo priors lean by its own target
        return [windowed_piece(self.model, memory[row], self.tokenizer, self.facts,
                               replace(settings, target_valence=feeling[row][0], target_arousal=feeling[row][1]),
                               row_generator(settings.seed, row))
                for row in range(len(images))]

    def default_guidance(self) -> float:
        """:data:`DEFAULT_GUIDANCE` for a model trained with a "no VA" token, else 1.0 (no guidance)."""
        return DEFAULT_GUIDANCE if self.model.null_va is not None else 1.0

    def __call__(self, image: ImageInput | Sequence[ImageInput], emotion: str | None = None,
                 va: tuple[float, float] | None = None, bars: int | None = None, seconds: float | None = None,
                 temperature: float | None = None, top_k: int | None = None, top_p: float | None = None,
                 seed: int = 0,
                 valence: float | None = None, arousal: float | None = None, guidance: float | None = None,
                 loop: bool = False, key_prior: float | None = None, mode_prior: float | None = None,
                 tempo_prior: float | None = None) -> MidiPiece | list[MidiPiece]:
        """One image → a :class:`MidiPiece`; a list → a list. Length in ``bars`` or ``seconds`` (default 20 s), any
        length (windowed continuation).

        ``emotion`` (an ArtEmis emotion name), ``valence`` and ``arousal``, or ``va`` (valence, arousal), each in
        [-1, 1], picks the feeling; without any, the model reads it from the painting. ``guidance`` scales the
        feeling (classifier-free guidance; ``None``: :meth:`default_guidance`). ``loop=True`` makes a piece of
        whole bars whose last bar resolves to the first, to be repeated seamlessly. ``temperature``, ``top_k``,
        ``top_p``, ``key_prior`` (a logit penalty per out-of-key pitch,
        :class:`~art2music.symbolic.sampling.KeyTracker`), ``mode_prior`` (a lean towards a major key for a positive
        target valence and a minor one for a negative, in proportion to it) and ``tempo_prior`` (a lean towards fast
        tempi for positive target arousal, slow for negative) left ``None`` take the model's own defaults
        (:attr:`sampling`).
        """
        from art2music.emotions import VALENCE_AROUSAL, normalize_emotion, target_valence_arousal

        if valence is not None or arousal is not None:
            if va is not None:
                raise ValueError("give va or valence/arousal, not both")
            va = target_valence_arousal(emotion, valence, arousal)
            emotion = None
        elif va is not None:
            va = target_valence_arousal(None, *va)

        single = isinstance(image, (str, os.PathLike, Image.Image))
        images = [image] if single else list(image)
        if not images:
            raise ValueError("no images given")
        if emotion is not None and va is not None:
            raise ValueError("give an emotion or a va, not both")
        target = None
        if emotion is not None:
            va = VALENCE_AROUSAL[normalize_emotion(emotion)]
        if va is not None:
            target = [list(va)] * len(images)
        if bars is None and seconds is None:
            seconds = DEFAULT_SECONDS
        settings = SamplingSettings(**self.sampling.resolve(temperature=temperature, top_k=top_k, top_p=top_p,
                                                            key_prior=key_prior, mode_prior=mode_prior,
                                                            tempo_prior=tempo_prior),
                                    bars=bars, seconds=seconds, seed=seed,
                                    guidance=self.default_guidance() if guidance is None else guidance, loop=loop)
        pieces = self.compose(images, target, settings)
        return pieces[0] if single else pieces

    def __repr__(self) -> str:
        config = self.model.config
        return (f"Art2Midi(d_model={config.d_model}, layers={config.encoder_layers}+{config.decoder_layers}, "
                f"vocab={config.vocab_size}, image={config.image_encoder}@{config.image_size})")
