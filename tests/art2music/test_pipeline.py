"""The notebook API: calls, batching, steps one by one, and a bit-exact save/load round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from art2music.encoders.clip import TINY_ARCH, ClipEncoder
from art2music.audio_engine.stage1 import Stage1Config, Stage1Model
from art2music.pipeline import Art2Music
from vocoder import Generator, GeneratorConfig, MelConfig

SMALL_VOCODER = GeneratorConfig(resblock="2", upsample_rates=(8, 8, 4), upsample_kernel_sizes=(16, 16, 8),
                                upsample_initial_channel=16, resblock_kernel_sizes=(3,),
                                resblock_dilation_sizes=((1, 2),))


@pytest.fixture(scope="module")
def pipe():
    torch.manual_seed(0)
    encoder = ClipEncoder(TINY_ARCH, None)
    stage1 = Stage1Model(Stage1Config(embed_dim=64, fusion_dim=16, decoder_input_dim=16, lstm_hidden=16,
                                      lstm_layers=1, frames=20))
    vocoder = Generator(SMALL_VOCODER, MelConfig()).remove_weight_norm()
    return Art2Music(encoder, stage1, vocoder, MelConfig())


def test_single_image_gives_a_float32_waveform(pipe, tmp_path):
    path = tmp_path / "painting.png"
    Image.new("RGB", (90, 60), (250, 200, 20)).save(path)
    audio = pipe(path, comment="so joyful")
    assert audio.dtype == np.float32 and audio.shape == (20 * 256,)
    assert pipe.sample_rate == 22050
    assert np.abs(audio).max() <= 1.0
    from_pil = pipe(Image.open(path), comment="so joyful")
    assert np.array_equal(audio, from_pil)


def test_batched_call_matches_one_by_one(pipe):
    images = [Image.new("RGB", (40, 40), colour) for colour in [(255, 0, 0), (0, 0, 255), (10, 10, 10)]]
    comments = ["angry red", None, ""]
    batch = pipe(images, comments)
    assert batch.shape == (3, 20 * 256)
    for index, image in enumerate(images):
        assert np.allclose(batch[index], pipe(image, comments[index]), atol=1e-5)
    mels = pipe.image_to_mel(images, comments)
    assert not torch.allclose(mels[0], mels[1])  # different paintings, different music


def test_steps_one_by_one(pipe):
    images = [Image.new("RGB", (32, 32), (0, 128, 0))]
    text, image = pipe.embed(images, ["green"])
    assert text.shape == image.shape == (1, 64)
    mel = pipe.embeddings_to_mel(text, image)
    assert mel.shape == (1, 80, 20)
    assert torch.equal(mel, pipe.image_to_mel(images, ["green"]))
    assert pipe.mel_to_audio(mel).shape == (1, 20 * 256)


def test_save_and_load_are_bit_exact(pipe, tmp_path):
    pipe.save_pretrained(tmp_path / "export")
    for part in ("encoder", "stage1", "vocoder"):
        assert (tmp_path / "export" / part / "config.json").is_file()
    loaded = Art2Music.from_pretrained(tmp_path / "export", vocoder_precision="float32")
    image = Image.new("RGB", (50, 70), (120, 30, 200))
    assert np.array_equal(pipe(image, "purple haze"), loaded(image, "purple haze"))
    griffin = Art2Music.from_pretrained(tmp_path / "export", vocoder="griffin-lim")
    assert griffin(image).shape == (20 * 256,)


def test_auto_vocoder_precision_follows_the_cpu_and_saving_stays_exact(pipe, tmp_path, monkeypatch):
    from vocoder import precision

    pipe.save_pretrained(tmp_path / "export")
    monkeypatch.setattr(precision, "has_amx", lambda: True)
    fast = Art2Music.from_pretrained(tmp_path / "export")
    assert fast.vocoder.inference_dtype == torch.bfloat16
    image = Image.new("RGB", (50, 70), (120, 30, 200))
    exact_audio, fast_audio = pipe(image, "calm"), fast(image, "calm")
    assert fast_audio.dtype == np.float32 and not np.array_equal(exact_audio, fast_audio)
    assert np.abs(exact_audio - fast_audio).max() < 0.02 * np.abs(exact_audio).max()
    fast.save_pretrained(tmp_path / "again")  # the float32 originals are saved, not the bf16 copies
    again = Art2Music.from_pretrained(tmp_path / "again", vocoder_precision="float32")
    assert np.array_equal(again(image, "calm"), exact_audio)
    monkeypatch.setattr(precision, "has_amx", lambda: False)
    assert Art2Music.from_pretrained(tmp_path / "export").vocoder.inference_dtype == torch.float32


def test_bad_inputs_are_explained(pipe, tmp_path):
    with pytest.raises(ValueError, match="2 images but 1 comments"):
        pipe([Image.new("RGB", (8, 8))] * 2, ["one"])
    with pytest.raises(ValueError, match="no images"):
        pipe([])
    from art2music.io.images import ImageLoadError

    with pytest.raises(ImageLoadError, match="missing"):
        pipe(tmp_path / "absent.jpg")
    with pytest.raises(FileNotFoundError, match="not an art2music pipeline"):
        Art2Music.from_pretrained(tmp_path)
