"""Vocoding a long mel in overlapping chunks, so memory stays bounded whatever the soundtrack's length.

HiFi-GAN is convolutional: a sample depends only on nearby frames. Each chunk is vocoded with ``context`` extra
frames on both sides; consecutive chunks' audio then overlaps by ``2 · context`` frames. The outer ``context / 2``
frames of each chunk (where its edge, the padding, shows) are dropped, and across the middle ``context`` frames the
two versions (nearly identical, both having seen the same frames) are crossfaded linearly, so no seam is left.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

CHUNK_FRAMES = 2048
"""Mel frames per chunk (~24 s at 22050 Hz / 256): a paper-size HiFi-GAN's activations for this stay under ~2 GB."""
CONTEXT_FRAMES = 32
"""Extra frames each side of a chunk (8192 samples), more than HiFi-GAN V1's receptive field."""


def vocode_in_chunks(mel_to_audio: Callable[[torch.Tensor], np.ndarray], mel: torch.Tensor, hop: int,
                     chunk: int = CHUNK_FRAMES, context: int = CONTEXT_FRAMES) -> np.ndarray:
    """``mel`` ``(1, n_mels, frames)`` → ``(frames · hop,)`` float32 waveform, vocoded chunk by chunk.

    Args:
        mel_to_audio: ``(1, n_mels, f)`` log-mel → ``(1, f · hop)`` waveform (``Art2Music.mel_to_audio``).
        hop: samples per mel frame.
    """
    if chunk < 4 * context:
        raise ValueError(f"chunk ({chunk} frames) must be at least 4 x context ({context} frames)")
    frames = mel.shape[-1]
    if frames <= chunk + 2 * context:
        return np.asarray(mel_to_audio(mel))[0]
    out = np.zeros(frames * hop, dtype=np.float32)
    weight = np.zeros(frames * hop, dtype=np.float32)
    edge, ramp = context // 2 * hop, context * hop
    rising = (np.arange(ramp, dtype=np.float32) + 0.5) / ramp
    count = -(-frames // chunk)  # equal chunks of at most ``chunk`` frames, each longer than the overlap
    bounds = [round(k * frames / count) for k in range(count + 1)]
    for start, end in zip(bounds, bounds[1:]):
        left, right = max(0, start - context), min(frames, end + context)
        audio = np.asarray(mel_to_audio(mel[..., left:right]))[0].astype(np.float32)
        gain = np.ones(audio.size, dtype=np.float32)
        if left > 0:  # silent over the chunk's own edge, then fading in across the boundary
            gain[:edge], gain[edge:edge + ramp] = 0.0, rising
        if right < frames:
            gain[audio.size - edge - ramp:audio.size - edge], gain[audio.size - edge:] = rising[::-1], 0.0
        out[left * hop:right * hop] += audio * gain
        weight[left * hop:right * hop] += gain
    return out / np.maximum(weight, 1e-6)
