"""Generator architecture: paper parameter counts, official module names, output length, weight-norm removal."""

from __future__ import annotations

import pytest
import torch

from tests.vocoder.conftest import TINY_GENERATOR
from vocoder import Generator, GeneratorConfig, MelConfig, count_parameters

# HiFi-GAN paper, Table 1 (millions of parameters of the inference network, i.e. weight norm folded in;
# with weight norm's extra g vectors V1 has 13.936 M).
PAPER_MILLIONS = {"v1": 13.93, "v2": 0.93, "v3": 1.46}

OFFICIAL_CONFIG_V3 = {  # the shape of jik876/hifi-gan's config_v3.json, training keys included
    "resblock": "2", "num_gpus": 0, "batch_size": 16, "learning_rate": 0.0002, "adam_b1": 0.8, "adam_b2": 0.99,
    "lr_decay": 0.999, "seed": 1234, "upsample_rates": [8, 8, 4], "upsample_kernel_sizes": [16, 16, 8],
    "upsample_initial_channel": 256, "resblock_kernel_sizes": [3, 5, 7],
    "resblock_dilation_sizes": [[1, 2], [2, 6], [3, 12]], "segment_size": 8192, "num_mels": 80, "num_freq": 1025,
    "n_fft": 1024, "hop_size": 256, "win_size": 1024, "sampling_rate": 22050, "fmin": 0, "fmax": 8000,
    "fmax_for_loss": None, "num_workers": 4,
    "dist_config": {"dist_backend": "nccl", "dist_url": "tcp://localhost:54321", "world_size": 1},
}


@pytest.mark.parametrize("version", ["v1", "v2", "v3"])
def test_parameter_counts_match_the_paper(version: str) -> None:
    generator = Generator(GeneratorConfig.preset(version))
    with_weight_norm = count_parameters(generator)
    plain = count_parameters(generator.remove_weight_norm())
    assert round(plain / 1e6, 2) == PAPER_MILLIONS[version]
    assert 0 < with_weight_norm - plain < 0.005 * plain  # one g scalar per output channel


def test_official_config_json_reads_into_the_v3_preset() -> None:
    assert GeneratorConfig.from_dict(OFFICIAL_CONFIG_V3) == GeneratorConfig.preset("v3")
    assert MelConfig.from_dict(OFFICIAL_CONFIG_V3) == MelConfig()


def test_official_module_names() -> None:
    v1 = Generator(GeneratorConfig.preset("v1")).state_dict()
    for key in ("conv_pre.bias", "ups.3.bias", "resblocks.11.convs1.2.bias", "resblocks.0.convs2.0.bias",
                "conv_post.bias", "resblocks.11.convs2.2.parametrizations.weight.original1"):
        assert key in v1
    assert len([k for k in v1 if k.startswith("resblocks.") and k.endswith(".bias")]) == 12 * 6
    v3 = Generator(GeneratorConfig.preset("v3")).state_dict()
    assert "resblocks.8.convs.1.bias" in v3 and not any("convs1" in k for k in v3)


@pytest.mark.parametrize("frames", [1, 7, 32])
def test_output_is_hop_samples_per_frame_in_unit_range(frames: int) -> None:
    generator = Generator(TINY_GENERATOR).eval()
    with torch.inference_mode():
        audio = generator(torch.randn(2, 80, frames) * 3 - 5)
    assert audio.shape == (2, 1, frames * 256)
    assert audio.abs().max() <= 1.0


def test_v1_output_length_for_ten_seconds_of_mel() -> None:
    generator = Generator(GeneratorConfig.preset("v2")).remove_weight_norm().eval()
    with torch.inference_mode():
        assert generator(torch.zeros(1, 80, 861)).shape == (1, 1, 861 * 256)


def test_removing_weight_norm_keeps_the_output() -> None:
    generator = Generator(TINY_GENERATOR).eval()
    mel = torch.randn(1, 80, 12)
    with torch.no_grad():
        before = generator(mel)
        after = generator.remove_weight_norm()(mel)
    assert not generator.has_weight_norm
    torch.testing.assert_close(after, before, rtol=0, atol=1e-6)
    assert not any("parametrizations" in key for key in generator.state_dict())


def test_wrong_mel_shape_is_rejected_with_the_expected_shape() -> None:
    with pytest.raises(ValueError, match=r"\(batch, 80, frames\), got \(2, 64, 10\)"):
        Generator(TINY_GENERATOR)(torch.zeros(2, 64, 10))


@pytest.mark.parametrize("change, message", [
    ({"resblock": "3"}, "resblock must be"),
    ({"upsample_rates": (8, 8)}, "equal length"),
    ({"upsample_kernel_sizes": (16, 15, 4, 4)}, "even kernel - rate"),
    ({"resblock_dilation_sizes": ((1, 3),) * 3}, "needs 3 dilations"),
    ({"upsample_initial_channel": 100}, "divisible by 2\\*\\*4"),
])
def test_bad_architectures_name_the_bad_value(change: dict, message: str) -> None:
    values = GeneratorConfig.preset("v1").to_dict() | change
    with pytest.raises(ValueError, match=message):
        GeneratorConfig.from_dict(values)


def test_unknown_config_key_is_an_error_and_unknown_preset_lists_choices() -> None:
    with pytest.raises(ValueError, match="unknown generator config keys \\['upsample_rate'\\]"):
        GeneratorConfig.from_dict({"upsample_rate": [8, 8, 2, 2]})
    with pytest.raises(ValueError, match="v1', 'v2', 'v3"):
        GeneratorConfig.preset("v4")


def test_generator_must_fit_the_mel_definition() -> None:
    with pytest.raises(ValueError, match="hop_length 200"):
        Generator(TINY_GENERATOR, MelConfig(hop_length=200, win_length=800, n_fft=1024))


def test_cpu_channels_last_path_matches_conv1d_in_output_and_gradients() -> None:
    torch.manual_seed(0)
    for config in (TINY_GENERATOR, GeneratorConfig.from_dict(GeneratorConfig.preset("v1").to_dict()
                                                             | {"upsample_initial_channel": 32})):
        generator = Generator(config)
        mel = torch.randn(2, 80, 6)
        results = {}
        for channels_last in (True, False):
            generator.cpu_channels_last = channels_last
            generator.zero_grad()
            audio = generator(mel)
            (audio * torch.linspace(-1, 1, audio.shape[-1])).sum().backward()
            results[channels_last] = (audio.detach(), generator.ups[0].parametrizations.weight.original1.grad.clone())
        torch.testing.assert_close(results[True][0], results[False][0], rtol=0, atol=1e-6)
        torch.testing.assert_close(results[True][1], results[False][1], rtol=1e-4, atol=1e-6)
        assert results[True][0].is_contiguous()


def test_inference_path_imports_neither_lightning_nor_art2music() -> None:
    import subprocess
    import sys

    code = ("import sys, vocoder; vocoder.load_vocoder('griffin-lim'); vocoder.Generator(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('lightning', 'pytorch_lightning', 'art2music')))")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"
