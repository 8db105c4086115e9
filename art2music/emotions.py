"""The nine ArtEmis emotion categories: the one list every module reads.

ArtEmis (Achlioptas et al., 2021) asks viewers to pick one of eight emotions or "something else".
Valence/arousal coordinates are rough placements on Russell's circumplex (valence and arousal in
[-1, 1]); they drive the demo corpus and, later, emotion control.
"""

from __future__ import annotations

EMOTIONS: tuple[str, ...] = (
    "amusement", "awe", "contentment", "excitement",
    "anger", "disgust", "fear", "sadness", "something else",
)
"""ArtEmis emotion names, in the dataset's conventional order (four positive, four negative, other)."""

POSITIVE: frozenset[str] = frozenset(EMOTIONS[:4])
NEGATIVE: frozenset[str] = frozenset(EMOTIONS[4:8])

VALENCE_AROUSAL: dict[str, tuple[float, float]] = {
    "amusement": (0.8, 0.5),
    "awe": (0.6, 0.6),
    "contentment": (0.8, -0.5),
    "excitement": (0.7, 0.9),
    "anger": (-0.7, 0.8),
    "disgust": (-0.8, 0.3),
    "fear": (-0.7, 0.7),
    "sadness": (-0.8, -0.6),
    "something else": (0.0, 0.0),
}

_ALIASES = {"something_else": "something else", "something-else": "something else", "other": "something else"}


def normalize_emotion(name: str) -> str:
    """Map an emotion label (any case, ``_``/``-`` for the space) to its canonical name.

    Raises:
        ValueError: the label is not one of the nine ArtEmis emotions.
    """
    key = str(name).strip().lower()
    key = _ALIASES.get(key, key)
    if key not in EMOTIONS:
        raise ValueError(f"unknown emotion {name!r}; expected one of {', '.join(EMOTIONS)}")
    return key


def emotion_index(name: str) -> int:
    """Position of ``name`` in :data:`EMOTIONS`."""
    return EMOTIONS.index(normalize_emotion(name))
