"""Pieces of any length: windowed continuation, each window prompted with the last bars already written.

The decoder sees at most ``max_tokens`` positions (256 in the demo model, about 12 s of music). A longer piece is
written window by window (as MusicGen continues past its trained length, Copet et al. 2023):

1. the first window starts from BOS; EOS is forbidden while the requested length is not reached;
2. a window ends at the requested length (the piece is done) or when its positions run out: then the bar it was
   writing is incomplete and is dropped, and only the bars it finished join the piece;
3. the next window's prompt is BOS + the last ``prompt_bars`` finished bars *re-encoded* as a fresh REMI sequence
   (tempo, programs and notes; a missing trailing empty bar as a lone ``Bar`` token), prefilled in one pass into the
   KV cache; what the model writes after the prompt is new music, and the prompt is never copied into the output.

Bars are cut on the decoded score (:mod:`art2music.symbolic.bars`), so a BPE token that holds the end of one bar and
the start of the next cannot shift the timing. The piece's ``tokens`` are the ids the model wrote in all windows
(prompts excluded), without the dropped incomplete bars. One ``torch.Generator`` runs through all windows, so a seed
gives the same piece.
"""

from __future__ import annotations

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
"""A prompt never takes more than this share of the window's positions (fewer bars are used when they are dense)."""


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
                        prompt_bars: int = PROMPT_BARS) -> list[int]:
    """BOS + the last ``prompt_bars`` bars of ``piece`` (fewer if they would take more than
    :data:`MAX_PROMPT_SHARE` of ``max_tokens``) as token ids; the ids hold exactly that many ``Bar`` tokens."""
    for count in range(min(prompt_bars, bars_done), 0, -1):
        ids = score_to_ids(tokenizer, cut_bars(piece, bars_done - count, bars_done))
        ids += [facts.bar] * max(0, count - _bars_in(ids, facts))  # trailing empty bars are not encoded
        if _bars_in(ids, facts) == count and len(ids) + 1 <= MAX_PROMPT_SHARE * max_tokens:
            return [facts.bos] + ids
    return [facts.bos]


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
        RuntimeError: the model filled a whole window without opening a bar.
    """
    wants_length = settings.bars is not None or settings.seconds is not None
    piece, tokens, bars_done = None, [], 0
    clock, prompt, stalls = BarClock(), [facts.bos], 0
    while True:
        new, reason = sample_window(model, memory, prompt, facts, settings, generator, clock, allow_eos=not wants_length)
        window = ids_to_score(tokenizer, prompt + new)
        if piece is None:
            piece = empty_like(window)
        opened, prompted = _bars_in(new, facts), _bars_in(prompt, facts)
        finished = opened - 1 if reason == "full" and wants_length else opened
        if finished <= 0 and reason == "full" and wants_length:
            stalls += 1
            if opened == 0 and stalls > 2:
                raise RuntimeError(f"the model wrote {len(new)} tokens without starting a bar")
            if prompted == 0:
                finished = opened  # one bar longer than a window: keep the part that fits
        ticks = bar_ticks(window)
        if finished > 0:
            stalls = 0
            append_notes(piece, window, prompted * ticks, (prompted + finished) * ticks, (bars_done - prompted) * ticks)
            tokens += _tokens_of_bars(new, facts, finished)
            bars_done += finished
        if reason != "full" or not wants_length:
            return piece, tokens, bars_done
        # the clock as the last finished bar stands: its start time and its tempo
        ticks = bar_ticks(piece)
        clock = BarClock(bars_done, bars_seconds(piece, bars_done - 1) if bars_done else 0.0,
                         tempo_at(piece, max(0, bars_done * ticks - 1)), tempo_set=len(piece.tempos) > 0)
        shrink = stalls and prompted  # a prompt that left no room for a whole bar: use fewer bars
        prompt = continuation_prompt(piece, bars_done, tokenizer, facts, model.config.max_tokens,
                                     max(0, prompted - 1) if shrink else prompt_bars)


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
