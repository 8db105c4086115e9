"""The audio engine's soundtrack: flow sections continue each other under their own images; the BiLSTM crossfades."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from art2music.audio_engine.decoders.flow_windows import window_plan
from art2music.pipeline import Art2Music
from art2music.soundtrack.crossfade import fill
from art2music.soundtrack.audio_track import compose_audio_track, continued_mel, embed_slides
from art2music.soundtrack.slides import read_slides


def test_each_flow_section_is_written_under_its_own_image(flow_model_dir, slide_images):
    pipe = Art2Music.from_pretrained(flow_model_dir, precision="float32")
    a, b = read_slides([str(slide_images[0])]), read_slides([str(slide_images[1])])
    text_a, image_a = embed_slides(pipe, a)
    text_b, image_b = embed_slides(pipe, b)
    frames = 30  # longer than the tiny model's 20-frame window: each section takes two windows
    same = continued_mel(pipe, torch.cat([text_a, text_a]), torch.cat([image_a, image_a]), frames, 5, 2, 2.0)
    changed = continued_mel(pipe, torch.cat([text_a, text_b]), torch.cat([image_a, image_b]), frames, 5, 2, 2.0)
    only_b = continued_mel(pipe, torch.cat([text_b, text_b]), torch.cat([image_b, image_b]), frames, 5, 2, 2.0)
    assert same.shape == changed.shape == (1, 80, 2 * frames)
    # one piece from one noise draw: away from the transition round the boundary each section is near the piece
    # its own image writes, and far from the other image's
    overlap = window_plan(2 * frames, pipe.frames)[1]
    first, second = slice(0, frames - overlap), slice(frames + overlap, 2 * frames)

    def distance(x, y, span):
        return float((x[..., span] - y[..., span]).abs().mean())

    assert distance(changed, same, first) < 0.5 * distance(changed, only_b, first)
    assert distance(changed, only_b, second) < 0.5 * distance(changed, same, second)
    again = continued_mel(pipe, torch.cat([text_a, text_b]), torch.cat([image_a, image_b]), frames, 5, 2, 2.0)
    torch.testing.assert_close(again, changed)  # one seed, one piece
    other_seed = continued_mel(pipe, torch.cat([text_a, text_b]), torch.cat([image_a, image_b]), frames, 6, 2, 2.0)
    assert float((other_seed - changed).abs().mean()) > 0.05


def test_flow_soundtrack_cues_tile_the_track(flow_model_dir, slide_images):
    pipe = Art2Music.from_pretrained(flow_model_dir, precision="float32")
    slides = read_slides([str(path) for path in slide_images])
    track = compose_audio_track(pipe, slides, 0.4, seed=3, steps=2)
    frames = pipe.mel_config.seconds_to_frames(0.4)
    assert track.transitions == "continued" and not track.notes
    assert track.waveform.shape == (3 * frames * 256,) and np.isfinite(track.waveform).all()
    assert float(np.abs(track.waveform).max()) > 1e-3
    assert track.mel.shape == (80, 3 * frames)  # the stage-1 mel it was vocoded from, for measurements
    assert track.settings["seed"] == 3 and track.settings["steps"] == 2 and track.settings["guidance"] == 2.0
    assert [cue.id for cue in track.cues] == ["p0", "p1", "p2"]
    assert track.cues[0].start == 0 and track.cues[-1].end == pytest.approx(track.seconds, abs=256 / 22050)
    assert all(a.end == b.start for a, b in zip(track.cues, track.cues[1:]))
    default = compose_audio_track(pipe, slides, 0.4, steps=2)  # the default seed comes from the slides: repeatable
    assert default.settings["seed"] == compose_audio_track(pipe, slides, 0.4, steps=2).settings["seed"]


def test_bilstm_soundtrack_crossfades_clips_and_says_so(bilstm_model_dir, slide_images):
    pipe = Art2Music.from_pretrained(bilstm_model_dir, precision="float32")
    slides = read_slides([str(path) for path in slide_images])
    track = compose_audio_track(pipe, slides, 0.5)  # longer than the BiLSTM's 20-frame clip: clips are repeated
    frames = pipe.mel_config.seconds_to_frames(0.5)
    assert track.transitions == "crossfade" and "crossfade" in track.notes[0] and track.mel is None
    assert track.waveform.shape == (3 * frames * 256,)
    clips = pipe.mel_to_audio(pipe.embeddings_to_mel(*embed_slides(pipe, slides)))
    section, fade = frames * 256, 2 * (frames * 256 // 4)  # the crossfade is at most half a section
    assert track.notes[0].startswith("this model's stage 1 is the deterministic BiLSTM")
    # between the fades, the track is slide k's clip repeated, its sound starting half a fade before its cue
    for k in range(3):
        sound = fill(clips[k], section + fade // 2 * ((k > 0) + (k < 2)), fade)
        begin = max(0, k * section - fade // 2)
        pure = slice(k * section + fade // 2, (k + 1) * section - fade // 2)
        np.testing.assert_allclose(track.waveform[pure], sound[pure.start - begin:pure.stop - begin], atol=1e-6)
    assert not np.allclose(clips[0], clips[1], atol=1e-3)  # the slides' clips differ, so the check means something
    with pytest.raises(ValueError, match="only apply to a generative"):
        compose_audio_track(pipe, slides, 0.5, seed=1)
