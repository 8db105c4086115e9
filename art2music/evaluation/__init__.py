"""Evaluation with the paper's metrics (MCD, LSD, FAD, cosine), baselines and an emotion probe.

``art2music evaluate`` (:mod:`art2music.evaluation.cli`) runs :func:`art2music.evaluation.runner.evaluate`;
the metrics themselves are plain functions in :mod:`art2music.evaluation.metrics`.
"""
