"""The notebook API: calls, batching, steps one by one, and a bit-exact save/load round trip."""

from __future__ import annotations

import json
import shutil
import warnings
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from art2music.encoders.clip import TINY_ARCH, ClipEncoder
from art2music.audio_engine.stage1 import Stage1Config, Stage1Model
from art2music.pipeline import Art2Music
from art2music.export.format import ModelLoadError
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
    loaded = Art2Music.from_pretrained(tmp_path / "export", precision="float32")
    image = Image.new("RGB", (50, 70), (120, 30, 200))
    assert np.array_equal(pipe(image, "purple haze"), loaded(image, "purple haze"))
    griffin = Art2Music.from_pretrained(tmp_path / "export", vocoder="griffin-lim")
    assert griffin(image).shape == (20 * 256,)


def test_auto_precision_follows_the_cpu_and_saving_stays_exact(pipe, tmp_path, monkeypatch):
    from vocoder import precision

    pipe.save_pretrained(tmp_path / "export")
    monkeypatch.setattr(precision, "bf16_support", lambda device="cpu": precision.Bf16Support(True, "mocked"))
    monkeypatch.setattr(precision, "has_amx", lambda: False)  # AVX512-BF16 alone: the BiLSTM stays float32
    fast = Art2Music.from_pretrained(tmp_path / "export")
    assert fast.vocoder.inference_dtype == torch.bfloat16 and fast.precision == torch.bfloat16
    assert fast.precisions == {"encoder": "bfloat16", "stage1": "float32", "vocoder": "bfloat16"}
    image = Image.new("RGB", (50, 70), (120, 30, 200))
    exact_audio, fast_audio = pipe(image, "calm"), fast(image, "calm")
    assert fast.encoder.inference_dtype == torch.bfloat16  # the towers' weights were converted once
    assert fast_audio.dtype == np.float32 and not np.array_equal(exact_audio, fast_audio)
    assert np.abs(exact_audio - fast_audio).max() < 0.02 * np.abs(exact_audio).max()
    monkeypatch.setattr(precision, "has_amx", lambda: True)  # AMX: oneDNN's bf16 LSTM is the faster one
    amx = Art2Music.from_pretrained(tmp_path / "export")
    assert amx.precisions == {"encoder": "bfloat16", "stage1": "bfloat16", "vocoder": "bfloat16"}
    text, picture = amx.embed([image], ["calm"])
    exact_mel = pipe.embeddings_to_mel(text, picture)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        amx_mel = amx.embeddings_to_mel(text, picture)
    assert amx_mel.dtype == torch.float32
    if amx.recurrent_bf16:
        assert not torch.equal(exact_mel, amx_mel)
        assert float((exact_mel - amx_mel).abs().max()) < 0.02 * float(exact_mel.abs().max())
    else:  # the CPU is mocked, not real: oneDNN built no bf16 LSTM (no AVX512, a Zen 3), so stage 1 fell back
        assert any("stage 1 runs in float32" in str(warning.message) for warning in caught)
        assert torch.equal(exact_mel, amx_mel) and amx.precisions["stage1"] == "float32"
    monkeypatch.setattr(precision, "has_amx", lambda: False)
    fast.save_pretrained(tmp_path / "again")  # the float32 originals are saved, not the bf16 copies
    again = Art2Music.from_pretrained(tmp_path / "again", precision="float32")
    assert np.array_equal(again(image, "calm"), exact_audio)
    monkeypatch.setattr(precision, "bf16_support", lambda device="cpu": precision.Bf16Support(False, "mocked"))
    slow = Art2Music.from_pretrained(tmp_path / "export")
    assert slow.vocoder.inference_dtype == torch.float32 and slow.precision == torch.float32
    mixed = Art2Music.from_pretrained(tmp_path / "export", precision="bfloat16", vocoder_precision="float32")
    assert mixed.precisions == {"encoder": "bfloat16", "stage1": "float32", "vocoder": "float32"}


def test_bad_inputs_are_explained(pipe, tmp_path):
    with pytest.raises(ValueError, match="2 images but 1 comments"):
        pipe([Image.new("RGB", (8, 8))] * 2, ["one"])
    with pytest.raises(ValueError, match="no images"):
        pipe([])
    from art2music.io.images import ImageLoadError

    with pytest.raises(ImageLoadError, match="missing"):
        pipe(tmp_path / "absent.jpg")
    with pytest.raises(ModelLoadError, match="not an art2music pipeline"):
        Art2Music.from_pretrained(tmp_path)


@pytest.fixture(scope="module")
def saved_pipeline(pipe, tmp_path_factory):
    return pipe.save_pretrained(tmp_path_factory.mktemp("saved") / "model")


def _edit_json(path, edit):
    values = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps(edit(values)), encoding="utf-8")


def _truncate(path):
    path.write_bytes(path.read_bytes()[:-100])


