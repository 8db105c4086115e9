"""Pieces of any length: windowed continuation, each window prompted with the last bars already written.

The decoder sees at most ``max_tokens`` positions (256 in the demo model, about 12 s of music). A longer piece is
written window by window (as MusicGen continues past its trained length, Copet et al. 2023):

1. the first window starts from BOS; EOS is forbidden while the requested length is not reached;
2. a window ends at the requested length (the piece is done) or when its positions run out: then the bar it was
   writing is unfinished; the bars it finished join the piece and the unfinished bar's tokens are *carried* into the
   next window, which goes on writing that bar (no step is thrown away);
3. the next window's prompt is BOS + the last ``prompt_bars`` finished bars *re-encoded* as a fresh REMI sequence
   (tempo, programs and notes; a missing trailing empty bar as a lone ``Bar`` token) + the carried tokens, prefilled
   in one pass into the KV cache; what the model writes after the prompt is new music, and the re-encoded bars are
   never copied into the output. Every token that opens a bar starts with the ``Bar`` base token (checked in the
   demo vocabulary), so the carried tokens follow the re-encoded bars as they followed the written ones.

A bar longer than a window (rare: over ~200 tokens in the demo model) is closed as written once its carried tokens
leave fewer than :data:`MIN_NEW_TOKENS` positions, and the next window starts with a lone ``Bar`` token (the model would
otherwise go on writing the closed bar). Bars are cut on the decoded score (:mod:`art2music.symbolic.bars`),
so a BPE token cannot shift the timing. The piece's ``tokens`` are the ids the model wrote in all windows (prompts
excluded; a lone ``Bar`` opened after a closed bar included). One ``torch.Generator`` runs through all windows, so a
seed gives the same piece.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from art2music.symbolic.bars import append_notes, bar_ticks, bars_seconds, cut_bars, empty_like, tempo_at
from art2music.symbolic.model import SymbolicModel
from art2music.symbolic.piece import MidiPiece
from art2music.symbolic.sampling import BarClock, SamplingSettings, sample_window, sampling_threads
from art2music.symbolic.tokenizer import TokenFacts, ids_to_score, score_to_ids

PROMPT_BARS = 2
"""Finished bars that prompt the next window: enough to carry key, tempo, instruments and groove, few enough that most
of the window is new music (a demo bar is 20-60 tokens)."""
MAX_PROMPT_SHARE = 0.5
"""A prompt's re-encoded bars never take more than this share of the window's positions (fewer bars are used when
they are dense)."""
MIN_NEW_TOKENS = 32
"""Positions a window must leave free after its prompt; an unfinished bar whose tokens leave fewer is closed."""


def _bars_in(ids, facts: TokenFacts) -> int:
    return int(sum(int(facts.bars[token]) for token in ids))


def _tokens_of_bars(ids: list[int], facts: TokenFacts, bars: int) -> list[int]:
    """The prefix of ``ids`` before the token that opens bar ``bars + 1``."""
    opened = 0
    for index, token in enumerate(ids):
        opened += int(facts.bars[token])
        if opened > bars:
            return ids[:index]
    return ids


def continuation_prompt(piece, bars_done: int, tokenizer, facts: TokenFacts, max_tokens: int,
                        prompt_bars: int = PROMPT_BARS, carried: int = 0) -> list[int]:
    """BOS + the last ``prompt_bars`` bars of ``piece`` as token ids; fewer bars if they would take more than
    :data:`MAX_PROMPT_SHARE` of ``max_tokens``, or leave less than :data:`MIN_NEW_TOKENS` positions after
    ``carried`` tokens of an unfinished bar. The ids hold exactly that many ``Bar`` tokens."""
    budget = min(MAX_PROMPT_SHARE * max_tokens, max_tokens - carried - MIN_NEW_TOKENS)
    for count in range(min(prompt_bars, bars_done), 0, -1):
        ids = score_to_ids(tokenizer, cut_bars(piece, bars_done - count, bars_done))
        ids += [facts.bar] * max(0, count - _bars_in(ids, facts))  # trailing empty bars are not encoded
        if _bars_in(ids, facts) == count and len(ids) + 1 <= budget:
            return [facts.bos] + ids
    return [facts.bos]


def _clock_after(piece, bars_done: int, carry: list[int], facts: TokenFacts, settings: SamplingSettings) -> BarClock:
    """The clock where the next window starts: after ``bars_done`` finished bars of ``piece`` (the start time and
    tempo of the last one), then moved past the ``carry``'d tokens of the unfinished bar."""
    ticks = bar_ticks(piece)
    clock = BarClock(bars_done, bars_seconds(piece, bars_done - 1) if bars_done else 0.0,
                     tempo_at(piece, max(0, bars_done * ticks - 1)), tempo_set=len(piece.tempos) > 0)
    unlimited = replace(settings, bars=None, seconds=None)  # these tokens were admitted once already
    for token in carry:
        clock.admit(token, facts, unlimited)
    return clock


