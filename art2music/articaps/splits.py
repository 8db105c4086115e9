"""Seeded train/val/test splits that keep paintings and clips apart.

ArtiCaps pairs a painting's comments with music clips; a split is only clean if no painting *and* no
clip appears in two splits. Assigning pairs after matching cannot guarantee both (a clip matched to
paintings of different splits would have to be dropped), so the builder splits first and matches
inside each split: clips are assigned to splits, paintings are assigned to splits, and a painting's
comments are matched only to clips of the same split. No pair ever crosses, none is dropped.

Assignment: the distinct keys are sorted, shuffled with ``numpy.random.default_rng(seed)`` and cut at
the fractions (counts rounded, every split with a positive fraction getting at least one key when there
are enough keys). The same keys, fractions and seed always give the same assignment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from art2music.articaps.manifest import SPLITS


@dataclass(frozen=True)
class SplitFractions:
    """Fractions of paintings (and of clips) per split; they must sum to 1."""

    train: float = 0.8
    val: float = 0.1
    test: float = 0.1

    def __post_init__(self) -> None:
        values = self.as_tuple()
        if any(value < 0 for value in values) or abs(sum(values) - 1.0) > 1e-6:
            raise ValueError(f"split fractions must be >= 0 and sum to 1, got train={self.train}, val={self.val}, "
                             f"test={self.test}")
        if self.train <= 0:
            raise ValueError("the train fraction must be positive")

    def as_tuple(self) -> tuple[float, float, float]:
        return (self.train, self.val, self.test)

    @classmethod
    def parse(cls, text: str) -> "SplitFractions":
        """``"0.8,0.1,0.1"`` → fractions (train, val, test)."""
        try:
            parts = [float(part) for part in text.split(",")]
        except ValueError:
            raise ValueError(f"split fractions {text!r} must be three numbers like 0.8,0.1,0.1") from None
        if len(parts) != 3:
            raise ValueError(f"split fractions {text!r} must be three numbers (train,val,test), got {len(parts)}")
        return cls(*parts)


def split_counts(total: int, fractions: SplitFractions) -> tuple[int, int, int]:
    """How many of ``total`` keys go to train, val and test."""
    wanted = [fraction * total for fraction in fractions.as_tuple()]
    counts = [int(round(value)) for value in wanted[1:]]
    positive = [fraction > 0 for fraction in fractions.as_tuple()[1:]]
    if total >= 1 + sum(positive):
        counts = [max(count, 1) if is_positive else 0 for count, is_positive in zip(counts, positive)]
    while sum(counts) > max(total - 1, 0) and any(counts):
        largest = int(np.argmax(counts))
        counts[largest] -= 1
    return (total - sum(counts), counts[0], counts[1])


def assign_splits(keys: Iterable[str], fractions: SplitFractions, seed: int) -> dict[str, str]:
    """Map each distinct key to ``train``, ``val`` or ``test`` (see the module docstring)."""
    ordered = sorted(set(keys))
    permutation = np.random.default_rng(seed).permutation(len(ordered))
    counts = split_counts(len(ordered), fractions)
    assignment: dict[str, str] = {}
    position = 0
    for split, count in zip(SPLITS, counts):
        for index in permutation[position:position + count]:
            assignment[ordered[int(index)]] = split
        position += count
    return assignment
