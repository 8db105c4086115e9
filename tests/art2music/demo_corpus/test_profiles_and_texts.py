"""Emotion profiles are complete and valid; comments and captions carry their emotion's words."""

from __future__ import annotations

import numpy as np
import pytest

from art2music.demo_corpus.paintings import paint
from art2music.demo_corpus.profiles import DEFAULT_EMOTIONS, PROFILES, SCALES, profile
from art2music.demo_corpus.texts import SHAPE_WORDS, write_caption, write_comment
from art2music.emotions import EMOTIONS


def test_every_emotion_has_a_valid_profile():
    assert set(PROFILES) == set(EMOTIONS) and len(DEFAULT_EMOTIONS) == 8
    for p in PROFILES.values():
        assert all(scale in SCALES for scale in p.scales)
        assert all(0 <= program <= 127 for program in p.melody_programs + p.bass_programs)
        assert p.tempo[0] <= p.tempo[1] and 1 <= p.velocity[0] <= p.velocity[1] <= 127
        assert all(style in SHAPE_WORDS for style in p.shapes)
        assert len(set(p.feelings)) >= 4 and len(set(p.moods)) >= 4
    assert profile("Something_Else").emotion == "something else"


def test_paintings_are_deterministic_and_follow_the_emotion():
    def brightness(emotion, seed):
        return np.asarray(paint(PROFILES[emotion], np.random.default_rng(seed), 64), dtype=float).mean()

    first = np.asarray(paint(PROFILES["awe"], np.random.default_rng(5), 64))
    assert first.shape == (64, 64, 3)
    assert np.array_equal(first, np.asarray(paint(PROFILES["awe"], np.random.default_rng(5), 64)))
    assert min(brightness("amusement", s) for s in range(5)) > max(brightness("sadness", s) for s in range(5))
    assert max(brightness("fear", s) for s in range(5)) < 90


@pytest.mark.parametrize("emotion", DEFAULT_EMOTIONS)
def test_texts_use_their_emotions_vocabulary(emotion):
    p = PROFILES[emotion]
    rng = np.random.default_rng(0)
    for _ in range(5):
        comment = write_comment(p, rng, p.shapes[0])
        assert any(feeling in comment.lower() for feeling in p.feelings), comment
        assert comment[0].isupper()
        caption = write_caption(p, rng, p.melody_programs[0], p.drums[0], p.tempo[0])
        assert any(mood in caption for mood in p.moods) and f"{p.tempo[0]} bpm" in caption
        assert " a energetic" not in caption and " a aggressive" not in caption
