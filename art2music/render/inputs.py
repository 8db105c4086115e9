"""What to render: a folder of images, or a CSV of image paths with optional comments and ids.

A collection is read into :class:`RenderItem` s (one per image to render) and :class:`BadItem` s (rows or
files that cannot even be planned, each with a specific reason). Only a collection that cannot be read
at all (missing path, a CSV without an ``image`` column, nothing in it) raises :class:`CollectionError`,
which the CLI turns into exit code 2.

**Ids.** Every item's outputs are named by its id (``audio/<id>.wav``). The rules:

- an id given in the CSV's ``id`` column is used *as is* and must be file-name safe (letters, digits,
  ``_``, ``-``, ``.``; not starting with ``.`` or ``-``; at most :data:`MAX_ID_LENGTH` characters) and unique
  (case-insensitively, for case-insensitive file systems); an unsafe or repeated explicit id is a bad item
  (``unsafe_id`` / ``duplicate_id``): the user chose it, so we do not silently rename it;
- otherwise the id is derived from the image's file stem: unsafe characters become ``_`` and a name taken
  by an earlier item (or by any explicit id) gets ``-2``, ``-3`` ... in input order, so reruns of the same
  collection give the same ids.

**Encodings.** The CSV must be UTF-8 (a BOM is accepted). We do not guess other encodings: a guess
(cp1252, latin-1) silently turns some comments into mojibake that then conditions the music. A file
that is not valid UTF-8 is still read; each row containing non-UTF-8 bytes becomes an ``undecodable_row``
bad item naming its line, a warning says to re-save the file as UTF-8, and the valid rows render.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".jpe", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff",
                              ".jfif", ".ppm", ".pgm", ".pbm", ".tga", ".ico"})
MAX_ID_LENGTH = 100
_SAFE_ID = re.compile(r"[\w][\w.\-]*")
_UNSAFE_RUN = re.compile(r"[^\w.\-]+")

BAD_ITEM_REASONS = ("malformed_row", "undecodable_row", "empty_image_field", "unsafe_id", "duplicate_id")


class CollectionError(ValueError):
    """The input as a whole cannot be read (a usage error: exit code 2)."""


@dataclass(frozen=True)
class RenderItem:
    """One image to render.

    Attributes:
        id: file-name-safe, unique name of the outputs (``audio/<id>.wav``).
        image: path of the image file (may not exist: loading reports that per item).
        comment: the viewer's comment ("" when none).
        source: where the item came from, for messages (``collection.csv:7`` or the file name).
    """

    id: str
    image: Path
    comment: str
    source: str


@dataclass(frozen=True)
class BadItem:
    """A row or file that cannot be rendered, with ``reason`` in :data:`BAD_ITEM_REASONS` and a detail."""

    source: str
    reason: str
    detail: str
    id: str = ""
    image: str = ""
    comment: str = ""


@dataclass(frozen=True)
class Collection:
    """A read collection: the items to render (input order) and the bad rows, plus any warnings."""

    items: list[RenderItem]
    bad: list[BadItem]
    warnings: list[str]


def is_safe_id(name: str) -> bool:
    """True if ``name`` can be used as a file name on every common file system (see module docstring)."""
    return len(name) <= MAX_ID_LENGTH and _SAFE_ID.fullmatch(name) is not None


def safe_id_from_stem(stem: str) -> str:
    """A file stem → a safe id: runs of unsafe characters become ``_``; never empty."""
    name = _UNSAFE_RUN.sub("_", stem).lstrip("._-")[:MAX_ID_LENGTH].rstrip(".")
    return name or "image"


def read_collection(path: str | Path) -> Collection:
    """Read a folder of images or a CSV (``image`` column; optional ``comment`` and ``id``).

    Raises:
        CollectionError: the path is missing, is neither a folder nor a ``.csv`` file, or holds nothing.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise CollectionError(f"input {path} does not exist (give a folder of images or a CSV file)")
    if path.is_dir():
        return _read_folder(path)
    if path.suffix.lower() != ".csv":
        raise CollectionError(f"input {path} is neither a folder of images nor a .csv file")
    return _read_csv(path)


