"""Checking every painting and every clip once, before pairing.

A build looks at each input file once, up front, whatever it will be paired with: paintings through the
project's image loader (:func:`art2music.io.images.load_image`, the same rules and limits as feature
extraction, truncated files included, which a header alone would not show), clips through the bounded
decode of :func:`art2music.io.audio.load_clip` (at most the clip length is read, in a process pool).
Unusable files are reported once each in the build report and their comments and clips never reach the
matching, so no usable comment is paired with a clip that will fail, and a bad painting is named even
when every clip it could have had is bad too.

Cost: one extra decode per painting and per clip over the whole build (extraction decodes the planned
ones again), small next to the CLIP encoder's forward pass; the check runs only when a plan is computed,
never when a build resumes from its published plan.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

from art2music.articaps.artemis import ArtemisComment
from art2music.io.audio import ClipJob
from art2music.articaps.build_report import SkippedItem
from art2music.articaps.features import clip_checks, progress_bar
from art2music.io.images import ImageLoadError, load_image
from art2music.articaps.musiccaps import MusicClip
from vocoder.mel import MelConfig


def image_problem(path: Path) -> ImageLoadError | None:
    """Why the painting at ``path`` cannot be used, or None if :func:`load_image` reads it."""
    try:
        load_image(path)
    except ImageLoadError as error:
        return error
    return None


def check_paintings(comments: Sequence[ArtemisComment], workers: int = 1, progress: bool = False
                    ) -> tuple[list[ArtemisComment], list[SkippedItem]]:
    """Load each distinct painting once; drop the comments on unusable ones.

    Returns:
        ``(comments kept, one report item per unusable painting)``; the detail says how many comments
        were dropped with it.
    """
    uses = Counter(comment.image_path for comment in comments)
    paths = list(uses)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as threads:  # Pillow decodes without the GIL
        problems = list(progress_bar(threads.map(image_problem, paths), len(paths), "check paintings", progress))
    bad = {path: error for path, error in zip(paths, problems) if error is not None}
    skipped = [SkippedItem("wikiart", str(path), "missing_image" if error.reason == "missing" else "corrupt_image",
                           f"{error.reason}: {error.detail}; {uses[path]} comment(s) dropped")
               for path, error in bad.items()]
    return [comment for comment in comments if comment.image_path not in bad], skipped


def check_clips(clips: Sequence[MusicClip], num_samples: int, min_seconds: float, mel_config: MelConfig,
                workers: int = 1, progress: bool = False) -> tuple[list[MusicClip], list[SkippedItem]]:
    """Decode each distinct clip once (at most ``num_samples``); drop the unusable ones.

    Returns:
        ``(clips kept, one report item per unusable clip file)``.
    """
    paths = list(dict.fromkeys(str(clip.audio_path) for clip in clips))
    jobs = [ClipJob(path, path, num_samples, min_seconds) for path in paths]
    results = progress_bar(clip_checks(jobs, mel_config, workers), len(jobs), "check clips", progress)
    bad = {result.key: result for result in results if result.reason}
    skipped = [SkippedItem("audio", path, result.reason, result.detail) for path, result in bad.items()]
    return [clip for clip in clips if str(clip.audio_path) not in bad], skipped


__all__ = ["image_problem", "check_paintings", "check_clips"]
