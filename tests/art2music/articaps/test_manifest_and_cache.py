"""The manifest format and the feature cache: round trips, validation errors, config checks, resuming."""

from __future__ import annotations

import numpy as np
import pytest

from art2music.articaps.feature_cache import CacheMismatchError, FeatureCache
from art2music.articaps.manifest import COLUMNS, COLUMNS_WITHOUT_MIDI, Manifest, ManifestError, ManifestRow, read_manifest
from vocoder.mel import MelConfig


def row(pair_id="a1", **overrides) -> ManifestRow:
    values = dict(id=pair_id, image_path="img/a.jpg", comment='calm, "quiet" sea', emotion="Contentment",
                  audio_path="audio/a.wav", caption="soft piano", match_score=0.42, split="train")
    values.update(overrides)
    return ManifestRow(**values)


def test_manifest_round_trip(tmp_path):
    manifest = Manifest([row("a1"), row("b2", comment="", emotion="something_else", split="test")], tmp_path)
    manifest.write(tmp_path / "manifest.csv")
    header = (tmp_path / "manifest.csv").read_text().splitlines()[0]
    assert header == ",".join(COLUMNS)
    loaded = read_manifest(tmp_path / "manifest.csv")
    assert loaded.ids == ["a1", "b2"]
    assert loaded[0].comment == 'calm, "quiet" sea' and loaded[0].emotion == "contentment"
    assert loaded[1].emotion == "something else" and loaded[1].comment == ""
    assert loaded.split_indices("test") == [1]
    assert loaded.resolve("img/a.jpg") == tmp_path / "img/a.jpg"


@pytest.mark.parametrize("bad_line, message", [
    ("x1,i.jpg,c,joy,a.wav,cap,0.5,train", "unknown emotion 'joy'"),
    ("x1,i.jpg,c,awe,a.wav,cap,0.5,holdout", "split 'holdout'"),
    ("x1,i.jpg,c,awe,a.wav,cap,2.5,train", "match_score"),
    ("../x,i.jpg,c,awe,a.wav,cap,0.5,train", "id '../x'"),
    ("x1,i.jpg,c,awe,a.wav,cap,0.5", "expected 8 fields"),
])
def test_bad_rows_name_the_line(tmp_path, bad_line, message):
    path = tmp_path / "manifest.csv"  # a manifest written before midi_path existed
    path.write_text(",".join(COLUMNS_WITHOUT_MIDI) + "\nok1,i.jpg,c,awe,a.wav,cap,0.5,train\n" + bad_line + "\n")
    with pytest.raises(ManifestError, match=f"manifest.csv:3: .*{message}" if "fields" not in message else message):
        read_manifest(path)


