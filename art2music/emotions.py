"""The nine ArtEmis emotion categories: the one list every module reads.

ArtEmis (Achlioptas et al., 2021) asks viewers to pick one of eight emotions or "something else".
Valence/arousal coordinates (each in [-1, 1]) are the published mean ratings of the emotion words in the
NRC Valence, Arousal, and Dominance Lexicon v1 (Mohammad, 2018, "Obtaining Reliable Human Ratings of Valence,
Arousal, and Dominance for 20,000 English Words", ACL), rescaled from its [0, 1] scale by ``2 x - 1``. Only these
eight values are quoted; the lexicon itself is not redistributed. "something else" has no word rating and sits at
the neutral centre. They drive emotion control and the symbolic engine's valence-arousal targets.
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
    # emotion: (2 v - 1, 2 a - 1) for the NRC VAD v1 word ratings (v, a) in [0, 1]
    "amusement": (0.858, 0.674),  # NRC VAD v1: valence 0.929, arousal 0.837
    "awe": (-0.062, 0.480),  # NRC VAD v1: valence 0.469, arousal 0.740
    "contentment": (0.750, 0.220),  # NRC VAD v1: valence 0.875, arousal 0.610
    "excitement": (0.792, 0.368),  # NRC VAD v1: valence 0.896, arousal 0.684
    "anger": (-0.666, 0.730),  # NRC VAD v1: valence 0.167, arousal 0.865
    "disgust": (-0.896, 0.550),  # NRC VAD v1: valence 0.052, arousal 0.775
    "fear": (-0.854, 0.680),  # NRC VAD v1: valence 0.073, arousal 0.840
    "sadness": (-0.896, -0.424),  # NRC VAD v1: valence 0.052, arousal 0.288
    "something else": (0.0, 0.0),  # no word rating: the neutral centre
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
