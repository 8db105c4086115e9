"""The one release format: a bit-exact round trip, and every damaged file or value named on load."""

from __future__ import annotations

import json
import pickle
import zipfile

import pytest
import torch

from art2music.audio_engine.stage1 import Stage1Config, Stage1Model
from art2music.encoders.clip import TINY_ARCH, ClipEncoder
from art2music.export.format import (ModelLoadError, PipelineParts, load_parts, load_stage1, read_pipeline_meta,
                                     save_stage1, write_pipeline)
from art2music.export.identity import model_folder_identity
from art2music.pipeline import Art2Music
from vocoder import Generator, GeneratorConfig, MelConfig

SMALL_VOCODER = GeneratorConfig(resblock="2", upsample_rates=(8, 8, 4), upsample_kernel_sizes=(16, 16, 8),
                                upsample_initial_channel=16, resblock_kernel_sizes=(3,),
                                resblock_dilation_sizes=((1, 2),))
TINY_STAGE1 = Stage1Config(embed_dim=64, fusion_dim=16, decoder_input_dim=16, lstm_hidden=16, lstm_layers=1,
                           frames=12)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    torch.manual_seed(0)
    parts = PipelineParts(ClipEncoder(TINY_ARCH, None), Stage1Model(TINY_STAGE1).eval(),
                          Generator(SMALL_VOCODER, MelConfig()).remove_weight_norm().eval(), MelConfig(),
                          "{emotion}: {comment}")
    folder = write_pipeline(tmp_path_factory.mktemp("export") / "model", parts)
    return parts, folder


def copy_of(folder, tmp_path):
    import shutil

    return shutil.copytree(folder, tmp_path / "copy")


def test_round_trip_is_bit_exact_and_complete(saved):
    parts, folder = saved
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == [
        "encoder/config.json", "encoder/open_clip_model.safetensors", "pipeline.json", "stage1/config.json",
        "stage1/model.safetensors", "vocoder/config.json", "vocoder/model.safetensors"]
    assert not folder.with_name("model.partial").exists()
    meta = json.loads((folder / "pipeline.json").read_text())
    assert meta == {"format": "art2music-pipeline", "version": 1, "engine": "audio",
                    "text_template": "{emotion}: {comment}"}
    loaded = load_parts(folder, vocoder_precision="float32")
    assert loaded.text_template == "{emotion}: {comment}" and loaded.mel_config == MelConfig()
    text, image = torch.randn(2, 64), torch.randn(2, 64)
    with torch.no_grad():
        assert torch.equal(parts.stage1(text, image), loaded.stage1(text, image))
        mel = parts.stage1(text, image)
        assert torch.equal(parts.vocoder(mel), loaded.vocoder(mel))
    for name, tensor in parts.encoder.state_dict().items():
        assert torch.equal(tensor, loaded.encoder.state_dict()[name]), name


def test_rewriting_replaces_the_folder_whole(saved, tmp_path):
    parts, _ = saved
    folder = write_pipeline(tmp_path / "model", parts)
    (folder / "stray.json").write_text("{}")
    identity = model_folder_identity(folder)
    write_pipeline(folder, parts)
    assert not (folder / "stray.json").exists() and model_folder_identity(folder) != identity


@pytest.mark.parametrize("content, field", [
    ([1, 2], ""),                                                             # not an object
    ({"format": "something-else", "version": 1}, "format"),
    ({"format": "art2music-pipeline", "version": "1"}, "version"),
    ({"format": "art2music-pipeline", "version": 1, "text_template": "{mood}: {comment}"}, "text_template"),
    ({"format": "art2music-pipeline", "version": 1, "text_template": "{emotion}"}, "text_template"),
    ({"format": "art2music-pipeline", "version": 1, "engine": "video"}, "engine"),
])
def test_bad_pipeline_json_is_named(saved, tmp_path, content, field):
    folder = copy_of(saved[1], tmp_path)
    (folder / "pipeline.json").write_text(json.dumps(content))
    with pytest.raises(ModelLoadError) as caught:
        read_pipeline_meta(folder)
    assert caught.value.path == folder / "pipeline.json" and caught.value.field == field
    assert "pipeline.json" in str(caught.value)


@pytest.mark.parametrize("key, value, message", [
    ("lstm_hidden", "16", "positive integer"),
    ("lstm_hidden", [16], "positive integer"),
    ("lstm_layers", True, "positive integer"),
    ("frames", 0, "positive integer"),
    ("lstm_hidden", 11, "shape"),
    ("colour", 3, "unknown stage-1 config keys"),
])
def test_bad_stage1_sizes_are_named(saved, tmp_path, key, value, message):
    folder = copy_of(saved[1], tmp_path)
    config_path = folder / "stage1" / "config.json"
    config = json.loads(config_path.read_text())
    config["stage1"][key] = value
    config_path.write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match=message) as caught:
        load_parts(folder)
    assert "stage1" in str(caught.value.path)


def _pickle_file(path):
    with open(path, "wb") as handle:
        pickle.dump({"weight": [1.0, 2.0]}, handle)


def _zip_file(path):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data.pkl", b"not tensors")


def _truncated(path):
    path.write_bytes(path.read_bytes()[:200])


@pytest.mark.parametrize("stage", ["stage1", "vocoder", "encoder"])
@pytest.mark.parametrize("damage", [_truncated, _pickle_file, _zip_file])
def test_damaged_weights_are_refused_by_name(saved, tmp_path, stage, damage):
    folder = copy_of(saved[1], tmp_path)
    weights = folder / stage / ("open_clip_model.safetensors" if stage == "encoder" else "model.safetensors")
    damage(weights)
    with pytest.raises(ModelLoadError) as caught:
        Art2Music.from_pretrained(folder)
    assert stage in str(caught.value)


def test_encoder_config_with_wrong_types_is_named(saved, tmp_path):
    folder = copy_of(saved[1], tmp_path)
    (folder / "encoder" / "config.json").write_text(json.dumps({"arch": 5}))
    with pytest.raises(ModelLoadError, match="'arch'"):
        load_parts(folder)


def test_stage1_folder_round_trip(tmp_path):
    torch.manual_seed(1)
    model = Stage1Model(TINY_STAGE1).eval()
    save_stage1(model, tmp_path / "stage1", MelConfig(), {"arch": TINY_ARCH, "pretrained": None})
    loaded, mel_config, encoder = load_stage1(tmp_path / "stage1")
    assert mel_config == MelConfig() and encoder["arch"] == TINY_ARCH
    text, image = torch.randn(2, 64), torch.randn(2, 64)
    with torch.no_grad():
        assert torch.equal(model(text, image), loaded(text, image))


def test_demo_is_the_same_format():
    meta = read_pipeline_meta(__import__("art2music.export.format", fromlist=["DEMO_DIR"]).DEMO_DIR)
    assert meta["engine"] == "audio" and model_folder_identity("demo") == model_folder_identity(
        __import__("art2music.export.format", fromlist=["DEMO_DIR"]).DEMO_DIR)
