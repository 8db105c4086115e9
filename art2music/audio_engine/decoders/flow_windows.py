"""Pieces longer than one window, and seamless loops, from the flow decoder by inpainting.

The velocity network sees one window of frames at a time (memory and time stay linear in the length). A long
piece is written window by window: each new window starts with the last ``overlap`` frames of the piece so far
as *known* frames, and the flow fills in the rest so that it continues them. Known frames are kept on their own
straight path during sampling, ``x_t = (1 − (1 − σ_min) t) · x0 + t · x_known`` with the noise ``x0`` they were
first drawn with (replacement inpainting, as in RePaint, Lugmayr et al. 2022, for flows); after the last step the
model's own version of the overlap is crossfaded with the earlier window's, so no seam is left.

A loop closes the piece on itself: its tail is written again with the frames before it known on the left and the
piece's first frames known on the right, so the end leads into the start.

All tensors here live in the decoder's normalised mel space, ``(B, n_mels, frames)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from art2music.audio_engine.decoders.flow import FlowMelDecoder

OVERLAP_SHARE = 0.25  # share of a window given to the known overlap with the previous window


def integrate(decoder: "FlowMelDecoder", noise: torch.Tensor, condition: torch.Tensor, steps: int, guidance: float,
              solver: str, known: torch.Tensor | None = None, known_mask: torch.Tensor | None = None
              ) -> torch.Tensor:
    """Solve the flow ODE from ``noise`` ``(B, M, T)`` to a normalised mel ``(B, M, T)``.

    ``known`` ``(B, M, T)`` with ``known_mask`` ``(T,)`` bool: frames held on their path to ``known`` (inpainting);
    the returned values there are the model's own, to crossfade with.
    """
    sigma = decoder.config.sigma_min
    x = noise
    dt = 1.0 / steps
    for step in range(steps):
        time = step * dt
        if known is not None:
            on_path = (1 - (1 - sigma) * time) * noise + time * known
            x = torch.where(known_mask, on_path, x)
        t = torch.full((x.shape[0],), time, device=x.device, dtype=x.dtype)
        slope = decoder.velocity(x, t, condition, guidance)
        if solver == "midpoint":
            slope = decoder.velocity(x + 0.5 * dt * slope, t + 0.5 * dt, condition, guidance)
        x = x + dt * slope
    return x


def _fade(frames: int, like: torch.Tensor) -> torch.Tensor:
    """A linear ramp ``(frames,)`` from just above 0 to just below 1 (equal-gain crossfade weights)."""
    return (torch.arange(frames, device=like.device, dtype=like.dtype) + 0.5) / frames


def window_plan(frames: int, window: int) -> tuple[int, int]:
    """``(window, overlap)`` for a piece of ``frames``: the overlap is a quarter window, at most a quarter piece."""
    window = max(4, min(window, frames))
    return window, max(1, min(int(window * OVERLAP_SHARE), frames // 4))


def sample_long(decoder: "FlowMelDecoder", noise: torch.Tensor, condition: torch.Tensor, steps: int,
                guidance: float, solver: str, window: int, loop: bool = False,
                sections: list[tuple[int, torch.Tensor]] | None = None) -> torch.Tensor:
    """A normalised mel ``(B, M, frames)`` for ``noise`` ``(B, M, frames)`` of any length, window by window.

    Window ``k`` starts ``overlap`` frames before the end of the piece so far and uses the same noise frames as
    the piece did there, so a seed gives one piece. ``loop`` rewrites the tail so the last frame leads into the
    first. ``sections``: ``[(first_frame, condition (B, C)), ...]`` in order, the first at frame 0: each section's
    frames are written under its own condition, and each section continues the one before it (a soundtrack
    whose mood follows a sequence of images without a cut); ``condition`` is then unused.
    """
    frames = noise.shape[-1]
    window, overlap = window_plan(frames, window)
    sections = sections or [(0, condition)]
    if sections[0][0] != 0 or any(b[0] <= a[0] for a, b in zip(sections, sections[1:])):
        raise ValueError("sections must start at frame 0 and be in increasing order of their first frame")
    starts = [first for first, _ in sections]

    def section_at(frame: int) -> tuple[torch.Tensor, int]:
        """The condition of the section holding ``frame``, and where the next section starts."""
        index = max(i for i, first in enumerate(starts) if first <= frame)
        return sections[index][1], starts[index + 1] if index + 1 < len(starts) else frames

    first_condition, boundary = section_at(0)
    piece = integrate(decoder, noise[..., :min(window, boundary)], first_condition, steps, guidance, solver)
    while piece.shape[-1] < frames:
        start = piece.shape[-1] - overlap
        section_condition, boundary = section_at(piece.shape[-1])
        end = min(start + window, boundary)
        mask = torch.arange(end - start, device=noise.device) < overlap
        known = torch.zeros_like(noise[..., start:end])
        known[..., :overlap] = piece[..., start:]
        new = integrate(decoder, noise[..., start:end], section_condition, steps, guidance, solver, known, mask)
        piece = torch.cat([piece[..., :start], _crossfade(piece[..., start:], new[..., :overlap]),
                           new[..., overlap:]], dim=-1)
    if loop:
        last_condition = sections[-1][1]
        piece = close_loop(decoder, piece, noise, last_condition, steps, guidance, solver, window, overlap)
    return piece


def _crossfade(before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
    weight = _fade(before.shape[-1], before)
    return (1 - weight) * before + weight * after


def close_loop(decoder: "FlowMelDecoder", piece: torch.Tensor, noise: torch.Tensor, condition: torch.Tensor,
               steps: int, guidance: float, solver: str, window: int, overlap: int) -> torch.Tensor:
    """Rewrite the tail of ``piece`` ``(B, M, frames)`` so that it leads into the piece's first frames.

    The rewritten span is ``[left | tail | right]``: ``left`` = the ``overlap`` frames before the tail (known),
    ``right`` = the piece's first ``overlap`` frames (known). The new tail is crossfaded in over ``left``, and the
    piece's first frames are crossfaded from the model's own version of ``right`` back to themselves, so the wrap
    from the last frame to the first is a step inside one sampled span.
    """
    frames = piece.shape[-1]
    tail = max(1, min(window - 2 * overlap, frames - 2 * overlap))
    left_start = frames - tail - overlap
    span_noise = torch.cat([noise[..., left_start:], noise[..., :overlap]], dim=-1)
    known = torch.cat([piece[..., left_start:frames - tail], torch.zeros_like(piece[..., frames - tail:]),
                       piece[..., :overlap]], dim=-1)
    positions = torch.arange(known.shape[-1], device=piece.device)
    mask = (positions < overlap) | (positions >= overlap + tail)
    new = integrate(decoder, span_noise, condition, steps, guidance, solver, known, mask)
    start = _crossfade(new[..., overlap + tail:], piece[..., :overlap])
    return torch.cat([start, piece[..., overlap:left_start],
                      _crossfade(piece[..., left_start:frames - tail], new[..., :overlap]),
                      new[..., overlap:overlap + tail]], dim=-1)
