"""predict-mels writes the vocoder's fine-tuning data from a stage-1 export, skipping finished ids on rerun."""

from __future__ import annotations

import csv

import numpy as np
import torch

from art2music.cli import main as cli_main
from art2music.audio_engine.stage1 import Stage1Config, Stage1Model


def test_predict_mels_round_trip(tiny_articaps, tmp_path):
    torch.manual_seed(0)
    model = Stage1Model(Stage1Config(embed_dim=8, fusion_dim=8, decoder_input_dim=8, lstm_hidden=8, lstm_layers=1,
                                     frames=16)).eval()
    from art2music.export.format import save_stage1
    from vocoder.mel import MelConfig

    save_stage1(model, tmp_path / "stage1", MelConfig(), {"arch": "art2music-tiny", "pretrained": None})
    out = tmp_path / "predicted"
    assert cli_main(["predict-mels", "--model", str(tmp_path / "stage1"), "--data", str(tiny_articaps),
                     "--out", str(out)]) == 0
    rows = list(csv.DictReader((out / "index.csv").open()))
    assert len(rows) == 10 and {r["split"] for r in rows} == {"train", "val"}
    mel = np.load(out / rows[0]["mel_path"])
    assert mel.shape == (80, 16) and mel.dtype == np.float32
    from art2music.articaps.feature_cache import FeatureCache

    cache = FeatureCache.open(tiny_articaps / "cache")
    with torch.no_grad():
        expected = model(torch.from_numpy(np.array(cache.text_embeddings[0:1])),
                         torch.from_numpy(np.array(cache.image_embeddings[0:1])), 16)[0].numpy()
    assert np.allclose(np.load(out / "mels" / "pair000.npy"), expected, atol=1e-6)
    # Rerun: finished ids are skipped (their files untouched).
    stamp = (out / "mels" / "pair000.npy").stat().st_mtime_ns
    assert cli_main(["predict-mels", "--model", str(tmp_path / "stage1"), "--data", str(tiny_articaps),
                     "--out", str(out)]) == 0
    assert (out / "mels" / "pair000.npy").stat().st_mtime_ns == stamp
    assert cli_main(["predict-mels", "--model", str(tmp_path / "nope"), "--data", str(tiny_articaps),
                     "--out", str(out)]) == 2
