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
    repeats = 1 + -(-(samples - clip.size) // (clip.size - fade))  # each repeat adds clip.size − fade samples
    return join([clip] * repeats, fade)[:samples]


def join(sections: list[np.ndarray], fade: int) -> np.ndarray:
    """Concatenate ``(n_k,)`` waveforms, each overlapping the previous one by ``fade`` samples in an equal-power
    crossfade (shortened where a section is shorter); the result has ``sum(n_k) − Σ overlaps`` samples."""
    if not sections:
        raise ValueError("no sections to join")
    sections = [np.asarray(section, dtype=np.float32) for section in sections]
    overlaps = [min(fade, a.size, b.size) for a, b in zip(sections, sections[1:])]
    out = np.zeros(sum(section.size for section in sections) - sum(overlaps), dtype=np.float32)
    end = 0
    for index, section in enumerate(sections):
        section = section.copy()
        before = overlaps[index - 1] if index > 0 else 0
        after = overlaps[index] if index < len(overlaps) else 0
        if before:
            section[:before] *= equal_power_gains(before)[1]
        if after:
            section[section.size - after:] *= equal_power_gains(after)[0]
        start = end - before
        out[start:start + section.size] += section
        end = start + section.size
    return out
