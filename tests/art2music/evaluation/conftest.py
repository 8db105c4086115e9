"""Fixtures for the evaluation tests: a tiny random pipeline folder and a tiny ArtiCaps folder with audio."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.conftest import make_tiny_articaps

FRAMES = 40  # 40 frames x 256 = 10240 samples ≈ 0.46 s per clip
SMALL_VOCODER = dict(resblock="2", upsample_rates=(8, 8, 4), upsample_kernel_sizes=(16, 16, 8),
                     upsample_initial_channel=16, resblock_kernel_sizes=(3,), resblock_dilation_sizes=((1, 2),))


def build_tiny_pipeline(seed: int = 0, frames: int = FRAMES, decoder: str = "bilstm"):
    from art2music.audio_engine.decoders.flow import FlowConfig
    from art2music.encoders.clip import TINY_ARCH, ClipEncoder
    from art2music.audio_engine.stage1 import Stage1Config, Stage1Model
    from art2music.pipeline import Art2Music
    from vocoder import Generator, GeneratorConfig, MelConfig

    torch.manual_seed(seed)
    encoder = ClipEncoder(TINY_ARCH, None)
    flow = FlowConfig(channels=16, levels=1, blocks_per_level=1, attention_blocks=0, heads=2, steps=2)
    stage1 = Stage1Model(Stage1Config(embed_dim=64, fusion_dim=16, decoder_input_dim=16, lstm_hidden=16,
                                      lstm_layers=1, frames=frames, decoder=decoder,
                                      flow=flow if decoder == "flow" else None))
    if decoder == "flow":
        with torch.no_grad():  # zero-initialised layers get weights, so samples depend on noise and condition
            for parameter in stage1.decoder.parameters():
                if not parameter.any():
                    parameter.normal_(0, 0.3)
            stage1.decoder.set_normalisation(torch.full((80,), -6.0), torch.full((80,), 2.0))
    vocoder = Generator(GeneratorConfig(**SMALL_VOCODER), MelConfig()).remove_weight_norm()
    return Art2Music(encoder, stage1, vocoder, MelConfig())


def tone(frequency: float, samples: int, rate: int = 22050, seed: int = 0) -> np.ndarray:
    """A sine with a little noise (so no STFT bin is exactly empty)."""
    rng = np.random.default_rng(seed)
    t = np.arange(samples) / rate
    return (0.4 * np.sin(2 * np.pi * frequency * t) + 0.01 * rng.normal(size=samples)).astype(np.float32)


def make_articaps_with_audio(directory: Path, count: int = 16, encoder_spec: dict | None = None,
                             frames: int = FRAMES) -> Path:
    """make_tiny_articaps plus real clips: a low tone for 'amusement' rows, a high one for 'sadness'; the
    cache's mels are the clips' true mels. Splits: count-4 train, 2 val, 2 test."""
    import soundfile

    from art2music.io.audio import waveform_to_mel
    from art2music.articaps.feature_cache import FeatureCache
    from art2music.articaps.manifest import read_manifest

    make_tiny_articaps(directory, count=count, frames=frames, embed_dim=64, encoder_spec=encoder_spec)
    manifest = read_manifest(directory / "manifest.csv")
    cache = FeatureCache.open(directory / "cache", writable=True)
    (directory / "audio").mkdir(exist_ok=True)
    samples = frames * 256
    for index, row in enumerate(manifest):
        frequency = (220.0 if row.emotion == "amusement" else 1760.0) * (1 + 0.03 * index)
        waveform = tone(frequency, samples + 1000, seed=index)
        soundfile.write(str(directory / row.audio_path), waveform, 22050, subtype="FLOAT")
        cache.write_mel(index, waveform_to_mel(waveform[:samples]))
    cache.flush()
    return directory


@pytest.fixture(scope="session")
def tiny_pipeline_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("pipeline")
    build_tiny_pipeline().save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def articaps_template(tmp_path_factory) -> Path:
    return make_articaps_with_audio(tmp_path_factory.mktemp("template") / "articaps")


@pytest.fixture
def articaps(articaps_template, tmp_path) -> Path:
    """A fresh copy of the tiny ArtiCaps folder (tests may break it)."""
    return Path(shutil.copytree(articaps_template, tmp_path / "articaps"))
