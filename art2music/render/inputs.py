"""What to render: a folder of images, or a CSV of image paths with optional comments, ids and target feelings.

A CSV may give each row a target feeling: an ``emotion`` column (an ArtEmis emotion name) or ``valence`` and
``arousal`` columns (numbers in [-1, 1]); a row's own target overrides the run's default (``render --emotion`` /
``--valence --arousal``), empty cells leave it to the default, and a bad value makes the row a ``bad_target`` bad
item whose detail names the valid range or list.

A collection is read into :class:`RenderItem` s (one per image to render) and :class:`BadItem` s (rows or
files that cannot even be planned, each with a specific reason). Only a collection that cannot be read
at all (missing path, a CSV without an ``image`` column, a CSV that is a special file or over
:data:`MAX_CSV_BYTES`, nothing in it) raises :class:`CollectionError`, which the CLI turns into exit code 2.

**Folders** are walked recursively (WikiArt is ``<style>/<painting>.jpg``), in sorted order, skipping
hidden files and folders (``.``-names) and the output folder (``exclude``) with its sub-folders, so our own
thumbnails are never rendered. ``os.walk(followlinks=False)``: a symlinked folder is never entered (no
loops; a warning names it), a symlinked file is used. Images are the extensions this Pillow can decode
(:data:`IMAGE_EXTENSIONS`, from its registered plugins: ``.avif`` when it reads AVIF). Files of known
picture formats it cannot read (SVG, HEIC, camera raw ...) become ``unsupported_format`` bad items with a
detail saying what to do; any other file is ignored, counted in a warning.

**Ids.** Every item's outputs are named by its id (``audio/<id>.wav``). The rules:

- an id given in the CSV's ``id`` column is used *as is* and must be file-name safe on every common file
  system (letters, digits, ``_``, ``-``, ``.``; not starting with ``.`` or ``-``, not ending with ``.``;
  not a reserved Windows device name such as ``CON``, ``nul.txt`` or ``COM1``; at most
  :data:`MAX_ID_BYTES` bytes in UTF-8) and unique (case-insensitively, for case-insensitive file
  systems); an unsafe or repeated explicit id is a bad item (``unsafe_id`` / ``duplicate_id``): the user
  chose it, so we do not silently rename it;
- otherwise the id is derived from the image's path: its file stem for a CSV row or a file at the top of
  the folder, the relative path joined by ``_`` for a file in a sub-folder (``Baroque/x.jpg`` →
  ``Baroque_x``). Unsafe characters become ``_``, a reserved name gets ``_`` (``CON`` → ``CON_``), the id
  is cut to :data:`MAX_ID_BYTES` at a character boundary, and a name taken by an earlier item (or by any
  explicit id) gets ``-2``, ``-3`` ... in input order, so reruns of the same collection give the same ids.

:data:`MAX_ID_BYTES` comes from the file-name limit of 255 bytes (ext4, APFS, NTFS): the longest name
written for an id is the temporary sibling of ``items/<id>.json`` made by :mod:`vocoder.files`,
``.<id>.json.<8 random characters>.tmp.json``.

**Comments** longer than :data:`MAX_COMMENT_CHARS` characters are cut to that length (a warning names the
rows): CLIP's text encoder reads only its first 77 tokens, far fewer characters than that. CSV fields of
any length up to the file's size are read.

**Encodings.** The CSV must be UTF-8 (a BOM is accepted). We do not guess other encodings: a guess
(cp1252, latin-1) silently turns some comments into mojibake that then conditions the music. A file
that is not valid UTF-8 is still read; each row containing non-UTF-8 bytes becomes an ``undecodable_row``
bad item naming its line, a warning says to re-save the file as UTF-8, and the valid rows render.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from PIL import EpsImagePlugin, Image, ImageFile

from art2music.io.csv_table import CsvHeaderError, has_undecodable, read_table
from art2music.io.images import ImageLoadError, open_regular_file
from art2music.render.outputs import AUDIO_DIR, ITEM_DIR, MEL_DIR, THUMB_DIR, output_paths


def _readable_extensions() -> frozenset[str]:
    """File extensions of the formats this Pillow can decode (not those it only identifies)."""
    Image.init()
    readable = {name for name, (factory, _) in Image.OPEN.items()
                if not (isinstance(factory, type) and issubclass(factory, ImageFile.StubImageFile))}
    readable.discard("MPEG")  # videos: Pillow reads only their header
    if not EpsImagePlugin.has_ghostscript():
        readable.discard("EPS")  # PostScript is rasterised by Ghostscript
    return frozenset(ext for ext, name in Image.registered_extensions().items() if name in readable)


IMAGE_EXTENSIONS = _readable_extensions()
_RAW_EXTENSIONS = (".3fr .arw .cr2 .cr3 .crw .dcr .dng .erf .iiq .k25 .kdc .mef .mos .mrw .nef .nrw .orf .pef .raf "
                   ".raw .rw2 .rwl .sr2 .srf .srw .x3f").split()
_UNSUPPORTED_FORMATS = {
    **dict.fromkeys((".svg", ".svgz"), "SVG is a vector format, which is not rasterised here: convert it to PNG"),
    **dict.fromkeys((".heic", ".heif", ".hif"), "no HEIC/HEIF decoder is installed for Pillow (pip install "
                                                "pillow-heif), or convert it to JPEG or PNG"),
    **dict.fromkeys((".avif", ".avifs"), "this Pillow cannot read AVIF (Pillow 11.2+ can), or convert it to PNG"),
    ".jxl": "no JPEG XL decoder is installed for Pillow (pip install pillow-jxl-plugin), or convert it to PNG",
    **dict.fromkeys(_RAW_EXTENSIONS, "a camera raw file is not decoded here: develop/export it to TIFF or JPEG"),
}
"""Picture formats that are reported as ``unsupported_format`` (when this Pillow cannot read them)."""

FILE_NAME_MAX_BYTES = 255
_OUTPUT_SUFFIX_BYTES = max(len(path.suffix.encode()) for path in output_paths(Path(), "id").values())
# atomic.py's temporary sibling of <id><suffix> is ".<id><suffix>.<8 random characters>.tmp<suffix>".
_TEMPORARY_NAME_EXTRA_BYTES = len(".") + 2 * _OUTPUT_SUFFIX_BYTES + len(".") + 8 + len(".tmp")
MAX_ID_BYTES = FILE_NAME_MAX_BYTES - _TEMPORARY_NAME_EXTRA_BYTES
"""231: the longest id (UTF-8 bytes) whose every output and temporary file name fits in 255 bytes."""

MAX_CSV_BYTES = 256 << 20
"""256 MiB: millions of rows with long comments; a larger (or endless, e.g. ``/dev/zero``) input is refused."""

MAX_COMMENT_CHARS = 4096
"""Comments are cut to this many characters; CLIP's tokenizer keeps 77 tokens (a few hundred characters)."""

