"""EMOPIA (Hung et al., ISMIR 2021): 1,087 pop-piano clips labelled with a quadrant of Russell's circumplex.

Files are ``midis/Q{1..4}_<song>_<clip>.mid``; the quadrant gives the sign of valence and arousal
(Q1 +V+A, Q2 -V+A, Q3 -V-A, Q4 +V-A). A piece gets the quadrant's centre at ±:data:`QUADRANT_RADIUS`;
pieces are split by *song* (clips of one song stay in one split) and paired with paintings by VA distance
(:func:`art2music.symbolic.corpus.pair_by_va`). EMOPIA's license is non-commercial (see datasets/README.md).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Sequence

from art2music.symbolic.corpus import DEFAULT_FRACTIONS, Piece, assign_splits

QUADRANT_RADIUS = 0.5
QUADRANT_VA = {1: (QUADRANT_RADIUS, QUADRANT_RADIUS), 2: (-QUADRANT_RADIUS, QUADRANT_RADIUS),
               3: (-QUADRANT_RADIUS, -QUADRANT_RADIUS), 4: (QUADRANT_RADIUS, -QUADRANT_RADIUS)}
_NAME = re.compile(r"^Q([1-4])_(.+?)(?:_(\d+))?\.midi?$", re.IGNORECASE)


def quadrant_of(name: str) -> int | None:
    """The quadrant (1-4) an EMOPIA file name starts with, or ``None`` for a name that is not EMOPIA's."""
    match = _NAME.match(name)
    return int(match.group(1)) if match else None


def read_emopia(root: str | os.PathLike, seed: int = 0, fractions: Sequence[float] = DEFAULT_FRACTIONS
                ) -> tuple[list[Piece], list[str]]:
    """EMOPIA's pieces under ``root`` (the release folder, or its ``midis/``), with VA and a split by song.

    Returns:
        ``(pieces, ignored)``: files whose name does not follow ``Q{1..4}_<song>_<n>.mid`` are ignored by name.
        Unreadable files are found later, by :func:`art2music.symbolic.tokenizer.read_scores`.

    Raises:
        FileNotFoundError: ``root`` holds no ``midis/`` folder and no MIDI file.
    """
    root = Path(root)
    folder = root / "midis" if (root / "midis").is_dir() else root
    files = sorted(path for path in folder.glob("*") if path.suffix.lower() in (".mid", ".midi"))
    if not files:
        raise FileNotFoundError(f"no EMOPIA MIDI files in {folder} (expected midis/Q1_<song>_<n>.mid ...; "
                                f"see datasets/README.md)")
    songs: dict[str, list[tuple[Path, int]]] = {}
    ignored = []
    for path in files:
        match = _NAME.match(path.name)
        if match is None:
            ignored.append(path.name)
            continue
        songs.setdefault(match.group(2), []).append((path, int(match.group(1))))
    names = sorted(songs)
    splits = dict(zip(names, assign_splits(len(names), seed, fractions)))
    pieces = [Piece(path, "", *QUADRANT_VA[quadrant], splits[song])
              for song in names for path, quadrant in songs[song]]
    return pieces, ignored
