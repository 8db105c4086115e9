"""The page's generation adapter: it passes a pipeline exactly the options its signature takes (and a deterministic
decoder no sampling options), explains the rest, and writes the results into a per-process folder."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
from PIL import Image

from art2music.web.generate import OutputFolder, Request, accepted_options, capabilities, generate

PICTURE = Image.new("RGB", (48, 32), (200, 120, 30))


@pytest.fixture(scope="module")
def demo():
    from art2music import Art2Music

    return Art2Music.from_pretrained("demo", precision="float32")


class FlowLike:
    """The flow decoder's call: sampling options and a length, recorded as passed."""

    sample_rate, duration_seconds, decoder = 22050, 4.0, "flow"

    def __init__(self, is_generative: bool = True, decoder: str = "flow"):
        self.is_generative, self.decoder, self.calls = is_generative, decoder, []

    def __call__(self, image, comment=None, seed=None, steps=None, guidance=None, seconds=None):
        self.calls.append({"comment": comment, "seed": seed, "steps": steps, "guidance": guidance, "seconds": seconds})
        return np.full(int((seconds or self.duration_seconds) * self.sample_rate), 0.1, dtype=np.float32)


class Piece:
    def __init__(self, seconds):
        self.seconds = seconds

    def to_audio(self):
        return np.linspace(-0.5, 0.5, int(self.seconds * 22050), dtype=np.float32)

    def save(self, path):
        path.write_bytes(b"MThd")
        return path


class Art2MidiLike:
    """The midi engine's call: an emotion and a length, no comment; returns a piece with to_audio() and save()."""

    sample_rate = 22050

    def __call__(self, image, emotion=None, seconds=None, seed=0):
        self.last = {"emotion": emotion, "seconds": seconds, "seed": seed}
        return Piece(seconds or 20.0)


def test_the_flow_demo_takes_a_comment_a_seed_a_feeling_and_any_length(demo):
    caps = capabilities(demo)
    assert {"comment", "seed", "steps", "guidance", "seconds", "emotion", "valence", "arousal"} <= caps.options
    calm = generate(demo, Request(PICTURE, comment="calm and warm", seed=3, steps=2, seconds=2.0))
    assert calm.ignored == () and calm.midi is None and calm.sample_rate == 22050
    assert abs(calm.waveform.shape[0] - 2.0 * 22050) <= demo.mel_config.hop_length
    other_seed = generate(demo, Request(PICTURE, comment="calm and warm", seed=4, steps=2, seconds=2.0))
    assert not np.allclose(calm.waveform, other_seed.waveform), "the seed did not reach the pipeline"
    scared = generate(demo, Request(PICTURE, comment="dark, it frightens me", seed=3, steps=2, seconds=2.0))
    assert not np.allclose(calm.waveform, scared.waveform), "the comment did not reach the pipeline"
    sad = generate(demo, Request(PICTURE, comment="calm and warm", emotion="sadness", seed=3, steps=2, seconds=2.0))
    assert not np.allclose(calm.waveform, sad.waveform), "the feeling did not reach the pipeline"


def test_a_flow_pipeline_gets_the_sampling_options_that_were_set():
    flow = FlowLike()
    caps = capabilities(flow)
    assert caps.options == {"comment", "seed", "steps", "guidance", "seconds"} and caps.max_seconds == 300
    result = generate(flow, Request(PICTURE, comment="joy", seed=7, seconds=6.0, emotion="awe"))
    assert flow.calls == [{"comment": "joy", "seed": 7, "steps": None, "guidance": None, "seconds": 6.0}]
    assert result.waveform.size == 6 * 22050 and result.ignored == ("emotion",)


def test_a_deterministic_decoder_gets_no_sampling_options_and_at_most_its_length():
    bilstm = FlowLike(is_generative=False, decoder="bilstm")
    caps = capabilities(bilstm)
    assert caps.options == {"comment", "seconds"} and caps.max_seconds == 4.0
    assert any("BiLSTM decoder is deterministic: it has no seed, steps, guidance" in note for note in caps.notes)
    generate(bilstm, Request(PICTURE, seed=1, steps=8, seconds=2.0))
    assert bilstm.calls == [{"comment": None, "seed": None, "steps": None, "guidance": None, "seconds": 2.0}]
    with pytest.raises(ValueError, match="between 0.5 and 4.0 seconds"):
        generate(bilstm, Request(PICTURE, seconds=10.0))


