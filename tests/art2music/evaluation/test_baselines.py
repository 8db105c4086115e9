"""Baselines: the training mean mel, nearest-neighbour retrieval, and the emotion probe."""

from __future__ import annotations

import numpy as np
import pytest

from art2music.articaps.feature_cache import FeatureCache
from art2music.evaluation.baselines import EmotionProbe, nearest_training_rows, training_mean_mel
from tests.conftest import make_tiny_articaps


def test_training_mean_mel_is_the_average_of_the_training_rows(tmp_path):
    cache = FeatureCache.open(make_tiny_articaps(tmp_path / "data", frames=12) / "cache")
    rows = [0, 3, 5]
    mean = training_mean_mel(cache, rows)
    expected = np.mean([cache.mel(r).astype(np.float64) for r in rows], axis=0)
    assert mean.shape == (80, 12) and mean.dtype == np.float32
    assert np.allclose(mean, expected, atol=1e-5)
    with pytest.raises(ValueError, match="at least one training row"):
        training_mean_mel(cache, [])


def test_nearest_neighbour_retrieves_the_most_cosine_similar_training_image():
    train = np.array([[1.0, 0.0], [0.0, 1.0], [10.0, 9.0]])  # row 12 points at 42°: cosine, not distance
    train_rows = [10, 11, 12]
    queries = np.array([[0.1, 5.0], [3.0, 3.1], [2.0, 0.0]])
    assert nearest_training_rows(queries, train, train_rows).tolist() == [11, 12, 10]


def test_nearest_neighbour_never_retrieves_the_query_itself():
    train = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    rows = [0, 1, 2]
    assert nearest_training_rows(train, train, rows, query_rows=rows).tolist() == [1, 0, 1]
    with pytest.raises(ValueError, match="other than itself"):
        nearest_training_rows(train[:1], train[:1], [0], query_rows=[0])
    with pytest.raises(ValueError, match="do not match"):
        nearest_training_rows(np.ones((1, 3)), train, rows)


def test_emotion_probe_learns_separable_features_and_reports_chance():
    rng = np.random.default_rng(0)
    labels = ["awe", "fear", "sadness"] * 20
    centres = {"awe": 0.0, "fear": 3.0, "sadness": -3.0}
    features = np.stack([centres[label] + 0.3 * rng.normal(size=160) for label in labels])
    probe = EmotionProbe(seconds=1.0).fit(features, labels)
    assert probe.chance == pytest.approx(1 / 3)
    test = np.stack([centres[label] + 0.3 * rng.normal(size=160) for label in ["fear", "awe", "sadness"]])
    assert probe.predict(test) == ["fear", "awe", "sadness"]
    with pytest.raises(ValueError, match="at least two emotions"):
        EmotionProbe(1.0).fit(features[:3], ["awe"] * 3)
    with pytest.raises(RuntimeError, match="fit the probe"):
        EmotionProbe(1.0).predict(test)
