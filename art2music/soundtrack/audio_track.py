"""The audio engine's soundtrack: one mel for the whole slideshow, or one clip per slide crossfaded.

- **flow stage 1** (``"transitions": "continued"``): one piece of ``slides × frames_per_slide`` mel frames is sampled
  from one noise draw, section ``k`` under slide ``k``'s condition; all windows of the piece are integrated together
  and neighbouring sections blend over a quarter window at their boundary
  (:func:`art2music.audio_engine.decoders.flow_windows.sample_long` with ``sections``), so the mood changes without
  a cut. The mel is vocoded in overlapping chunks (:mod:`.vocode`).
- **BiLSTM stage 1** (``"crossfade"``): it writes one static clip of its trained length per image; the clip is
  repeated to fill its section, and sections meet in equal-power crossfades of :data:`CROSSFADE_SECONDS` centred on
  each boundary (:mod:`.crossfade`). The cue times are the same either way.
"""

from __future__ import annotations

import hashlib
from typing import Any, Sequence

import numpy as np
import torch

from art2music.soundtrack.crossfade import fill, join
from art2music.soundtrack.cue_sheet import Cue, Soundtrack, back_to_back
from art2music.soundtrack.slides import Slide
from art2music.soundtrack.vocode import vocode_in_chunks

CROSSFADE_SECONDS = 1.0
"""Length of the crossfade between two slides' clips (BiLSTM), and of the joins when a clip is repeated."""
EMBED_BATCH = 16
"""Slides encoded (and, with the BiLSTM, decoded and vocoded) per batch: bounds memory for long slideshows."""
CROSSFADE_NOTE = ("this model's stage 1 is the deterministic BiLSTM, which cannot continue a piece: each image's "
                  "clip is repeated to fill its section and sections are joined by 1-s equal-power crossfades (a flow "
                  "stage 1 continues each section from the last instead)")


def slideshow_seed(slides: Sequence[Slide]) -> int:
    """The default seed of a soundtrack: from every slide's image bytes and comment, in order (reruns repeat it)."""
    from art2music.pipeline import image_sha256, item_seed

    digest = hashlib.sha256("\0".join(image_sha256(slide.image) for slide in slides).encode()).hexdigest()
    return item_seed(digest, "\0".join(slide.comment for slide in slides))


def embed_slides(pipe: Any, slides: Sequence[Slide]) -> tuple[torch.Tensor, torch.Tensor]:
    """``(text_embedding, image_embedding)``, each ``(slides, D)``, in batches of :data:`EMBED_BATCH`."""
    parts = [pipe.embed([s.picture for s in slides[i:i + EMBED_BATCH]],
                        [s.comment or None for s in slides[i:i + EMBED_BATCH]])
             for i in range(0, len(slides), EMBED_BATCH)]
    return torch.cat([text for text, _ in parts]), torch.cat([image for _, image in parts])


def frames_per_slide(pipe: Any, seconds_per_image: float) -> int:
    """Mel frames of one slide's section (at least 1)."""
    return max(1, pipe.mel_config.seconds_to_frames(seconds_per_image))


def compose_audio_track(pipe: Any, slides: Sequence[Slide], seconds_per_image: float, seed: int | None = None,
                        steps: int | None = None, guidance: float | None = None) -> Soundtrack:
    """The soundtrack of ``slides`` with an :class:`~art2music.pipeline.Art2Music` pipeline.

    Args:
        seconds_per_image: length of each slide's section in seconds (rounded to whole mel frames).
        seed, steps, guidance: flow stage 1 only (the BiLSTM refuses them: ``ValueError``); default seed:
            :func:`slideshow_seed`.
    """
    if not slides:
        raise ValueError("no slides")
    pipe.check_sampling(seed, steps, guidance)
    frames = frames_per_slide(pipe, seconds_per_image)
    hop = pipe.mel_config.hop_length
    text, image = embed_slides(pipe, slides)
    settings: dict[str, Any] = {"engine": "audio", "decoder": pipe.decoder, "seconds_per_image": seconds_per_image,
                                "frames_per_image": frames, "precision": pipe.precisions}
    if pipe.is_generative:
        seed = slideshow_seed(slides) if seed is None else seed
        sampling = {**pipe.sampling_defaults(), **{k: v for k, v in (("steps", steps), ("guidance", guidance))
                                                   if v is not None}}
        mel = continued_mel(pipe, text, image, frames, seed, sampling["steps"], sampling["guidance"])
        waveform = vocode_in_chunks(pipe.mel_to_audio, mel, hop)
        settings.update(seed=seed, **sampling)
        transitions, notes = "continued", []
    else:
        mel, waveform = None, _crossfaded(pipe, text, image, frames * hop)
        transitions, notes = "crossfade", [CROSSFADE_NOTE]
    boundaries = [k * frames * hop for k in range(len(slides) + 1)]
    cues = [Cue(k, slide.id, str(slide.image), slide.comment, start, end)
            for k, (slide, (start, end)) in enumerate(zip(slides, back_to_back(boundaries, pipe.sample_rate)))]
    return Soundtrack(waveform, pipe.sample_rate, cues, transitions, settings, notes=notes,
                      mel=None if mel is None else mel[0].cpu())


@torch.inference_mode()
def continued_mel(pipe: Any, text: torch.Tensor, image: torch.Tensor, frames: int, seed: int, steps: int,
                  guidance: float) -> torch.Tensor:
    """The flow stage 1's mel ``(1, n_mels, slides · frames)``: section ``k`` (``frames`` long) under slide ``k``'s
    condition, blending at each boundary; noise from a CPU generator seeded with ``seed``."""
    count = text.shape[0]
    noise = torch.randn((1, pipe.mel_config.n_mels, count * frames), generator=torch.Generator().manual_seed(seed))
    with pipe._autocast():  # the pipeline's precision, as Art2Music.embeddings_to_mel runs stage 1
        conditions = pipe.stage1.condition(text.to(pipe.device), image.to(pipe.device))
        sections = [(k * frames, conditions[k:k + 1]) for k in range(count)]
        mel = pipe.stage1.decoder(conditions[:1], frames=count * frames, noise=noise.to(pipe.device), steps=steps,
                                  guidance=guidance, sections=sections)
    return mel.float()


def _crossfaded(pipe: Any, text: torch.Tensor, image: torch.Tensor, section_samples: int) -> np.ndarray:
    """Each slide's clip filled to its section (plus half a crossfade on each inner side), then joined."""
    clips = np.concatenate([pipe.mel_to_audio(pipe.embeddings_to_mel(text[i:i + EMBED_BATCH], image[i:i + EMBED_BATCH]))
                            for i in range(0, len(text), EMBED_BATCH)])  # (slides, trained frames · hop)
    fade = 2 * (min(int(CROSSFADE_SECONDS * pipe.sample_rate), section_samples // 2) // 2)
    count = len(clips)
    sections = [fill(clip, section_samples + fade // 2 * ((k > 0) + (k < count - 1)), fade)
                for k, clip in enumerate(clips)]
    return join(sections, fade)
