"""Reader for ArtEmis (Achlioptas et al., 2021) comments and their WikiArt images.

Input formats, exactly as released:

- ``artemis_dataset_release_v0.csv`` with columns ``art_style, painting, emotion, utterance, repetition``
  (one row per viewer annotation; ``emotion`` is one of the nine ArtEmis emotions);
- WikiArt images at ``<wikiart>/<art_style>/<painting>.jpg``.

Rows with a bad value are skipped and reported (see :mod:`art2music.articaps.build_report`); comments on
paintings whose image is missing are skipped too, reported once per painting.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from art2music.articaps.build_report import SkippedItem
from art2music.articaps.csv_records import read_csv_records
from art2music.emotions import normalize_emotion

ARTEMIS_COLUMNS = ("art_style", "painting", "emotion", "utterance", "repetition")
REQUIRED_COLUMNS = ("art_style", "painting", "emotion", "utterance")
IMAGE_SUFFIX = ".jpg"


@dataclass(frozen=True)
class ArtemisComment:
    """One viewer's comment on one painting.

    Attributes:
        line: line number in the ArtEmis CSV (a stable id: ``artemis<line>``).
        painting: ``<art_style>/<painting>``, the painting's key.
        image_path: the WikiArt image file.
        emotion: canonical ArtEmis emotion.
        comment: the utterance.
    """

    line: int
    painting: str
    image_path: Path
    emotion: str
    comment: str

    @property
    def comment_id(self) -> str:
        return f"artemis{self.line}"


def _plain_name(value: str) -> bool:
    return bool(value) and value not in (".", "..") and "/" not in value and "\\" not in value and "\0" not in value


def read_artemis(csv_path: str | Path, wikiart_dir: str | Path, check_images: bool = True
                 ) -> tuple[list[ArtemisComment], list[SkippedItem]]:
    """Read the ArtEmis CSV and locate each painting's image.

    Args:
        csv_path: ``artemis_dataset_release_v0.csv``.
        wikiart_dir: the WikiArt root holding ``<art_style>/<painting>.jpg``.
        check_images: drop (and report) comments whose image file does not exist.

    Returns:
        ``(comments, skipped)`` in file order.

    Raises:
        CsvFormatError: the CSV is missing or lacks a required column.
        FileNotFoundError: ``wikiart_dir`` is not a folder.
    """
    wikiart_dir = Path(wikiart_dir)
    if not wikiart_dir.is_dir():
        raise FileNotFoundError(f"WikiArt folder {wikiart_dir} does not exist (expected <art_style>/<painting>.jpg "
                                f"inside it)")
    records, skipped = read_csv_records(csv_path, REQUIRED_COLUMNS, "artemis")
    where = Path(csv_path).name
    comments: list[ArtemisComment] = []
    for record in records:
        values, item = record.values, f"{where}:{record.line}"
        style, painting = values["art_style"], values["painting"]
        if not (_plain_name(style) and _plain_name(painting)):
            skipped.append(SkippedItem("artemis", item, "malformed_row",
                                       f"art_style {style!r} / painting {painting!r} must be plain file names"))
            continue
        try:
            emotion = normalize_emotion(values["emotion"])
        except ValueError as error:
            skipped.append(SkippedItem("artemis", item, "unknown_emotion", str(error)))
            continue
        if not values["utterance"]:
            skipped.append(SkippedItem("artemis", item, "empty_comment", "the utterance is empty"))
            continue
        comments.append(ArtemisComment(record.line, f"{style}/{painting}", wikiart_dir / style / f"{painting}{IMAGE_SUFFIX}",
                                       emotion, values["utterance"]))
    if check_images:
        present: dict[Path, bool] = {}
        kept: list[ArtemisComment] = []
        lost: dict[Path, int] = {}
        for comment in comments:
            if comment.image_path not in present:
                present[comment.image_path] = comment.image_path.is_file()
            if present[comment.image_path]:
                kept.append(comment)
            else:
                lost[comment.image_path] = lost.get(comment.image_path, 0) + 1
        skipped += [SkippedItem("wikiart", str(path), "missing_image", f"no such file; {count} comment(s) dropped")
                    for path, count in lost.items()]
        comments = kept
    return comments, skipped
