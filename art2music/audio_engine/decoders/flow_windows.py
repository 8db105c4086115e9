"""Pieces longer than one window, seamless loops and mood-changing sections, with all windows sampled together.

The velocity network sees one window of frames at a time, so memory stays linear in the piece's length. A longer
piece is covered by overlapping windows, and the whole piece is integrated as one ODE: at every step each window's
velocity is computed (all windows in one batch) and the velocity of a frame is the weighted mean of the windows
covering it, each window's weight falling to near zero at its edges (MultiDiffusion, Bar-Tal et al. 2023, here for
a flow). Neighbouring windows therefore agree on their shared frames at every step, each continuing the other, and
there is no seam left to crossfade; and since the windows run as one batch instead of one after another, a long
piece costs about what a batch of short ones does.

- **Loops**: the frames lie on a circle. Window frame indices wrap around, so one window spans the end and the
  start, and the step from the last frame to the first is a step inside a window like any other.
- **Sections** (a slideshow's moods): each section has its own condition and a soft indicator over the frames
  (1 inside, 0 outside, linear ramps of a quarter window across each boundary, summing to 1 everywhere).
  Every window overlapping a section runs once under that section's condition, weighted by the indicator, so the
  mood changes across a boundary within one continuous piece (region-based MultiDiffusion).

All tensors here live in the decoder's normalised mel space, ``(B, n_mels, frames)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from art2music.audio_engine.decoders.flow import FlowMelDecoder

OVERLAP_SHARE = 0.1875
"""Least share of a window shared with each neighbour (also the length of its weight ramps). Averaging at every step
keeps neighbours in agreement even over a short overlap, and each overlap frame is paid for twice."""
TRANSITION_SHARE = 0.25
"""Length of the blend between two sections, as a share of a window."""
ROWS_PER_PASS = 8
"""Window rows (windows × batch) per network pass, doubled by guidance: bounds memory for long pieces; 16-row passes
measured fastest per row on 2 CPU threads (128-row ones 20 % slower)."""


def integrate(decoder: "FlowMelDecoder", noise: torch.Tensor, condition: torch.Tensor, steps: int, guidance: float,
              solver: str) -> torch.Tensor:
    """Solve the flow ODE from ``noise`` ``(B, M, T)`` to a normalised mel ``(B, M, T)``, one window."""
    return _solve(lambda x, t: decoder.velocity(x, t, condition, guidance), noise, steps, solver)


def _solve(velocity, noise: torch.Tensor, steps: int, solver: str) -> torch.Tensor:
    """Euler or midpoint steps of ``dx/dt = velocity(x, t)`` from ``t = 0`` to 1; ``t`` is ``(B,)``."""
    x, dt = noise, 1.0 / steps
    for step in range(steps):
        t = torch.full((x.shape[0],), step * dt, device=x.device, dtype=x.dtype)
        slope = velocity(x, t)
        if solver == "midpoint":
            slope = velocity(x + 0.5 * dt * slope, t + 0.5 * dt)
        x = x + dt * slope
    return x


def window_plan(frames: int, window: int) -> tuple[int, int]:
    """``(window, overlap)`` for a piece of ``frames``: the window is at most the piece, the overlap an eighth of it."""
    window = max(1, min(window, frames))
    return window, max(1, int(window * OVERLAP_SHARE))


def window_starts(frames: int, window: int, overlap: int, loop: bool) -> list[int]:
    """First frames of the windows covering a piece, each sharing at least ``overlap`` frames with its neighbours.

    Not looped: windows lie inside ``[0, frames)``, the first at 0 and the last ending at ``frames``. Looped: the
    starts are spread evenly round the circle (at least two windows, so the wrap lies inside one of them).
    """
    if loop:
        count = max(2, math.ceil(frames / max(1, window - overlap)))
        return [round(k * frames / count) for k in range(count)]
    if frames <= window:
        return [0]
    count = math.ceil((frames - overlap) / max(1, window - overlap))
    return [round(k * (frames - window) / (count - 1)) for k in range(count)]


def position_weights(window: int, ramp: int, like: torch.Tensor) -> torch.Tensor:
    """``(window,)``: 1 in the middle of a window, falling linearly over ``ramp`` frames to near 0 at each edge."""
    position = torch.arange(window, device=like.device, dtype=like.dtype) + 0.5
    return torch.minimum(position, window - position).div(ramp).clamp(max=1.0)


def section_weights(frames: int, firsts: list[int], transition: int, loop: bool, like: torch.Tensor) -> torch.Tensor:
    """``(sections, frames)`` soft indicators of sections starting at ``firsts``, summing to 1 at every frame.

    Across each boundary the outgoing section falls and the incoming one rises linearly over ``transition`` frames
    centred on the boundary; looped, the last section's end is the first one's start.
    """
    centre = torch.arange(frames, device=like.device, dtype=like.dtype) + 0.5
    ends = firsts[1:] + [frames]
    rows = []
    for index, (first, end) in enumerate(zip(firsts, ends)):
        def rising(position: torch.Tensor, edge: float) -> torch.Tensor:
            return ((position - edge) / transition + 0.5).clamp(0.0, 1.0)

        shifts = (-frames, 0, frames) if loop else (0,)
        row = torch.zeros_like(centre)
        for shift in shifts:
            position = centre + shift
            left = rising(position, first) if (loop or index > 0) else torch.ones_like(position)
            right = rising(-position, -end) if (loop or index < len(firsts) - 1) else torch.ones_like(position)
            row = torch.maximum(row, left * right)
        rows.append(row)
    weights = torch.stack(rows)
    return weights / weights.sum(dim=0, keepdim=True)


@dataclass
class _Entry:
    """One window under one section's condition: its frame ``indices`` ``(window,)`` and ``weights`` ``(window,)``."""
    indices: torch.Tensor
    weights: torch.Tensor
    section: int


