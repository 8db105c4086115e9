"""train-midi through LightningCLI on a tiny demo-shaped corpus: fit, resume from last.ckpt, export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

pytest.importorskip("miditok")
pytest.importorskip("lightning")


def _tiny_manifest(root: Path) -> Path:
    """A demo-shaped ArtiCaps manifest: per emotion 4 paintings and 4 composed pieces (2 train, 1 val, 1 test),
    paired one to one, and a corrupt MIDI file named by a training row."""
    from art2music.articaps.manifest import Manifest, ManifestRow
    from art2music.demo_corpus.composition import compose
    from art2music.demo_corpus.profiles import PROFILES

    raw = root / "raw"
    (raw / "wikiart" / "Style").mkdir(parents=True)
    (raw / "midi").mkdir()
    rows = []
    for e, emotion in enumerate(("amusement", "sadness")):
        for k, split in enumerate(("train", "train", "val", "test")):
            shade = 220 if emotion == "amusement" else 40
            Image.fromarray(np.full((24, 24, 3), shade, dtype=np.uint8)).save(raw / "wikiart" / "Style" / f"{emotion}-{k}.jpg")
            compose(PROFILES[emotion], np.random.default_rng(10 * e + k), 3.0).midi.save(str(raw / "midi" / f"{emotion}{k}.mid"))
            rows.append(ManifestRow(id=f"{emotion}{k}", image_path=f"raw/wikiart/Style/{emotion}-{k}.jpg", comment="c",
                                    emotion=emotion, audio_path=f"raw/audio/{emotion}{k}.wav", caption="a caption",
                                    match_score=0.5, split=split, midi_path=f"raw/midi/{emotion}{k}.mid"))
    (raw / "midi" / "broken.mid").write_bytes(b"MThd junk")
    rows.append(ManifestRow(id="broken", image_path="raw/wikiart/Style/sadness-0.jpg", comment="c", emotion="sadness",
                            audio_path="raw/audio/broken.wav", caption="a caption", match_score=0.5, split="train",
                            midi_path="raw/midi/broken.mid"))
    Manifest(rows, root).write(root / "manifest.csv")
    return root / "manifest.csv"


def test_fit_resume_and_export(tmp_path, capsys):
    from art2music.symbolic.pipeline import Art2Midi
    from art2music.training.midi_cli import main
    from art2music.training.midi_export import export_checkpoint

    manifest = _tiny_manifest(tmp_path)
    raw = tmp_path / "raw"
    run = tmp_path / "run"
    common = ["--config", "configs/demo/midi.yaml", f"--data.manifest={manifest}", f"--data.work_dir={run}/data",
              "--data.composed_per_emotion=2", "--data.composed_seconds=3", "--data.vocab_size=560",
              "--data.batch_size=4", "--data.pairs_per_painting=2", "--model.d_model=32", "--model.ffn_dim=64",
              "--model.max_tokens=96", "--model.image_size=32", "--model.regressor_steps=5",
              "--model.va_loss_weight=1.0",  # the VA-loss arm: its regressor is trained once and kept on resume
              "--trainer.logger=false", "--trainer.enable_progress_bar=false", "--trainer.val_check_interval=2",
              f"--trainer.default_root_dir={run}", "--trainer.callbacks=lightning.pytorch.callbacks.ModelCheckpoint",
              f"--trainer.callbacks.dirpath={run}/checkpoints", "--trainer.callbacks.save_last=true",
              "--trainer.callbacks.every_n_train_steps=1"]
    assert main(["fit", *common, "--trainer.max_steps=2"]) == 0
    err = capsys.readouterr().err
    assert "skipped broken.mid: corrupt" in err and "1 of 13 MIDI files skipped" in err  # 8 pieces + 4 composed + 1
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
    from art2music.training.midi_export import main as export_main

    assert export_main(["--checkpoint", str(last), "--tokenizer", str(run / "data" / "tokenizer.json"), "--out",
                        str(tmp_path / "chosen"), "--sampling", "configs/demo/midi-sampling.yaml",
                        "--temperature", "0.9"]) == 0
    chosen = Art2Midi.from_pretrained(tmp_path / "chosen").sampling
    import yaml

    shipped = yaml.safe_load(open("configs/demo/midi-sampling.yaml"))
    assert chosen.temperature == 0.9 and chosen.key_prior == shipped["key_prior"]  # the flag wins over the file
    bad = tmp_path / "bad.yaml"
    bad.write_text("temprature: 0.5\n")
    assert export_main(["--checkpoint", str(last), "--tokenizer", str(run / "data" / "tokenizer.json"), "--out",
                        str(tmp_path / "bad"), "--sampling", str(bad)]) == 2
    assert "unknown sampling settings ['temprature']" in capsys.readouterr().err
    assert pipe.model.config.d_model == 32 and pipe.predict_va([raw / "wikiart" / "Style" / "sadness-0.jpg"]).shape == (1, 2)


def test_the_datamodule_reads_paintings_pieces_and_splits_from_the_manifest(tmp_path):
    from art2music.articaps.manifest import Manifest, read_manifest
    from art2music.training.midi_data import read_manifest_corpus

    manifest_path = _tiny_manifest(tmp_path)
    paintings, pieces = read_manifest_corpus(manifest_path)
    assert len(paintings) == 8 and len(pieces) == 9  # sadness-0.jpg is named twice; broken.mid is one more piece
    assert {(p.path.name, p.split) for p in pieces} >= {("amusement3.mid", "test"), ("sadness2.mid", "val")}
    assert all(p.path.is_file() and p.path.parent == tmp_path / "raw" / "midi" for p in pieces)
    amusement = [p for p in paintings if p.emotion == "amusement"]
    assert len(amusement) == 4 and all(p.valence > 0 for p in amusement)
    assert [p.split for p in amusement] == ["train", "train", "val", "test"]
    rows = read_manifest(manifest_path)
    no_midi = Manifest([row.__class__(**{**row.__dict__, "midi_path": ""}) for row in rows], tmp_path)
    no_midi.write(tmp_path / "no-midi.csv")
    with pytest.raises(ValueError, match="names no MIDI"):
        read_manifest_corpus(tmp_path / "no-midi.csv")


def test_bad_emopia_files_are_named_and_counted_and_the_good_ones_used(tmp_path, capsys):
    import shutil

    from art2music.training.midi_data import SymbolicDataModule

    manifest = _tiny_manifest(tmp_path)
    emopia = tmp_path / "EMOPIA" / "midis"
    emopia.mkdir(parents=True)
    shutil.copy(tmp_path / "raw" / "midi" / "amusement0.mid", emopia / "Q1_songA_0.mid")
    shutil.copy(tmp_path / "raw" / "midi" / "sadness1.mid", emopia / "Q3_songB_1.mid")
    (emopia / "Q2_songC_0.mid").write_bytes(b"")                                  # empty
    (emopia / "Q4_songD_0.mid").write_bytes(b"MThd\x00\x00\x00\x06 garbage")     # corrupt
    shutil.copy(tmp_path / "raw" / "midi" / "sadness0.mid", emopia / "cover.mid")  # not an EMOPIA name
    data = SymbolicDataModule(manifest=str(manifest), work_dir=str(tmp_path / "work"), composed_per_emotion=0,
                              emopia_dir=str(emopia.parent), vocab_size=560, image_size=16)
    err = capsys.readouterr().err
    assert "ignored cover.mid: not an EMOPIA name" in err and "1 files in" in err
    assert "skipped Q2_songC_0.mid: empty" in err and "skipped Q4_songD_0.mid: corrupt" in err
    assert "skipped broken.mid: corrupt" in err and "3 of 13 MIDI files skipped" in err  # 9 manifest + 4 EMOPIA
    names = {piece.path.name for piece in data.pieces}
    assert {"Q1_songA_0.mid", "Q3_songB_1.mid"} <= names and not names & {"Q2_songC_0.mid", "Q4_songD_0.mid"}
    assert len(data.sequences) == len(data.pieces) == 10


def test_music21_pieces_train_the_decoder_unpaired(tmp_path):
    """Bach chorales from the music21 corpus join training without a painting or a feeling: blank image, "no VA"."""
    pytest.importorskip("music21")
    from art2music.symbolic.music21_corpus import read_music21
    from art2music.training.midi_data import NO_PAINTING, SymbolicDataModule, collate_pairs
    from art2music.training.midi_module import SymbolicModule

    pieces, skipped = read_music21(tmp_path / "m21", 3)
    assert not skipped and len(pieces) == 3 and all(p.pretraining and p.path.is_file() for p in pieces)
    assert sorted(p.split for p in pieces) == ["test", "train", "val"]
    stamp = pieces[0].path.stat().st_mtime_ns
    assert read_music21(tmp_path / "m21", 3)[0][0].path.stat().st_mtime_ns == stamp  # converted once

    data = SymbolicDataModule(manifest=str(_tiny_manifest(tmp_path)), work_dir=str(tmp_path / "data"), composed_per_emotion=0,
                              vocab_size=560, image_size=32, max_tokens=96, pairs_per_painting=1, music21_pieces=3)
    pairs = data.pairs("train")
    unpaired = [pair for pair in pairs if pair[0] == NO_PAINTING]
    assert len(unpaired) == 1 and data.pieces[unpaired[0][1]].pretraining
    assert len(data.regressor_data("train")[0]) == sum(1 for p in data.pieces if p.split == "train" and not p.pretraining)
    dataset = data.dataset("train")
    items = [dataset[k] for k in range(len(dataset))]
    blank = next(item for item, pair in zip(items, pairs) if pair[0] == NO_PAINTING)
    assert torch.isnan(blank[1]).all() and not blank[0].any()
    batch = collate_pairs(items[-4:], data.pad_id)
    for null_va in (True, False):
        module = SymbolicModule(vocab_size=data.vocab_size, pad_id=data.pad_id, bos_id=data.bos_id, eos_id=data.eos_id,
                                d_model=32, ffn_dim=64, max_tokens=96, image_size=32, null_va=null_va,
                                va_every_position=True, va_loss_weight=0.0)
        if not null_va:
            with pytest.raises(ValueError, match="null_va"):
                module._step(batch, "val")
            continue
        loss = module._step(batch, "val")
        loss.backward()
        assert torch.isfinite(loss)
        assert all(torch.isfinite(p.grad).all() for p in module.parameters() if p.grad is not None)
        assert module.model.null_va.grad is not None and module.model.null_va.grad.abs().sum() > 0


def test_mismatched_pairs_are_conditioned_on_the_pieces_va_and_only_in_training(tmp_path):
    """With ``mismatched_share`` a share of the training pairs join a painting with a piece of another emotion, and
    their VA condition is the piece's (the music's feeling), not the painting's; val/test pairs do not change."""
    from art2music.symbolic.corpus import emotion_va
    from art2music.training.midi_data import SymbolicDataModule

    common = dict(manifest=str(_tiny_manifest(tmp_path)), work_dir=str(tmp_path / "data"), composed_per_emotion=2,
                  composed_seconds=3.0, vocab_size=560, image_size=16, max_tokens=96, pairs_per_painting=4)
    plain = SymbolicDataModule(**common)
    mixed = SymbolicDataModule(**common, mismatched_share=0.5)
    for split in ("val", "test"):
        assert mixed.pairs(split) == plain.pairs(split)
        torch.testing.assert_close(mixed.pair_va(split), plain.pair_va(split))
    pairs, va = mixed.pairs("train"), mixed.pair_va("train")
    assert len(pairs) == len(plain.pairs("train")) == 4 * 4 and va.shape == (16, 2)  # 4 training paintings
    dataset = mixed.dataset("train")
    crossed = 0
    for k, (painting, piece) in enumerate(pairs):
        painting, piece = mixed.paintings[painting], mixed.pieces[piece]
        assert painting.split == piece.split == "train"
        torch.testing.assert_close(va[k], torch.tensor(emotion_va(piece.emotion)))  # the music's feeling
        torch.testing.assert_close(dataset[k][1], va[k])
        if painting.emotion != piece.emotion:
            crossed += 1
            assert not torch.allclose(va[k], torch.tensor(emotion_va(painting.emotion)))
    assert crossed == 8  # round(4 × 0.5) per painting
    assert all(mixed.paintings[p].emotion == mixed.pieces[q].emotion for p, q in plain.pairs("train"))
    with pytest.raises(ValueError, match="mismatched_share must be in"):
        SymbolicDataModule(**common, mismatched_share=1.5)