def _zip_instead(path):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("weights.bin", b"\0" * 64)


def _pickle_instead(path):
    torch.save({"weight": torch.zeros(3)}, path)


BROKEN_FOLDERS = {
    "truncated stage-1 weights": (lambda m: _truncate(m / "stage1" / "model.safetensors"),
                                  r"stage1/model.safetensors: not a complete safetensors file"),
    "zip as stage-1 weights": (lambda m: _zip_instead(m / "stage1" / "model.safetensors"),
                               r"stage1/model.safetensors: not a complete safetensors file"),
    "pickle as vocoder weights": (lambda m: _pickle_instead(m / "vocoder" / "model.safetensors"),
                                  r"vocoder/model.safetensors: not a complete safetensors file"),
    "truncated encoder weights": (lambda m: _truncate(m / "encoder" / "open_clip_model.safetensors"),
                                  r"encoder/open_clip_model.safetensors: not a complete safetensors file"),
    "size as a string": (lambda m: _edit_json(m / "stage1" / "config.json",
                                              lambda c: {**c, "stage1": {**c["stage1"], "lstm_hidden": "16"}}),
                         r"stage1/config.json: field 'stage1': stage-1 field 'lstm_hidden' must be a positive integer, got '16'"),
    "size as a list": (lambda m: _edit_json(m / "stage1" / "config.json",
                                            lambda c: {**c, "stage1": {**c["stage1"], "frames": [20]}}),
                       r"field 'frames' must be a positive integer, got \[20\]"),
    "mel value as a string": (lambda m: _edit_json(m / "stage1" / "config.json",
                                                   lambda c: {**c, "mel": {**c["mel"], "hop_length": "256"}}),
                              r"stage1/config.json: field 'mel.hop_length': .*expected a number"),
    "vocoder size as a string": (lambda m: _edit_json(m / "vocoder" / "config.json", lambda c: {
        **c, "generator": {**c["generator"], "upsample_initial_channel": "16"}}), r"vocoder/config.json"),
    "pipeline.json is a list": (lambda m: (m / "pipeline.json").write_text("[1, 2]"),
                                r"pipeline.json: holds a JSON list, expected an object"),
    "pipeline.json is not JSON": (lambda m: (m / "pipeline.json").write_text("{format: art"),
                                  r"pipeline.json: not readable UTF-8 JSON"),
    "unknown placeholder": (lambda m: _edit_json(m / "pipeline.json",
                                                 lambda c: {**c, "text_template": "a {mood} painting: {comment}"}),
                            r"pipeline.json: field 'text_template': .*unknown placeholder \{mood\}"),
    "encoder arch missing": (lambda m: _edit_json(m / "encoder" / "config.json",
                                                  lambda c: {k: v for k, v in c.items() if k != "arch"}),
                             r"encoder/config.json: field 'arch'"),
    "stage-1 section missing": (lambda m: _edit_json(m / "stage1" / "config.json",
                                                     lambda c: {k: v for k, v in c.items() if k != "stage1"}),
                                r"stage1/config.json: field 'stage1': missing"),
    "vocoder config missing": (lambda m: (m / "vocoder" / "config.json").unlink(), r"cannot load the vocoder"),
}


@pytest.mark.parametrize("case", BROKEN_FOLDERS)
def test_a_broken_model_folder_raises_one_error_naming_the_file_and_field(saved_pipeline, tmp_path, case):
    break_it, message = BROKEN_FOLDERS[case]
    model = tmp_path / "model"
    shutil.copytree(saved_pipeline, model)
    break_it(model)
    with pytest.raises(ModelLoadError, match=message):
        Art2Music.from_pretrained(model, precision="float32")


def test_a_text_template_with_an_unknown_placeholder_is_refused_when_built(pipe):
    with pytest.raises(ValueError, match=r"unknown placeholder \{mood\}; allowed: \{comment\}, \{emotion\}"):
        Art2Music(pipe.encoder, pipe.stage1, pipe.vocoder, MelConfig(), text_template="{mood}")


def test_bf16_encoders_give_float32_embeddings_close_to_float32(pipe):
    images = [Image.new("RGB", (48, 40), colour) for colour in [(250, 200, 20), (20, 40, 160)]]
    exact_text, exact_image = pipe.embed(images, ["so joyful", "a cold night"])
    fast = Art2Music(pipe.encoder, pipe.stage1, pipe.vocoder, pipe.mel_config, precision=torch.bfloat16)
    text, image = fast.embed(images, ["so joyful", "a cold night"])
    assert text.dtype == image.dtype == torch.float32
    cosine = torch.nn.functional.cosine_similarity
    assert cosine(text, exact_text).min() > 0.99 and cosine(image, exact_image).min() > 0.99
    assert not torch.equal(image, exact_image)  # it really ran in bf16
