"""Procedural abstract "paintings" whose colours and shapes follow an emotion.

A painting is a background gradient in the profile's palette, several layers of shapes in one of the
profile's drawing styles, a light blur (paint-like edges) and canvas grain. Palette hue, saturation and
brightness ranges and the contrast between layers come from :class:`EmotionProfile`, so a bright,
warm, dotted picture reads as amusement and a dark, grey-blue, dripping one as sadness.
"""

from __future__ import annotations

import colorsys
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from art2music.demo_corpus.profiles import EmotionProfile

RGB = tuple[int, int, int]


def palette_colour(profile: EmotionProfile, rng: np.random.Generator, lift: float = 0.0) -> RGB:
    """One colour from the profile's palette; ``lift`` in [-1, 1] shifts brightness by ± contrast/2."""
    low, high = profile.hues[int(rng.integers(len(profile.hues)))]
    hue = (rng.uniform(low, high) % 360) / 360
    saturation = rng.uniform(*profile.saturation)
    value = float(np.clip(rng.uniform(*profile.brightness) + lift * profile.contrast / 2, 0.02, 1.0))
    return tuple(int(round(255 * c)) for c in colorsys.hsv_to_rgb(hue, saturation, value))  # type: ignore[return-value]


def _gradient(size: int, top: RGB, bottom: RGB, rng: np.random.Generator) -> Image.Image:
    angle = rng.uniform(0, math.pi)
    y, x = np.mgrid[0:size, 0:size] / max(size - 1, 1)
    t = np.clip((x - 0.5) * math.cos(angle) + (y - 0.5) * math.sin(angle) + 0.5, 0, 1)[..., None]
    pixels = (1 - t) * np.array(top, float) + t * np.array(bottom, float)
    return Image.fromarray(pixels.astype(np.uint8), "RGB")


