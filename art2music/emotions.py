"""The nine ArtEmis emotion categories: the one list every module reads.

ArtEmis (Achlioptas et al., 2021) asks viewers to pick one of eight emotions or "something else".
Valence/arousal coordinates (each in [-1, 1]) are the published mean ratings of the emotion words in the
NRC Valence, Arousal, and Dominance Lexicon v1 (Mohammad, 2018, "Obtaining Reliable Human Ratings of Valence,
Arousal, and Dominance for 20,000 English Words", ACL), rescaled from its [0, 1] scale by ``2 x - 1``. Only these
eight values are quoted; the lexicon itself is not redistributed. "something else" has no word rating and sits at
the neutral centre. They drive emotion control and the symbolic engine's valence-arousal targets.
"""

from __future__ import annotations

from typing import Iterable

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


def emotion_valence_arousal(name: str) -> tuple[float, float]:
    """The (valence, arousal) of one emotion label through :data:`VALENCE_AROUSAL` (any spelling
    :func:`normalize_emotion` accepts). Raises ``ValueError`` naming the valid emotions for an unknown one."""
    return VALENCE_AROUSAL[normalize_emotion(name)]


def mean_valence_arousal(emotions: Iterable[str]) -> tuple[float, float]:
    """A painting's target feeling: the mean (valence, arousal) over its annotators' emotions.

    ArtEmis has several annotations per painting, each one emotion word; each is placed through
    :data:`VALENCE_AROUSAL` and the points are averaged (so ``["sadness", "contentment"]`` lands between them).

    Raises:
        ValueError: no emotions given, or an unknown one.
    """
    points = [emotion_valence_arousal(name) for name in emotions]
    if not points:
        raise ValueError("no emotions given: a painting's target valence/arousal needs at least one annotation")
    return (sum(v for v, _ in points) / len(points), sum(a for _, a in points) / len(points))


VA_RANGE = (-1.0, 1.0)
"""Valence and arousal each lie in this closed range (the table's scale)."""


def target_valence_arousal(emotion: str | None = None, valence: float | None = None,
                           arousal: float | None = None) -> tuple[float, float] | None:
    """A user's target feeling, checked: an ``emotion`` name (through the table), or ``valence`` and ``arousal``
    (each in [-1, 1]), or nothing (``None``: the model reads the feeling from the picture).

    Raises:
        ValueError: one line naming the valid list or range: an unknown emotion, both an emotion and valence/arousal,
            only one of valence and arousal, or a value that is not a number in [-1, 1].
    """
    if emotion is not None and str(emotion).strip() == "":
        emotion = None
    if emotion is not None:
        if valence is not None or arousal is not None:
            raise ValueError("give an emotion or valence/arousal, not both")
        return emotion_valence_arousal(emotion)
    if valence is None and arousal is None:
        return None
    if valence is None or arousal is None:
        raise ValueError(f"give both valence and arousal (each in [{VA_RANGE[0]:g}, {VA_RANGE[1]:g}]), got only "
                         f"{'valence' if arousal is None else 'arousal'}")
    checked = []
    for label, value in (("valence", valence), ("arousal", arousal)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not VA_RANGE[0] <= value <= VA_RANGE[1]:
            raise ValueError(f"{label} must be a number in [{VA_RANGE[0]:g}, {VA_RANGE[1]:g}], got {value!r}")
        checked.append(float(value))
    return checked[0], checked[1]


MOOD_WORDS: dict[str, tuple[str, ...]] = {
    "amusement": ("playful", "funny", "whimsical", "humorous", "silly", "quirky", "comical", "amusing", "cartoonish"),
    "awe": ("majestic", "epic", "grand", "sublime", "glorious", "stately", "awe-inspiring", "heavenly", "ethereal"),
    "contentment": ("peaceful", "calm", "relaxing", "relaxed", "soothing", "serene", "tranquil", "easygoing",
                    "mellow", "content"),
    "excitement": ("energetic", "exciting", "upbeat", "euphoric", "thrilling", "joyful", "happy", "lively",
                   "uplifting", "cheerful"),
    "anger": ("angry", "aggressive", "furious", "rebellious", "rage", "violent", "relentless"),
    "disgust": ("grotesque", "repulsive", "sickly", "sleazy", "queasy", "disgusting", "nauseating", "repulsed"),
    "fear": ("scary", "eerie", "ominous", "tense", "suspenseful", "horror", "creepy", "sinister", "terrified",
             "frightening", "unsettling"),
    "sadness": ("sad", "melancholic", "melancholy", "mournful", "somber", "sombre", "sorrowful", "gloomy", "lonely",
                "depressing", "heartbroken"),
}
"""Mood words of music captions (MusicCaps style) → the ArtEmis emotion they express: a hand-made list, not a
published lexicon; it lets clips whose caption names a mood train the music VA judge through the same table."""

_MOOD_INDEX = {word: emotion for emotion, words in MOOD_WORDS.items() for word in words}


def caption_emotions(caption: str) -> list[str]:
    """The emotions of the mood words in a caption, one per occurrence, in order (``[]`` when it names none)."""
    import re

    return [_MOOD_INDEX[word] for word in re.findall(r"[a-z]+(?:-[a-z]+)*", caption.lower()) if word in _MOOD_INDEX]


def caption_valence_arousal(caption: str) -> tuple[float, float] | None:
    """A caption's feeling: the mean (valence, arousal) of its mood words' emotions, or ``None`` when it names none."""
    emotions = caption_emotions(caption)
    return mean_valence_arousal(emotions) if emotions else None
