"""Long pieces, loops and sections from the flow decoder: overlapping windows integrated together as one piece."""

from __future__ import annotations

import pytest
import torch

from art2music.audio_engine.decoders import flow_windows
from art2music.audio_engine.decoders.flow import FlowConfig, FlowMelDecoder
from art2music.audio_engine.decoders.flow_windows import (position_weights, section_weights, window_plan,
                                                          window_starts)


def _decoder(prediction: str = "data") -> FlowMelDecoder:
    torch.manual_seed(0)
    decoder = FlowMelDecoder(6, 8, 32, FlowConfig(channels=8, levels=1, blocks_per_level=1, attention_blocks=1,
                                                  heads=2, steps=3, guidance=1.5, prediction=prediction)).eval()
    with torch.no_grad():  # no zero-initialised layer left, so the condition and the windows really matter
        for parameter in decoder.network.parameters():
            parameter.normal_(0, 0.2)
    return decoder


@pytest.mark.parametrize("frames, loop", [(103, False), (33, False), (1000, False), (80, True), (20, True),
                                          (1001, True)])
def test_windows_cover_the_piece_and_share_at_least_the_overlap(frames, loop):
    window, overlap = window_plan(frames, 32)
    starts = window_starts(frames, window, overlap, loop)
    covered = torch.zeros(frames, dtype=torch.long)
    for start in starts:
        covered[(start + torch.arange(window)) % frames] += 1
        assert loop or start + window <= frames
    assert bool((covered >= 1).all())
    ends = [start + window for start in starts]
    following = starts[1:] + ([starts[0] + frames] if loop else [])
    assert all(end - nxt >= overlap for end, nxt in zip(ends, following))
    if loop:  # one window holds the wrap from the last frame to the first
        assert len(starts) >= 2 and any(start + window > frames for start in starts)


def test_window_weights_fade_at_the_edges_and_sections_sum_to_one():
    ramp = position_weights(32, 8, torch.zeros(()))
    assert 0 < float(ramp[0]) < 0.1 and float(ramp[16]) == 1.0 and torch.allclose(ramp, ramp.flip(0))
    weights = section_weights(100, [0, 40, 70], 10, loop=False, like=torch.zeros(()))
    torch.testing.assert_close(weights.sum(0), torch.ones(100))
    assert float(weights[0, 20]) == 1.0 and float(weights[1, 55]) == 1.0 and float(weights[2, 99]) == 1.0
    assert 0 < float(weights[0, 38]) < 1 and 0 < float(weights[1, 38]) < 1  # a transition across each boundary
    looped = section_weights(100, [0, 40, 70], 10, loop=True, like=torch.zeros(()))
    torch.testing.assert_close(looped.sum(0), torch.ones(100))
    assert 0 < float(looped[2, 1]) < 1 and 0 < float(looped[0, 98]) < 1  # looped, the last section leads into the first


def test_a_long_piece_is_one_seeded_piece_of_new_music_window_after_window():
    decoder = _decoder()
    condition, noise = torch.randn(2, 6), torch.randn(2, 8, 3 * 32 + 7)
    with torch.no_grad():
        long = decoder(condition, frames=noise.shape[-1], noise=noise)
        again = decoder(condition, frames=noise.shape[-1], noise=noise)
        other = decoder(condition, frames=noise.shape[-1], noise=torch.randn(2, 8, 103))
    assert long.shape == (2, 8, 103) and torch.isfinite(long).all()
    torch.testing.assert_close(long, again)  # one seed, one piece
    assert not torch.allclose(long[..., 32:64], long[..., 64:96])  # later windows are new music, not copies
    assert float((long - other).abs().mean()) > 0.05


def test_every_frame_moves_by_the_weighted_mean_of_the_windows_covering_it(monkeypatch):
    """With a stand-in field that returns each window's own start frame everywhere, one Euler step from zero
    moves a frame by the weighted mean of the starts of the windows covering it."""
    decoder = _decoder()
    frames, window = 80, 32

    def field(x, t, condition, guidance):
        return x[:, :, :1].expand_as(x).clone()  # the window's first frame's value, which the noise sets below

    monkeypatch.setattr(decoder, "velocity", field)
    noise = torch.arange(frames, dtype=torch.float32).expand(1, 8, frames).contiguous()
    with torch.no_grad():
        moved = flow_windows.sample_long(decoder, noise, torch.zeros(1, 6), 1, 1.0, "euler", window)
    step = (moved - noise)[0, 0]
    _, overlap = window_plan(frames, window)
    starts = window_starts(frames, window, overlap, loop=False)
    weights = position_weights(window, overlap, noise)
    for frame in (0, 20, 40, 79):
        covering = [(s, weights[frame - s]) for s in starts if s <= frame < s + window]
        expected = sum(s * w for s, w in covering) / sum(w for _, w in covering)
        assert float(step[frame]) == pytest.approx(float(expected), rel=1e-5)
    assert len({len([s for s in starts if s <= f < s + window]) for f in range(frames)}) > 1  # overlaps exist


def test_a_loop_has_no_special_frame_rotating_its_noise_rotates_the_piece():
    decoder = _decoder()
    condition, noise = torch.randn(1, 6), torch.randn(1, 8, 96)  # 4 windows evenly round the circle
    window, overlap = window_plan(96, 32)
    hop = window_starts(96, window, overlap, loop=True)[1]
    with torch.no_grad():
        looped = decoder(condition, frames=96, noise=noise, loop=True)
        rotated = decoder(condition, frames=96, noise=noise.roll(-hop, dims=-1), loop=True)
        plain = decoder(condition, frames=96, noise=noise)
        short_loop = decoder(condition, frames=20, noise=noise[..., :20], loop=True)
    # the window layout is the same circle shifted by one window, so the wrap point is like any other frame
    torch.testing.assert_close(rotated, looped.roll(-hop, dims=-1), rtol=1e-4, atol=1e-4)
    assert not torch.allclose(looped, plain, atol=1e-3)
    assert short_loop.shape == (1, 8, 20) and torch.isfinite(short_loop).all()


def test_the_velocity_model_also_writes_long_pieces():
    decoder = _decoder(prediction="velocity")
    with torch.no_grad():
        mel = decoder(torch.randn(1, 6), frames=200, generator=torch.Generator().manual_seed(3))
    assert mel.shape == (1, 8, 200) and torch.isfinite(mel).all()


def test_sections_follow_their_own_condition():
    decoder = _decoder()
    happy, sad = torch.randn(1, 6), torch.randn(1, 6)
    noise = torch.randn(1, 8, 96)
    with torch.no_grad():
        track = decoder(happy, frames=96, noise=noise, sections=[(0, happy), (48, sad)])
        all_happy = decoder(happy, frames=96, noise=noise)
        all_sad = decoder(sad, frames=96, noise=noise)
    assert track.shape == (1, 8, 96)

    def distance(a, b, span):
        return float((a[..., span] - b[..., span]).abs().mean())

    first, second = slice(0, 36), slice(60, 96)  # away from the 8-frame transition round frame 48
    assert distance(track, all_happy, first) < 0.5 * distance(track, all_sad, first)
    assert distance(track, all_sad, second) < 0.5 * distance(track, all_happy, second)
    with pytest.raises(ValueError, match="frame 0"):
        decoder(happy, frames=60, noise=noise[..., :60], sections=[(5, happy)])
    with pytest.raises(ValueError, match="inside the piece"):
        decoder(happy, frames=60, noise=noise[..., :60], sections=[(0, happy), (60, sad)])