@pytest.mark.parametrize("field, value, message", [("seed", -1, "seed"), ("steps", 0, "Steps"),
                                                   ("guidance", 50.0, "Guidance"), ("seconds", 301.0, "length")])
def test_values_out_of_range_are_one_line_errors(field, value, message):
    with pytest.raises(ValueError, match=message):
        generate(FlowLike(), Request(PICTURE, **{field: value}))


def test_a_midi_engine_gets_emotion_and_length_and_its_piece_is_played(tmp_path):
    midi = Art2MidiLike()
    caps = capabilities(midi)
    assert caps.options == {"emotion", "seed", "seconds"}
    assert any("does not read comments" in note for note in caps.notes)
    result = generate(midi, Request(PICTURE, comment="ignored", emotion="sadness", seconds=3.0, seed=4))
    assert midi.last == {"emotion": "sadness", "seconds": 3.0, "seed": 4}
    assert result.ignored == ("comment",) and isinstance(result.midi, Piece) and result.waveform.size == 3 * 22050
    outputs = OutputFolder(tmp_path)
    paths = outputs.write(result)
    assert set(paths) == {"wav", "png", "mid"} and paths["mid"].read_bytes() == b"MThd"


def test_the_output_folder_writes_wav_and_spectrogram_and_is_removed(demo, tmp_path):
    outputs = OutputFolder(tmp_path)
    result = generate(demo, Request(PICTURE))
    paths = outputs.write(result, demo.mel_config)
    audio, rate = soundfile.read(paths["wav"], dtype="float32")
    assert rate == 22050 and audio.shape == result.waveform.shape
    np.testing.assert_allclose(audio, result.waveform, atol=1.5 / 32768)  # 16-bit PCM
    picture = Image.open(paths["png"])
    assert picture.height == demo.mel_config.n_mels and abs(picture.width - demo.frames) <= 1
    assert outputs.write(result)["wav"].name == "art2music-0002.wav"
    assert not [path for path in outputs.root.iterdir() if ".tmp" in path.name]
    outputs.cleanup()
    assert not outputs.root.exists()


class SteeredLike(FlowLike):
    """An audio pipeline whose stage 1 takes a target feeling."""

    accepts_va = True

    def __call__(self, image, comment=None, seed=None, steps=None, guidance=None, seconds=None, emotion=None,
                 valence=None, arousal=None):
        self.calls.append({"emotion": emotion, "valence": valence, "arousal": arousal})
        return np.zeros(22050, dtype=np.float32)


def test_feeling_controls_reach_a_steerable_pipeline_and_not_an_unconditioned_one():
    steered = SteeredLike()
    assert {"emotion", "valence", "arousal"} <= capabilities(steered).options
    generate(steered, Request(PICTURE, valence=0.8, arousal=-0.3))
    generate(steered, Request(PICTURE, emotion="sadness"))
    assert steered.calls == [{"emotion": None, "valence": 0.8, "arousal": -0.3},
                             {"emotion": "sadness", "valence": None, "arousal": None}]
    unconditioned = SteeredLike()
    unconditioned.accepts_va = False  # a stage 1 trained without emotion conditioning: the page says so, sends none
    caps = capabilities(unconditioned)
    assert not caps.options & {"emotion", "valence", "arousal"}
    assert any("model.emotion_conditioning: true" in note for note in caps.notes)
    assert generate(unconditioned, Request(PICTURE, emotion="fear")).ignored == ("emotion",)


@pytest.mark.parametrize("values, message", [({"valence": 1.5, "arousal": 0.0}, "Valence must be between -1 and 1"),
                                             ({"valence": 0.5}, "both valence and arousal"),
                                             ({"emotion": "awe", "valence": 0.1, "arousal": 0.1}, "not both")])
def test_bad_feelings_are_one_line_errors(values, message):
    with pytest.raises(ValueError, match=message):
        generate(SteeredLike(), Request(PICTURE, **values))
