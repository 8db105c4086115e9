"""Writing a piece token by token: temperature, top-k / top-p (nucleus) filtering, a seed, a KV cache, and a length
in bars or seconds.

The length is counted in the music itself: every (BPE) token knows how many ``Bar`` tokens it holds and which tempo
it sets (:class:`art2music.symbolic.tokenizer.TokenFacts`). Generation of a sequence stops at EOS, at the token that
would open bar ``bars + 1`` (or the bar starting after ``seconds`` of music, 4/4 at the current tempo), or at the
model's ``max_tokens``; the stopping token is not kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from art2music.symbolic.model import SymbolicModel
from art2music.symbolic.tokenizer import TokenFacts

DEFAULT_TEMPO_BPM = 120.0
BEATS_PER_BAR = 4


@dataclass(frozen=True)
class SamplingSettings:
    """``temperature`` > 0; ``top_k`` 0 = off; ``top_p`` 1.0 = off; exactly one of ``bars`` / ``seconds`` (or neither:
    until EOS or ``max_tokens``)."""

    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    bars: int | None = None
    seconds: float | None = None
    seed: int = 0
    use_cache: bool = True

    def __post_init__(self) -> None:
        if not self.temperature > 0:
            raise ValueError(f"temperature must be positive, got {self.temperature}")
        if self.top_k < 0 or not 0 < self.top_p <= 1:
            raise ValueError(f"top_k must be >= 0 and top_p in (0, 1], got {self.top_k}, {self.top_p}")
        if self.bars is not None and self.seconds is not None:
            raise ValueError("give a length in bars or in seconds, not both")
        if (self.bars is not None and self.bars < 1) or (self.seconds is not None and not self.seconds > 0):
            raise ValueError(f"the length must be positive, got bars={self.bars}, seconds={self.seconds}")


def filter_logits(logits: torch.Tensor, top_k: int, top_p: float) -> torch.Tensor:
    """``(B, V)`` logits with everything outside the top-k and outside the smallest set of probability
    ``>= top_p`` set to ``-inf`` (the most likely token always survives)."""
    if top_k and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = torch.sort(logits, descending=True, dim=-1)
        cumulative = sorted_logits.softmax(-1).cumsum(-1)
        drop_sorted = cumulative - sorted_logits.softmax(-1) >= top_p  # mass before this token already >= top_p
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


@torch.no_grad()
def sample_tokens(model: SymbolicModel, memory: torch.Tensor, facts: TokenFacts, settings: SamplingSettings
                  ) -> list[list[int]]:
    """Sample one token sequence per memory row.

    Args:
        memory: ``(B, M, d)`` from :meth:`SymbolicModel.encode`.
    Returns:
        ``B`` lists of token ids (no BOS, no EOS, no stopping token).
    """
    batch, device = memory.shape[0], memory.device
    generator = torch.Generator(device="cpu").manual_seed(int(settings.seed))
    bars_per_token = torch.as_tensor(facts.bars)
    tempo_per_token = torch.as_tensor(facts.tempo_bpm)
    tokens = torch.full((batch, 1), facts.bos, dtype=torch.long, device=device)
    kept: list[list[int]] = [[] for _ in range(batch)]
    done = [False] * batch
    bars_started = [0] * batch
    elapsed = [0.0] * batch  # seconds of music before the current bar
    tempo = [DEFAULT_TEMPO_BPM] * batch
    cache: dict[str, torch.Tensor] | None = {} if settings.use_cache else None
    for step in range(model.config.max_tokens - 1):
        if cache is not None:
            logits = model.decode(tokens[:, -1:], memory, cache, start=step)[:, -1]
        else:
            logits = model.decode(tokens, memory)[:, -1]
        logits = filter_logits(logits.float().cpu() / settings.temperature, settings.top_k, settings.top_p)
        logits[:, facts.pad] = float("-inf")
        logits[:, facts.bos] = float("-inf")
        chosen = torch.multinomial(logits.softmax(-1), 1, generator=generator).squeeze(1)
        for row in range(batch):
            if done[row]:
                continue
            token = int(chosen[row])
            if token == facts.eos:
                done[row] = True
                continue
            new_bars = int(bars_per_token[token])
            if new_bars:
                if bars_started[row]:
                    elapsed[row] += new_bars * BEATS_PER_BAR * 60.0 / tempo[row]
                if settings.bars is not None and bars_started[row] + new_bars > settings.bars:
                    done[row] = True
                    continue
                if settings.seconds is not None and elapsed[row] >= settings.seconds:
                    done[row] = True
                    continue
                bars_started[row] += new_bars
            if not math.isnan(float(tempo_per_token[token])):
                tempo[row] = float(tempo_per_token[token])
            kept[row].append(token)
        if all(done):
            break
        tokens = torch.cat([tokens, chosen.to(device).unsqueeze(1)], dim=1)
    return kept
