"""Equal-power crossfades, filling a section with a shorter clip, and chunked vocoding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from art2music.soundtrack.crossfade import equal_power_gains, fill, join
from art2music.soundtrack.vocode import vocode_in_chunks


def test_equal_power_gains_keep_the_power_and_run_from_one_side_to_the_other():
    fade_out, fade_in = equal_power_gains(100)
    np.testing.assert_allclose(fade_out ** 2 + fade_in ** 2, 1.0, atol=1e-6)
    assert fade_out[0] > 0.99 and fade_in[0] < 0.02 and fade_out[-1] < 0.02 and fade_in[-1] > 0.99
    assert np.all(np.diff(fade_in) > 0)


def test_join_overlaps_each_section_and_keeps_uncorrelated_power():
    rng = np.random.default_rng(0)
    a, b, c = (rng.normal(size=2000).astype(np.float32) for _ in range(3))
    joined = join([a, b, c], 400)
    assert joined.shape == (6000 - 2 * 400,)
    np.testing.assert_array_equal(joined[:1600], a[:1600])  # untouched before the first fade
    np.testing.assert_array_equal(joined[2000:3200], b[400:1600])
    middle = joined[1600:2000]  # the fade between two unrelated noises: power stays ~1 (linear fades dip to 0.5)
    assert 0.8 < float(np.mean(middle ** 2)) < 1.2


def test_fill_repeats_a_short_clip_to_the_length_and_cuts_a_long_one():
    clip = np.sin(np.arange(1000) / 7).astype(np.float32)
    filled = fill(clip, 2500, 200)
    assert filled.shape == (2500,)
    np.testing.assert_array_equal(filled[:800], clip[:800])
    np.testing.assert_array_equal(fill(clip, 300, 200), clip[:300])
    with pytest.raises(ValueError, match="non-empty"):
        fill(np.zeros(0), 10, 2)


def test_chunked_vocoding_matches_vocoding_the_whole_mel():
    from tests.art2music.render.conftest import build_tiny_pipeline

    torch.set_num_threads(1)
    pipe = build_tiny_pipeline()
    mel = torch.randn(1, 80, 300, generator=torch.Generator().manual_seed(1)) - 5
    whole = pipe.mel_to_audio(mel)[0]
    chunked = vocode_in_chunks(pipe.mel_to_audio, mel, 256, chunk=64, context=16)
    assert chunked.shape == whole.shape == (300 * 256,)
    assert float(np.abs(whole).max()) > 1e-3
    # HiFi-GAN sees 16 frames of context each side: the chunks agree with the whole up to float noise
    assert float(np.abs(chunked - whole).max()) < 1e-3 * float(np.abs(whole).max()) + 1e-5
    with pytest.raises(ValueError, match="at least 4 x context"):
        vocode_in_chunks(pipe.mel_to_audio, mel, 256, chunk=20, context=16)
