"""Soundtrack-test setup: tiny random audio pipelines (flow and BiLSTM) as folders and a few slide images (the midi
engine's end-to-end test is tests/art2music/symbolic/test_soundtrack_midi.py, beside its tiny trained pipeline)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tests.art2music.render.conftest import build_tiny_pipeline

@pytest.fixture(autouse=True)
def single_torch_thread():
    """One intra-op thread: on a shared 2-core machine tiny models run far faster without thread barriers."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _separate_images(pipe):
    """Scale the fusion's MLP up, so that the tiny random pipeline's sections differ clearly from image to image."""
    with torch.no_grad():
        pipe.stage1.fusion.mlp[0].weight.mul_(30)
        pipe.stage1.fusion.mlp[2].weight.mul_(10)
    return pipe


@pytest.fixture(scope="session")
def flow_model_dir(tmp_path_factory) -> Path:
    """A tiny random flow pipeline (at random init its conditions differ by ~0.04 from image to image, its mels by
    ~0.02: hence :func:`_separate_images`)."""
    directory = tmp_path_factory.mktemp("soundtrack_flow") / "model"
    pipe = build_tiny_pipeline(decoder="flow")
    _separate_images(pipe).save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def bilstm_model_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("soundtrack_bilstm") / "model"
    _separate_images(build_tiny_pipeline()).save_pretrained(directory)
    return directory


def write_slide_images(folder: Path, count: int = 3) -> list[Path]:
    """``count`` small random RGB images ``p0.png`` ... (different pictures, so different conditions)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(count):
        pixels = (np.random.default_rng(k).random((24 + 4 * k, 32, 3)) * 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"p{k}.png")
        paths.append(folder / f"p{k}.png")
    return paths


@pytest.fixture()
def slide_images(tmp_path) -> list[Path]:
    return write_slide_images(tmp_path / "slides")
