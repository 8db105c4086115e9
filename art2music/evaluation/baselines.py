"""Baselines the model is compared with, and the emotion probe that scores rendered audio.

- **mean mel**: the training split's average log-mel (per frame and bin), vocoded by the model's vocoder:
  what a stage 1 that ignores its input would converge to under an L2 loss (an L1 loss gives the median;
  the mean is the usual, slightly stronger-looking reference).
- **nearest-neighbour retrieval**: the training clip whose cached image embedding has the highest cosine
  similarity with the query's; its true audio. Beating it means stage 1 does more than look up a clip.
- **Griffin-Lim instead of the vocoder**: the same predicted mels through :class:`vocoder.GriffinLim`.
  (Built by the runner; nothing to compute here.)

The emotion probe is the demo corpus's learnability check (:mod:`art2music.demo_corpus.signal_check`:
per-bin log-mel mean and std of a clip, standardised multinomial logistic regression with the same
settings), trained on the TRUE training clips and applied to rendered audio.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from art2music.demo_corpus.signal_check import mel_statistics
from art2music.articaps.feature_cache import FeatureCache


def training_mean_mel(cache: FeatureCache, train_rows: Sequence[int]) -> np.ndarray:
    """``(n_mels, frames)`` float32 mean of the cached log-mels of ``train_rows`` (accumulated in float64)."""
    if len(train_rows) == 0:
        raise ValueError("the mean-mel baseline needs at least one training row")
    return cache.mean_mel(train_rows)


def nearest_training_rows(query_embeddings: np.ndarray, train_embeddings: np.ndarray, train_rows: Sequence[int],
                          query_rows: Sequence[int] | None = None) -> np.ndarray:
    """For each ``(Q, D)`` query image embedding, the row number (from ``train_rows``) of the training item
    whose ``(N, D)`` image embedding is most cosine-similar. A query is never matched with its own row
    (``query_rows``), so evaluating on the training split does not retrieve the answer itself.

    Returns:
        ``(Q,)`` int64 row numbers.
    """
    queries = np.asarray(query_embeddings, dtype=np.float64)
    pool = np.asarray(train_embeddings, dtype=np.float64)
    rows = np.asarray(train_rows, dtype=np.int64)
    if pool.shape[0] != rows.size or pool.shape[0] == 0:
        raise ValueError(f"need one training embedding per training row, got {pool.shape[0]} and {rows.size}")
    if queries.ndim != 2 or queries.shape[1] != pool.shape[1]:
        raise ValueError(f"query embeddings {queries.shape} do not match training embeddings {pool.shape}")
    queries = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)
    pool = pool / np.maximum(np.linalg.norm(pool, axis=1, keepdims=True), 1e-12)
    similarity = queries @ pool.T
    if query_rows is not None:
        similarity[np.asarray(query_rows)[:, None] == rows[None, :]] = -np.inf
        if np.isinf(similarity).all(axis=1).any():
            raise ValueError("a query has no training item other than itself to retrieve")
    return rows[similarity.argmax(axis=1)]


class EmotionProbe:
    """Emotion classifier on clip mel statistics (160 features), trained on true clips.

    Same features (:func:`signal_check.mel_statistics`) and model (StandardScaler + multinomial logistic
    regression, C = 0.5) as the demo corpus's learnability check, so its accuracy on true held-out clips
    is the ceiling that rendered audio can approach.
    """

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.model = None
        self.classes: list[str] = []

    def features(self, path: str | Path) -> np.ndarray:
        """``(160,)`` mel statistics of an audio file (first ``seconds`` of it)."""
        return mel_statistics(path, self.seconds)

    def fit(self, features: np.ndarray, labels: Sequence[str]) -> "EmotionProbe":
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        self.classes = sorted(set(labels))
        if len(self.classes) < 2:
            raise ValueError(f"the emotion probe needs at least two emotions in the training split, got {self.classes}")
        self.model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=0.5))
        self.model.fit(np.asarray(features), list(labels))
        return self

    @property
    def chance(self) -> float:
        """``1 / number of emotions`` seen in training."""
        return 1.0 / len(self.classes)

    def predict(self, features: np.ndarray) -> list[str]:
        """``(n, 160)`` features → n emotion names."""
        if self.model is None:
            raise RuntimeError("fit the probe before predicting")
        return [str(label) for label in self.model.predict(np.asarray(features))]
