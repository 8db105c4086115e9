"""Writing one rendered item's files, each atomically (temporary sibling, then ``os.replace``).

Layout of an output folder (paths relative to it, so the gallery works opened from disk)::

    audio/<id>.wav     the music: 22050 Hz mono, 16-bit PCM (or 32-bit float), via soundfile
    mel/<id>.png       the log-mel, low frequencies at the bottom, one pixel per frame and mel bin
    thumbs/<id>.jpg    the artwork, upright, at most THUMBNAIL_SIZE pixels on its longer side
    items/<id>.json    the item's record (status, fingerprint ...): written last, it marks the item done
    results.json/.csv  every item of the last run;  index.html  the gallery

A SIGKILL at any moment leaves each file either complete or absent (plus, at worst, a stray temporary
file, which :func:`remove_stale_temporaries` deletes on the next run).
"""

from __future__ import annotations

import errno
import io
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile
from PIL import Image

from art2music.io.atomic import temporary_sibling

AUDIO_DIR, MEL_DIR, THUMB_DIR, ITEM_DIR = "audio", "mel", "thumbs", "items"
THUMBNAIL_SIZE = 256
WAV_SUBTYPES = {"pcm16": "PCM_16", "float": "FLOAT"}
MEL_PNG_RANGE = (-11.5129, 2.5)
"""Log-magnitude range mapped onto the colour scale: from the mel's silence value, log(1e-5), to a little
above the loudest values music mels reach; fixed (not per image) so that spectrograms in one gallery
compare by eye."""


def output_paths(out_dir: Path, item_id: str) -> dict[str, Path]:
    """The files of item ``item_id``: keys ``wav``, ``png``, ``thumbnail``, ``record``."""
    return {"wav": out_dir / AUDIO_DIR / f"{item_id}.wav", "png": out_dir / MEL_DIR / f"{item_id}.png",
            "thumbnail": out_dir / THUMB_DIR / f"{item_id}.jpg", "record": out_dir / ITEM_DIR / f"{item_id}.json"}


def _default_file_mode() -> int:
    """The mode ``open()`` would give a new file (0o666 minus the umask); temporary files start at 0o600."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


_FILE_MODE = _default_file_mode()


class OutputWriteError(Exception):
    """An output file could not be written (disk full, read-only file system, no permission ...).

    ``path`` is the file that was being written, ``error`` the ``OSError`` that stopped it.
    """

    def __init__(self, path: Path, error: OSError):
        self.path, self.error = path, error
        super().__init__(f"cannot write {path}: {describe_os_error(error)}")


def describe_os_error(error: OSError) -> str:
    """``No space left on device [ENOSPC]``: the reason of an ``OSError`` without its file name."""
    name = errno.errorcode.get(error.errno or 0)
    return f"{error.strerror or error}" + (f" [{name}]" if name else "")


def _replace_into(path: Path, write) -> None:
    """Call ``write(tmp_path)``, fsync, give it normal permissions, then atomically rename it onto ``path``.

    (A gallery is often served by a web server as another user: the 0o600 of a temporary file would hide it.)

    Raises:
        OutputWriteError: any ``OSError`` on the way; ``path`` keeps its previous content (or stays absent).
    """
    try:
        tmp = temporary_sibling(path)
    except OSError as error:
        raise OutputWriteError(path, error) from error
    try:
        write(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
    except OSError as error:
        raise OutputWriteError(path, error) from error
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: Path, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically (records, results files, the gallery)."""
    _replace_into(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_wav(path: Path, waveform: np.ndarray, sample_rate: int, subtype: str = "PCM_16") -> None:
    """Write a ``(samples,)`` float waveform in [-1, 1] as a mono WAV, atomically."""
    if waveform.ndim != 1:
        raise ValueError(f"expected a mono (samples,) waveform, got shape {waveform.shape}")
    # Encoded in memory, then written by Python: a full disk then raises OSError(ENOSPC), where libsndfile
    # writing the file itself only says "System error."
    encoded = io.BytesIO()
    soundfile.write(encoded, waveform, sample_rate, subtype=subtype, format="WAV")
    _replace_into(path, lambda tmp: tmp.write_bytes(encoded.getvalue()))


@lru_cache(maxsize=1)
def _magma_lut() -> np.ndarray:
    """``(256, 3)`` uint8 colour table (matplotlib's perceptually uniform 'magma'), built once."""
    from matplotlib import colormaps

    return (colormaps["magma"](np.linspace(0.0, 1.0, 256))[:, :3] * 255.0 + 0.5).astype(np.uint8)


def mel_to_rgb(mel: np.ndarray) -> np.ndarray:
    """``(n_mels, frames)`` log-mel → ``(n_mels, frames, 3)`` uint8 picture, low bins at the bottom.

    A table lookup, not a matplotlib figure: ~100x faster, which matters when rendering thousands of items.
    """
    low, high = MEL_PNG_RANGE
    scaled = np.clip((np.asarray(mel, dtype=np.float32) - low) / (high - low), 0.0, 1.0)
    indices = np.rint(scaled * 255.0).astype(np.uint8)
    return _magma_lut()[indices[::-1]]


def write_mel_png(path: Path, mel: np.ndarray) -> None:
    """Write a ``(n_mels, frames)`` log-mel as a PNG (one pixel per frame and bin), atomically."""
    picture = Image.fromarray(mel_to_rgb(mel), mode="RGB")
    _replace_into(path, lambda tmp: picture.save(tmp, format="PNG", compress_level=1))


def write_thumbnail(path: Path, image: Image.Image, size: int = THUMBNAIL_SIZE) -> None:
    """Write an RGB image shrunk to at most ``size`` pixels on its longer side as a JPEG, atomically."""
    thumbnail = make_thumbnail(image, size)
    _replace_into(path, lambda tmp: thumbnail.save(tmp, format="JPEG", quality=85))


def make_thumbnail(image: Image.Image, size: int = THUMBNAIL_SIZE) -> Image.Image:
    """A small copy of ``image`` (to carry through a data loader instead of the full picture)."""
    thumbnail = image.convert("RGB")
    thumbnail.thumbnail((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return thumbnail


def wav_is_complete(path: Path, sample_rate: int, samples: int) -> bool:
    """True if ``path`` decodes as a WAV with the given rate and length (used before skipping an item)."""
    try:
        info = soundfile.info(str(path))
    except (RuntimeError, OSError, soundfile.LibsndfileError):
        return False
    return info.samplerate == sample_rate and info.frames == samples and info.channels == 1


def remove_stale_temporaries(out_dir: Path) -> list[Path]:
    """Delete temporary files a killed run left in the output folders; returns what was removed.

    Only names made by :func:`art2music.io.atomic.temporary_sibling` (``.<name>.<random>.tmp<suffix>``) are
    touched. Call it before rendering starts, holding the folder's lock (:mod:`art2music.render.lock`), so
    that it never runs while another process writes into ``out_dir``.
    """
    removed = []
    for folder in (out_dir, *(out_dir / name for name in (AUDIO_DIR, MEL_DIR, THUMB_DIR, ITEM_DIR))):
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            if path.name.startswith(".") and ".tmp" in path.name and path.is_file():
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed
