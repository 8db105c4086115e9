"""What an uploaded image must be, and what the page says when it is not.

The checks are :func:`art2music.io.images.load_image`'s (the same as ``art2music render``: only regular files,
decompression bombs refused from the header, extreme aspect ratios refused), with a smaller file-size limit for
uploads. A refused upload becomes an :class:`UploadError` whose message is one sentence for the page: it names
the problem, never the server's temporary path, and carries no traceback.
"""

from __future__ import annotations

import os

from PIL import Image

from art2music.io.images import DEFAULT_MAX_PIXELS, ImageLoadError, load_image

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
"""20 MiB: a large phone photo or scan of a painting is 5-15 MB; a 20-megapixel PNG can reach ~20 MB."""

MAX_UPLOAD_PIXELS = DEFAULT_MAX_PIXELS
"""Pillow's decompression-bomb threshold (~89.5 megapixels), as for ``render``."""

_MESSAGES = {
    "missing": "No image was received; drop or pick an image file.",
    "not_a_file": "That upload is not an image file.",
    "unreadable": "The uploaded file could not be read.",
    "empty": "The uploaded file is empty (0 bytes).",
    "not_an_image": "That file is not an image Pillow can read (JPEG, PNG, GIF, WebP, TIFF, BMP ...).",
    "truncated": "The image is truncated or corrupt: its pixel data cannot be decoded.",
    "too_large": "The image is too large",
    "extreme_aspect_ratio": "The image is too long and thin",
    "unsupported_mode": "The image's colour mode cannot be converted to RGB.",
}


class UploadError(ValueError):
    """An upload the page refuses: ``reason`` (one of :data:`art2music.io.images.REASONS`) and a one-line
    ``str(error)`` to show the user."""

    def __init__(self, reason: str, message: str):
        self.reason = reason
        super().__init__(message)


def upload_message(error: ImageLoadError) -> str:
    """The page's one sentence for a refused image: the reason in words, plus the detail where it helps (the
    limit that was exceeded), never the server's file path."""
    message = _MESSAGES.get(error.reason, "The image cannot be used.")
    if error.reason in ("too_large", "extreme_aspect_ratio"):
        message += f": {error.detail}."
    return message


def check_upload(path: str | os.PathLike | None, max_bytes: int = MAX_UPLOAD_BYTES,
                 max_pixels: int = MAX_UPLOAD_PIXELS) -> Image.Image:
    """Open an uploaded file as an upright 8-bit RGB image, or refuse it.

    Args:
        path: where the web server stored the upload (``None`` when nothing was uploaded).
        max_bytes: refuse larger files before reading them.
        max_pixels: refuse images with more pixels (width x height) before decoding them.

    Raises:
        UploadError: with a message for the page.
    """
    if path is None or str(path) == "":
        raise UploadError("missing", _MESSAGES["missing"])
    try:
        return load_image(path, max_pixels=max_pixels, max_bytes=max_bytes)
    except ImageLoadError as error:
        raise UploadError(error.reason, upload_message(error)) from error