def test_bad_header_duplicates_and_encoding(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("id,image\n")
    with pytest.raises(ManifestError, match="missing"):
        read_manifest(path)
    path.write_text(",".join(COLUMNS) + "\nd,i,c,awe,a,,cap,0.5,train\nd,i,c,awe,a,,cap,0.5,train\n")
    with pytest.raises(ManifestError, match="duplicate id 'd'"):
        read_manifest(path)
    path.write_bytes((",".join(COLUMNS) + "\nd,i,caf\xe9,awe,a,,cap,0.5,train\n").encode("latin-1"))
    with pytest.raises(ManifestError, match="not UTF-8"):
        read_manifest(path)
    with pytest.raises(FileNotFoundError, match="build-articaps"):
        read_manifest(tmp_path / "absent.csv")


SPEC = {"arch": "art2music-tiny", "pretrained": None, "normalize": True, "embed_dim": 4}


def test_cache_write_read_and_padding(tmp_path):
    config = MelConfig()
    cache = FeatureCache.create(tmp_path / "cache", ["a", "b"], frames=10, mel_config=config, encoder_spec=SPEC,
                                embed_dim=4)
    assert cache.missing_rows().tolist() == [0, 1]
    short = np.full((80, 6), -3.0, dtype=np.float32)
    cache.write_mel(0, short)
    cache.write_mel(1, np.zeros((80, 25), dtype=np.float32))  # cropped to 10 frames
    cache.write_embeddings([0, 1], np.ones((2, 4)), np.full((2, 4), 2.0))
    cache.flush()
    reopened = FeatureCache.open(tmp_path / "cache", mel_config=config, encoder_spec=SPEC, ids=["a", "b"])
    assert reopened.is_complete()
    mel = reopened.mel(0)
    assert mel.shape == (80, 10)
    assert np.allclose(mel[:, :6], -3.0) and np.allclose(mel[:, 6:], config.silence_value, atol=1e-2)
    assert np.allclose(reopened.mel(1), 0.0)
    assert np.allclose(reopened.text_embeddings[1], 2.0)
    with pytest.raises(PermissionError):
        reopened.write_mel(0, short)


def test_cache_refuses_other_configs(tmp_path):
    FeatureCache.create(tmp_path / "cache", ["a"], 5, MelConfig(), SPEC, 4)
    with pytest.raises(CacheMismatchError, match="hop_length: 256 here vs 200"):
        FeatureCache.open(tmp_path / "cache", mel_config=MelConfig(hop_length=200))
    with pytest.raises(CacheMismatchError, match="arch: expected 'ViT-H-14', cache has 'art2music-tiny'"):
        FeatureCache.open(tmp_path / "cache", encoder_spec={**SPEC, "arch": "ViT-H-14"})
    with pytest.raises(CacheMismatchError, match="manifest changed"):
        FeatureCache.open(tmp_path / "cache", ids=["a", "b"])
    with pytest.raises(FileExistsError, match="resume"):
        FeatureCache.create(tmp_path / "cache", ["a"], 5, MelConfig(), SPEC, 4)
    with pytest.raises(FileNotFoundError, match="build-articaps"):
        FeatureCache.open(tmp_path / "nothing")


def test_datamodule_batches_from_cache(tiny_articaps):
    from art2music.training.stage1_data import Stage1DataModule

    data = Stage1DataModule(str(tiny_articaps), batch_size=3, num_workers=2)
    assert (data.embed_dim, data.frames) == (8, 16)
    data.setup("fit")
    batches = list(data.train_dataloader())
    assert sum(len(b["index"]) for b in batches) == 8
    assert batches[0]["mel"].shape[1:] == (80, 16) and batches[0]["text_embedding"].shape[1:] == (8,)
    assert data.mean_train_mel().shape == (80,)
    assert len(list(data.val_dataloader())[0]["index"]) == 2


def test_mel_readers_hide_the_stored_layout(tmp_path):
    config = MelConfig()
    cache = FeatureCache.create(tmp_path / "cache", ["a", "b", "c"], frames=7, mel_config=config, encoder_spec=SPEC,
                                embed_dim=4)
    rng = np.random.default_rng(0)
    mels = [rng.normal(-5, 2, (80, 7)).astype(np.float16).astype(np.float32) for _ in range(3)]  # exact in float16
    for index, mel in enumerate(mels):
        cache.write_mel(index, mel)
    cache.write_embeddings([0, 1, 2], rng.normal(size=(3, 4)), rng.normal(size=(3, 4)))
    batch = cache.mel_batch([2, 0])
    assert batch.shape == (2, 80, 7) and batch.flags.c_contiguous
    assert np.array_equal(batch[0], mels[2]) and np.array_equal(batch[1], mels[0])
    assert np.allclose(cache.mean_mel([0, 1]), (mels[0] + mels[1]) / 2, atol=1e-6)
    assert np.allclose(cache.mean_mel_per_bin([0, 1, 2], chunk=2), np.mean(mels, axis=(0, 2)), atol=1e-5)
    merged = FeatureCache.create(tmp_path / "merged", ["c"], frames=7, mel_config=config, encoder_spec=SPEC,
                                 embed_dim=4)
    merged.copy_row_from(0, cache, 2)
    assert np.array_equal(merged.mel(0), mels[2])
    assert np.array_equal(merged.text_embeddings[0], cache.text_embeddings[2])
    with pytest.raises(ValueError, match="at least one row"):
        cache.mean_mel([])
