"""The ArtiCaps manifest: one row per (painting comment, music clip) training pair.

File format: UTF-8 CSV with a header and exactly these columns (:data:`COLUMNS`; a manifest written before
``midi_path`` existed, with :data:`COLUMNS_WITHOUT_MIDI`, still reads, every ``midi_path`` empty):

============  =====================================================================
id            unique pair id (letters, digits, ``-``, ``_``, ``.``); names outputs
image_path    the painting image; relative paths are relative to the manifest's folder
comment       the viewer's comment about the painting (may be empty)
emotion       one of the nine ArtEmis emotions (:mod:`art2music.emotions`)
audio_path    the music clip; relative paths are relative to the manifest's folder
midi_path     the clip's MIDI score (relative like ``audio_path``), empty when the dataset has none
              (MusicCaps ships none; the demo corpus composes every clip as MIDI)
caption       the MusicCaps-style caption of the clip (used for matching, not training)
match_score   cosine similarity of comment and caption embeddings, in [-1, 1]
split         ``train``, ``val`` or ``test``
============  =====================================================================

Row order is meaningful: row ``k`` of the manifest is row ``k`` of the feature cache.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Iterable, Sequence

from vocoder.files import atomic_write_text
from art2music.emotions import normalize_emotion

COLUMNS: tuple[str, ...] = ("id", "image_path", "comment", "emotion", "audio_path", "midi_path", "caption",
                            "match_score", "split")
COLUMNS_WITHOUT_MIDI: tuple[str, ...] = tuple(column for column in COLUMNS if column != "midi_path")
SPLITS: tuple[str, ...] = ("train", "val", "test")
_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class ManifestError(ValueError):
    """A manifest file is malformed; the message names the file, line and column."""


@dataclass(frozen=True)
class ManifestRow:
    """One training pair. Paths are as written in the file; use :meth:`Manifest.resolve` to open them."""

    id: str
    image_path: str
    comment: str
    emotion: str
    audio_path: str
    caption: str
    match_score: float
    split: str
    midi_path: str = ""

    def validated(self) -> "ManifestRow":
        """Return a copy with the emotion canonicalised; raise ``ValueError`` on a bad field."""
        if not _ID_PATTERN.match(self.id):
            raise ValueError(f"id {self.id!r} must start with a letter or digit and use only letters, digits, "
                             f"'.', '_' and '-' (it names output files)")
        if self.split not in SPLITS:
            raise ValueError(f"split {self.split!r} must be one of {', '.join(SPLITS)}")
        score = float(self.match_score)
        if not (math.isfinite(score) and -1.0001 <= score <= 1.0001):
            raise ValueError(f"match_score {self.match_score!r} must be a cosine similarity in [-1, 1]")
        if not self.image_path:
            raise ValueError("image_path is empty")
        if not self.audio_path:
            raise ValueError("audio_path is empty")
        return replace(self, emotion=normalize_emotion(self.emotion), match_score=score)


class Manifest(Sequence[ManifestRow]):
    """An ordered, validated list of :class:`ManifestRow` plus the folder relative paths start from."""

    def __init__(self, rows: Iterable[ManifestRow], root: str | Path = "."):
        self.rows: list[ManifestRow] = [row.validated() for row in rows]
        self.root = Path(root)
        seen: dict[str, int] = {}
        for index, row in enumerate(self.rows):
            if row.id in seen:
                raise ManifestError(f"duplicate id {row.id!r} in rows {seen[row.id] + 1} and {index + 1}")
            seen[row.id] = index
        self._index = seen

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index):  # type: ignore[override]
        return self.rows[index]

    @property
    def ids(self) -> list[str]:
        return [row.id for row in self.rows]

    def index_of(self, pair_id: str) -> int:
        """Row number of ``pair_id`` (``KeyError`` if absent)."""
        return self._index[pair_id]

    def resolve(self, path: str) -> Path:
        """Absolute path of an ``image_path``/``audio_path``/``midi_path`` value (relative to the manifest folder)."""
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else (self.root / candidate)

    def split_indices(self, split: str) -> list[int]:
        """Row numbers belonging to ``split``."""
        if split not in SPLITS:
            raise ValueError(f"split {split!r} must be one of {', '.join(SPLITS)}")
        return [index for index, row in enumerate(self.rows) if row.split == split]

    def to_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in self.rows:
            values = asdict(row)
            values["match_score"] = f"{row.match_score:.6f}"
            writer.writerow(values)
        return buffer.getvalue()

    def write(self, path: str | Path) -> None:
        """Write the manifest as CSV, atomically."""
        atomic_write_text(path, self.to_csv())


def read_manifest(path: str | Path) -> Manifest:
    """Read and validate a manifest CSV.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ManifestError: wrong header, undecodable bytes, or a bad value (the message gives the line).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"manifest {path} does not exist (build one with `art2music build-articaps` "
                                f"or `art2music demo-corpus`)")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise ManifestError(f"{path}: not UTF-8 at byte {error.start}; re-save the manifest as UTF-8") from error
    reader = csv.DictReader(io.StringIO(text))
    header = tuple(reader.fieldnames or ())
    if header not in (COLUMNS, COLUMNS_WITHOUT_MIDI):
        missing = [c for c in COLUMNS if c not in header]
        extra = [c for c in header if c not in COLUMNS]
        raise ManifestError(f"{path}: header must be {','.join(COLUMNS)}"
                            + (f"; missing {missing}" if missing else "") + (f"; unexpected {extra}" if extra else ""))
    rows = []
    for record in reader:
        line = reader.line_num
        if None in record or any(value is None for value in record.values()):
            raise ManifestError(f"{path}:{line}: expected {len(header)} fields")
        try:
            rows.append(ManifestRow(**{f.name: record.get(f.name, "") for f in fields(ManifestRow)}).validated())
        except ValueError as error:
            raise ManifestError(f"{path}:{line}: {error}") from error
    try:
        return Manifest(rows, root=path.parent)
    except ManifestError as error:
        raise ManifestError(f"{path}: {error}") from error