_SAFE_ID = re.compile(r"[\w][\w.\-]*")
_UNSAFE_RUN = re.compile(r"[^\w.\-]+")
_RESERVED_NAMES = frozenset({"con", "prn", "aux", "nul", *(f"{port}{digit}" for port in ("com", "lpt")
                                                         for digit in "123456789¹²³")})
"""Windows device names: ``CON``, ``con.txt`` ... open the device, not a file, whatever the extension."""

BAD_ITEM_REASONS = ("malformed_row", "undecodable_row", "empty_image_field", "unsafe_id", "duplicate_id",
                    "unsupported_format", "bad_target")


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
        va: the row's own target feeling (valence, arousal), from its ``valence``/``arousal`` or ``emotion``
            columns; ``None``: the run's default (``render --valence --arousal --emotion``) applies.
        emotion: the row's ``emotion`` column (canonical name), when it gave one.
    """

    id: str
    image: Path
    comment: str
    source: str
    va: tuple[float, float] | None = None
    emotion: str = ""


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


def id_problem(name: str) -> str | None:
    """Why ``name`` cannot be an id (see the module docstring), or ``None`` if it is safe."""
    size = len(name.encode("utf-8", "surrogateescape"))
    if size > MAX_ID_BYTES:
        return (f"is {size} bytes in UTF-8, over the limit of {MAX_ID_BYTES} (file names are limited to "
                f"{FILE_NAME_MAX_BYTES} bytes; non-Latin letters take 2-4 bytes each)")
    if _SAFE_ID.fullmatch(name) is None:
        return "is not a safe file name (use letters, digits, _ - . only, not starting with . or -)"
    if name.endswith("."):
        return "ends with a dot, which Windows drops from file names"
    if _is_reserved(name):
        return "is a reserved device name on Windows (CON, PRN, AUX, NUL, COM1-9, LPT1-9, with any extension)"
    return None


def is_safe_id(name: str) -> bool:
    """True if ``name`` can be used as a file name on every common file system (see module docstring)."""
    return id_problem(name) is None


def safe_id_from_stem(stem: str) -> str:
    """A file stem (or a relative path without its suffix) → a safe id; never empty (module docstring rules)."""
    return _fit_id(_UNSAFE_RUN.sub("_", stem).lstrip("._-"), MAX_ID_BYTES) or "image"


def _is_reserved(name: str) -> bool:
    return name.split(".", 1)[0].casefold() in _RESERVED_NAMES


def _fit_id(name: str, max_bytes: int) -> str:
    """Cut a safe-character name to ``max_bytes`` UTF-8 bytes at a character boundary; no trailing dot, and
    ``_`` after a reserved device name (``CON.x`` → ``CON_.x``)."""
    name = name.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore").rstrip(".")
    if name and _is_reserved(name):
        stem, dot, rest = name.partition(".")
        name = _fit_id(f"{stem}_{dot}{rest}", max_bytes) if len(name) < max_bytes else f"{stem}_"
    return name


def read_collection(path: str | Path, exclude: str | Path | None = None) -> Collection:
    """Read a folder of images (recursively) or a CSV (``image`` column; optional ``comment`` and ``id``).

    Args:
        exclude: a folder never to look into, with its output sub-folders (the output folder, which may lie
            inside the input folder or be it).

    Raises:
        CollectionError: the path is missing, is neither a folder nor a ``.csv`` file, holds nothing, or is a
            CSV that is not a regular file or exceeds :data:`MAX_CSV_BYTES`.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise CollectionError(f"input {path} does not exist (give a folder of images or a CSV file)")
    if path.is_dir():
        return _read_folder(path, None if exclude is None else Path(exclude).expanduser())
    if path.suffix.lower() != ".csv":
        raise CollectionError(f"input {path} is neither a folder of images nor a .csv file")
    return _read_csv(path)


