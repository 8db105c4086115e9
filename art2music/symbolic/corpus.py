"""The symbolic engine's data: paintings and MIDI pieces with emotions and valence-arousal (VA), split apart.

A training example is a *pair* (painting, piece) of the same emotion, or, for a share of the training pairs, of two
different emotions (:func:`pair_other_emotion`; the VA condition is then the piece's, so that the condition, not the
painting, says what the music feels: see ``SymbolicDataModule``'s ``mismatched_share``). Paintings and pieces each belong to one of
train/val/test, and pairs are only formed inside one split, so no test painting and no test piece is ever seen in
training.

Sources:
  - an ArtiCaps manifest (the demo corpus's): paintings from ``image_path``, pieces from ``midi_path``, with the
    manifest's splits (read by :func:`art2music.training.midi_data.read_manifest_corpus`, since this room does not
    read manifests);
  - more and longer pieces composed on the spot by :mod:`art2music.demo_corpus.composition` (symbolic data
    is cheap: no audio is rendered), :func:`compose_pieces`;
  - EMOPIA (:mod:`art2music.symbolic.emopia`), whose pieces carry a VA quadrant and are paired with
    paintings by VA distance (:func:`pair_by_va`);
  - the music21 corpus (:mod:`art2music.symbolic.music21_corpus`), music without a feeling for the decoder alone.
VA values come from :data:`art2music.emotions.VALENCE_AROUSAL`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from art2music.emotions import EMOTIONS, VALENCE_AROUSAL, normalize_emotion

SPLITS = ("train", "val", "test")
DEFAULT_FRACTIONS = (0.7, 0.15, 0.15)


@dataclass(frozen=True)
class Painting:
    """An image file with its emotion, target VA (each in [-1, 1]) and split."""

    path: Path
    emotion: str
    valence: float
    arousal: float
    split: str = "train"


@dataclass(frozen=True)
class Piece:
    """A MIDI file with its VA (each in [-1, 1]), emotion (``""`` when only VA is known) and split.
    ``pretraining``: music without a feeling (VA ``nan``), never paired with a painting
    (:mod:`art2music.symbolic.music21_corpus`)."""

    path: Path
    emotion: str
    valence: float
    arousal: float
    split: str = "train"
    pretraining: bool = False


def emotion_va(emotion: str) -> tuple[float, float]:
    """(valence, arousal) of an ArtEmis emotion."""
    return VALENCE_AROUSAL[normalize_emotion(emotion)]


def assign_splits(count: int, seed: int, fractions: Sequence[float] = DEFAULT_FRACTIONS) -> list[str]:
    """Split names for ``count`` items of one group: a seeded permutation cut by ``fractions`` (val and test get
    at least one item each when ``count >= 3``)."""
    if len(fractions) != 3 or abs(sum(fractions) - 1.0) > 1e-6 or min(fractions) < 0:
        raise ValueError(f"fractions must be three non-negative numbers summing to 1, got {tuple(fractions)}")
    n_val = int(round(count * fractions[1]))
    n_test = int(round(count * fractions[2]))
    if count >= 3:
        n_val, n_test = max(n_val, 1 if fractions[1] else 0), max(n_test, 1 if fractions[2] else 0)
    order = np.random.default_rng(seed).permutation(count)
    names = ["train"] * count
    for rank, index in enumerate(order):
        if rank < n_test:
            names[index] = "test"
        elif rank < n_test + n_val:
            names[index] = "val"
    return names


def _split_groups(items: list[tuple[Path, str]], seed: int, fractions: Sequence[float], kind: type):
    by_emotion: dict[str, list[Path]] = {}
    for path, emotion in items:
        by_emotion.setdefault(emotion, []).append(path)
    result = []
    for emotion in sorted(by_emotion, key=EMOTIONS.index):
        paths = sorted(by_emotion[emotion])
        splits = assign_splits(len(paths), seed * 1009 + EMOTIONS.index(emotion), fractions)
        result += [kind(path, emotion, *emotion_va(emotion), split) for path, split in zip(paths, splits)]
    return result


def compose_pieces(folder: str | os.PathLike, emotions: Sequence[str], per_emotion: int, seconds: float,
                   seed: int = 0, fractions: Sequence[float] = DEFAULT_FRACTIONS) -> list[Piece]:
    """Compose ``per_emotion`` pieces of about ``seconds`` for each emotion into ``folder`` (files already there
    are kept, so a second call is free), split per emotion. Piece ``k`` of an emotion depends only on
    ``(seed, emotion, k)``."""
    from art2music.demo_corpus.composition import compose
    from art2music.demo_corpus.profiles import PROFILES
    from vocoder.files import atomic_write

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    items = []
    for emotion in (normalize_emotion(name) for name in emotions):
        for index in range(per_emotion):
            path = folder / f"{emotion.replace(' ', '_')}-s{seed}-{seconds:g}s-{index:04d}.mid"
            if not path.is_file():
                rng = np.random.default_rng([seed, 7, EMOTIONS.index(emotion), index])
                midi = compose(PROFILES[emotion], rng, seconds).midi
                atomic_write(path, lambda temporary, midi=midi: midi.save(str(temporary)))
            items.append((path, emotion))
    return _split_groups(items, seed + 2, fractions, Piece)


def _pieces_by_emotion(pieces: Sequence[Piece], split: str) -> dict[str, list[Piece]]:
    """The pieces of ``split``, grouped by emotion (in their given order)."""
    by_emotion: dict[str, list[Piece]] = {}
    for piece in pieces:
        if piece.split == split:
            by_emotion.setdefault(piece.emotion, []).append(piece)
    return by_emotion


def pair_same_emotion(paintings: Sequence[Painting], pieces: Sequence[Piece], split: str, per_painting: int,
                      seed: int = 0) -> list[tuple[Painting, Piece]]:
    """``per_painting`` pieces (drawn without replacement where possible) of the painting's emotion, all in
    ``split``. Paintings whose emotion has no piece in the split are left out."""
    rng = np.random.default_rng(seed)
    by_emotion = _pieces_by_emotion(pieces, split)
    pairs = []
    for painting in paintings:
        candidates = by_emotion.get(painting.emotion, [])
        if painting.split != split or not candidates:
            continue
        chosen = rng.choice(len(candidates), size=per_painting, replace=per_painting > len(candidates))
        pairs += [(painting, candidates[int(k)]) for k in chosen]
    return pairs


def pair_by_va(paintings: Sequence[Painting], pieces: Sequence[Piece], split: str, per_painting: int,
               seed: int = 0, nearest: int = 8) -> list[tuple[Painting, Piece]]:
    """Pair each painting of ``split`` with ``per_painting`` pieces drawn from its ``nearest`` pieces in VA space
    (Euclidean distance; ties at the cut-off all stay candidates), as the seed paper paired its images with
    VA-labelled MIDI."""
    rng = np.random.default_rng(seed)
    pool = [piece for piece in pieces if piece.split == split]
    if not pool:
        return []
    piece_va = np.array([(piece.valence, piece.arousal) for piece in pool])
    pairs = []
    for painting in paintings:
        if painting.split != split:
            continue
        distance = np.linalg.norm(piece_va - np.array([painting.valence, painting.arousal]), axis=1)
        cutoff = np.sort(distance)[min(nearest, len(pool)) - 1]
        candidates = np.flatnonzero(distance <= cutoff + 1e-9)
        chosen = rng.choice(candidates, size=per_painting, replace=per_painting > len(candidates))
        pairs += [(painting, pool[int(k)]) for k in chosen]
    return pairs


def pair_other_emotion(paintings: Sequence[Painting], pieces: Sequence[Piece], split: str, per_painting: int,
                       seed: int = 0) -> list[tuple[Painting, Piece]]:
    """``per_painting`` pieces of emotions *other* than the painting's, all in ``split``: for each pair an emotion is
    drawn uniformly among the other emotions that have pieces in the split, then a piece of it uniformly (so every
    other emotion is about equally frequent whatever its piece count). Paintings with no other emotion to draw from
    are left out. The caller conditions these pairs on the *piece's* VA."""
    rng = np.random.default_rng(seed)
    by_emotion = _pieces_by_emotion(pieces, split)
    pairs = []
    for painting in paintings:
        others = sorted(emotion for emotion in by_emotion if emotion != painting.emotion)
        if painting.split != split or not others or per_painting <= 0:
            continue
        for _ in range(per_painting):
            candidates = by_emotion[others[int(rng.integers(len(others)))]]
            pairs.append((painting, candidates[int(rng.integers(len(candidates)))]))
    return pairs