def _read_folder(folder: Path) -> Collection:
    files = sorted(p for p in folder.iterdir()
                   if not p.name.startswith(".") and p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise CollectionError(f"no image files in {folder} (looked for {', '.join(sorted(IMAGE_EXTENSIONS))})")
    rows = [(p.name, p, "", "") for p in files]
    items, bad = _assign_ids(rows)
    return Collection(items, bad, [])


def _read_csv(path: Path) -> Collection:
    raw = path.read_bytes()
    warnings: list[str] = []
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        # Keep undecodable bytes as surrogates so that each bad row can be reported by its line.
        text = raw.decode("utf-8", errors="surrogateescape").removeprefix("\ufeff")
        warnings.append(f"{path} is not valid UTF-8 (first bad byte at offset {error.start}); rows with non-UTF-8 "
                        f"bytes are reported as failed: re-save the file as UTF-8 to render them")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        raise CollectionError(f"CSV {path} is empty (expected a header with columns image[,comment][,id])") from None
    except csv.Error as error:
        raise CollectionError(f"CSV {path}: cannot parse the header ({error})") from error
    if "image" not in header:
        raise CollectionError(f"CSV {path} has no 'image' column (header: {', '.join(header) or 'empty'}); expected "
                              f"columns image[,comment][,id]")
    rows: list[tuple[str, Path, str, str]] = []
    bad: list[BadItem] = []
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            bad.append(BadItem(f"{path.name}:{reader.line_num}", "malformed_row", f"CSV syntax error: {error}"))
            continue
        source = f"{path.name}:{reader.line_num}"
        if not fields or all(not field.strip() for field in fields):
            continue  # blank line
        if len(fields) != len(header):
            bad.append(BadItem(source, "malformed_row", f"{len(fields)} fields but the header has {len(header)} "
                                                        f"({', '.join(header)}); quote fields that contain commas"))
            continue
        values = {name: value.strip() for name, value in zip(header, fields)}
        shown = {name: value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace") for name, value in values.items()}
        if any("\udc80" <= char <= "\udcff" for value in values.values() for char in value):
            bad.append(BadItem(source, "undecodable_row", "bytes that are not valid UTF-8 (re-save the CSV as UTF-8)",
                               shown.get("id", ""), shown["image"], shown.get("comment", "")))
            continue
        if not values["image"]:
            bad.append(BadItem(source, "empty_image_field", "the image column is empty", values.get("id", ""),
                               "", values.get("comment", "")))
            continue
        image = Path(values["image"]).expanduser()
        rows.append((source, image if image.is_absolute() else path.parent / image, values.get("comment", ""),
                     values.get("id", "")))
    items, id_bad = _assign_ids(rows)
    bad.extend(id_bad)
    if not items and not bad:
        raise CollectionError(f"CSV {path} has a header but no rows")
    return Collection(items, bad, warnings)


def _assign_ids(rows: list[tuple[str, Path, str, str]]) -> tuple[list[RenderItem], list[BadItem]]:
    """``(source, image, comment, explicit_id)`` rows → items with unique safe ids (module docstring rules)."""
    bad: list[BadItem] = []
    explicit_taken: set[str] = set()
    accepted: dict[int, str] = {}
    for index, (source, image, comment, explicit) in enumerate(rows):
        if not explicit:
            continue
        if not is_safe_id(explicit):
            bad.append(BadItem(source, "unsafe_id", f"id {explicit!r} is not a safe file name (use letters, digits, "
                               f"_ - . only, not starting with . or -, at most {MAX_ID_LENGTH} characters)",
                               explicit, str(image), comment))
        elif explicit.casefold() in explicit_taken:
            bad.append(BadItem(source, "duplicate_id", f"id {explicit!r} is already used by an earlier row (ids are "
                               f"compared ignoring case)", explicit, str(image), comment))
        else:
            explicit_taken.add(explicit.casefold())
            accepted[index] = explicit
    taken = set(explicit_taken)
    items: list[RenderItem] = []
    for index, (source, image, comment, explicit) in enumerate(rows):
        if explicit:
            if index in accepted:
                items.append(RenderItem(accepted[index], image, comment, source))
            continue
        base = safe_id_from_stem(image.stem)
        name, counter = base, 2
        while name.casefold() in taken:
            suffix = f"-{counter}"
            name, counter = base[:MAX_ID_LENGTH - len(suffix)] + suffix, counter + 1
        taken.add(name.casefold())
        items.append(RenderItem(name, image, comment, source))
    return items, bad
