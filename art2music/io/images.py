"""Robust image loading: any file a curator or a dataset hands over becomes an RGB ``PIL.Image``, or a
specific :class:`ImageLoadError` saying why it cannot.

Handled correctly (not just "converted"):

- EXIF orientation (phone photos of paintings): the pixels are rotated/flipped upright;
- transparency (RGBA, LA, palette with a transparent index): composited on white, so transparent areas do
  not turn black as a plain ``convert("RGB")`` would make them;
- 16-bit and 32-bit grayscale (``I;16``, ``I``) and float (``F``) images: rescaled to 8 bits rather than
  clipped (a plain convert saturates every value above 255 to white);
- CMYK, YCbCr, LAB, HSV, palette, 1-bit and grayscale: converted to RGB;
- animated GIF/PNG/WebP: the first frame.

Rejected with a reason (``ImageLoadError.reason``): ``missing``, ``not_a_file``, ``empty`` (zero bytes),
``not_an_image``, ``truncated`` (or otherwise undecodable), ``too_large`` (decompression bomb: more pixels
than ``max_pixels``), ``unsupported_mode``.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from vocoder.files import UnusableFileError

DEFAULT_MAX_PIXELS = 89_478_485
"""Pillow's own decompression-bomb warning threshold (~89.5 megapixels, e.g. 9459 x 9459)."""

REASONS = ("missing", "not_a_file", "empty", "not_an_image", "truncated", "too_large", "unsupported_mode")

_WHITE = (255, 255, 255)


class ImageLoadError(UnusableFileError):
    """An image file cannot be used. ``reason`` is one of :data:`REASONS`; ``path`` is the file."""

    reasons = REASONS


def load_image(path: str | os.PathLike, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Open ``path`` fully decoded, upright, as an 8-bit ``RGB`` image.

    Args:
        path: the image file (any format Pillow reads: JPEG, PNG, GIF, WebP, TIFF, BMP ...).
        max_pixels: refuse images with more pixels than this (width x height) before decoding them.

    Raises:
        ImageLoadError: with ``reason`` in :data:`REASONS` and a message naming the file.
    """
    path = Path(path)
    if not path.exists():
        raise ImageLoadError(path, "missing", "no such file")
    if not path.is_file():
        raise ImageLoadError(path, "not_a_file", "is a directory or special file, not an image file")
    if path.stat().st_size == 0:
        raise ImageLoadError(path, "empty", "the file has zero bytes (an interrupted download?)")
    with warnings.catch_warnings():
        # Our own max_pixels check replaces Pillow's global bomb warning.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(path) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise ImageLoadError(path, "too_large", f"{width}x{height} = {width * height} pixels exceeds "
                                         f"the limit of {max_pixels} (possible decompression bomb)")
                if getattr(image, "n_frames", 1) > 1:
                    image.seek(0)  # animated: the first frame
                image.load()
                upright = ImageOps.exif_transpose(image)
                return to_rgb(upright if upright is not None else image, path)
        except ImageLoadError:
            raise
        except Image.DecompressionBombError as error:
            raise ImageLoadError(path, "too_large", str(error)) from error
        except UnidentifiedImageError as error:
            raise ImageLoadError(path, "not_an_image", "not a format Pillow can identify") from error
        except (OSError, SyntaxError, ValueError, EOFError) as error:
            # Pillow reports truncated and corrupt data as OSError ("image file is truncated ...").
            raise ImageLoadError(path, "truncated", f"cannot decode the pixel data ({error})") from error


def to_rgb(image: Image.Image, path: str | os.PathLike = "<image>") -> Image.Image:
    """Convert a decoded image of any Pillow mode to 8-bit ``RGB`` (see the module docstring for the rules)."""
    mode = image.mode
    if mode == "RGB":
        return image.copy()
    if mode == "P":
        has_alpha = "transparency" in image.info or image.palette is not None and image.palette.mode == "RGBA"
        image = image.convert("RGBA" if has_alpha else "RGB")
        mode = image.mode
        if mode == "RGB":
            return image
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        return _wide_gray_to_rgb(image, path)
    if mode in ("RGBA", "LA", "La", "RGBa", "PA") or (mode in ("L", "RGB") and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, _WHITE + (255,))
        return Image.alpha_composite(background, rgba).convert("RGB")
    try:
        return image.convert("RGB")
    except (ValueError, OSError) as error:
        raise ImageLoadError(path, "unsupported_mode", f"cannot convert mode {mode!r} to RGB ({error})") from error


def _wide_gray_to_rgb(image: Image.Image, path: str | os.PathLike) -> Image.Image:
    """16/32-bit integer or float grayscale → 8-bit RGB, scaled by the format's range, not clipped."""
    values = np.asarray(image, dtype=np.float64)
    if values.size == 0:
        raise ImageLoadError(path, "truncated", "image has no pixels")
    if image.mode == "F":
        finite = values[np.isfinite(values)]
        top = float(finite.max()) if finite.size else 1.0
        scale = 1.0 if top <= 1.0 else (255.0 if top <= 255.0 else top)
        values = np.nan_to_num(values, nan=0.0) / scale * 255.0
    else:
        # I;16* are 0..65535. Mode I holds 16-bit PNGs (0..65535) unless values say otherwise.
        top = float(values.max())
        scale = 65535.0 if top <= 65535.0 else top
        values = values / scale * 255.0
    gray = np.clip(np.rint(values), 0, 255).astype(np.uint8)
    return Image.fromarray(gray, mode="L").convert("RGB")