@torch.inference_mode()
def compose_piece(model: SymbolicModel, memory: torch.Tensor, tokenizer, facts: TokenFacts,
                  settings: SamplingSettings, generator: torch.Generator, prompt_bars: int = PROMPT_BARS
                  ) -> tuple[object, list[int], int]:
    """Write one piece of the length ``settings`` asks for, window by window.

    Args:
        memory: ``(1, M, d)`` (or ``(2, M, d)``: conditioned and unconditioned rows, for guidance).
    Returns:
        ``(score, token ids, whole bars)``: a symusic Score in ticks; the ids the model wrote; the piece's length in
        bars. Without a length, one window until EOS (or the window's end).
    Raises:
        RuntimeError: the model filled three windows in a row without opening a bar.
    """
    wants_length = settings.bars is not None or settings.seconds is not None
    window_size = model.config.max_tokens
    piece, tokens, bars_done = None, [], 0
    clock, context, carry, stalls = BarClock(), [facts.bos], [], 0
    while True:
        new, reason = sample_window(model, memory, context + carry, facts, settings, generator, clock,
                                    allow_eos=not wants_length)
        written = carry + new
        window = ids_to_score(tokenizer, context + written)
        if piece is None:
            piece = empty_like(window)
        opened, prompted = _bars_in(written, facts), _bars_in(context, facts)
        unfinished = reason == "full" and wants_length
        if unfinished and opened == 0:  # a window without a bar: draw it again (the random stream has moved on)
            stalls += 1
            if stalls > 2:
                raise RuntimeError(f"the model wrote {len(new)} tokens without starting a bar, three times")
            clock = _clock_after(piece, bars_done, carry, facts, settings)  # as it was before the window
            continue
        stalls = 0
        finished = opened - 1 if unfinished else opened
        carry = written[len(_tokens_of_bars(written, facts, finished)):] if unfinished else []
        closed = len(carry) + 1 + MIN_NEW_TOKENS > window_size  # a bar longer than any window: close it as written
        if closed:
            finished, carry = opened, []
        if finished > 0:
            ticks = bar_ticks(window)
            # a window without a tempo token decodes with a default tempo: the piece's own only if it has none yet
            tempos = not len(piece.tempos) or bool((~np.isnan(facts.tempo_bpm[context + written])).any())
            append_notes(piece, window, prompted * ticks, (prompted + finished) * ticks, (bars_done - prompted) * ticks,
                         tempos=tempos)
            tokens += _tokens_of_bars(written, facts, finished)
            bars_done += finished
        if not unfinished:
            return piece, tokens, bars_done
        clock = _clock_after(piece, bars_done, carry, facts, settings)
        if closed:  # open the next bar, or the model would go on writing the closed one; unless the piece is done
            if not clock.admit(facts.bar, facts, settings):
                return piece, tokens, bars_done
            carry = [facts.bar]
        context = continuation_prompt(piece, bars_done, tokenizer, facts, window_size, prompt_bars, len(carry))


def windowed_piece(model: SymbolicModel, memory: torch.Tensor, tokenizer, facts: TokenFacts,
                   settings: SamplingSettings, generator: torch.Generator) -> MidiPiece:
    """:func:`compose_piece` as a :class:`MidiPiece` that knows its length in whole bars; with ``settings.loop``,
    closed as a loop (:func:`art2music.symbolic.loop.close_loop`)."""
    with sampling_threads(model):
        score, tokens, bars = compose_piece(model, memory, tokenizer, facts, settings, generator)
    wants_length = settings.bars is not None or settings.seconds is not None
    if settings.loop:
        from art2music.symbolic.loop import close_loop

        if not wants_length:
            raise ValueError("a loop needs a length in bars or seconds")
        return MidiPiece(close_loop(score, bars), tokens, bars=bars, loop=True)
    return MidiPiece(score, tokens, bars=bars if wants_length else None)
