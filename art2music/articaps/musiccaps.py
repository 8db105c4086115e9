"""Reader for MusicCaps (Agostinelli et al., 2023) captions and their audio clips.

Input formats, exactly as released:

- ``musiccaps-public.csv`` with columns ``ytid, start_s, end_s, audioset_positive_labels, aspect_list,
  caption, author_id, is_balanced_subset, is_audioset_eval``;
- the clips, downloaded by the user (MusicCaps ships no audio), in one folder, named by a pattern with
  the placeholders ``{ytid}``, ``{start_s}``, ``{end_s}`` (default ``{ytid}.wav``; any extension
  libsndfile reads). Each file is taken to start at the clip's start (as MusicCaps downloaders cut them);
- optionally each clip's MIDI score in a second folder, by a pattern with the same placeholders (default
  ``{ytid}.mid``). MusicCaps has none; the demo corpus composes every clip as MIDI. A clip without one keeps an
  empty ``midi_path`` (no guessing from the audio file's name).

Rows with a bad value are skipped and reported; rows whose clip file is missing are reported as
``missing_clip``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from art2music.articaps.build_report import SkippedItem
from art2music.articaps.csv_records import read_csv_records

MUSICCAPS_COLUMNS = ("ytid", "start_s", "end_s", "audioset_positive_labels", "aspect_list", "caption",
                     "author_id", "is_balanced_subset", "is_audioset_eval")
REQUIRED_COLUMNS = ("ytid", "start_s", "end_s", "caption")
DEFAULT_AUDIO_PATTERN = "{ytid}.wav"
DEFAULT_MIDI_PATTERN = "{ytid}.mid"
PATTERN_FIELDS = ("ytid", "start_s", "end_s")
_SAFE_ID = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class MusicClip:
    """One captioned music clip.

    Attributes:
        line: line number in the MusicCaps CSV.
        ytid: the YouTube id.
        start_s, end_s: the clip's span in the YouTube video, seconds.
        caption: the musician-written caption.
        audio_path: the clip's file.
        midi_path: the clip's MIDI score, or ``None`` when there is none.
    """

    line: int
    ytid: str
    start_s: float
    end_s: float
    caption: str
    audio_path: Path
    midi_path: Path | None = None

    @property
    def clip_id(self) -> str:
        """A file-name-safe id (``ytid``; YouTube ids may hold ``-`` and ``_``)."""
        return "y" + _SAFE_ID.sub("_", self.ytid)


def check_audio_pattern(pattern: str) -> None:
    """Raise ``ValueError`` if ``pattern`` uses a placeholder other than ``{ytid}``, ``{start_s}``, ``{end_s}``."""
    from art2music.placeholders import check_placeholders

    check_placeholders(pattern, PATTERN_FIELDS, "ytid", "audio file pattern")


def _seconds_text(value: float) -> str:
    """``30.0`` → ``"30"``, ``12.5`` → ``"12.5"`` (how downloaders name files)."""
    return str(int(value)) if float(value).is_integer() else repr(value)


def read_musiccaps(csv_path: str | Path, audio_dir: str | Path, pattern: str = DEFAULT_AUDIO_PATTERN,
                   check_audio: bool = True, midi_dir: str | Path | None = None,
                   midi_pattern: str = DEFAULT_MIDI_PATTERN) -> tuple[list[MusicClip], list[SkippedItem]]:
    """Read the MusicCaps CSV and locate each clip's audio file.

    Args:
        csv_path: ``musiccaps-public.csv``.
        audio_dir: the folder holding the clips.
        pattern: file name of a clip inside ``audio_dir`` (see the module docstring).
        check_audio: drop (and report as ``missing_clip``) rows whose file does not exist.
        midi_dir: the folder of the clips' MIDI scores, if any; ``midi_pattern`` names a score in it. A clip whose
            score is missing is kept with ``midi_path=None`` and reported as ``missing_midi``.

    Returns:
        ``(clips, skipped)`` in file order; a ``ytid`` listed twice keeps its first row.

    Raises:
        CsvFormatError: the CSV is missing or lacks a required column.
        ValueError: a bad ``pattern``.
        FileNotFoundError: ``audio_dir`` (or a given ``midi_dir``) is not a folder.
    """
    check_audio_pattern(pattern)
    check_audio_pattern(midi_pattern)
    audio_dir = Path(audio_dir)
    if not audio_dir.is_dir():
        raise FileNotFoundError(f"MusicCaps audio folder {audio_dir} does not exist")
    if midi_dir is not None and not Path(midi_dir).is_dir():
        raise FileNotFoundError(f"MIDI folder {midi_dir} does not exist")
    records, skipped = read_csv_records(csv_path, REQUIRED_COLUMNS, "musiccaps")
    where = Path(csv_path).name
    clips: list[MusicClip] = []
    seen: dict[str, int] = {}
    for record in records:
        values, item = record.values, f"{where}:{record.line}"
        ytid = values["ytid"]
        if not ytid or "/" in ytid or "\\" in ytid or ytid in (".", ".."):
            skipped.append(SkippedItem("musiccaps", item, "malformed_row", f"ytid {ytid!r} is empty or not a plain name"))
            continue
        try:
            start_s, end_s = float(values["start_s"]), float(values["end_s"])
        except ValueError:
            skipped.append(SkippedItem("musiccaps", item, "malformed_row",
                                       f"start_s {values['start_s']!r} / end_s {values['end_s']!r} must be numbers"))
            continue
        if not (math.isfinite(start_s) and math.isfinite(end_s) and 0 <= start_s < end_s):
            skipped.append(SkippedItem("musiccaps", item, "malformed_row",
                                       f"need 0 <= start_s < end_s, got {start_s} and {end_s}"))
            continue
        if not values["caption"]:
            skipped.append(SkippedItem("musiccaps", item, "empty_caption", "the caption is empty"))
            continue
        if ytid in seen:
            skipped.append(SkippedItem("musiccaps", item, "duplicate_clip",
                                       f"ytid {ytid} already listed on line {seen[ytid]}"))
            continue
        seen[ytid] = record.line
        name = pattern.format(ytid=ytid, start_s=_seconds_text(start_s), end_s=_seconds_text(end_s))
        path = audio_dir / name
        if check_audio and not path.is_file():
            skipped.append(SkippedItem("audio", str(path), "missing_clip", f"no such file (MusicCaps line {record.line})"))
            continue
        midi_path = None
        if midi_dir is not None:
            midi_path = Path(midi_dir) / midi_pattern.format(ytid=ytid, start_s=_seconds_text(start_s),
                                                             end_s=_seconds_text(end_s))
            if not midi_path.is_file():
                skipped.append(SkippedItem("midi", str(midi_path), "missing_midi",
                                           f"no such file (MusicCaps line {record.line}); the clip is kept without MIDI"))
                midi_path = None
        clips.append(MusicClip(record.line, ytid, start_s, end_s, values["caption"], path, midi_path))
    return clips, skipped