def _draw_layer(draw: ImageDraw.ImageDraw, style: str, size: int, profile: EmotionProfile,
                rng: np.random.Generator, lift: float) -> None:
    """Draw one layer of shapes in ``style`` (the shape vocabulary of the profiles)."""
    colour = lambda: palette_colour(profile, rng, lift)  # noqa: E731
    s = size
    if style in ("dots", "confetti"):
        for _ in range(int(rng.integers(12, 30))):
            r = rng.uniform(0.02, 0.09 if style == "dots" else 0.04) * s
            x, y = rng.uniform(0, s, 2)
            if style == "dots":
                draw.ellipse((x - r, y - r, x + r, y + r), fill=colour())
            else:
                draw.rectangle((x - r, y - r / 2, x + r, y + r / 2), fill=colour())
    elif style in ("glow", "rays"):
        cx, cy = rng.uniform(0.3, 0.7) * s, rng.uniform(0.2, 0.5) * s
        if style == "rays":
            for _ in range(int(rng.integers(8, 16))):
                a = rng.uniform(0, 2 * math.pi)
                w = rng.uniform(0.03, 0.08)
                far = 1.5 * s
                draw.polygon([(cx, cy), (cx + far * math.cos(a - w), cy + far * math.sin(a - w)),
                              (cx + far * math.cos(a + w), cy + far * math.sin(a + w))], fill=colour())
        for step in range(10, 0, -1):
            r = step / 10 * rng.uniform(0.25, 0.4) * s
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=palette_colour(profile, rng, lift + (10 - step) / 10))
    elif style in ("bands", "hills"):
        for k in range(int(rng.integers(3, 6))):
            y0 = (k + rng.uniform(0.5, 1.0)) * s / 5
            if style == "bands":
                draw.rectangle((0, y0, s, y0 + rng.uniform(0.08, 0.2) * s), fill=colour())
            else:
                phase, amp = rng.uniform(0, 2 * math.pi), rng.uniform(0.03, 0.08) * s
                points = [(x, y0 + amp * math.sin(x / s * 2 * math.pi + phase)) for x in np.linspace(0, s, 24)]
                draw.polygon(points + [(s, s), (0, s)], fill=colour())
    elif style in ("bursts", "zigzags"):
        cx, cy = rng.uniform(0.2, 0.8, 2) * s
        for _ in range(int(rng.integers(14, 26))):
            a, length = rng.uniform(0, 2 * math.pi), rng.uniform(0.3, 0.8) * s
            if style == "bursts":
                draw.line((cx, cy, cx + length * math.cos(a), cy + length * math.sin(a)), fill=colour(),
                          width=int(rng.integers(3, 9)))
            else:
                x, y = rng.uniform(0, s, 2)
                points = [(x + i * 0.06 * s, y + (0.06 * s if i % 2 else 0)) for i in range(8)]
                draw.line(points, fill=colour(), width=int(rng.integers(3, 7)))
    elif style in ("shards", "slashes"):
        for _ in range(int(rng.integers(6, 14))):
            if style == "shards":
                points = [tuple(rng.uniform(-0.1, 1.1, 2) * s) for _ in range(3)]
                draw.polygon(points, fill=colour())
            else:
                x, y = rng.uniform(0, s, 2)
                draw.line((x, y, x + rng.uniform(-0.6, 0.6) * s, y + rng.uniform(0.3, 0.7) * s), fill=colour(),
                          width=int(rng.integers(4, 12)))
    elif style in ("blobs", "smears"):
        for _ in range(int(rng.integers(5, 12))):
            cx, cy = rng.uniform(0, s, 2)
            radius = rng.uniform(0.06, 0.2) * s
            angles = np.linspace(0, 2 * math.pi, 14, endpoint=False)
            radii = radius * rng.uniform(0.5, 1.4, angles.size)
            stretch = 2.0 if style == "smears" else 1.0
            draw.polygon([(cx + stretch * r * math.cos(a), cy + r * math.sin(a)) for a, r in zip(angles, radii)],
                         fill=colour())
    elif style in ("scratches", "eyes"):
        for _ in range(int(rng.integers(20, 40))):
            x, y = rng.uniform(0, s, 2)
            points = [(x, y)]
            for _ in range(5):
                x, y = x + rng.normal(0, 0.05 * s), y + rng.normal(0, 0.05 * s)
                points.append((x, y))
            draw.line(points, fill=colour(), width=1)
        if style == "eyes":
            for _ in range(int(rng.integers(2, 5))):
                x, y, r = rng.uniform(0.1, 0.9) * s, rng.uniform(0.1, 0.9) * s, rng.uniform(0.01, 0.025) * s
                draw.ellipse((x - r, y - r, x + r, y + r), fill=(230, 230, 210))
    elif style in ("drips", "rain"):
        for _ in range(int(rng.integers(12, 30))):
            x, y = rng.uniform(0, s), rng.uniform(-0.2, 0.4) * s
            width = int(rng.integers(2, 8)) if style == "drips" else 1
            draw.line((x, y, x + (rng.uniform(-0.05, 0.05) * s if style == "rain" else 0), y + rng.uniform(0.3, 0.9) * s),
                      fill=colour(), width=width)
    elif style == "grid":
        lines = np.sort(rng.uniform(0, s, (2, 4)), axis=1)
        for i in range(5):
            for j in range(5):
                x0 = 0 if i == 0 else lines[0][i - 1]
                x1 = s if i == 4 else lines[0][i]
                y0 = 0 if j == 0 else lines[1][j - 1]
                y1 = s if j == 4 else lines[1][j]
                if rng.random() < 0.5:
                    draw.rectangle((x0, y0, x1, y1), fill=colour(), outline=(20, 20, 20), width=3)
    else:
        raise ValueError(f"unknown painting style {style!r}")


def paint(profile: EmotionProfile, rng: np.random.Generator, size: int = 256, style: str | None = None) -> Image.Image:
    """Paint one abstract picture for ``profile``.

    Args:
        profile: the emotion's palette and shape styles.
        rng: the random source (the picture is a pure function of its state).
        size: width and height in pixels.
        style: one of ``profile.shapes`` (default: drawn from ``rng``).

    Returns:
        ``size x size`` RGB image.
    """
    if style is None:
        style = profile.shapes[int(rng.integers(len(profile.shapes)))]
    image = _gradient(size, palette_colour(profile, rng, -0.5), palette_colour(profile, rng, 0.2), rng)
    draw = ImageDraw.Draw(image)
    for layer in range(int(rng.integers(2, 4))):
        _draw_layer(draw, style, size, profile, rng, lift=rng.uniform(-1, 1))
    image = image.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(0.4, 1.5))))
    grain = rng.normal(0, 6, (size, size, 1))
    pixels = np.clip(np.asarray(image, dtype=np.float64) + grain, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels, "RGB")
