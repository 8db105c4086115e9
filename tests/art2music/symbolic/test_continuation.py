"""Pieces of any length: windowed continuation joins whole bars, never repeats its prompt, and is reproducible."""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from art2music.symbolic import continuation
from art2music.symbolic.bars import bar_ticks
from art2music.symbolic.sampling import SamplingSettings
from art2music.symbolic.tokenizer import ids_to_score, score_to_ids, token_facts

WINDOW = 100  # positions of the stand-in model: a few bars per window


def _numbered_bars(first: int, count: int, tempo: float = 120.0):
    """A score of ``count`` bars; bar ``b`` (counted from ``first``) holds four quarter notes of pitch ``40 + b``."""
    from symusic import Note, Score, Tempo, TimeSignature, Track

    score = Score(16)
    score.time_signatures.append(TimeSignature(0, 4, 4))
    score.tempos.append(Tempo(0, tempo))
    track = Track(program=0)
    for bar in range(count):
        for beat in range(4):
            track.notes.append(Note(bar * 64 + beat * 16, 12, 40 + first + bar, 80))
    score.tracks.append(track)
    return score


def _pitches_by_bar(score) -> dict[int, set[int]]:
    ticks = bar_ticks(score)
    bars: dict[int, set[int]] = {}
    for track in score.tracks:
        for note in track.notes:
            bars.setdefault(note.time // ticks, set()).add(note.pitch)
    return bars


def test_windows_join_whole_bars_without_repeating_the_prompt_or_losing_a_step(tokenizer, monkeypatch):
    """A stand-in model writes bar ``b`` as pitch ``40 + b``, one token stream for the whole piece, each window going
    on where the last stopped: the joined piece must hold each bar once, whole, in order, and every written token
    (the bars a full window leaves unfinished are carried, not dropped)."""
    facts = token_facts(tokenizer)
    stream = score_to_ids(tokenizer, _numbered_bars(0, 40))
    windows = []

    def numbered_window(model, memory, prompt, facts_, settings, generator, clock, allow_eos=True):
        assert not allow_eos  # a piece of a requested length goes on
        prompt_bars = _pitches_by_bar(ids_to_score(tokenizer, prompt)) if len(prompt) > 1 else {}
        # the prompt is the last finished bars, re-encoded, then the unfinished bar's tokens as written: pitches
        # 40 + b of the bars up to the clock's open bar
        assert sorted(prompt_bars.values(), key=min) == [{40 + b} for b in range(clock.bars_opened - len(prompt_bars),
                                                                                  clock.bars_opened)]
        kept = []
        for token in stream[sum(len(new) for _, new, _ in windows):]:
            if not clock.admit(token, facts_, settings):
                windows.append((list(prompt), kept, "length"))
                return kept, "length"
            kept.append(token)
            if len(prompt) + len(kept) >= WINDOW:
                windows.append((list(prompt), kept, "full"))
                return kept, "full"
        raise AssertionError("40 bars always fill a window")

    monkeypatch.setattr(continuation, "sample_window", numbered_window)
    model = SimpleNamespace(config=SimpleNamespace(max_tokens=WINDOW))
    score, tokens, bars = continuation.compose_piece(model, None, tokenizer, facts, SamplingSettings(bars=14), None)
    assert len(windows) >= 4 and bars == 14
    assert _pitches_by_bar(score) == {b: {40 + b} for b in range(14)}  # every bar once, none repeated, none missing
    assert sum(len(track.notes) for track in score.tracks) == 14 * 4  # the bars cut by a window's end are whole
    assert tokens == stream[:len(tokens)] == [t for _, new, _ in windows for t in new]  # no step thrown away
    assert sum(int(facts.bars[t]) for t in tokens) == 14
    assert any(not facts.bars[new[0]] for _, new, _ in windows[1:])  # some window went on inside a bar


def test_a_bar_longer_than_a_window_is_closed_as_written(tokenizer, monkeypatch):
    """A first bar longer than any window: the carried bar grows until it leaves no room, then is closed as written,
    and the next window starts with a lone ``Bar`` (after which the stand-in writes the stream's second bar)."""
    from symusic import Note, Score, Tempo, TimeSignature, Track

    facts = token_facts(tokenizer)
    busy = Score(16)
    busy.time_signatures.append(TimeSignature(0, 4, 4))
    busy.tempos.append(Tempo(0, 120.0))
    track = Track(program=0)
    for step in range(0, 64, 2):  # a bar of 64 notes (two on each 32nd), then a second bar
        track.notes.extend([Note(step, 2, 50 + step % 12, 80), Note(step, 2, 70 + step % 5, 80)])
    track.notes.append(Note(64, 16, 60, 80))
    busy.tracks.append(track)
    stream = score_to_ids(tokenizer, busy)
    bar_opens = [index for index, token in enumerate(stream) if facts.bars[token]]
    assert bar_opens[1] - bar_opens[0] > WINDOW - continuation.MIN_NEW_TOKENS  # the first bar cannot be carried on
    written = []

    def dense_window(model, memory, prompt, facts_, settings, generator, clock, allow_eos=True):
        kept, start = [], len(written)
        if prompt[-1] == facts.bar:  # the first bar was closed: its rest is never written
            assert len(written) == WINDOW - 1 and prompt == [facts.bos, facts.bar]
            start = bar_opens[1]
        for token in stream[start:]:
            if not clock.admit(token, facts_, settings):
                break
            kept.append(token)
            if len(prompt) + len(kept) >= WINDOW:
                written.extend(kept)
                return kept, "full"
        written.extend(kept)
        return kept, "length"  # (the stream's end, or the length)

    monkeypatch.setattr(continuation, "sample_window", dense_window)
    model = SimpleNamespace(config=SimpleNamespace(max_tokens=WINDOW))
    score, tokens, bars = continuation.compose_piece(model, None, tokenizer, facts, SamplingSettings(bars=3), None)
    assert bars == 3 and tokens == stream[:WINDOW - 1] + [facts.bar] + stream[bar_opens[1]:]
    first_bar = [note for track in score.tracks for note in track.notes if note.time < 64]
    assert 0 < len(first_bar) < 64  # closed as written: the part that fit, nothing beyond
    assert [(note.time, note.pitch) for track in score.tracks for note in track.notes if note.time >= 64] == [(128, 60)]


def test_prompt_keeps_trailing_empty_bars_and_fits_the_window(tokenizer):
    facts = token_facts(tokenizer)
    piece = _numbered_bars(0, 3)
    prompt = continuation.continuation_prompt(piece, 5, tokenizer, facts, WINDOW)  # bars 3 and 4 are empty
    assert prompt[0] == facts.bos and sum(int(facts.bars[t]) for t in prompt) == 2
    prompt = continuation.continuation_prompt(piece, 3, tokenizer, facts, 20)  # two bars would take over half
    assert len(prompt) <= 10 and sum(int(facts.bars[t]) for t in prompt) in (0, 1)


@pytest.fixture(scope="module")
def painting(tmp_path_factory):
    path = tmp_path_factory.mktemp("images") / "painting.png"
    Image.fromarray((np.random.default_rng(5).random((48, 48, 3)) * 255).astype(np.uint8)).save(path)
    return path


def test_a_long_request_reaches_its_length_and_a_seed_repeats_it(tiny_midi_pipeline, painting):
    from art2music.symbolic.pipeline import Art2Midi

    pipe = Art2Midi.from_pretrained(tiny_midi_pipeline)
    assert pipe.model.config.max_tokens == WINDOW
    piece = pipe(painting, seconds=40.0, seed=7)
    one_bar = 4 * 60.0 / piece.tempo_bpm
    assert len(piece.tokens) > 2 * WINDOW  # written in several windows
    assert 40.0 <= piece.bar_seconds < 40.0 + one_bar + 1e-6
    last_start = max(note.start for note in piece.notes)
    assert 40.0 - 4 * one_bar <= last_start < piece.bar_seconds  # music to the end (the tiny model leaves some bars empty)
    assert len(piece.score.tempos) == 1  # one steady tempo across windows
    again = pipe(painting, seconds=40.0, seed=7)
    assert again.tokens == piece.tokens and len(again.notes) == len(piece.notes)
    assert pipe(painting, seconds=40.0, seed=8).tokens != piece.tokens
    counted = pipe(painting, bars=30, seed=1)
    assert counted.bars == 30 and max(note.start for note in counted.notes) < counted.bar_seconds
    assert pipe.default_guidance() == 1.0  # the tiny model has no "no VA" token
    with pytest.raises(ValueError, match="not trained for guidance"):
        pipe(painting, bars=2, guidance=2.0)


@pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="FluidSynth is not installed")
def test_the_web_page_and_render_reach_a_long_length(tiny_midi_pipeline, painting, tmp_path):
    from art2music.io.synthesis import SynthesisUnavailable, find_soundfont
    from art2music.symbolic.pipeline import Art2Midi
    from art2music.web.generate import Request, generate

    try:
        find_soundfont()
    except SynthesisUnavailable:
        pytest.skip("no General MIDI soundfont")
    made = generate(Art2Midi.from_pretrained(tiny_midi_pipeline), Request(Image.open(painting).convert("RGB"),
                                                                           seconds=30.0, seed=2))
    one_bar = 4 * 60.0 / made.midi.tempo_bpm
    assert abs(made.midi.bar_seconds - 30.0) <= one_bar and made.waveform.size / made.sample_rate > 29.0

    import json

    from art2music.render.cli import main

    folder = tmp_path / "images"
    folder.mkdir()
    shutil.copy(painting, folder / "p.png")
    assert main([str(folder), "--out", str(tmp_path / "out"), "--engine", "midi", "--model", str(tiny_midi_pipeline),
                 "--seconds", "30", "--no-progress"]) == 0
    item = json.loads((tmp_path / "out" / "results.json").read_text())["items"][0]
    assert item["seconds"] >= 30.0 - one_bar
