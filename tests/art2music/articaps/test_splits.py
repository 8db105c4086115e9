"""Splits: exact seeded fractions, and plans whose splits never share a painting or a clip."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from art2music.articaps.artemis import ArtemisComment
from art2music.articaps.matching import MatchConfig
from art2music.articaps.musiccaps import MusicClip
from art2music.articaps.planning import plan_pairs
from art2music.articaps.splits import SplitFractions, assign_splits, split_counts


def test_counts_follow_fractions_and_keep_small_splits_nonempty():
    assert split_counts(100, SplitFractions(0.8, 0.1, 0.1)) == (80, 10, 10)
    assert split_counts(5, SplitFractions(0.8, 0.1, 0.1)) == (3, 1, 1)
    assert split_counts(2, SplitFractions(0.8, 0.1, 0.1)) == (2, 0, 0)
    assert split_counts(10, SplitFractions(1.0, 0.0, 0.0)) == (10, 0, 0)


def test_assignment_is_seeded_and_order_independent():
    keys = [f"painting-{i}" for i in range(50)]
    first = assign_splits(keys, SplitFractions(), seed=7)
    assert first == assign_splits(reversed(keys), SplitFractions(), seed=7)
    assert first != assign_splits(keys, SplitFractions(), seed=8)
    assert sorted(first.values()).count("val") == 5


@pytest.mark.parametrize("text", ["0.8,0.1", "0.5,0.5,0.5", "a,b,c", "0,0.5,0.5"])
def test_bad_fractions(text):
    with pytest.raises(ValueError):
        SplitFractions.parse(text)


def test_plan_keeps_paintings_and_clips_in_one_split(tmp_path):
    rng = np.random.default_rng(0)
    comments = [ArtemisComment(line=i + 2, painting=f"Style/p{i // 3}", image_path=tmp_path / f"p{i // 3}.jpg",
                               emotion="awe", comment=f"comment {i}") for i in range(60)]
    clips = [MusicClip(line=k + 2, ytid=f"clip{k:07d}", start_s=0, end_s=10, caption=f"caption {k}",
                       audio_path=tmp_path / "audio" / f"clip{k:07d}.wav") for k in range(20)]
    vectors = {}

    def embed(texts):  # a fixed random unit vector per text
        for text in texts:
            vectors.setdefault(text, rng.normal(size=16))
        out = np.stack([vectors[t] for t in texts])
        return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)

    result = plan_pairs(comments, clips, embed, MatchConfig(top_k=2, max_clip_uses=3), SplitFractions(0.6, 0.2, 0.2),
                        seed=1, manifest_dir=tmp_path / "out")
    splits_of = defaultdict(set)
    for row in result.rows:
        splits_of[row.image_path].add(row.split)
        splits_of[row.audio_path].add(row.split)
    assert all(len(splits) == 1 for splits in splits_of.values())
    assert {row.split for row in result.rows} == {"train", "val", "test"}
    assert len({row.id for row in result.rows}) == len(result.rows) == result.stats["pairs"]
    assert result.rows[0].image_path == str(Path("..") / "p0.jpg")  # relative to the manifest folder
    assert result.stats["pairs_crossing_splits_dropped"] == 0
    lines = [int(row.id.split("-")[0][len("artemis"):]) for row in result.rows]
    assert lines == sorted(lines)
