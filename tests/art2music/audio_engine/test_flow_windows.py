"""Long pieces and loops from the flow decoder: window by window, each continuing the last."""

from __future__ import annotations

import torch

from art2music.audio_engine.decoders.flow import FlowConfig, FlowMelDecoder
from art2music.audio_engine.decoders.flow_windows import integrate, window_plan


def _decoder(prediction: str = "data") -> FlowMelDecoder:
    torch.manual_seed(0)
    decoder = FlowMelDecoder(6, 8, 32, FlowConfig(channels=8, levels=1, blocks_per_level=1, attention_blocks=1,
                                                  heads=2, steps=3, guidance=1.5, prediction=prediction)).eval()
    with torch.no_grad():  # no zero-initialised layer left, so the condition and the windows really matter
        for parameter in decoder.network.parameters():
            parameter.normal_(0, 0.2)
    return decoder


def test_a_long_piece_keeps_its_first_window_and_has_the_requested_length():
    decoder = _decoder()
    condition, noise = torch.randn(2, 6), torch.randn(2, 8, 3 * 32 + 7)
    with torch.no_grad():
        long = decoder(condition, frames=noise.shape[-1], noise=noise)
        first = decoder(condition, frames=32, noise=noise[..., :32])
        again = decoder(condition, frames=noise.shape[-1], noise=noise)
    assert long.shape == (2, 8, 103)
    _, overlap = window_plan(103, 32)
    # Up to the first crossfade the long piece is exactly the one-window piece drawn from the same noise.
    torch.testing.assert_close(long[..., :32 - overlap], first[..., :32 - overlap])
    assert not torch.allclose(long[..., 32:64], long[..., 64:96])  # later windows are new music, not copies
    torch.testing.assert_close(long, again)  # one seed, one piece


def test_later_windows_continue_from_the_known_overlap():
    """In a continuation window the known frames follow their path to the known values: with a model that
    predicts the data perfectly for known frames, the window's overlap reproduces the known frames."""
    decoder = _decoder()
    known_values = torch.randn(1, 8, 32)
    mask = torch.arange(32) < 8
    noise = torch.randn(1, 8, 32)
    seen_known = []
    original = decoder.network.forward

    def spy(x, t, condition):
        # where the frames are held on their path, x_t = (1 - (1 - σ) t) x0 + t x_known exactly
        sigma = decoder.config.sigma_min
        expected = (1 - (1 - sigma) * t[:, None, None]) * noise + t[:, None, None] * known_values
        seen_known.append(torch.allclose(x[..., :8], expected[..., :8], atol=1e-5))
        return original(x, t, condition)

    decoder.network.forward = spy
    with torch.no_grad():
        integrate(decoder, noise, torch.randn(1, 6), steps=4, guidance=1.0, solver="euler", known=known_values,
                  known_mask=mask)
    assert seen_known == [True] * 4


def test_a_loop_rewrites_only_the_tail_and_keeps_the_length():
    decoder = _decoder()
    condition, noise = torch.randn(1, 6), torch.randn(1, 8, 80)
    with torch.no_grad():
        plain = decoder(condition, frames=80, noise=noise)
        looped = decoder(condition, frames=80, noise=noise, loop=True)
        short_loop = decoder(condition, frames=20, noise=noise[..., :20], loop=True)
    assert looped.shape == plain.shape and short_loop.shape == (1, 8, 20)
    window, overlap = window_plan(80, 32)
    tail = window - 2 * overlap
    kept = 80 - tail - overlap
    # Between the re-faded start and the rewritten tail, the loop is the plain piece.
    torch.testing.assert_close(looped[..., overlap:kept], plain[..., overlap:kept])
    assert not torch.allclose(looped[..., -tail:], plain[..., -tail:])
    assert not torch.allclose(looped[..., :overlap], plain[..., :overlap])
    torch.testing.assert_close(looped[..., overlap - 1], plain[..., overlap - 1], atol=0.15, rtol=0)  # faded back


def test_the_velocity_model_also_writes_long_pieces():
    decoder = _decoder(prediction="velocity")
    with torch.no_grad():
        mel = decoder(torch.randn(1, 6), frames=200, generator=torch.Generator().manual_seed(3))
    assert mel.shape == (1, 8, 200) and torch.isfinite(mel).all()


def test_sections_follow_their_own_condition_and_continue_each_other():
    decoder = _decoder()
    happy, sad = torch.randn(1, 6), torch.randn(1, 6)
    noise = torch.randn(1, 8, 60)
    with torch.no_grad():
        track = decoder(happy, frames=60, noise=noise, sections=[(0, happy), (30, sad)])
        all_happy = decoder(happy, frames=30, noise=noise[..., :30])
    assert track.shape == (1, 8, 60)
    _, overlap = window_plan(60, 32)
    # The first section is the happy piece up to the crossfade; the second is written under the other condition.
    torch.testing.assert_close(track[..., :30 - overlap], all_happy[..., :30 - overlap])
    with torch.no_grad():
        track_other = decoder(happy, frames=60, noise=noise, sections=[(0, happy), (30, happy)])
    assert not torch.allclose(track[..., 35:], track_other[..., 35:])
    import pytest

    with pytest.raises(ValueError, match="frame 0"):
        decoder(happy, frames=60, noise=noise, sections=[(5, happy)])
