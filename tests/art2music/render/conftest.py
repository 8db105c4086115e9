"""Shared render-test setup: a tiny random pipeline saved as a model folder, and tricky image files."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from art2music.encoders.clip import TINY_ARCH, ClipEncoder
from art2music.audio_engine.decoders.flow import FlowConfig
from art2music.audio_engine.stage1 import Stage1Config, Stage1Model
from art2music.pipeline import Art2Music
from vocoder import Generator, GeneratorConfig, MelConfig

FRAMES = 20
HOP = 256
SAMPLES = FRAMES * HOP
SMALL_VOCODER = GeneratorConfig(resblock="2", upsample_rates=(8, 8, 4), upsample_kernel_sizes=(16, 16, 8),
                                upsample_initial_channel=16, resblock_kernel_sizes=(3,),
                                resblock_dilation_sizes=((1, 2),))


TINY_FLOW = FlowConfig(channels=16, levels=1, blocks_per_level=1, attention_blocks=0, heads=2, steps=2, guidance=2.0)


def build_tiny_pipeline(seed: int = 0, frames: int = FRAMES, decoder: str = "bilstm") -> Art2Music:
    """A random pipeline small enough to build and run in about a second (tiny CLIP, 1-layer LSTM or a tiny flow)."""
    torch.manual_seed(seed)
    encoder = ClipEncoder(TINY_ARCH, None)
    stage1 = Stage1Model(Stage1Config(embed_dim=64, fusion_dim=16, decoder_input_dim=16, lstm_hidden=16,
                                      lstm_layers=1, frames=frames, decoder=decoder,
                                      flow=TINY_FLOW if decoder == "flow" else None))
    vocoder = Generator(SMALL_VOCODER, MelConfig()).remove_weight_norm()
    with torch.no_grad():
        # At random init (HiFi-GAN's N(0, 0.01) convs) the output barely depends on the input (differences of
        # ~1e-8); scaled up, different paintings give audibly different audio, so tests can tell items apart.
        if decoder == "flow":  # zero-initialised layers (output, residual branches): give them weights
            for parameter in stage1.decoder.parameters():
                if not parameter.any():
                    parameter.normal_(0, 0.3)
            stage1.decoder.set_normalisation(torch.full((80,), -6.0), torch.full((80,), 2.0))
        else:
            stage1.decoder.output_projection.weight.mul_(20)
        for conv in [vocoder.conv_pre, *vocoder.ups, *(c for block in vocoder.resblocks for c in block.convs)]:
            conv.weight.mul_(10)
        vocoder.conv_post.weight.mul_(30)
    return Art2Music(encoder, stage1, vocoder, MelConfig())


@pytest.fixture(autouse=True)
def single_torch_thread():
    """Run these tests on one intra-op thread: on a shared, overloaded 2-core machine a 2-thread oneDNN LSTM
    waits at a barrier on every time step (~0.7 s per tiny call instead of ~1 ms)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A pipeline folder (``save_pretrained``) of the tiny random pipeline, shared by all render tests."""
    directory = tmp_path_factory.mktemp("tiny_model") / "model"
    build_tiny_pipeline().save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def tiny_pipe(tiny_model_dir: Path) -> Art2Music:
    return Art2Music.from_pretrained(tiny_model_dir, precision="float32")  # the same numbers on every CPU


def _gradient(size: tuple[int, int] = (48, 32)) -> np.ndarray:
    width, height = size
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    return np.stack([np.broadcast_to(x, (height, width)), np.broadcast_to(y, (height, width)),
                     np.full((height, width), 128, np.float32)], axis=-1).astype(np.uint8)


def write_tricky_images(folder: Path) -> dict[str, Path]:
    """Write one file per hard-but-valid image kind; returns ``{kind: path}``."""
    folder.mkdir(parents=True, exist_ok=True)
    rgb = Image.fromarray(_gradient())
    paths = {}

    def save(name: str, image: Image.Image, **kwargs) -> None:
        paths[name.split(".")[0]] = folder / name
        image.save(folder / name, **kwargs)

    save("rgb.jpg", rgb)
    save("grayscale.png", rgb.convert("L"))
    save("palette.gif", rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16))
    rgba = rgb.convert("RGBA")
    rgba.putalpha(Image.fromarray(np.tile(np.linspace(0, 255, 48, dtype=np.uint8), (32, 1))))
    save("transparent.png", rgba)
    save("cmyk.jpg", rgb.convert("CMYK"))
    save("gray16.png", Image.fromarray((np.asarray(rgb.convert("L"), np.uint16) * 257).astype(np.uint16)))
    frames = [rgb, rgb.rotate(90, expand=False), rgb.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    save("animated.gif", frames[0], save_all=True, append_images=frames[1:], duration=100, loop=0)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    save("exif_rotated.jpg", rgb, exif=exif.tobytes())
    return paths


def write_bad_images(folder: Path) -> dict[str, Path]:
    """Write one file per unusable image kind; returns ``{expected ImageLoadError reason: path}``."""
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(_gradient((64, 64))).save(folder / "whole.jpg", quality=95)
    data = (folder / "whole.jpg").read_bytes()
    (folder / "whole.jpg").unlink()
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (folder / "empty.png").write_bytes(b"")
    (folder / "not_an_image.png").write_text("this is a text file with an image name\n")
    (folder / "bomb.png").write_bytes(png_bomb(100_000, 100_000))
    return {"truncated": folder / "truncated.jpg", "empty": folder / "empty.png",
            "not_an_image": folder / "not_an_image.png", "too_large": folder / "bomb.png"}


def png_bomb(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width x height`` 1-bit pixels (a decompression bomb's header)."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.fixture(scope="session")
def tiny_flow_model_dir(tmp_path_factory) -> Path:
    """A pipeline folder whose stage 1 is a tiny random flow decoder."""
    directory = tmp_path_factory.mktemp("tiny_flow_model") / "model"
    build_tiny_pipeline(decoder="flow").save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def tiny_flow_pipe(tiny_flow_model_dir: Path) -> Art2Music:
    return Art2Music.from_pretrained(tiny_flow_model_dir, precision="float32")  # the same numbers on every CPU
