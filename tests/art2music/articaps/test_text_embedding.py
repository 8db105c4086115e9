"""The bundled all-MiniLM-L6-v2 loads offline and embeds meaning, not just words."""

from __future__ import annotations

import numpy as np
import pytest

from art2music.articaps.text_embedding import MINILM_DIM, SentenceEmbedder, TextModelNotFound


def test_unit_vectors_that_rank_by_meaning(sentence_embedder):
    vectors = sentence_embedder.embed(["This painting makes me feel sad and lonely.",
                                       "A mournful, melancholic slow cello piece.",
                                       "An upbeat, cheerful dance track with fast drums."])
    assert vectors.shape == (3, MINILM_DIM) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.1
    assert sentence_embedder.embed([]).shape == (0, MINILM_DIM)
    again = sentence_embedder.embed(["A mournful, melancholic slow cello piece."])
    assert np.allclose(again[0], vectors[1], atol=1e-5)  # deterministic


def test_not_a_model_folder(tmp_path):
    with pytest.raises(TextModelNotFound, match="make install"):
        SentenceEmbedder(tmp_path)
