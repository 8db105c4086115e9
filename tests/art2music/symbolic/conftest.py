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


@pytest.fixture(scope="session")
def tiny_midi_pipeline(tmp_path_factory, tokenizer, demo_midis) -> Path:
    """A midi-engine pipeline folder whose tiny model was fitted for a few seconds to the demo pieces, so that it
    writes real notes (a random model rarely forms Pitch-Velocity-Duration triples)."""
    import torch

    from art2music.export.format import write_midi_pipeline
    from art2music.symbolic.model import SymbolicConfig, SymbolicModel, token_loss
    from art2music.symbolic.tokenizer import read_score, score_to_ids, token_facts

    facts = token_facts(tokenizer)
    torch.manual_seed(0)
    config = SymbolicConfig(vocab_size=len(tokenizer), pad_id=facts.pad, bos_id=facts.bos, eos_id=facts.eos,
                            d_model=48, heads=4, ffn_dim=96, max_tokens=100, image_size=32, dropout=0.0)
    model = SymbolicModel(config)
    sequences = [[facts.bos] + score_to_ids(tokenizer, read_score(path))[:98] + [facts.eos] for path in demo_midis[:4]]
    tokens = torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in sequences], batch_first=True,
                                             padding_value=facts.pad)
    pixels, va = torch.rand(len(sequences), 3, 32, 32), torch.zeros(len(sequences), 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(40):
        loss = token_loss(model(pixels, va, tokens[:, :-1]), tokens[:, 1:], facts.pad, 0.0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return write_midi_pipeline(tmp_path_factory.mktemp("pipelines") / "tiny-midi", model.eval(), tokenizer)
