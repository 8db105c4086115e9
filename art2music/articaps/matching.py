"""Semantic matching of painting comments with music captions (the ArtiCaps pairing).

Every comment considers its ``candidates`` most similar captions (cosine similarity of sentence
embeddings) and is paired with up to ``top_k`` of them. Candidate pairs are granted globally in descending
score; one is granted when its score is at least ``threshold``, its comment has fewer than ``top_k``
pairs and its clip has been used fewer than ``max_clip_uses`` times. So a popular clip goes to the
comments that match it best, and a comment whose favourite clip is used up falls back to its next best
(which also limits "hub" captions that are close to everything).

Determinism: scores are rounded to 1e-6 (the precision the manifest keeps) before any comparison, and
ties are broken by comment index, then clip index. Top-k selection uses one unique integer key per
(score, clip) so ``argpartition`` has no ties to break arbitrarily. The same embeddings always give the
same pairs, whatever the chunking or the machine's sort implementation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SCORE_SCALE = 1_000_000
"""Scores are compared as integers ``round(score * SCORE_SCALE)``."""


@dataclass(frozen=True)
class MatchConfig:
    """Matching options.

    Attributes:
        top_k: clips paired with each comment, at most.
        candidates: clips considered per comment (the most similar ones; at least ``top_k``).
        threshold: minimum cosine similarity of a pair, in [-1, 1].
        max_clip_uses: how many comments one clip may be paired with (0: unlimited).
    """

    top_k: int = 1
    threshold: float = 0.0
    max_clip_uses: int = 5
    candidates: int = 50

    def __post_init__(self) -> None:
        if self.top_k < 1:
            raise ValueError(f"top_k must be at least 1, got {self.top_k}")
        if not -1.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold is a cosine similarity and must lie in [-1, 1], got {self.threshold}")
        if self.candidates < self.top_k:
            raise ValueError(f"candidates ({self.candidates}) must be at least top_k ({self.top_k})")
        if self.max_clip_uses < 0:
            raise ValueError(f"max_clip_uses must be >= 0 (0 = unlimited), got {self.max_clip_uses}")


@dataclass(frozen=True)
class Pair:
    """A matched (comment, clip) pair: indices into the inputs and the cosine similarity."""

    comment: int
    clip: int
    score: float


def top_candidates(comment_vectors: np.ndarray, caption_vectors: np.ndarray, top_k: int,
                   chunk: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """Each comment's ``top_k`` best captions.

    Args:
        comment_vectors: ``(m, d)`` unit vectors.
        caption_vectors: ``(c, d)`` unit vectors.
        top_k: candidates per comment (capped at ``c``).
        chunk: comments per matrix product (bounds memory at ``chunk * c`` scores).

    Returns:
        ``(clips, scores)``: ``(m, k)`` int64 clip indices, best first (ties: lower clip index first), and
        ``(m, k)`` int64 scores in units of 1e-6.
    """
    count, clips = comment_vectors.shape[0], caption_vectors.shape[0]
    k = min(top_k, clips)
    out_clips = np.zeros((count, k), dtype=np.int64)
    out_scores = np.zeros((count, k), dtype=np.int64)
    if count == 0 or k == 0:
        return out_clips, out_scores
    captions = np.asarray(caption_vectors, dtype=np.float64)
    clip_index = np.arange(clips, dtype=np.int64)
    for start in range(0, count, chunk):
        scores = np.asarray(comment_vectors[start:start + chunk], dtype=np.float64) @ captions.T
        quantized = np.rint(np.clip(scores, -1.0, 1.0) * SCORE_SCALE).astype(np.int64)
        # Unique key per cell: smaller is better (higher score, then lower clip index).
        keys = (SCORE_SCALE - quantized) * clips + clip_index
        best = np.argpartition(keys, k - 1, axis=1)[:, :k] if k < clips else np.tile(clip_index, (len(keys), 1))
        best_keys = np.take_along_axis(keys, best, axis=1)
        order = np.argsort(best_keys, axis=1)
        chosen = np.take_along_axis(best, order, axis=1)
        out_clips[start:start + len(keys)] = chosen
        out_scores[start:start + len(keys)] = np.take_along_axis(quantized, chosen, axis=1)
    return out_clips, out_scores


def match_pairs(comment_vectors: np.ndarray, caption_vectors: np.ndarray, config: MatchConfig) -> list[Pair]:
    """Pair comments with clips (see the module docstring for the rule).

    Args:
        comment_vectors: ``(m, d)`` unit sentence embeddings of the comments.
        caption_vectors: ``(c, d)`` unit sentence embeddings of the captions.
        config: top-k, candidates, threshold and reuse cap.

    Returns:
        The pairs sorted by comment index, then by descending score (then clip index).
    """
    if comment_vectors.ndim != 2 or caption_vectors.ndim != 2 or comment_vectors.shape[1] != caption_vectors.shape[1]:
        raise ValueError(f"need (m, d) and (c, d) embeddings, got {comment_vectors.shape} and {caption_vectors.shape}")
    clips, scores = top_candidates(comment_vectors, caption_vectors, config.candidates)
    if clips.size == 0:
        return []
    comments = np.repeat(np.arange(clips.shape[0], dtype=np.int64), clips.shape[1])
    clips, scores = clips.ravel(), scores.ravel()
    keep = scores >= int(np.ceil(config.threshold * SCORE_SCALE - 1e-9))
    comments, clips, scores = comments[keep], clips[keep], scores[keep]
    # Grant in descending score; ties: lower comment index, then lower clip index (lexsort: last key first).
    order = np.lexsort((clips, comments, -scores))
    uses = np.zeros(caption_vectors.shape[0], dtype=np.int64)
    pairs_of = np.zeros(comment_vectors.shape[0], dtype=np.int64)
    granted: list[Pair] = []
    wanted = int(np.minimum(np.bincount(comments, minlength=comment_vectors.shape[0]), config.top_k).sum())
    for index in order:
        if len(granted) == wanted:
            break  # every comment has all the pairs it can get
        clip, comment = int(clips[index]), int(comments[index])
        if pairs_of[comment] >= config.top_k or (config.max_clip_uses and uses[clip] >= config.max_clip_uses):
            continue
        uses[clip] += 1
        pairs_of[comment] += 1
        granted.append(Pair(int(comments[index]), clip, int(scores[index]) / SCORE_SCALE))
    granted.sort(key=lambda pair: (pair.comment, -pair.score, pair.clip))
    return granted
