"""`art2music export`: training checkpoints → a complete pipeline folder that from_pretrained rebuilds exactly."""

from __future__ import annotations

import json

import lightning as L
import torch

from art2music.cli import main as cli_main
from art2music.encoders.clip import TINY_ARCH, ClipEncoder
from art2music.export.stage_folder import save_state
from art2music.pipeline import Art2Music
from art2music.training.stage1_data import Stage1DataModule
from art2music.training.stage1_module import Stage1Module
from vocoder import Generator, GeneratorConfig, MelConfig, save_export

SMALL_VOCODER = GeneratorConfig(resblock="2", upsample_rates=(8, 8, 4), upsample_kernel_sizes=(16, 16, 8),
                                upsample_initial_channel=16, resblock_kernel_sizes=(3,),
                                resblock_dilation_sizes=((1, 2),))


def _stage1_checkpoint(tmp_path, template: str):
    """One training step on a tiny ArtiCaps folder built for the tiny CLIP's 64-d embeddings; the .ckpt path."""
    from tests.conftest import make_tiny_articaps

    spec = {"arch": TINY_ARCH, "pretrained": "encoder.safetensors", "normalize": True, "embed_dim": 64,
            "text_template": template}
    data_dir = make_tiny_articaps(tmp_path / "articaps", embed_dim=64, encoder_spec=spec)
    module = Stage1Module(embed_dim=64, encoder_arch=TINY_ARCH, encoder_pretrained=str(tmp_path / "encoder.safetensors"),
                          fusion_dim=16, decoder_input_dim=16, lstm_hidden=16, lstm_layers=1, frames=16,
                          text_template=template)
    trainer = L.Trainer(max_steps=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, accelerator="cpu")
    trainer.fit(module, datamodule=Stage1DataModule(data_dir=str(data_dir), batch_size=4, num_workers=0))
    trainer.save_checkpoint(tmp_path / "stage1.ckpt")
    return tmp_path / "stage1.ckpt", module


def test_export_assembles_a_pipeline_that_loads_and_matches_the_checkpoint(tmp_path):
    torch.manual_seed(0)
    encoder = ClipEncoder(TINY_ARCH, None)
    save_state(encoder.clip, tmp_path / "encoder.safetensors")
    checkpoint, module = _stage1_checkpoint(tmp_path, "{emotion}: {comment}")
    vocoder = Generator(SMALL_VOCODER, MelConfig()).remove_weight_norm()
    save_export(vocoder, tmp_path / "vocoder")
    out = tmp_path / "exports" / "model"
    assert cli_main(["export", "--stage1", str(checkpoint), "--vocoder", str(tmp_path / "vocoder"),
                     "--out", str(out)]) == 0
    meta = json.loads((out / "pipeline.json").read_text())
    assert meta["text_template"] == "{emotion}: {comment}" and meta["engine"] == "audio"
    pipe = Art2Music.from_pretrained(out, precision="float32")
    text, image = torch.randn(2, 64), torch.randn(2, 64)
    with torch.no_grad():
        assert torch.equal(pipe.stage1(text, image), module.model.eval()(text, image))
    for name, tensor in encoder.clip.state_dict().items():
        assert torch.equal(pipe.encoder.clip.state_dict()[name], tensor), name


def test_export_errors_are_one_line_with_exit_2(tmp_path, capsys):
    assert cli_main(["export", "--stage1", str(tmp_path / "missing.ckpt"), "--vocoder", str(tmp_path),
                     "--out", str(tmp_path / "out")]) == 2
    assert "--stage1" in capsys.readouterr().err
    (tmp_path / "junk.ckpt").write_bytes(b"not a checkpoint")
    assert cli_main(["export", "--stage1", str(tmp_path / "junk.ckpt"), "--vocoder", str(tmp_path),
                     "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("art2music export: error:") and err.count("\n") == 1
    assert not (tmp_path / "out").exists()
