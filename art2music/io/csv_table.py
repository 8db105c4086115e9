"""A CSV table read tolerantly: the header, then every data line with its line number or why it is malformed.

The one CSV reader behind the dataset readers (:mod:`art2music.articaps.csv_records`) and the render
collections (:mod:`art2music.render.inputs`): each decides what its columns mean and how to report a bad
line, neither re-implements the parsing. Text is decoded by the caller; undecodable bytes kept as
surrogates (``errors="surrogateescape"``) are found with :func:`has_undecodable`.
"""

from __future__ import annotations

import contextlib
import csv
import io
from dataclasses import dataclass
from typing import Iterator


class CsvHeaderError(ValueError):
    """The header line is missing (an empty file) or cannot be parsed."""


@dataclass(frozen=True)
class CsvLine:
    """One data line: ``values`` by column (stripped), or ``None`` and the ``problem`` that makes it malformed."""

    line: int
    values: dict[str, str] | None
    problem: str = ""


def has_undecodable(text: str) -> bool:
    """True if ``text`` holds bytes that were not valid UTF-8 (decoded with ``surrogateescape``)."""
    return any("\udc80" <= char <= "\udcff" for char in text)


@contextlib.contextmanager
def _field_limit(limit: int) -> Iterator[None]:
    """Let the csv module read fields of up to ``limit`` characters (its default stops at 131072: a 1 MB
    comment is legal input)."""
    previous = csv.field_size_limit(max(limit, csv.field_size_limit()))
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def read_table(text: str, lowercase_header: bool = False) -> tuple[list[str], list[CsvLine]]:
    """``(header, lines)`` of a CSV document (any field size); blank lines are skipped.

    Raises:
        CsvHeaderError: the document is empty or its header cannot be parsed.
    """
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    with _field_limit(len(text) + 1):
        try:
            header = [name.strip().lower() if lowercase_header else name.strip() for name in next(reader)]
        except StopIteration:
            raise CsvHeaderError("the file is empty") from None
        except csv.Error as error:
            raise CsvHeaderError(f"cannot parse the header ({error})") from error
        return header, list(_lines(reader, header))


def _lines(reader, header: list[str]) -> Iterator[CsvLine]:
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield CsvLine(reader.line_num, None, f"CSV syntax error: {error}")
            continue
        if not fields or all(not field.strip() for field in fields):
            continue  # blank line
        if len(fields) != len(header):
            yield CsvLine(reader.line_num, None, f"{len(fields)} fields but the header has {len(header)} "
                                                 f"({', '.join(header)}); quote fields that contain commas")
            continue
        yield CsvLine(reader.line_num, {name: value.strip() for name, value in zip(header, fields)})