def _entries(frames: int, window: int, overlap: int, firsts: list[int], loop: bool, like: torch.Tensor
             ) -> list[_Entry]:
    ramp = position_weights(window, overlap, like)
    regions = section_weights(frames, firsts, max(1, int(window * TRANSITION_SHARE)), loop, like)
    entries = []
    for start in window_starts(frames, window, overlap, loop):
        indices = (start + torch.arange(window, device=like.device)) % frames
        for section in range(len(firsts)):
            weights = ramp * regions[section, indices]
            if bool((weights > 0).any()):
                entries.append(_Entry(indices, weights, section))
    return entries


def sample_long(decoder: "FlowMelDecoder", noise: torch.Tensor, condition: torch.Tensor, steps: int,
                guidance: float, solver: str, window: int, loop: bool = False,
                sections: list[tuple[int, torch.Tensor]] | None = None) -> torch.Tensor:
    """A normalised mel ``(B, M, frames)`` from ``noise`` ``(B, M, frames)`` of any length, all windows together.

    ``loop``: the frames lie on a circle, so the last frame leads into the first. ``sections``:
    ``[(first_frame, condition (B, C)), ...]`` in order, the first at frame 0; each section's frames follow its own
    condition, and neighbouring sections blend over a quarter window at their boundary (``condition`` is then
    unused). A seed (the noise) gives one piece.
    """
    frames = noise.shape[-1]
    sections = sections or [(0, condition)]
    firsts = [first for first, _ in sections]
    if firsts[0] != 0 or any(b <= a for a, b in zip(firsts, firsts[1:])) or firsts[-1] >= frames:
        raise ValueError("sections must start at frame 0 and be in increasing order of their first frame, "
                         f"each inside the piece's {frames} frames")
    window, overlap = window_plan(frames, window)
    entries = _entries(frames, window, overlap, firsts, loop, noise)
    conditions = [c for _, c in sections]
    batch = noise.shape[0]
    all_indices = torch.cat([e.indices for e in entries])  # (E · window,)
    all_weights = torch.cat([e.weights for e in entries]).to(noise.dtype)
    total = torch.zeros(frames, device=noise.device, dtype=noise.dtype).index_add_(0, all_indices, all_weights)
    rows = torch.cat([conditions[e.section] for e in entries])  # (E · B, C), entry-major
    per_pass = max(1, ROWS_PER_PASS // batch)

    def joint_velocity(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        windows = torch.cat([x[..., e.indices] for e in entries])  # (E · B, M, window)
        times = t[:1].expand(windows.shape[0])
        parts = [decoder.velocity(windows[i:i + per_pass * batch], times[i:i + per_pass * batch],
                                  rows[i:i + per_pass * batch], guidance)
                 for i in range(0, windows.shape[0], per_pass * batch)]
        velocity = torch.cat(parts).to(x.dtype).reshape(len(entries), batch, *x.shape[1:-1], window)
        weighted = (velocity * all_weights.reshape(len(entries), 1, 1, window)).permute(1, 2, 0, 3)
        summed = torch.zeros_like(x).index_add_(2, all_indices, weighted.reshape(*x.shape[:2], -1))
        return summed / total

    return _solve(joint_velocity, noise, steps, solver)
