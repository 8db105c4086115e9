"""Shared fixtures for the symbolic engine: a few composed demo pieces and a tokenizer trained on them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("miditok")


def compose_piece(path: Path, emotion: str, seed: int, seconds: float = 6.0) -> Path:
    """Write one procedurally composed demo piece (:mod:`art2music.demo_corpus.composition`) to ``path``."""
    from art2music.demo_corpus.composition import compose
    from art2music.demo_corpus.profiles import PROFILES

    compose(PROFILES[emotion], np.random.default_rng(seed), seconds).midi.save(str(path))
    return path


@pytest.fixture(scope="session")
def demo_midis(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("midis")
    emotions = ("amusement", "sadness", "anger", "contentment")
    return [compose_piece(folder / f"{emotion}-{k}.mid", emotion, 10 * i + k)
            for i, emotion in enumerate(emotions) for k in range(3)]


@pytest.fixture(scope="session")
def tokenizer(demo_midis):
    from art2music.symbolic.tokenizer import train_tokenizer

    trained, skipped = train_tokenizer(demo_midis, vocab_size=560)
    assert not skipped
    return trained
