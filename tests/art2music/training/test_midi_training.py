"""train-midi through LightningCLI on a tiny demo-shaped corpus: fit, resume from last.ckpt, export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

pytest.importorskip("miditok")
pytest.importorskip("lightning")


def _tiny_raw(root: Path) -> Path:
    from art2music.demo_corpus.composition import compose
    from art2music.demo_corpus.profiles import PROFILES

    raw = root / "raw"
    rows = ["kind,key,emotion"]
    for e, emotion in enumerate(("amusement", "sadness")):
        for k in range(4):
            folder = raw / "wikiart" / "Style"
            folder.mkdir(parents=True, exist_ok=True)
            shade = 220 if emotion == "amusement" else 40
            Image.fromarray(np.full((24, 24, 3), shade, dtype=np.uint8)).save(folder / f"{emotion}-{k}.jpg")
            rows.append(f"painting,Style/{emotion}-{k},{emotion}")
            (raw / "midi").mkdir(exist_ok=True)
            compose(PROFILES[emotion], np.random.default_rng(10 * e + k), 3.0).midi.save(str(raw / "midi" / f"{emotion}{k}.mid"))
            rows.append(f"clip,{emotion}{k},{emotion}")
    (raw / "midi" / "broken.mid").write_bytes(b"MThd junk")
    rows.append("clip,broken,sadness")
    (raw / "demo_labels.csv").write_text("\n".join(rows) + "\n")
    return raw


def test_fit_resume_and_export(tmp_path, capsys):
    from art2music.symbolic.pipeline import Art2Midi
    from art2music.training.midi_cli import main
    from art2music.training.midi_export import export_checkpoint

    raw = _tiny_raw(tmp_path)
    run = tmp_path / "run"
    common = ["--config", "configs/demo/midi.yaml", f"--data.raw_dir={raw}", f"--data.work_dir={run}/data",
              "--data.composed_per_emotion=2", "--data.composed_seconds=3", "--data.vocab_size=560",
              "--data.batch_size=4", "--data.pairs_per_painting=2", "--model.d_model=32", "--model.ffn_dim=64",
              "--model.max_tokens=96", "--model.image_size=32", "--model.regressor_steps=5",
              "--trainer.logger=false", "--trainer.enable_progress_bar=false", "--trainer.val_check_interval=2",
              f"--trainer.default_root_dir={run}", "--trainer.callbacks=lightning.pytorch.callbacks.ModelCheckpoint",
              f"--trainer.callbacks.dirpath={run}/checkpoints", "--trainer.callbacks.save_last=true",
              "--trainer.callbacks.every_n_train_steps=1"]
    assert main(["fit", *common, "--trainer.max_steps=2"]) == 0
    assert "skipped broken.mid: corrupt" in capsys.readouterr().err
    last = run / "checkpoints" / "last.ckpt"
    first = torch.load(last, map_location="cpu", weights_only=True)
    assert first["global_step"] == 2 and bool(first["state_dict"]["regressor_ready"])
    regressor = first["state_dict"]["va_regressor.embedding.weight"].clone()
    assert main(["fit", *common, "--trainer.max_steps=4", "--ckpt_path", "last"]) == 0
    resumed = torch.load(last, map_location="cpu", weights_only=True)
    assert resumed["global_step"] == 4
    torch.testing.assert_close(resumed["state_dict"]["va_regressor.embedding.weight"], regressor)  # not retrained
    folder = export_checkpoint(last, run / "data" / "tokenizer.json", tmp_path / "exported")
    pipe = Art2Midi.from_pretrained(folder)
    assert pipe.model.config.d_model == 32 and pipe.predict_va([raw / "wikiart" / "Style" / "sadness-0.jpg"]).shape == (1, 2)