class _Row(NamedTuple):
    """A collection entry before ids are assigned; ``name`` is what a derived id is made from."""

    source: str
    image: Path
    comment: str
    explicit_id: str
    name: str
    va: tuple[float, float] | None = None
    emotion: str = ""


def row_target(values: dict[str, str]) -> tuple[tuple[float, float] | None, str]:
    """A CSV row's own target feeling from its ``emotion``, ``valence`` and ``arousal`` cells (empty cells: not
    given) → ``(va or None, canonical emotion or "")``.

    Raises:
        ValueError: one line naming the valid range or list (see :func:`art2music.emotions.target_valence_arousal`).
    """
    from art2music.emotions import normalize_emotion, target_valence_arousal

    numbers = {}
    for name in ("valence", "arousal"):
        text = values.get(name, "").strip()
        if text:
            try:
                numbers[name] = float(text)
            except ValueError:
                raise ValueError(f"{name} must be a number in [-1, 1], got {text!r}") from None
    emotion = values.get("emotion", "").strip()
    target = target_valence_arousal(emotion or None, numbers.get("valence"), numbers.get("arousal"))
    return target, normalize_emotion(emotion) if emotion else ""


@dataclass
class _FolderScan:
    images: list[Path]
    unsupported: list[tuple[Path, str]]
    ignored: list[Path]
    linked_folders: list[Path]


