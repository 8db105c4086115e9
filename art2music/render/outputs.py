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
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Iterator

import numpy as np
import soundfile
from PIL import Image

from vocoder.audio import write_wav as write_audio
from vocoder.files import atomic_write, atomic_write_text
from vocoder.files import remove_stale_temporaries as remove_stale_files
from vocoder.mel import MelConfig

AUDIO_DIR, MEL_DIR, THUMB_DIR, ITEM_DIR = "audio", "mel", "thumbs", "items"
MIDI_DIR, ROLL_DIR = "midi", "pianoroll"
"""The midi engine's extra folders: ``midi/<id>.mid`` and ``pianoroll/<id>.png`` (instead of ``mel/``)."""
THUMBNAIL_SIZE = 256
WAV_SUBTYPES = {"pcm16": "PCM_16", "float": "FLOAT"}
MEL_PNG_RANGE = (MelConfig().silence_value, 2.5)
"""Log-magnitude range mapped onto the colour scale: from the mel's silence value, log(1e-5), to a little
above the loudest values music mels reach; fixed (not per image) so that spectrograms in one gallery
compare by eye."""


def output_paths(out_dir: Path, item_id: str) -> dict[str, Path]:
    """The files of item ``item_id``: keys ``wav``, ``png``, ``thumbnail``, ``record``."""
    return {"wav": out_dir / AUDIO_DIR / f"{item_id}.wav", "png": out_dir / MEL_DIR / f"{item_id}.png",
            "thumbnail": out_dir / THUMB_DIR / f"{item_id}.jpg", "record": out_dir / ITEM_DIR / f"{item_id}.json"}


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


@contextmanager
def _writing(path: Path) -> Iterator[None]:
    """Turn any ``OSError`` while writing ``path`` into :class:`OutputWriteError` (``path`` is left as it was)."""
    try:
        yield
    except OSError as error:
        raise OutputWriteError(path, error) from error


def write_text(path: Path, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically (records, results files, the gallery)."""
    with _writing(path):
        atomic_write_text(path, text)


def write_wav(path: Path, waveform: np.ndarray, sample_rate: int, subtype: str = "PCM_16") -> None:
    """Write a ``(samples,)`` float waveform in [-1, 1] as a mono WAV, atomically (:func:`vocoder.audio.write_wav`)."""
    with _writing(path):
        write_audio(path, waveform, sample_rate, subtype)


MAGMA_ANCHORS = np.array([(0, 0, 4), (28, 16, 68), (79, 18, 123), (129, 37, 129), (181, 54, 122),
                          (229, 80, 100), (251, 135, 97), (254, 194, 135), (252, 253, 191)], dtype=np.float64)
"""Nine evenly spaced colours of the perceptually uniform 'magma' colour map (van der Walt & Smith, as in
matplotlib), from silence (near black) to loud (pale yellow); the table below interpolates between them, so
rendering needs no plotting library."""


@lru_cache(maxsize=1)
def _magma_lut() -> np.ndarray:
    """``(256, 3)`` uint8 colour table interpolated linearly between :data:`MAGMA_ANCHORS`, built once."""
    positions = np.linspace(0.0, 1.0, len(MAGMA_ANCHORS))
    steps = np.linspace(0.0, 1.0, 256)
    channels = [np.interp(steps, positions, MAGMA_ANCHORS[:, channel]) for channel in range(3)]
    return (np.stack(channels, axis=1) + 0.5).astype(np.uint8)


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
    with _writing(path):
        atomic_write(path, lambda tmp: picture.save(tmp, format="PNG", compress_level=1))


def write_png(path: Path, picture: Image.Image) -> None:
    """Write a picture (a piano roll) as a PNG, atomically."""
    with _writing(path):
        atomic_write(path, lambda tmp: picture.save(tmp, format="PNG", compress_level=1))


def write_midi(path: Path, piece) -> None:
    """Write a :class:`art2music.symbolic.piece.MidiPiece` as a MIDI file, atomically."""
    with _writing(path):
        piece.save(path)


def write_thumbnail(path: Path, image: Image.Image, size: int = THUMBNAIL_SIZE) -> None:
    """Write an RGB image shrunk to at most ``size`` pixels on its longer side as a JPEG, atomically."""
    thumbnail = make_thumbnail(image, size)
    with _writing(path):
        atomic_write(path, lambda tmp: thumbnail.save(tmp, format="JPEG", quality=85))


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

    :func:`vocoder.files.remove_stale_temporaries` on ``out_dir`` and each of its item subfolders. Call it before rendering starts, holding the folder's lock (:mod:`art2music.render.lock`), so
    that it never runs while another process writes into ``out_dir``.
    """
    folders = (out_dir, *(out_dir / name for name in (AUDIO_DIR, MEL_DIR, THUMB_DIR, ITEM_DIR, MIDI_DIR, ROLL_DIR)))
    return [path for folder in folders for path in remove_stale_files(folder)]
