"""Matching: top-k, threshold, reuse cap, fallback to the next best clip, deterministic tie-breaking."""

from __future__ import annotations

import numpy as np
import pytest

from art2music.articaps.matching import MatchConfig, match_pairs, top_candidates


def _unit(rows) -> np.ndarray:
    vectors = np.asarray(rows, dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_each_comment_gets_its_most_similar_clip():
    comments = _unit([[1, 0.1], [0.1, 1]])
    captions = _unit([[0, 1], [1, 0]])
    pairs = match_pairs(comments, captions, MatchConfig(top_k=1, max_clip_uses=0))
    assert [(p.comment, p.clip) for p in pairs] == [(0, 1), (1, 0)]
    assert pairs[0].score == pytest.approx(float(comments[0] @ captions[1]), abs=1e-6)


def test_reuse_cap_makes_later_comments_fall_back_to_their_next_best():
    comments = _unit([[1, 0.0], [1, 0.05], [1, 0.1]])   # all prefer clip 0; comment 0 most of all
    captions = _unit([[1, 0], [1, 1]])
    pairs = match_pairs(comments, captions, MatchConfig(top_k=1, max_clip_uses=1))
    # Clip 0 (used once) goes to comment 0; clip 1 to the comment closest to it (2); comment 1 gets none.
    assert {(p.comment, p.clip) for p in pairs} == {(0, 0), (2, 1)}
    uncapped = match_pairs(comments, captions, MatchConfig(top_k=1, max_clip_uses=0))
    assert all(p.clip == 0 for p in uncapped)


def test_top_k_and_threshold():
    comments = _unit([[1, 0, 0]])
    captions = _unit([[1, 0, 0], [1, 1, 0], [0, 0, 1]])  # similarities 1.0, 0.707, 0.0
    assert [p.clip for p in match_pairs(comments, captions, MatchConfig(top_k=2, max_clip_uses=0))] == [0, 1]
    assert [p.clip for p in match_pairs(comments, captions, MatchConfig(top_k=3, threshold=0.5))] == [0, 1]
    assert match_pairs(comments, captions, MatchConfig(top_k=3, threshold=1.0))[0].clip == 0


def test_ties_break_by_lower_index_whatever_the_chunking():
    comments = _unit([[1, 0]] * 5)
    captions = _unit([[1, 0]] * 4 + [[0, 1]])
    config = MatchConfig(top_k=1, max_clip_uses=2)
    pairs = match_pairs(comments, captions, config)
    assert [(p.comment, p.clip) for p in pairs] == [(0, 0), (1, 0), (2, 1), (3, 1), (4, 2)]
    clips_a, scores_a = top_candidates(comments, captions, 3, chunk=1)
    clips_b, scores_b = top_candidates(comments, captions, 3, chunk=1000)
    # Exact equality across chunkings holds only because every product here is 0 or 1, exact in any
    # summation order; with general vectors a chunk's size may change a score in the last bit.
    assert (clips_a == clips_b).all() and (scores_a == scores_b).all()
    assert (clips_a == [0, 1, 2]).all()


def test_random_inputs_are_deterministic_and_respect_every_limit():
    rng = np.random.default_rng(3)
    comments, captions = _unit(rng.normal(size=(60, 8))), _unit(rng.normal(size=(12, 8)))
    config = MatchConfig(top_k=2, threshold=0.1, max_clip_uses=4, candidates=5)
    pairs = match_pairs(comments, captions, config)
    assert pairs == match_pairs(comments.copy(), captions.copy(), config)
    assert all(p.score >= 0.1 for p in pairs)
    assert max(np.bincount([p.comment for p in pairs])) <= 2
    assert max(np.bincount([p.clip for p in pairs])) <= 4
    assert len({(p.comment, p.clip) for p in pairs}) == len(pairs)


@pytest.mark.parametrize("kwargs", [{"top_k": 0}, {"threshold": 1.5}, {"max_clip_uses": -1},
                                    {"top_k": 3, "candidates": 2}])
def test_bad_config(kwargs):
    with pytest.raises(ValueError):
        MatchConfig(**kwargs)
