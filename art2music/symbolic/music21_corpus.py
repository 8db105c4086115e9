"""The music21 corpus as MIDI files: an optional source of music to pre-train the symbolic decoder on.

music21 (Cuthbert & Ariza 2010) ships a corpus of scores inside the package (433 Bach chorales among them), so it is
available offline. Its works carry no feeling, so they are never paired with a painting: the datamodule feeds them
with the learned "no VA" condition and a blank image (:mod:`art2music.training.midi_data`, ``music21_pieces``), to
teach the decoder harmony and voice leading beyond the demo composer's. Each work is converted once with
``music21.midi.translate`` into ``folder/<composer>-<work>.mid`` (written atomically; later calls reuse it); a work
music21 cannot convert is skipped and reported.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Sequence

from art2music.symbolic.corpus import DEFAULT_FRACTIONS, Piece, assign_splits
from art2music.symbolic.tokenizer import SkippedMidi

DEFAULT_COMPOSER = "bach"


def export_music21(folder: str | os.PathLike, count: int, composer: str = DEFAULT_COMPOSER
                   ) -> tuple[list[Path], list[SkippedMidi]]:
    """The first ``count`` works of ``composer`` in the music21 corpus (sorted by file name) as MIDI files.

    Returns:
        ``(paths, skipped)``.
    Raises:
        ValueError: ``count`` < 1, or music21 knows no work of ``composer``.
    """
    from music21 import corpus, midi

    from vocoder.files import atomic_write

    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    works = sorted(corpus.getComposer(composer), key=lambda path: Path(path).name)[:count]
    if not works:
        raise ValueError(f"the music21 corpus has no works by {composer!r}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths, skipped = [], []
    for work in works:
        name = f"{composer}-{Path(work).stem.replace('.', '_')}.mid"
        path = folder / name
        if not path.is_file():
            try:
                midi_file = midi.translate.streamToMidiFile(corpus.parse(work))
            except Exception as error:  # music21 raises many types for scores it cannot translate
                skipped.append(SkippedMidi(name, "corrupt", f"music21 cannot convert {Path(work).name}: {error}"))
                continue

            def write(temporary: Path, midi_file=midi_file) -> None:
                midi_file.open(str(temporary), "wb")
                midi_file.write()
                midi_file.close()

            atomic_write(path, write)
        paths.append(path)
    return paths, skipped


def read_music21(folder: str | os.PathLike, count: int, seed: int = 0, composer: str = DEFAULT_COMPOSER,
                 fractions: Sequence[float] = DEFAULT_FRACTIONS) -> tuple[list[Piece], list[SkippedMidi]]:
    """:func:`export_music21`'s files as :class:`Piece` entries without a feeling (VA ``nan``,
    ``pretraining=True``), split train/val/test with ``seed``."""
    paths, skipped = export_music21(folder, count, composer)
    splits = assign_splits(len(paths), seed * 1009 + 977, fractions)
    return [Piece(path, "", math.nan, math.nan, split, pretraining=True) for path, split in zip(paths, splits)], skipped
