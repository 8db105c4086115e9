"""Planning an ArtiCaps build: which comment goes with which clip, in which split.

Pure function of the inputs (the two CSVs, which files exist, the sentence-embedding model and the
options), so every shard of a distributed build computes the same plan; in practice the first shard to
finish publishes it and the others reuse it (see :mod:`art2music.articaps.shards`).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from art2music.articaps.artemis import ArtemisComment
from art2music.articaps.manifest import SPLITS, ManifestRow
from art2music.articaps.matching import MatchConfig, match_pairs
from art2music.articaps.musiccaps import MusicClip
from art2music.articaps.splits import SplitFractions, assign_splits, majority_labels, nearest_neighbour_labels


@dataclass
class PlanResult:
    """The planned pairs (manifest rows, not yet checked for decodable files) and statistics."""

    rows: list[ManifestRow]
    stats: dict[str, Any] = field(default_factory=dict)


def file_digest(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def fingerprint(options: dict[str, Any], inputs: Sequence[str | Path], comments: Sequence[ArtemisComment],
                clips: Sequence[MusicClip]) -> str:
    """Hash of everything a plan and its features depend on: options, CSV bytes, and which files exist."""
    digest = hashlib.sha256(json.dumps(options, sort_keys=True, default=str).encode())
    for path in inputs:
        digest.update(file_digest(path).encode())
    for comment in comments:
        digest.update(f"{comment.line}:{comment.image_path}\n".encode("utf-8", "surrogateescape"))
    for clip in clips:
        midi = f":{clip.midi_path}" if clip.midi_path else ""  # builds without MIDI keep their earlier fingerprint
        digest.update(f"{clip.line}:{clip.audio_path}{midi}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def _relative(path: Path, root: Path) -> str:
    """``path`` relative to the manifest folder when possible (so a corpus can move as a whole)."""
    try:
        return os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    except ValueError:  # another drive on Windows
        return os.path.abspath(path)


def plan_pairs(comments: Sequence[ArtemisComment], clips: Sequence[MusicClip],
               embed: Callable[[Sequence[str]], np.ndarray], match: MatchConfig, fractions: SplitFractions,
               seed: int, manifest_dir: str | Path, stratify: bool = True) -> PlanResult:
    """Split paintings and clips, then match each split's comments to that split's clips.

    Stratified by emotion (see :mod:`art2music.articaps.splits`): paintings by their comments' majority
    emotion, clips by the emotion of the comments their caption is closest to, so every split pairs as well as
    the training split does.

    Args:
        comments: ArtEmis comments whose images exist.
        clips: MusicCaps clips whose files exist.
        embed: sentences → ``(n, d)`` unit vectors (:meth:`SentenceEmbedder.embed`).
        match: top-k, threshold, reuse cap.
        fractions: train/val/test fractions (of paintings, and of clips).
        seed: split seed.
        stratify: stratify the splits by emotion (``False``: plain random splits, as builds before it).
        manifest_dir: folder the manifest will live in (paths are written relative to it).

    Returns:
        Rows ordered by ArtEmis line, then descending score; ``stats`` counts what happened.
    """
    manifest_dir = Path(manifest_dir)
    comment_vectors = embed([c.comment for c in comments]) if comments else np.zeros((0, 1), np.float32)
    caption_vectors = embed([c.caption for c in clips]) if clips else np.zeros((0, 1), np.float32)
    painting_strata = clip_strata = None
    if stratify and comments and clips:
        painting_strata = majority_labels((c.painting, c.emotion) for c in comments)
        clip_strata = dict(zip((c.clip_id for c in clips),
                               nearest_neighbour_labels(caption_vectors, comment_vectors, [c.emotion for c in comments])))
    painting_split = assign_splits((c.painting for c in comments), fractions, seed, painting_strata)
    clip_split = assign_splits((c.clip_id for c in clips), fractions, seed + 1, clip_strata)
    rows: list[tuple[int, float, int, ManifestRow]] = []
    stats: dict[str, Any] = {"comments": len(comments), "paintings": len(painting_split), "clips": len(clips),
                             "pairs_crossing_splits_dropped": 0, "splits": {}}
    matched_comments: set[int] = set()
    used_clips: set[int] = set()
    for split in SPLITS:
        comment_index = np.array([i for i, c in enumerate(comments) if painting_split[c.painting] == split], np.int64)
        clip_index = np.array([i for i, c in enumerate(clips) if clip_split[c.clip_id] == split], np.int64)
        pairs = []
        if len(comment_index) and len(clip_index):
            pairs = match_pairs(comment_vectors[comment_index], caption_vectors[clip_index], match)
        for pair in pairs:
            comment, clip = comments[comment_index[pair.comment]], clips[clip_index[pair.clip]]
            matched_comments.add(int(comment_index[pair.comment]))
            used_clips.add(int(clip_index[pair.clip]))
            row = ManifestRow(id=f"{comment.comment_id}-{clip.clip_id}", image_path=_relative(comment.image_path, manifest_dir),
                              comment=comment.comment, emotion=comment.emotion,
                              audio_path=_relative(clip.audio_path, manifest_dir), caption=clip.caption,
                              match_score=pair.score, split=split,
                              midi_path=_relative(clip.midi_path, manifest_dir) if clip.midi_path else "")
            rows.append((comment.line, -pair.score, clip.line, row))
        stats["splits"][split] = {"paintings": sum(1 for s in painting_split.values() if s == split),
                                  "clips": int(len(clip_index)), "comments": int(len(comment_index)),
                                  "pairs": len(pairs)}
    rows.sort(key=lambda item: item[:3])
    stats["pairs"] = len(rows)
    stats["unmatched_comments"] = len(comments) - len(matched_comments)
    stats["unused_clips"] = len(clips) - len(used_clips)
    stats["emotions"] = dict(sorted(Counter(item[3].emotion for item in rows).items()))
    if rows:
        scores = np.array([item[3].match_score for item in rows])
        stats["match_score"] = {"min": float(scores.min()), "mean": float(scores.mean()), "max": float(scores.max())}
    return PlanResult([item[3] for item in rows], stats)
