from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from art2music.export.format import ModelLoadError, load_parts
from art2music.symbolic.pipeline import Art2Midi
from art2music.symbolic.piece import piano_roll_image


@pytest.fixture(scope="module")
def painting(tmp_path_factory):
    path = tmp_path_factory.mktemp("images") / "painting.png"
    Image.fromarray((np.random.default_rng(0).random((40, 56, 3)) * 255).astype(np.uint8)).save(path)
    return path


def test_from_pretrained_composes_a_piece(tiny_midi_pipeline, painting, tmp_path):
    pipe = Art2Midi.from_pretrained(tiny_midi_pipeline)
    piece = pipe(painting, emotion="sadness", seconds=6.0, seed=1, temperature=0.8)
    assert piece.notes and 0 < piece.seconds < 12
    assert pipe(painting, emotion="sadness", seconds=6.0, seed=1, temperature=0.8).tokens == piece.tokens
    saved = piece.save(tmp_path / "x.mid")
    from art2music.symbolic.tokenizer import read_score

    assert sum(len(track.notes) for track in read_score(saved).tracks) == len(piece.notes)
    roll = piano_roll_image(piece)
    assert roll.height == 88 * 3 and roll.width >= int(piece.seconds * 40)
    assert np.asarray(roll).max() > 100  # notes were drawn
    two = pipe([painting, Image.open(painting)], bars=2, seed=0)
    assert len(two) == 2 and pipe.predict_va([painting]).shape == (1, 2)
    with pytest.raises(ValueError, match="not both"):
        pipe(painting, emotion="awe", va=(0.1, 0.1))


def test_save_pretrained_round_trip_and_checks(tiny_midi_pipeline, tmp_path):
    pipe = Art2Midi.from_pretrained(tiny_midi_pipeline)
    copy = pipe.save_pretrained(tmp_path / "copy")
    assert json.loads((copy / "pipeline.json").read_text())["engine"] == "midi"
    assert (copy / "symbolic" / "tokenizer.json").is_file()
    again = Art2Midi.from_pretrained(copy)
    for name, tensor in pipe.model.state_dict().items():
        assert np.array_equal(tensor.numpy(), again.model.state_dict()[name].numpy()), name
    with pytest.raises(ModelLoadError, match="midi-engine pipeline"):
        load_parts(copy)  # the audio engine's loader refuses it with a pointer to Art2Midi
    broken = tmp_path / "broken"
    shutil.copytree(copy, broken)
    config = json.loads((broken / "symbolic" / "config.json").read_text())
    config["symbolic"]["vocab_size"] += 1
    (broken / "symbolic" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match="tokenizer.json"):
        Art2Midi.from_pretrained(broken)


@pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="FluidSynth is not installed")
def test_to_audio_renders_the_notes(tiny_midi_pipeline, painting):
    from art2music.io.synthesis import SynthesisUnavailable, find_soundfont

    try:
        find_soundfont()
    except SynthesisUnavailable:
        pytest.skip("no General MIDI soundfont")
    piece = Art2Midi.from_pretrained(tiny_midi_pipeline)(painting, seconds=4.0, seed=2)
    audio = piece.to_audio()
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(len(audio) / 22050 - (max(piece.seconds, piece.bar_seconds) + 1.0)) < 0.05  # closing rests too
    assert np.abs(audio).max() > 0.01


def test_sampling_defaults_travel_with_the_model_and_fill_unset_arguments(tiny_midi_pipeline, painting, tmp_path):
    from art2music.symbolic.sampling import SamplingDefaults

    pipe = Art2Midi.from_pretrained(tiny_midi_pipeline)
    assert pipe.sampling == SamplingDefaults()  # written by write_midi_pipeline without a choice
    pipe.sampling = SamplingDefaults(temperature=0.7, top_k=1, top_p=0.9)
    folder = pipe.save_pretrained(tmp_path / "greedy")
    stored = json.loads((folder / "symbolic" / "config.json").read_text())["sampling"]
    assert stored == {"temperature": 0.7, "top_k": 1, "top_p": 0.9, "key_prior": 0.0, "mode_prior": 0.0, "tempo_prior": 0.0}
    greedy = Art2Midi.from_pretrained(folder)
    assert greedy.sampling == SamplingDefaults(0.7, 1, 0.9)
    # top_k 1 by default: every seed writes the same (most likely) tokens, unless the call asks otherwise
    assert greedy(painting, va=(0.5, 0.5), bars=2, seed=1).tokens == greedy(painting, va=(0.5, 0.5), bars=2,
                                                                               seed=2).tokens
    assert greedy(painting, va=(0.5, 0.5), bars=2, seed=1, top_k=1).tokens == \
        greedy(painting, va=(0.5, 0.5), bars=2, seed=1).tokens
    assert greedy.sampling.resolve(temperature=1.3, top_p=None) == {"temperature": 1.3, "top_k": 1, "top_p": 0.9,
                                                                     "key_prior": 0.0, "mode_prior": 0.0, "tempo_prior": 0.0}
    free = [greedy(painting, va=(0.5, 0.5), bars=2, seed=seed, top_k=0, top_p=1.0, temperature=1.5).tokens
            for seed in range(4)]
    assert len({tuple(tokens) for tokens in free}) > 1  # the call's own values override the defaults

    for bad, message in (({"temperature": 0}, "temperature must be positive"), ({"top_q": 1}, "unknown sampling"),
                         ({"top_k": "3"}, "not a number")):
        broken = tmp_path / f"broken-{len(message)}"
        shutil.copytree(folder, broken)
        config = json.loads((broken / "symbolic" / "config.json").read_text())
        config["sampling"] = bad
        (broken / "symbolic" / "config.json").write_text(json.dumps(config))
        with pytest.raises(ModelLoadError, match=message):
            Art2Midi.from_pretrained(broken)
    legacy = tmp_path / "legacy"  # a folder written before the entry existed keeps the old behaviour
    shutil.copytree(folder, legacy)
    config = json.loads((legacy / "symbolic" / "config.json").read_text())
    del config["sampling"]
    (legacy / "symbolic" / "config.json").write_text(json.dumps(config))
    assert Art2Midi.from_pretrained(legacy).sampling == SamplingDefaults(1.0, 0, 0.95, 0.0)


def test_each_piece_leans_by_its_own_target_valence(tiny_midi_pipeline, painting, monkeypatch):
    import art2music.symbolic.pipeline as pipeline_module

    pipe = Art2Midi.from_pretrained(tiny_midi_pipeline)
    seen = []
    real = pipeline_module.windowed_piece

    def spy(model, memory, tokenizer, facts, settings, generator):
        seen.append((settings.target_valence, settings.target_arousal, settings.mode_prior))
        return real(model, memory, tokenizer, facts, settings, generator)

    monkeypatch.setattr(pipeline_module, "windowed_piece", spy)
    from art2music.symbolic.sampling import SamplingSettings

    pipe.compose([painting, painting], va=[[0.7, 0.0], [-0.4, 0.5]], settings=SamplingSettings(bars=1, mode_prior=3.0))
    assert seen == [(pytest.approx(0.7), 0.0, 3.0), (pytest.approx(-0.4), 0.5, 3.0)]
    seen.clear()
    pipe(painting, bars=1, mode_prior=2.0)  # no target given: the feeling the model reads in the painting
    read = pipe.predict_va([painting])[0].tolist()
    assert seen[0][:2] == (pytest.approx(read[0], abs=1e-5), pytest.approx(read[1], abs=1e-5)) and seen[0][2] == 2.0
