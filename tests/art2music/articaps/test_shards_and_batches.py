"""Shards own whole chunks of the plan, and encoder batches have boundaries fixed in plan order."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from art2music.articaps.feature_cache import FeatureCache
from art2music.articaps.features import FeatureSettings, embedding_batches, extract_embeddings
from art2music.articaps.manifest import ManifestRow
from art2music.articaps.shards import ShardSpec, plan_chunk_rows
from vocoder.mel import MelConfig


def test_shards_own_whole_chunks_and_cover_the_plan_once():
    assert ShardSpec(0, 2).rows(10, 3) == [0, 1, 2, 6, 7, 8]
    assert ShardSpec(1, 2).rows(10, 3) == [3, 4, 5, 9]
    rows = sorted(k for i in range(3) for k in ShardSpec(i, 3).rows(23, 4))
    assert rows == list(range(23))
    assert ShardSpec(1, 3).rows(10) == [1, 4, 7]  # chunk 1: the layout of plans published before chunks
    assert plan_chunk_rows({}) == 1 and plan_chunk_rows({"chunk_rows": 32}) == 32
    with pytest.raises(ValueError, match="chunk_rows"):
        ShardSpec(0, 1).rows(5, 0)


def test_embedding_batches_are_cut_at_plan_positions():
    # Shard 1 of 2 with 4-row chunks owns plan rows 4-7 and 12-13: its batches are the single build's.
    assert embedding_batches([4, 5, 6, 7, 12, 13], 4) == [[0, 1, 2, 3], [4, 5]]
    assert embedding_batches(range(6), 4) == [[0, 1, 2, 3], [4, 5]]
    with pytest.raises(ValueError, match="batch_size"):
        embedding_batches([0], 0)


class RecordingEncoder(torch.nn.Module):
    """A stand-in encoder that records each batch it embeds: image i → vector of its mean pixel."""

    embed_dim = 4

    def __init__(self):
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(1))
        self.image_batches: list[int] = []
        self.text_batches: list[int] = []

    def preprocess(self, images):
        return [torch.tensor(np.asarray(image, dtype=np.float32).mean()) for image in images]

    def tokenize(self, texts):
        return torch.tensor([[float(len(text))] for text in texts])

    def encode_images(self, pixels):
        self.image_batches.append(len(pixels))
        return pixels[:, None].repeat(1, self.embed_dim)

    def encode_texts(self, tokens):
        self.text_batches.append(len(tokens))
        return tokens.repeat(1, self.embed_dim)


def _rows_and_cache(tmp_path, count: int):
    for shade in range(3):
        Image.new("RGB", (8, 8), (shade * 40,) * 3).save(tmp_path / f"p{shade}.png")
    rows = [ManifestRow(id=f"r{k}", image_path=f"p{k % 3}.png", comment="x" * (k + 1), emotion="awe",
                        audio_path="a.wav", caption="c", match_score=0.5, split="train") for k in range(count)]
    cache = FeatureCache.create(tmp_path / "cache", [row.id for row in rows], 4, MelConfig(), {"arch": "fake"},
                                RecordingEncoder.embed_dim)
    return rows, cache


def test_a_resumed_run_embeds_whole_batches(tmp_path):
    rows, cache = _rows_and_cache(tmp_path, 6)
    settings = FeatureSettings(batch_size=4, progress=False)
    encoder = RecordingEncoder()
    assert extract_embeddings(cache, rows, tmp_path, encoder, settings) == []
    assert encoder.text_batches == [4, 2] and encoder.image_batches == [3, 2]  # paintings embedded once a batch
    assert np.allclose(cache.text_embeddings[:, 0], [len(row.comment) for row in rows])
    cache.embedding_done[[1, 5]] = 0  # as after a crash: one row of each batch left to do
    encoder = RecordingEncoder()
    extract_embeddings(cache, rows, tmp_path, encoder, settings, skip={5})
    assert encoder.text_batches == [4]  # the first batch again, whole; the second's only row left is skipped
    assert cache.embedding_done[1] == 1 and cache.embedding_done[5] == 0