def test_the_va_head_learns_the_paintings_feeling_and_init_weights_starts_from_a_folder(tmp_path):
    """On a mismatched pair the decoder's condition is the piece's VA but the VA head still learns the painting's;
    ``model.init_weights`` starts from an exported folder's weights and refuses one of other sizes."""
    import torch.nn.functional as F

    from art2music.export.format import write_midi_pipeline
    from art2music.training.midi_data import SymbolicDataModule, collate_pairs
    from art2music.training.midi_module import SymbolicModule

    data = SymbolicDataModule(manifest=str(_tiny_manifest(tmp_path)), work_dir=str(tmp_path / "data"),
                              composed_per_emotion=0, vocab_size=560, image_size=32, max_tokens=96,
                              pairs_per_painting=2, mismatched_share=0.5)
    dataset = data.dataset("train")
    crossed = [dataset[k] for k, (p, q) in enumerate(data.pairs("train"))
               if data.paintings[p].emotion != data.pieces[q].emotion]
    batch = collate_pairs(crossed[:4], data.pad_id)
    assert len(batch) == 4 and not torch.allclose(batch[1], batch[3])  # the condition is not the painting's VA
    sizes = dict(vocab_size=data.vocab_size, pad_id=data.pad_id, bos_id=data.bos_id, eos_id=data.eos_id, d_model=32,
                 ffn_dim=64, max_tokens=96, image_size=32, null_va=True, va_every_position=True, va_loss_weight=0.0)
    module = SymbolicModule(**sizes).eval()
    logged = {}
    module.log = lambda name, value, **_: logged.__setitem__(name, value.detach())
    module._step(batch, "val")
    with torch.no_grad():
        predicted = module.model.predict_va(module.model.image_grid(batch[0]))
    torch.testing.assert_close(logged["val/va_head"], F.mse_loss(predicted, batch[3]))
    assert not torch.isclose(logged["val/va_head"], F.mse_loss(predicted, batch[1]))

    folder = write_midi_pipeline(tmp_path / "start", module.model, data.tokenizer)
    started = SymbolicModule(**sizes, init_weights=str(folder))
    for name, value in module.model.state_dict().items():
        torch.testing.assert_close(started.model.state_dict()[name], value)
    fresh = SymbolicModule(**sizes).model.state_dict()
    assert any(not torch.equal(fresh[name], value) for name, value in module.model.state_dict().items())
    with pytest.raises(ValueError, match=r"ffn_dim \(64 there, 128 here\)"):
        SymbolicModule(**{**sizes, "ffn_dim": 128}, init_weights=str(folder))
