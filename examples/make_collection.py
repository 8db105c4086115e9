"""Write the small sample art collection used by ``make demo``: ``examples/collection/``.

Eight procedurally drawn "paintings" (< 50 KB each) and ``collection.csv`` (columns image, comment, id).
They deliberately cover the image kinds that trip up naive loaders, so the demo exercises them:

    sunrise.jpg     plain RGB JPEG
    storm.png       8-bit grayscale PNG (mode L)
    carnival.gif    palette GIF (mode P, 32 colours)
    ghost.png       RGBA PNG with a transparent background
    harbour.jpg     JPEG stored sideways with an EXIF orientation tag (6 = rotate 90° clockwise)
    forest.jpg      CMYK JPEG, and its row has no comment
    moonlight.png   16-bit grayscale PNG
    fireworks.gif   animated GIF (3 frames)

Run once and commit the output (deterministic: same files every run)::

    .venv/bin/python examples/make_collection.py [--out examples/collection]
"""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

SIZE = (192, 144)

ROWS = [  # (file, comment, id)
    ("sunrise.jpg", "The warm sunrise over the fields makes me feel hopeful and content.", "sunrise"),
    ("storm.png", "A gloomy storm; the dark sky feels heavy and sad.", "storm"),
    ("carnival.gif", "So many bright colours, like a carnival: pure fun!", "carnival"),
    ("ghost.png", "Something eerie floats in the empty space, it frightens me a little.", "ghost"),
    ("harbour.jpg", "Calm boats in the harbour, « le calme du soir », so peaceful.", "harbour"),
    ("forest.jpg", "", "forest"),
    ("moonlight.png", "A lonely moon over black water, I feel a quiet longing.", "moonlight"),
    ("fireworks.gif", "Fireworks exploding in red and gold, how exciting, \"wow\"!", ""),
]


def _gradient(top: tuple[int, int, int], bottom: tuple[int, int, int]) -> np.ndarray:
    """``(H, W, 3)`` uint8 vertical gradient from ``top`` to ``bottom``."""
    width, height = SIZE
    weight = np.linspace(0.0, 1.0, height)[:, None, None]
    colours = (1 - weight) * np.array(top, float) + weight * np.array(bottom, float)
    return np.broadcast_to(colours, (height, width, 3)).astype(np.uint8)


def sunrise() -> Image.Image:
    image = Image.fromarray(_gradient((255, 190, 90), (120, 160, 60)))
    draw = ImageDraw.Draw(image)
    draw.ellipse((70, 50, 122, 102), fill=(255, 235, 120))
    draw.rectangle((0, 100, SIZE[0], SIZE[1]), fill=(90, 140, 50))
    return image


def storm() -> Image.Image:
    rng = np.random.default_rng(1)
    sky = _gradient((40, 45, 55), (90, 95, 110)).mean(axis=2)
    rain = (rng.random(sky.shape) > 0.97) * 80
    return Image.fromarray(np.clip(sky + np.roll(rain, 3, axis=1), 0, 255).astype(np.uint8), mode="L")


def carnival() -> Image.Image:
    rng = np.random.default_rng(2)
    image = Image.new("RGB", SIZE, (250, 250, 240))
    draw = ImageDraw.Draw(image)
    for _ in range(25):
        x, y, radius = rng.integers(0, SIZE[0]), rng.integers(0, SIZE[1]), rng.integers(6, 22)
        colour = tuple(int(c) for c in rng.integers(60, 256, size=3))
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=colour)
    return image.convert("P", palette=Image.Palette.ADAPTIVE, colors=32)


def ghost() -> Image.Image:
    image = Image.new("RGBA", SIZE, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((66, 20, 126, 80), fill=(200, 210, 230, 200))
    draw.rectangle((66, 50, 126, 125), fill=(200, 210, 230, 160))
    draw.ellipse((80, 40, 90, 52), fill=(20, 20, 30, 255))
    draw.ellipse((102, 40, 112, 52), fill=(20, 20, 30, 255))
    return image


def harbour_upright() -> Image.Image:
    image = Image.fromarray(_gradient((150, 190, 220), (30, 70, 120)))
    draw = ImageDraw.Draw(image)
    for x in (30, 90, 150):
        draw.polygon([(x, 100), (x + 30, 100), (x + 24, 112), (x + 6, 112)], fill=(120, 60, 30))
        draw.line([(x + 15, 100), (x + 15, 70)], fill=(60, 40, 20), width=2)
    return image


def forest() -> Image.Image:
    image = Image.fromarray(_gradient((170, 210, 170), (20, 70, 30)))
    draw = ImageDraw.Draw(image)
    for x in range(8, SIZE[0], 22):
        draw.polygon([(x, 120), (x + 10, 50), (x + 20, 120)], fill=(15, 90 + x % 40, 35))
    return image.convert("CMYK")


def moonlight() -> Image.Image:
    width, height = SIZE
    y, x = np.mgrid[0:height, 0:width]
    glow = np.exp(-(((x - 140) ** 2 + (y - 40) ** 2) / (2 * 18.0 ** 2)))
    values = (4000 + 60000 * glow).clip(0, 65535).astype(np.uint16)
    return Image.fromarray(values)  # mode I;16


def fireworks() -> list[Image.Image]:
    frames = []
    for step, colour in enumerate([(255, 60, 40), (255, 200, 40), (255, 120, 220)]):
        image = Image.new("RGB", SIZE, (10, 10, 35))
        draw = ImageDraw.Draw(image)
        centre, reach = (60 + 35 * step, 60), 15 + 12 * step
        for angle in np.linspace(0, 2 * np.pi, 14, endpoint=False):
            end = (centre[0] + reach * np.cos(angle), centre[1] + reach * np.sin(angle))
            draw.line([centre, end], fill=colour, width=2)
        frames.append(image)
    return frames


def write_collection(out: Path) -> None:
    """Write the eight images and ``collection.csv`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    sunrise().save(out / "sunrise.jpg", quality=85)
    storm().save(out / "storm.png", optimize=True)
    carnival().save(out / "carnival.gif")
    ghost().save(out / "ghost.png", optimize=True)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated 90° counter-clockwise; viewers rotate it back clockwise
    harbour_upright().transpose(Image.Transpose.ROTATE_90).save(out / "harbour.jpg", quality=85, exif=exif.tobytes())
    forest().save(out / "forest.jpg", quality=85)
    moonlight().save(out / "moonlight.png", optimize=True)
    first, *rest = fireworks()
    first.save(out / "fireworks.gif", save_all=True, append_images=rest, duration=300, loop=0)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["image", "comment", "id"])
    writer.writerows(ROWS)
    (out / "collection.csv").write_text(buffer.getvalue(), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("collection"))
    write_collection(parser.parse_args().out)


if __name__ == "__main__":
    main()