def _scan_folder(folder: Path, exclude: Path | None) -> _FolderScan:
    """Walk ``folder`` in sorted order (module docstring rules) and sort what it holds."""
    excluded = set()
    if exclude is not None:
        out = exclude.resolve()
        excluded = {out, *(out / name for name in (AUDIO_DIR, MEL_DIR, THUMB_DIR, ITEM_DIR))}
    scan = _FolderScan([], [], [], [])
    for root, folders, files in os.walk(folder, followlinks=False):
        here = Path(root)
        kept = []
        for name in sorted(folders):
            if name.startswith(".") or (here / name).resolve() in excluded:
                continue
            if (here / name).is_symlink():
                scan.linked_folders.append(here / name)  # listed by os.walk, never entered
            kept.append(name)
        folders[:] = kept
        for name in sorted(files):
            path, suffix = here / name, os.path.splitext(name)[1].lower()
            if name.startswith("."):
                scan.ignored.append(path)
            elif suffix in IMAGE_EXTENSIONS:
                scan.images.append(path)
            elif suffix in _UNSUPPORTED_FORMATS:
                scan.unsupported.append((path, _UNSUPPORTED_FORMATS[suffix]))
            else:
                scan.ignored.append(path)
    return scan


def _read_folder(folder: Path, exclude: Path | None) -> Collection:
    scan = _scan_folder(folder, exclude)
    if not scan.images and not scan.unsupported:
        examples = ", ".join(ext for ext in (".jpg", ".png", ".webp", ".tif", ".avif") if ext in IMAGE_EXTENSIONS)
        raise CollectionError(f"no image files in {folder} or its sub-folders (looked for {len(IMAGE_EXTENSIONS)} "
                              f"extensions such as {examples})")
    rows = []
    for path in scan.images:
        relative = path.relative_to(folder)
        name = path.stem if len(relative.parts) == 1 else relative.with_suffix("").as_posix()
        rows.append(_Row(relative.as_posix(), path, "", "", name))
    items, bad = _assign_ids(rows)
    bad.extend(BadItem(path.relative_to(folder).as_posix(), "unsupported_format",
                       f"{path.suffix.lower()}: {why}", image=str(path)) for path, why in scan.unsupported)
    warnings = []
    if scan.ignored:
        examples = ", ".join(path.relative_to(folder).as_posix() for path in scan.ignored[:3])
        warnings.append(f"ignored {len(scan.ignored)} other file(s) in {folder} (hidden, or not images), e.g. "
                        f"{examples}")
    if scan.linked_folders:
        names = ", ".join(path.relative_to(folder).as_posix() for path in scan.linked_folders[:5])
        warnings.append(f"did not enter {len(scan.linked_folders)} symlinked folder(s) (to avoid loops): {names}; "
                        f"give such a folder as its own input")
    return Collection(items, bad, warnings)


def _read_csv_text(path: Path) -> tuple[str, list[str]]:
    """The CSV's text (UTF-8, BOM removed) and any warning; refuses special files and oversized ones."""
    try:
        with open_regular_file(path, MAX_CSV_BYTES) as handle:
            raw = handle.read(MAX_CSV_BYTES + 1)
    except ImageLoadError as error:
        if error.reason == "empty":
            raise CollectionError(f"CSV {path} is empty (expected a header with columns image[,comment][,id])") \
                from None
        if error.reason == "too_large":
            raise CollectionError(f"CSV {path} is too large: {error.detail} (MAX_CSV_BYTES = "
                                  f"{MAX_CSV_BYTES >> 20} MiB); split it into several CSVs") from None
        raise CollectionError(f"cannot read the CSV {path}: it {error.detail}" if error.reason == "not_a_file"
                              else f"cannot read the CSV {path}: {error.detail}") from None
    except OSError as error:
        raise CollectionError(f"cannot read the CSV {path}: {error.strerror or error}") from None
    if len(raw) > MAX_CSV_BYTES:
        raise CollectionError(f"CSV {path} grew past the limit of {MAX_CSV_BYTES >> 20} MiB while being read")
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as error:
        # Keep undecodable bytes as surrogates so that each bad row can be reported by its line.
        return raw.decode("utf-8", errors="surrogateescape").removeprefix("\ufeff"), [
            f"{path} is not valid UTF-8 (first bad byte at offset {error.start}); rows with non-UTF-8 bytes are "
            f"reported as failed: re-save the file as UTF-8 to render them"]


