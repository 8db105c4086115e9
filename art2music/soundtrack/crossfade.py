"""Equal-power crossfades of waveforms: joining sections, and filling a section with a shorter clip.

Two unrelated signals crossfaded with gains ``cos(πt/2)`` and ``sin(πt/2)`` keep their summed power constant
(``cos² + sin² = 1``), so the join neither dips nor swells in loudness (a linear, equal-gain fade dips by 3 dB in the
middle for uncorrelated signals).
"""

from __future__ import annotations

import numpy as np


def equal_power_gains(samples: int) -> tuple[np.ndarray, np.ndarray]:
    """``(fade_out, fade_in)`` gains, each ``(samples,)`` float32, with ``fade_out² + fade_in² = 1``."""
    phase = (np.arange(samples, dtype=np.float64) + 0.5) / max(samples, 1) * (np.pi / 2)
    return np.cos(phase).astype(np.float32), np.sin(phase).astype(np.float32)


def fill(clip: np.ndarray, samples: int, fade: int) -> np.ndarray:
    """``clip`` ``(n,)`` repeated to ``(samples,)``, each repeat joined to the last by a ``fade``-sample crossfade.

    A clip at least ``samples`` long is cut. The fade is shortened to half the clip when the clip is short.
    """
    clip = np.asarray(clip, dtype=np.float32)
    if clip.ndim != 1 or clip.size == 0:
        raise ValueError(f"clip must be a non-empty (samples,) waveform, got shape {clip.shape}")
    if clip.size >= samples:
        return clip[:samples].copy()
    fade = max(0, min(fade, clip.size // 2))
    out = clip.copy()
    while out.size < samples:
        out = join([out, clip], fade)
    return out[:samples]


def join(sections: list[np.ndarray], fade: int) -> np.ndarray:
    """Concatenate ``(n_k,)`` waveforms, each overlapping the previous one by ``fade`` samples in an equal-power
    crossfade; the result has ``sum(n_k) − fade · (len(sections) − 1)`` samples."""
    if not sections:
        raise ValueError("no sections to join")
    out = np.asarray(sections[0], dtype=np.float32).copy()
    for section in sections[1:]:
        section = np.asarray(section, dtype=np.float32)
        overlap = min(fade, out.size, section.size)
        if overlap == 0:
            out = np.concatenate([out, section])
            continue
        fade_out, fade_in = equal_power_gains(overlap)
        middle = out[-overlap:] * fade_out + section[:overlap] * fade_in
        out = np.concatenate([out[:-overlap], middle, section[overlap:]])
    return out
