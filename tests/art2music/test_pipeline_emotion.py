"""A target feeling steers the audio engine: ``pipe(image, valence=…, arousal=…)`` or ``emotion=…``, with clear
errors for bad values and for a stage 1 trained without emotion conditioning; the VA judge travels with the folder."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from art2music.audio_engine.stage1 import Stage1Config, Stage1Model
from art2music.emotion_judge import VAJudge, VAJudgeConfig
from art2music.emotions import VALENCE_AROUSAL
from art2music.encoders.clip import TINY_ARCH, ClipEncoder
from art2music.pipeline import Art2Music
from vocoder import Generator, GeneratorConfig, MelConfig

SMALL_VOCODER = GeneratorConfig(resblock="2", upsample_rates=(8, 8, 4), upsample_kernel_sizes=(16, 16, 8),
                                upsample_initial_channel=16, resblock_kernel_sizes=(3,),
                                resblock_dilation_sizes=((1, 2),))


def _pipe(emotion_conditioning: bool) -> Art2Music:
    torch.manual_seed(0)
    stage1 = Stage1Model(Stage1Config(embed_dim=64, fusion_dim=16, decoder_input_dim=16, lstm_hidden=16,
                                      lstm_layers=1, frames=20, emotion_conditioning=emotion_conditioning))
    if stage1.emotion is not None:  # a trained "no target" vector is not zero: make it differ from every target
        torch.nn.init.normal_(stage1.emotion.not_given)
    vocoder = Generator(SMALL_VOCODER, MelConfig()).remove_weight_norm()
    return Art2Music(ClipEncoder(TINY_ARCH, None), stage1, vocoder, MelConfig())


@pytest.fixture(scope="module")
def steered():
    return _pipe(True)


@pytest.fixture(scope="module")
def images():
    return [Image.new("RGB", (40, 30), (200, 40, 40)), Image.new("RGB", (30, 40), (20, 40, 200))]


def test_a_target_changes_the_mel_and_an_emotion_is_its_table_point(steered, images):
    embeddings = steered.embed(images[:1])
    plain = steered.embeddings_to_mel(*embeddings)
    sad_values = steered.embeddings_to_mel(*embeddings, va=torch.tensor([VALENCE_AROUSAL["sadness"]]))
    happy = steered.embeddings_to_mel(*embeddings, va=torch.tensor([[0.8, 0.6]]))
    assert (sad_values - happy).abs().max() > 1e-4 and (sad_values - plain).abs().max() > 1e-4
    sad_audio = steered(images[0], emotion="sadness")
    expected = steered.mel_to_audio(sad_values)[0]
    assert torch.allclose(torch.from_numpy(sad_audio), torch.from_numpy(expected), atol=1e-5)
    by_numbers = steered(images[0], valence=VALENCE_AROUSAL["sadness"][0], arousal=VALENCE_AROUSAL["sadness"][1])
    assert torch.allclose(torch.from_numpy(by_numbers), torch.from_numpy(sad_audio), atol=1e-5)


def test_nan_rows_mean_no_target_for_that_item_only(steered, images):
    embeddings = steered.embed(images)
    mixed = steered.embeddings_to_mel(*embeddings, va=torch.tensor([[0.8, -0.3], [float("nan")] * 2]))
    plain = steered.embeddings_to_mel(*embeddings)
    targeted = steered.embeddings_to_mel(*embeddings, va=torch.tensor([[0.8, -0.3]] * 2))
    assert torch.allclose(mixed[1], plain[1], atol=1e-5) and torch.allclose(mixed[0], targeted[0], atol=1e-5)
    all_nan = steered.embeddings_to_mel(*embeddings, va=torch.full((2, 2), float("nan")))
    assert torch.allclose(all_nan, plain, atol=1e-6)


@pytest.mark.parametrize("kwargs, message", [
    ({"valence": 1.2, "arousal": 0.0}, r"valence must be a number in \[-1, 1\]"),
    ({"emotion": "joy"}, "expected one of amusement"),
    ({"valence": 0.3}, "give both valence and arousal"),
])
def test_bad_targets_get_one_line_errors(steered, images, kwargs, message):
    with pytest.raises(ValueError, match=message):
        steered(images[0], **kwargs)


def test_a_model_trained_without_emotion_conditioning_names_the_retraining_option(images):
    plain = _pipe(False)
    assert not plain.accepts_va
    with pytest.raises(ValueError, match="model.emotion_conditioning: true"):
        plain(images[0], emotion="sadness")
    assert plain(images[0]).ndim == 1  # no target: works as always
    nan_rows = plain.embeddings_to_mel(*plain.embed(images[:1]), va=torch.full((1, 2), float("nan")))
    assert nan_rows.shape[0] == 1


def test_the_judge_travels_with_save_and_load(steered, tmp_path):
    steered.va_judge = VAJudge(VAJudgeConfig(channels=(4,), hidden=4)).frozen()
    try:
        folder = steered.save_pretrained(tmp_path / "pipe")
    finally:
        steered.va_judge = None
    loaded = Art2Music.from_pretrained(folder, precision="float32")
    assert loaded.accepts_va and loaded.va_judge is not None and loaded.va_judge.config.channels == (4,)
    assert Art2Music.from_pretrained(steered.save_pretrained(tmp_path / "bare"), precision="float32").va_judge is None


def test_rewriting_a_pipeline_folder_keeps_its_judge_and_export_can_set_one(steered, tmp_path):
    from art2music.emotion_judge import load_va_judge, save_va_judge
    from art2music.export.format import JUDGE_DIR, write_pipeline_folder

    folder = steered.save_pretrained(tmp_path / "pipe")
    save_va_judge(VAJudge(VAJudgeConfig(channels=(4,), hidden=4)), folder / JUDGE_DIR)
    steered.save_pretrained(folder)  # re-exported without a judge in memory: the folder's judge stays
    assert load_va_judge(folder / JUDGE_DIR).config.channels == (4,)
    other = save_va_judge(VAJudge(VAJudgeConfig(channels=(8,), hidden=4)), tmp_path / "other_judge")
    encoder = {"arch": steered.encoder.arch, "pretrained": None, "normalize": steered.encoder.normalize}
    write_pipeline_folder(folder, encoder, steered.encoder.clip, steered.stage1, steered.vocoder, steered.mel_config,
                          steered.text_template, va_judge=other)
    assert Art2Music.from_pretrained(folder, precision="float32").va_judge.config.channels == (8,)
    with pytest.raises(ValueError, match="not a VA judge folder"):
        write_pipeline_folder(folder, encoder, steered.encoder.clip, steered.stage1, steered.vocoder,
                              steered.mel_config, steered.text_template, va_judge=tmp_path)
    assert not folder.with_name("pipe.partial").exists()
