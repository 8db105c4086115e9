"""Checkpoint I/O: official g_XXXXXXXX files, our export directory, strict and safe loading."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from tests.vocoder.conftest import TINY_GENERATOR
from safetensors.torch import load_file

from vocoder import CheckpointError, Generator, GeneratorConfig, MelConfig, load_generator, precision, save_export, save_official
from vocoder.checkpoint import load_generator_for_training, official_config
from vocoder.precision import resolve_precision


def official_state_dict(generator: Generator) -> dict[str, torch.Tensor]:
    """The state dict the official code would save: every conv under the LEGACY ``torch.nn.utils.weight_norm``
    hook (which names its tensors ``weight_g`` / ``weight_v``), built independently of our key renaming."""
    legacy = Generator(generator.config, generator.mel_config)
    legacy.load_state_dict(generator.state_dict())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for module in legacy.modules():
            if isinstance(module, (nn.Conv1d, nn.ConvTranspose1d)) and parametrize.is_parametrized(module, "weight"):
                parametrize.remove_parametrizations(module, "weight", leave_parametrized=True)
                torch.nn.utils.weight_norm(module)
    return legacy.state_dict()


def write_official(folder: Path, generator: Generator, name: str = "g_00100000") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    torch.save({"generator": official_state_dict(generator)}, folder / name)
    (folder / "config.json").write_text(json.dumps(official_config(generator)))
    return folder / name


@pytest.fixture
def generator() -> Generator:
    torch.manual_seed(0)
    return Generator(TINY_GENERATOR).eval()


def test_official_file_written_by_legacy_weight_norm_loads_strictly_with_same_output(tmp_path, generator) -> None:
    path = write_official(tmp_path / "LJ_V1", generator)
    assert "ups.0.weight_g" in torch.load(path, weights_only=True)["generator"]
    loaded = load_generator(path, precision="float32")
    assert not loaded.training and not loaded.has_weight_norm
    mel = torch.randn(2, 80, 9)
    with torch.no_grad():
        torch.testing.assert_close(loaded(mel), generator(mel), rtol=0, atol=1e-6)


def test_our_official_writer_matches_the_legacy_key_names_and_round_trips(tmp_path, generator) -> None:
    save_official(generator, tmp_path / "g_1")
    written = torch.load(tmp_path / "g_1", weights_only=True)["generator"]
    expected = official_state_dict(generator)
    assert sorted(written) == sorted(expected)
    assert all(written[k].shape == expected[k].shape for k in expected)
    again = tmp_path / "from_plain" / "g_2"
    save_official(load_generator(tmp_path / "g_1"), again)  # weight norm removed: g, v are recomputed
    mel = torch.randn(1, 80, 5)
    with torch.no_grad():
        torch.testing.assert_close(load_generator(again, precision="float32")(mel), generator(mel), rtol=1e-5, atol=1e-6)


def test_export_directory_round_trip(tmp_path, generator) -> None:
    save_export(generator, tmp_path / "export")
    assert sorted(p.name for p in (tmp_path / "export").iterdir()) == ["config.json", "model.safetensors"]
    assert (tmp_path / "export" / "model.safetensors").stat().st_mode & 0o044 == 0o044  # readable by others
    config = json.loads((tmp_path / "export" / "config.json").read_text())
    assert config["generator"]["upsample_rates"] == [8, 8, 4] and config["mel"]["hop_length"] == 256
    loaded = load_generator(tmp_path / "export", precision="float32")
    mel = torch.randn(1, 80, 6)
    with torch.no_grad():
        torch.testing.assert_close(loaded(mel), generator(mel), rtol=0, atol=1e-6)
    assert generator.has_weight_norm  # exporting did not modify the training generator


def test_missing_and_unexpected_keys_are_named(tmp_path, generator) -> None:
    path = write_official(tmp_path, generator)
    data = torch.load(path, weights_only=True)
    data["generator"].pop("conv_post.bias")
    data["generator"]["conv_extra.weight"] = torch.zeros(1)
    torch.save(data, path)
    with pytest.raises(CheckpointError) as error:
        load_generator(path)
    assert "1 missing keys: conv_post.bias" in str(error.value)
    assert "1 unexpected keys: conv_extra.weight" in str(error.value)


def test_shape_mismatch_names_key_and_both_shapes(tmp_path, generator) -> None:
    path = write_official(tmp_path, generator)
    config = json.loads((tmp_path / "config.json").read_text())
    config["upsample_initial_channel"] = 64  # config says 64 channels, weights have 32
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=r"conv_pre\.bias: expected shape \(64,\), got \(32,\)"):
        load_generator(path)


def test_pickled_object_is_refused_and_never_executed(tmp_path) -> None:
    marker = tmp_path / "executed"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    (tmp_path / "config.json").write_text(json.dumps(official_config(Generator(TINY_GENERATOR))))
    torch.save({"generator": Payload()}, tmp_path / "g_evil")
    with pytest.raises(CheckpointError, match="refusing to load .*weights_only=True"):
        load_generator(tmp_path / "g_evil")
    assert not marker.exists()


def test_mel_config_mismatch_is_reported_by_field(tmp_path, generator) -> None:
    path = write_official(tmp_path, generator)
    config = json.loads((tmp_path / "config.json").read_text())
    config["fmax"] = 11025
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=r"fmax: 8000.0 here vs 11025"):
        load_generator(path, mel_config=MelConfig())


def test_missing_config_and_wrong_file_kind_have_actionable_errors(tmp_path, generator) -> None:
    torch.save({"generator": official_state_dict(generator)}, tmp_path / "g_1")
    with pytest.raises(FileNotFoundError, match="needs the config.json"):
        load_generator(tmp_path / "g_1")
    (tmp_path / "config.json").write_text(json.dumps(official_config(generator)))
    torch.save({"mpd": {}, "msd": {}}, tmp_path / "do_1")
    with pytest.raises(CheckpointError, match="do_XXXXXXXX files hold the discriminators"):
        load_generator(tmp_path / "do_1")
    with pytest.raises(FileNotFoundError, match="vocoder checkpoint not found"):
        load_generator(tmp_path / "nothing")


def test_training_init_from_export_keeps_weight_norm_and_output(tmp_path, generator) -> None:
    save_export(generator, tmp_path / "export")
    fresh = Generator(TINY_GENERATOR)
    load_generator_for_training(fresh, tmp_path / "export")
    assert fresh.has_weight_norm
    mel = torch.randn(1, 80, 4)
    with torch.no_grad():
        torch.testing.assert_close(fresh.eval()(mel), generator(mel), rtol=1e-5, atol=1e-6)
    other = Generator(GeneratorConfig.from_dict(TINY_GENERATOR.to_dict() | {"upsample_initial_channel": 64}))
    with pytest.raises(CheckpointError, match="upsample_initial_channel: 64 in the training config vs 32"):
        load_generator_for_training(other, tmp_path / "export")


def test_bfloat16_inference_is_close_returns_float32_and_keeps_exact_weights(tmp_path, generator) -> None:
    save_export(generator, tmp_path / "export")
    exact = load_generator(tmp_path / "export", precision="float32")
    fast = load_generator(tmp_path / "export", precision="bfloat16")
    assert exact.conv_pre.weight.dtype == torch.float32 and exact.inference_dtype == torch.float32
    assert fast.conv_pre.weight.dtype == torch.bfloat16 and fast.conv_post.weight.dtype == torch.float32
    assert fast.inference_dtype == torch.bfloat16
    mel = torch.randn(1, 80, 16) * 2 - 5
    with torch.inference_mode():
        reference, approximate = exact(mel), fast(mel)
    assert approximate.dtype == torch.float32
    signal_to_error_db = 10 * torch.log10(reference.pow(2).sum() / (approximate - reference).pow(2).sum())
    assert signal_to_error_db > 30
    # the float32 originals survive: re-exporting a bf16-loaded generator, or switching it back, is bit-exact
    save_export(fast, tmp_path / "again")
    assert_state_equal(load_file(str(tmp_path / "again" / "model.safetensors")),
                       load_file(str(tmp_path / "export" / "model.safetensors")))
    fast.set_inference_dtype(torch.float32)
    assert fast.inference_dtype == torch.float32
    with torch.inference_mode():
        assert torch.equal(fast(mel), reference)
    with pytest.raises(RuntimeError, match="remove_weight_norm"):
        Generator(TINY_GENERATOR).set_inference_dtype(torch.bfloat16)


def assert_state_equal(left: dict, right: dict) -> None:
    assert left.keys() == right.keys()
    for key in left:
        assert left[key].dtype == right[key].dtype == torch.float32 and torch.equal(left[key], right[key]), key


@pytest.mark.parametrize("native", [True, False])
def test_auto_precision_follows_the_capability_probe(tmp_path, generator, monkeypatch, native) -> None:
    monkeypatch.setattr(precision, "bf16_support", lambda device="cpu": precision.Bf16Support(native, "mocked"))
    save_export(generator, tmp_path / "export")
    expected = torch.bfloat16 if native else torch.float32
    assert load_generator(tmp_path / "export").inference_dtype == expected  # "auto" is the default
    assert resolve_precision("auto", "cpu") == expected
    assert resolve_precision("float32") == torch.float32 and resolve_precision(torch.bfloat16) == torch.bfloat16


def test_unknown_precision_is_refused_with_the_choices(tmp_path, generator) -> None:
    save_export(generator, tmp_path / "export")
    with pytest.raises(ValueError, match="unknown precision 'fp8': choose one of auto, float32, bfloat16"):
        load_generator(tmp_path / "export", precision="fp8")
    with pytest.raises(ValueError, match="float32 or bfloat16, got torch.float16"):
        resolve_precision(torch.float16)
