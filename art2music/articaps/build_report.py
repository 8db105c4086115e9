"""The build report: every item a dataset build skipped, and why.

One :class:`SkippedItem` per problem, written as ``report.csv`` (columns ``source,item,reason,detail``)
beside the manifest. ``reason`` is a short code a script can group by (:data:`REASONS`); ``detail`` is
the human explanation; ``item`` locates the problem (``file.csv:LINE`` for CSV rows, a path for files).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Iterable

from vocoder.files import atomic_write_text

REASONS: dict[str, str] = {
    "malformed_row": "a CSV row with the wrong number of fields, a bad value, or bytes that are not UTF-8",
    "unknown_emotion": "an ArtEmis emotion that is not one of the nine",
    "empty_comment": "an ArtEmis row whose utterance is empty",
    "empty_caption": "a MusicCaps row whose caption is empty",
    "duplicate_clip": "a MusicCaps clip listed more than once (the first row is kept)",
    "missing_image": "the painting's image file does not exist",
    "corrupt_image": "the image exists but cannot be decoded (truncated, not an image, too large ...)",
    "missing_clip": "the clip's audio file does not exist",
    "corrupt_audio": "the audio exists but cannot be decoded, or holds NaN/inf",
    "silent_audio": "the clip is digital silence (peak under -80 dBFS)",
    "too_short_audio": "the clip is shorter than the minimum length",
    "missing_midi": "a --midi folder was given but holds no score for the clip (the clip is kept, midi_path empty)",
}
COLUMNS = ("source", "item", "reason", "detail")


@dataclass(frozen=True)
class SkippedItem:
    """One skipped input.

    Attributes:
        source: which input it came from (``artemis``, ``musiccaps``, ``wikiart``, ``audio``, ``midi``).
        item: where: ``artemis_dataset_release_v0.csv:17``, or a file path.
        reason: a key of :data:`REASONS`.
        detail: what exactly was wrong, for a person.
    """

    source: str
    item: str
    reason: str
    detail: str

    def __post_init__(self) -> None:
        if self.reason not in REASONS:
            raise ValueError(f"unknown skip reason {self.reason!r}; expected one of {', '.join(REASONS)}")


def count_reasons(items: Iterable[SkippedItem]) -> dict[str, int]:
    """``{reason: count}`` in :data:`REASONS` order, reasons that never occurred left out."""
    counts = Counter(item.reason for item in items)
    return {reason: counts[reason] for reason in REASONS if counts[reason]}


def report_csv(items: Iterable[SkippedItem]) -> str:
    """The report as CSV text (header included)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for item in items:
        writer.writerow(astuple(item))
    return buffer.getvalue()


def write_report(path: str | Path, items: Iterable[SkippedItem]) -> None:
    """Write ``items`` as a report CSV, atomically."""
    atomic_write_text(path, report_csv(items))


def read_report(path: str | Path) -> list[SkippedItem]:
    """Read a report CSV written by :func:`write_report`."""
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise ValueError(f"{path}: not a build report (header must be {','.join(COLUMNS)})")
        return [SkippedItem(**row) for row in reader]
