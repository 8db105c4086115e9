"""Tolerant reading of the public datasets' CSV files: bad rows are reported, never fatal.

A file whose header lacks a required column is unusable and raises :class:`CsvFormatError` (a usage
error). Each data row that has the wrong number of fields or bytes that are not UTF-8 becomes a
``malformed_row`` :class:`~art2music.articaps.build_report.SkippedItem`; the good rows are yielded with their
line numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from art2music.articaps.build_report import SkippedItem
from art2music.io.csv_table import CsvHeaderError, has_undecodable, read_table


class CsvFormatError(ValueError):
    """The CSV as a whole cannot be read (missing file or required column)."""


@dataclass(frozen=True)
class CsvRecord:
    """One well-formed data row: ``line`` is its 1-based line number in the file, ``values`` by column."""

    line: int
    values: dict[str, str]


def read_csv_records(path: str | Path, required: Sequence[str], source: str
                     ) -> tuple[list[CsvRecord], list[SkippedItem]]:
    """Read ``path``, checking its header has every column in ``required``.

    Args:
        path: the CSV file (UTF-8, optional BOM; other encodings are reported row by row).
        required: column names that must be in the header (others are allowed and kept).
        source: name used in the skipped items (``artemis``, ``musiccaps``).

    Returns:
        ``(records, skipped)``: the well-formed rows (values stripped of surrounding whitespace) and a
        ``malformed_row`` item for each bad one.

    Raises:
        CsvFormatError: the file is missing, empty, or its header lacks a required column.
    """
    path = Path(path)
    if not path.is_file():
        raise CsvFormatError(f"{source} CSV {path} does not exist")
    # surrogateescape keeps undecodable bytes visible per row instead of failing the whole file.
    text = path.read_bytes().decode("utf-8", errors="surrogateescape")
    try:
        header, lines = read_table(text)
    except CsvHeaderError as error:
        raise CsvFormatError(f"{source} CSV {path}: {error} (expected a header with {', '.join(required)})") from None
    missing = [name for name in required if name not in header]
    if missing:
        raise CsvFormatError(f"{source} CSV {path}: header lacks column(s) {', '.join(missing)}; found "
                             f"{', '.join(header) or 'none'} (is this the right file?)")
    records: list[CsvRecord] = []
    skipped: list[SkippedItem] = []
    for line in lines:
        where = f"{path.name}:{line.line}"
        if line.values is None:
            skipped.append(SkippedItem(source, where, "malformed_row", line.problem))
        elif any(has_undecodable(value) for value in line.values.values()):
            skipped.append(SkippedItem(source, where, "malformed_row",
                                       "bytes that are not valid UTF-8 (re-save the file as UTF-8)"))
        else:
            records.append(CsvRecord(line.line, line.values))
    return records, skipped
