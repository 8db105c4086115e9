"""How well judged (valence, arousal) points agree with targets: the numbers the README and ``evaluate`` report.

- ``distance``: mean Euclidean distance in the VA plane (0 = identical; the plane is 2 x 2, the diagonal 2.83);
- ``valence_sign`` / ``arousal_sign``: share of items whose judged coordinate has the target's sign (a value
  >= 0 counts as positive);
- ``quadrant``: share of items whose judged point lies in the target's quadrant (both signs right).
"""

from __future__ import annotations

import numpy as np


def va_agreement(judged: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """Agreement of ``judged`` ``(N, 2)`` with ``target`` ``(N, 2)`` (valence, arousal); see the module docstring.

    Raises:
        ValueError: shapes that differ or are not ``(N, 2)`` with N >= 1.
    """
    judged, target = np.asarray(judged, dtype=np.float64), np.asarray(target, dtype=np.float64)
    if judged.shape != target.shape or judged.ndim != 2 or judged.shape[1] != 2 or len(judged) == 0:
        raise ValueError(f"need two (N, 2) arrays of the same shape, got {judged.shape} and {target.shape}")
    same_sign = (judged >= 0) == (target >= 0)
    return {"distance": float(np.linalg.norm(judged - target, axis=1).mean()),
            "valence_sign": float(same_sign[:, 0].mean()), "arousal_sign": float(same_sign[:, 1].mean()),
            "quadrant": float(same_sign.all(axis=1).mean()), "count": int(len(judged))}


def spearman_rho(x: np.ndarray, y: np.ndarray) -> float | None:
    """Spearman's rank correlation of two 1-D sequences (ties get their mean rank); ``None`` when either is constant."""
    from scipy.stats import rankdata

    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"need two 1-D sequences of the same length, got {x.shape} and {y.shape}")
    rx, ry = rankdata(x), rankdata(y)
    if rx.std() == 0 or ry.std() == 0:
        return None
    return float(np.corrcoef(rx, ry)[0, 1])
