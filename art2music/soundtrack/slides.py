"""What the soundtrack is for: the slides, in order, from image files, a folder or a CSV, each checked to load.

A single folder or ``.csv`` is read by the renderer's reader (:func:`art2music.render.inputs.read_collection`: the
same recursive walk, sorted order, ``image[,comment][,id]`` columns, UTF-8 rules); image files are taken in the order
given. Unlike a batch render, a slideshow with a missing slide is not the slideshow asked for: any unreadable row or
image is a :class:`SlideError` (exit code 2), naming it, and nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from art2music.io.images import ImageLoadError, load_image
from art2music.render.inputs import CollectionError, RenderItem, read_collection, safe_id_from_stem

MAX_SLIDES = 1000
"""A generous bound (over 8 hours at 30 s a slide); more is surely a wrong folder."""


class SlideError(ValueError):
    """The slides cannot be used (no images, a file that is not an image, a bad CSV row): exit code 2."""


@dataclass(frozen=True)
class Slide:
    """One image of the slideshow: ``id`` (file-name safe, unique), the image file, its comment ("" when none),
    and ``picture``, the decoded upright RGB image."""

    id: str
    image: Path
    comment: str
    picture: Image.Image


def read_slides(inputs: list[str], exclude: Path | None = None) -> list[Slide]:
    """``inputs``: one folder, one CSV, or one or more image files → the slides, each image loaded and checked.

    Raises:
        SlideError: nothing given, a mix of a folder/CSV with other inputs, an unreadable collection, a bad row, or
            an image that does not load (missing, not an image, a decompression bomb ...).
    """
    if not inputs:
        raise SlideError("no images given (give image files, a folder of images, or a CSV)")
    first = Path(inputs[0]).expanduser()
    if len(inputs) == 1 and (first.is_dir() or first.suffix.lower() == ".csv"):
        try:
            collection = read_collection(first, exclude=exclude)
        except CollectionError as error:
            raise SlideError(str(error)) from None
        if collection.bad:
            bad = collection.bad[0]
            raise SlideError(f"{bad.source}: {bad.reason}: {bad.detail}"
                             + (f" (and {len(collection.bad) - 1} more)" if len(collection.bad) > 1 else ""))
        items = collection.items
    else:
        for name in inputs:
            if Path(name).expanduser().is_dir() or name.lower().endswith(".csv"):
                raise SlideError(f"{name}: give either one folder or CSV, or image files, not both")
        items = _items_from_files([Path(name).expanduser() for name in inputs])
    if len(items) > MAX_SLIDES:
        raise SlideError(f"{len(items)} images, more than the limit of {MAX_SLIDES} for one soundtrack")
    slides = []
    for item in items:
        try:
            picture = load_image(item.image)
        except ImageLoadError as error:
            where = "" if item.source == item.image.name else f"{item.source}: "  # a CSV row: say which
            raise SlideError(f"{where}{error}") from None
        slides.append(Slide(item.id, item.image, item.comment, picture))
    return slides


def _items_from_files(paths: list[Path]) -> list[RenderItem]:
    """Image files → items with unique ids from their stems (``-2``, ``-3`` for repeats, as render names them)."""
    items, taken = [], set()
    for path in paths:
        base = safe_id_from_stem(path.stem)
        name, counter = base, 2
        while name.casefold() in taken:
            name, counter = f"{base}-{counter}", counter + 1
        taken.add(name.casefold())
        items.append(RenderItem(name, path, "", path.name))
    return items
