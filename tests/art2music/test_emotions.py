"""The emotion table's helpers: a painting's mean target, and a user's checked target."""

import math

import pytest

from art2music.emotions import (MOOD_WORDS, VALENCE_AROUSAL, caption_emotions, caption_valence_arousal,
                                emotion_valence_arousal, mean_valence_arousal, target_valence_arousal)


def test_mean_over_annotators_is_the_average_of_their_table_points():
    sad, content = VALENCE_AROUSAL["sadness"], VALENCE_AROUSAL["contentment"]
    valence, arousal = mean_valence_arousal(["sadness", "Contentment", "sadness"])
    assert valence == pytest.approx((2 * sad[0] + content[0]) / 3)
    assert arousal == pytest.approx((2 * sad[1] + content[1]) / 3)
    assert mean_valence_arousal(["fear"]) == VALENCE_AROUSAL["fear"]
    assert emotion_valence_arousal("something_else") == (0.0, 0.0)


def test_mean_refuses_nothing_and_unknown_words():
    with pytest.raises(ValueError, match="at least one"):
        mean_valence_arousal([])
    with pytest.raises(ValueError, match="expected one of amusement"):
        mean_valence_arousal(["joy"])


def test_user_target_from_emotion_values_or_nothing():
    assert target_valence_arousal() is None
    assert target_valence_arousal(emotion="") is None
    assert target_valence_arousal(emotion="sadness") == VALENCE_AROUSAL["sadness"]
    assert target_valence_arousal(valence=0.8, arousal=-0.3) == (0.8, -0.3)
    assert target_valence_arousal(valence=1, arousal=-1) == (1.0, -1.0)


@pytest.mark.parametrize("kwargs, message", [
    ({"valence": 1.5, "arousal": 0.0}, r"valence must be a number in \[-1, 1\], got 1.5"),
    ({"valence": 0.0, "arousal": math.nan}, r"arousal must be a number in \[-1, 1\]"),
    ({"valence": 0.2}, "give both valence and arousal"),
    ({"emotion": "sadness", "valence": 0.2, "arousal": 0.1}, "not both"),
    ({"emotion": "happy"}, "expected one of amusement, awe"),
    ({"valence": True, "arousal": 0.0}, "valence must be a number"),
])
def test_user_target_errors_name_the_valid_range_or_list(kwargs, message):
    with pytest.raises(ValueError, match=message):
        target_valence_arousal(**kwargs)


def test_caption_mood_words_map_to_emotions_through_the_table():
    caption = "A Mournful, somber piano piece; later a playful melody. Not scary-sounding."
    assert caption_emotions(caption) == ["sadness", "sadness", "amusement"]
    assert caption_valence_arousal(caption) == pytest.approx(mean_valence_arousal(["sadness", "sadness", "amusement"]))
    assert caption_valence_arousal("A piano plays scales in C.") is None
    assert set(MOOD_WORDS) == set(VALENCE_AROUSAL) - {"something else"}
    words = [word for group in MOOD_WORDS.values() for word in group]
    assert len(words) == len(set(words))  # each word names one emotion
