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

Rejected with a reason (``ImageLoadError.reason``): ``missing``, ``not_a_file`` (a directory, FIFO,
device such as ``/dev/zero``, or socket: the detail names the kind), ``unreadable`` (no permission ...),
``empty`` (zero bytes), ``not_an_image``, ``truncated`` (or otherwise undecodable), ``too_large`` (a file of
more than ``max_bytes`` bytes, or a decompression bomb: more pixels than ``max_pixels``),
``extreme_aspect_ratio``, ``unsupported_mode``.

**Bounded work.** What a path is gets checked before it is opened (``os.stat``, following symlinks): only
regular files are opened, so a FIFO never blocks the caller and ``/dev/zero`` is never read. The file is
then opened non-blocking and checked again (it may have been swapped in between), and no more than its
size is ever read. The pixel count is checked from the header, before decoding.

**Aspect ratio.** A pixel limit alone does not bound memory: a 1 x 1,000,000 PNG is 2 KB and a million
pixels, but an encoder that resizes its shorter side to 224 would make it 224 x 224,000,000. Images whose
longer side is more than :data:`MAX_ASPECT_RATIO` (100) times the shorter one are refused. A hand scroll or a
panorama (1:20, even 1:50) loads; resized to a 224-pixel short side it is at most 224 x 22,400 (15 MB).
"""

from __future__ import annotations

import os
import stat
import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from vocoder.files import UnusableFileError

DEFAULT_MAX_PIXELS = 89_478_485
"""Pillow's own decompression-bomb warning threshold (~89.5 megapixels, e.g. 9459 x 9459)."""

DEFAULT_MAX_FILE_BYTES = 1 << 30
"""1 GiB: far above any artwork file (an 89-megapixel 16-bit RGBA TIFF is ~0.7 GB), far below what fills memory."""

MAX_ASPECT_RATIO = 100
"""The longest accepted longer-side : shorter-side ratio (see the module docstring)."""

REASONS = ("missing", "not_a_file", "unreadable", "empty", "not_an_image", "truncated", "too_large",
           "extreme_aspect_ratio", "unsupported_mode")

_FILE_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
               (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))

_WHITE = (255, 255, 255)


class ImageLoadError(UnusableFileError):
    """An image file cannot be used. ``reason`` is one of :data:`REASONS`; ``path`` is the file."""

    reasons = REASONS


def file_kind(mode: int) -> str:
    """What an ``st_mode`` is, in words (``a FIFO (named pipe)``, ``a character device`` ...)."""
    return next((kind for test, kind in _FILE_KINDS if test(mode)), "not a regular file")


def open_regular_file(path: str | os.PathLike, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> BinaryIO:
    """Open ``path`` for binary reading only if it is a non-empty regular file of at most ``max_bytes`` bytes.

    Symlinks are followed. Special files are refused before being opened, so this never blocks (a FIFO) or
    hands out an endless stream (``/dev/zero``); see the module docstring.

    Raises:
        ImageLoadError: ``missing``, ``not_a_file`` (the detail names the kind), ``unreadable``, ``empty`` or
            ``too_large``.
    """
    path = Path(path)
    try:
        _check_regular(path, os.stat(path), max_bytes)
        # O_NONBLOCK: should a FIFO replace the file after the stat, opening it still returns at once.
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise ImageLoadError(path, "missing", "no such file") from None
    except OSError as error:
        raise ImageLoadError(path, "unreadable", f"cannot open the file ({error.strerror or error})") from error
    try:
        _check_regular(path, os.fstat(descriptor), max_bytes)
        if hasattr(os, "set_blocking"):
            os.set_blocking(descriptor, True)
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def _check_regular(path: Path, status: os.stat_result, max_bytes: int) -> None:
    if not stat.S_ISREG(status.st_mode):
        raise ImageLoadError(path, "not_a_file", f"is {file_kind(status.st_mode)}, not an image file")
    if status.st_size == 0:
        raise ImageLoadError(path, "empty", "the file has zero bytes (an interrupted download?)")
    if status.st_size > max_bytes:
        raise ImageLoadError(path, "too_large", f"the file has {status.st_size} bytes, over the limit of {max_bytes}")


def load_image(path: str | os.PathLike, max_pixels: int = DEFAULT_MAX_PIXELS,
               max_bytes: int = DEFAULT_MAX_FILE_BYTES, max_aspect_ratio: float = MAX_ASPECT_RATIO) -> Image.Image:
    """Open ``path`` fully decoded, upright, as an 8-bit ``RGB`` image.

    Args:
        path: the image file (any format Pillow reads: JPEG, PNG, GIF, WebP, TIFF, BMP ...).
        max_pixels: refuse images with more pixels than this (width x height) before decoding them.
        max_bytes: refuse files larger than this before reading them.
        max_aspect_ratio: refuse images whose longer side exceeds this many times the shorter one.

    Raises:
        ImageLoadError: with ``reason`` in :data:`REASONS` and a message naming the file.
    """
    path = Path(path)
    with warnings.catch_warnings(), open_regular_file(path, max_bytes) as handle:
        # Our own max_pixels check replaces Pillow's global bomb warning.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(handle) as image:
                _check_size(path, image.size, max_pixels, max_aspect_ratio)
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


def _check_size(path: Path, size: tuple[int, int], max_pixels: int, max_aspect_ratio: float) -> None:
    """Refuse, from the header alone, a decompression bomb or a size whose resizing would explode."""
    width, height = size
    if width * height > max_pixels:
        raise ImageLoadError(path, "too_large", f"{width}x{height} = {width * height} pixels exceeds "
                             f"the limit of {max_pixels} (possible decompression bomb)")
    if min(width, height) < 1 or max(width, height) > max_aspect_ratio * min(width, height):
        raise ImageLoadError(path, "extreme_aspect_ratio", f"{width}x{height}: the longer side is more than "
                             f"{max_aspect_ratio:g} times the shorter one (the limit, generous for a hand scroll or a "
                             f"panorama); crop it into parts")


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