def _read_csv(path: Path) -> Collection:
    text, warnings = _read_csv_text(path)
    rows, bad, cut = _parse_csv(path, text)
    if cut:
        warnings.append(f"{len(cut)} comment(s) longer than {MAX_COMMENT_CHARS} characters were cut to that length "
                        f"for the text encoder (which reads only its first 77 tokens): {', '.join(cut[:5])}")
    items, id_bad = _assign_ids(rows)
    bad.extend(id_bad)
    if not items and not bad:
        raise CollectionError(f"CSV {path} has a header but no rows")
    return Collection(items, bad, warnings)


def _parse_csv(path: Path, text: str) -> tuple[list[_Row], list[BadItem], list[str]]:
    """Rows to render, bad rows, and the sources of rows whose comment was cut to :data:`MAX_COMMENT_CHARS`."""
    try:
        header, lines = read_table(text, lowercase_header=True)
    except CsvHeaderError as error:
        raise CollectionError(f"CSV {path}: {error} (expected a header with columns image[,comment][,id])") from None
    if "image" not in header:
        raise CollectionError(f"CSV {path} has no 'image' column (header: {', '.join(header) or 'empty'}); expected "
                              f"columns image[,comment][,id]")
    rows: list[_Row] = []
    bad: list[BadItem] = []
    cut: list[str] = []
    for line in lines:
        source = f"{path.name}:{line.line}"
        if line.values is None:
            bad.append(BadItem(source, "malformed_row", line.problem))
            continue
        values = line.values
        if len(values.get("comment", "")) > MAX_COMMENT_CHARS:
            values["comment"] = values["comment"][:MAX_COMMENT_CHARS]
            cut.append(source)
        shown = {name: value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace") for name, value in values.items()}
        if any(has_undecodable(value) for value in values.values()):
            bad.append(BadItem(source, "undecodable_row", "bytes that are not valid UTF-8 (re-save the CSV as UTF-8)",
                               shown.get("id", ""), shown["image"], shown.get("comment", "")))
            continue
        if not values["image"]:
            bad.append(BadItem(source, "empty_image_field", "the image column is empty", values.get("id", ""),
                               "", values.get("comment", "")))
            continue
        image = Path(values["image"]).expanduser()
        image = image if image.is_absolute() else path.parent / image
        try:
            va, emotion = row_target(values)
        except ValueError as error:
            bad.append(BadItem(source, "bad_target", str(error), values.get("id", ""), str(image),
                               values.get("comment", "")))
            continue
        rows.append(_Row(source, image, values.get("comment", ""), values.get("id", ""), image.stem, va, emotion))
    return rows, bad, cut


def _assign_ids(rows: list[_Row]) -> tuple[list[RenderItem], list[BadItem]]:
    """Rows → items with unique safe ids (module docstring rules), and the rows whose explicit id is refused."""
    bad: list[BadItem] = []
    explicit_taken: set[str] = set()
    accepted: dict[int, str] = {}
    for index, row in enumerate(rows):
        if not row.explicit_id:
            continue
        problem = id_problem(row.explicit_id)
        if problem is not None:
            bad.append(BadItem(row.source, "unsafe_id", f"id {row.explicit_id!r} {problem}", row.explicit_id,
                               str(row.image), row.comment))
        elif row.explicit_id.casefold() in explicit_taken:
            bad.append(BadItem(row.source, "duplicate_id", f"id {row.explicit_id!r} is already used by an earlier "
                               f"row (ids are compared ignoring case)", row.explicit_id, str(row.image), row.comment))
        else:
            explicit_taken.add(row.explicit_id.casefold())
            accepted[index] = row.explicit_id
    taken = set(explicit_taken)
    items: list[RenderItem] = []
    for index, row in enumerate(rows):
        if row.explicit_id:
            if index in accepted:
                items.append(RenderItem(accepted[index], row.image, row.comment, row.source, row.va, row.emotion))
            continue
        base = safe_id_from_stem(row.name)
        name, counter = base, 2
        while name.casefold() in taken:
            suffix = f"-{counter}"
            name, counter = _fit_id(base, MAX_ID_BYTES - len(suffix)) + suffix, counter + 1
        taken.add(name.casefold())
        items.append(RenderItem(name, row.image, row.comment, row.source, row.va, row.emotion))
    return items, bad
