"""Writing tokens one by one inside one context window: temperature, top-k / top-p (nucleus) filtering, classifier-free
guidance, a seed, a KV cache, and a length in bars or seconds.

The length is counted in the music itself: every (BPE) token knows how many ``Bar`` tokens it holds and which tempo
it sets (:class:`art2music.symbolic.tokenizer.TokenFacts`); a :class:`BarClock` follows them. A window stops at EOS
(when allowed), at the token that would open bar ``bars + 1`` (or the bar starting after ``seconds`` of music, 4/4 at
the current tempo), or when the model's ``max_tokens`` positions are used up; the stopping token is not kept.
Pieces longer than one window are written by :mod:`art2music.symbolic.continuation`.

A step's choice is made in NumPy on the ``(V,)`` logits (guidance, priors, temperature, top-k/top-p, one uniform
number from the seeded ``torch.Generator``): on vectors this small a NumPy call costs a few µs where a torch call costs
5-20 µs. Small models on the CPU also decode in NumPy (:mod:`art2music.symbolic.step_decoder`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from contextlib import contextmanager
from typing import Iterator, Sequence

import numpy as np
import torch

from art2music.symbolic.grammar import GrammarTracker
from art2music.symbolic.model import SymbolicModel
from art2music.symbolic.step_decoder import SMALL_MODEL_WIDTH, window_decoder
from art2music.symbolic.tokenizer import TokenFacts

DEFAULT_TEMPO_BPM = 120.0
BEATS_PER_BAR = 4


@dataclass(frozen=True)
class SamplingSettings:
    """``temperature`` > 0; ``top_k`` 0 = off; ``top_p`` 1.0 = off; exactly one of ``bars`` / ``seconds`` (or neither:
    until EOS or ``max_tokens``); ``guidance`` scales the valence-arousal condition (classifier-free guidance,
    1.0 = off; needs a model trained with condition dropout); ``loop`` closes the piece on its first bar;
    ``steady_tempo`` forbids tempo changes after the first bar (every demo piece keeps one tempo); ``grammar``
    keeps every token inside the REMI grammar: each note Program-Pitch-Velocity-Duration, positions inside the
    bar, no note started twice at one onset (:mod:`art2music.symbolic.grammar`); ``key_prior``
    (logit units, 0 = off) is subtracted once per out-of-key pitch a token carries, where the key is the diatonic
    scale that holds most of the piece's pitched notes so far (:class:`KeyTracker`); ``mode_prior`` (logit units,
    0 = off) leans that scale towards its major key when ``target_valence`` > 0 and its relative minor when < 0, in
    proportion to ``|target_valence|`` (:meth:`KeyTracker.mode_bonus`); ``tempo_prior`` (logit units, 0 = off) leans
    the piece's first tempo towards fast for ``target_arousal`` > 0 and slow for < 0 (:func:`tempo_bonus`). The
    pipeline sets ``target_valence`` and ``target_arousal`` per piece from its target feeling."""

    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    bars: int | None = None
    seconds: float | None = None
    seed: int = 0
    use_cache: bool = True
    guidance: float = 1.0
    loop: bool = False
    steady_tempo: bool = True
    grammar: bool = True
    key_prior: float = 0.0
    mode_prior: float = 0.0
    tempo_prior: float = 0.0
    target_valence: float = 0.0
    target_arousal: float = 0.0

    def __post_init__(self) -> None:
        if not self.temperature > 0:
            raise ValueError(f"temperature must be positive, got {self.temperature}")
        if self.top_k < 0 or not 0 < self.top_p <= 1:
            raise ValueError(f"top_k must be >= 0 and top_p in (0, 1], got {self.top_k}, {self.top_p}")
        if self.bars is not None and self.seconds is not None:
            raise ValueError("give a length in bars or in seconds, not both")
        if (self.bars is not None and self.bars < 1) or (self.seconds is not None and not self.seconds > 0):
            raise ValueError(f"the length must be positive, got bars={self.bars}, seconds={self.seconds}")
        if not 0 <= self.guidance <= 20:
            raise ValueError(f"guidance must be in [0, 20], got {self.guidance}")
        for name in ("key_prior", "mode_prior", "tempo_prior"):
            if not 0 <= getattr(self, name) < float("inf"):
                raise ValueError(f"{name} must be a finite number >= 0, got {getattr(self, name)}")
        for name in ("target_valence", "target_arousal"):
            if not -1 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in [-1, 1], got {getattr(self, name)}")


@dataclass(frozen=True)
class SamplingDefaults:
    """A model's own sampling defaults, stored in its ``symbolic/config.json`` (``"sampling"``) and used wherever a
    caller leaves temperature / top-k / top-p unset. Chosen per model on the validation split (the README's midi
    section says how): a small model's tail tokens are mostly out-of-key notes, so its best temperature can be below
    1. A folder without the entry (or a key of it) gets ``temperature 1.0, top_k 0, top_p 0.95, key_prior 0,
    mode_prior 0, tempo_prior 0`` (what every model used before)."""

    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 0.95
    key_prior: float = 0.0
    mode_prior: float = 0.0
    tempo_prior: float = 0.0

    def __post_init__(self) -> None:
        SamplingSettings(**self.to_dict())  # the same checks

    def to_dict(self) -> dict[str, float | int]:
        return {"temperature": self.temperature, "top_k": self.top_k, "top_p": self.top_p, "key_prior": self.key_prior,
                "mode_prior": self.mode_prior, "tempo_prior": self.tempo_prior}

    @classmethod
    def from_dict(cls, values: dict) -> "SamplingDefaults":
        """Raises ``ValueError`` for unknown keys, wrong types or out-of-range values."""
        unknown = set(values) - set(cls().to_dict())
        if unknown:
            raise ValueError(f"unknown sampling settings {sorted(unknown)}; known: {', '.join(cls().to_dict())}")
        for key in values:
            kinds = (int,) if key == "top_k" else (int, float)
            if isinstance(values[key], bool) or not isinstance(values[key], kinds):
                raise ValueError(f"sampling {key} {values[key]!r} is a {type(values[key]).__name__}, not a number")
        return cls(**values)

    def resolve(self, **given: float | int | None) -> dict[str, float | int]:
        """``{"temperature", "top_k", "top_p", "key_prior", "mode_prior", "tempo_prior"}`` (keyword arguments of
        :class:`SamplingSettings`): each value given and not ``None``, else this default."""
        unknown = set(given) - set(self.to_dict())
        if unknown:
            raise TypeError(f"unknown sampling settings {sorted(unknown)}")
        return {key: default if given.get(key) is None else given[key] for key, default in self.to_dict().items()}


DIATONIC = (0, 2, 4, 5, 7, 9, 11)
"""The pitch classes of the major scale on C; its 12 transpositions are the diatonic scales (each holds a major key
and its relative natural minor, so the key prior alone leaves the mode to the model)."""
KEY_PRIOR_NOTES = 8
"""Pitched notes a piece must hold before :class:`KeyTracker` names its scale (fewer say too little)."""
MAJOR_TRIAD, MINOR_TRIAD = (0, 4, 7), (9, 0, 4)
"""The tonic triads of the two keys of the diatonic scale on C: C major (C E G) and A minor (A C E). They differ in
one note each (G against A), and a key's mode is heard mostly through which tonic its notes gather around; the
Krumhansl-Kessler profiles that :func:`art2music.symbolic.metrics.estimate_key` uses weigh G and A most differently
between the two keys (C major: G 5.19, A 3.66; A minor: G 3.34, A 6.33)."""


def mode_weights(major: bool) -> np.ndarray:
    """``(12,)`` over pitch classes relative to the diatonic scale's tonic: 1 on the chosen key's tonic triad, minus
    the triad's share (3/7) on every degree of the scale, 0 off the scale. Zero-sum over the scale, so leaning
    towards a mode moves notes between scale degrees and does not favour notes over rests."""
    weights = np.zeros(12, dtype=np.float32)
    weights[list(DIATONIC)] = -3.0 / 7.0
    weights[list(MAJOR_TRIAD if major else MINOR_TRIAD)] += 1.0
    return weights


class KeyTracker:
    """The diatonic scale of the piece so far, the logit penalty that keeps new notes in it (the key prior) and the
    bonus that leans it towards a major or a minor key (the mode prior).

    ``counts`` ``(12,)`` counts the piece's pitched notes by pitch class; the scale is the transposition of
    :data:`DIATONIC` that holds most of them (ties: the lowest tonic). :meth:`penalty` is ``(1, V)``: ``-strength``
    times the number of out-of-scale pitches each token carries, plus :meth:`mode_bonus` (0 everywhere before
    :data:`KEY_PRIOR_NOTES` notes).

    Args:
        facts: the tokens' pitch classes.  strength: the key prior (logits per out-of-scale pitch, >= 0).
        prompt: tokens already in the piece (a continuation's prompt).
        mode_strength: the mode prior (logits, >= 0).  valence: the piece's target valence in [-1, 1]; its sign
            picks the mode (> 0 major, < 0 minor, 0 none) and its size scales the bonus.
    """

    _scales = np.array([[(pc - tonic) % 12 in DIATONIC for pc in range(12)] for tonic in range(12)])  # (12, 12)

    def __init__(self, facts: TokenFacts, strength: float, prompt: Sequence[int] = (), mode_strength: float = 0.0,
                 valence: float = 0.0):
        if facts.pitch_classes is None:
            raise ValueError("key_prior and mode_prior need the tokens' pitch classes (token_facts reads them)")
        self.pitch_classes = np.asarray(facts.pitch_classes, dtype=np.float32)  # (V, 12)
        self.strength = float(strength)
        self.mode_scale = float(mode_strength) * abs(float(valence))
        self.major = valence > 0
        self._pitches_per_token = np.maximum(self.pitch_classes.sum(1), 1)  # (V,): the mode bonus is a mean over them
        self.pitched = self.pitch_classes.any(1)  # (V,) bool: tokens that carry a pitched note
        self.counts = self.pitch_classes[list(prompt)].sum(0) if len(prompt) else np.zeros(12, dtype=np.float32)
        self._scale: int | None = None  # the scale self._penalty is for
        self._current: int | None = None  # the scale of counts, when _named
        self._named = False  # whether _current is up to date with counts
        self._penalty = np.zeros((1, self.pitch_classes.shape[0]), dtype=np.float32)

    def scale(self) -> int | None:
        """The tonic (0-11) of the major scale that holds most notes so far; ``None`` before enough notes."""
        if not self._named:
            self._named = True
            enough = self.counts.sum() >= KEY_PRIOR_NOTES
            self._current = int((self._scales @ self.counts).argmax()) if enough else None
        return self._current

    def admit(self, token: int) -> None:
        if self.pitched[token]:
            self.counts = self.counts + self.pitch_classes[token]
            self._named = False

    def mode_bonus(self, scale: int) -> np.ndarray:
        """``(V,)``: ``mode_strength × |valence|`` times the mean :func:`mode_weights` (of the target mode, transposed
        to the diatonic scale on ``scale``) of each token's pitches. The mean, not the sum: BPE merges frequent
        chords into one token, and a summed bonus made triad chords, and so dense music, more likely (at strength 3
        the demo model's notes per second rose from 0.95× to 1.47× of the references' on the validation split)."""
        if self.mode_scale == 0:
            return np.zeros(self.pitch_classes.shape[0], dtype=np.float32)
        weights = np.roll(mode_weights(self.major), scale)  # weights[(scale + step) % 12] = mode_weights[step]
        return self.mode_scale * (self.pitch_classes @ weights) / self._pitches_per_token

    def penalty(self) -> np.ndarray:
        """``(1, V)`` float32; the same array object until the scale changes."""
        scale = self.scale()
        if scale != self._scale:
            self._scale = scale
            if scale is None:
                self._penalty = np.zeros((1, self.pitch_classes.shape[0]), dtype=np.float32)
            else:
                outside = ~self._scales[scale]
                self._penalty = (-self.strength * self.pitch_classes[:, outside].sum(1)
                                 + self.mode_bonus(scale))[None].astype(np.float32)
        return self._penalty


NEUTRAL_TEMPO_BPM = 90.0
"""The tempo the tempo prior leaves alone: between the demo corpus's low- and high-arousal pieces (54 and 98 BPM on its
test split) and near moderato."""


def tempo_bonus(facts: TokenFacts, strength: float, arousal: float) -> np.ndarray:
    """``(1, V)``: ``strength × arousal × log2(tempo / 90 BPM)`` on every token that sets a tempo, 0 elsewhere. At
    arousal 1 a tempo twice as fast as :data:`NEUTRAL_TEMPO_BPM` gains ``strength`` logits and one half as fast loses
    them; at arousal −1 the other way round (tempo is the strongest cue of arousal in music: Gabrielsson & Lindström
    2010)."""
    octaves = np.nan_to_num(np.log2(facts.tempo_bpm / NEUTRAL_TEMPO_BPM), nan=0.0)
    return (strength * arousal * octaves).astype(np.float32)[None]


def with_note_mass_kept(logits: np.ndarray, prior: np.ndarray, pitched: np.ndarray) -> np.ndarray:
    """``logits + prior`` ``(V,)``, with every pitched token's logit then moved by one constant so that the pitched
    tokens together keep the probability they had without ``prior`` (at temperature 1): the key and mode priors
    choose *which* notes, not *how many*. Without this a mode prior of 4 lifted the tonic triad's tokens by up to
    2.3 logits above rests, positions and bar lines, and the music got denser (``prior`` is 0 on unpitched tokens).

    Args:
        pitched: ``(V,)`` bool, the tokens that carry a pitched note (:attr:`KeyTracker.pitched`).
    """
    weights = np.exp(logits[pitched] - np.maximum.reduce(logits))
    before = float(np.add.reduce(weights))
    after = float(np.add.reduce(weights * np.exp(prior[pitched])))
    moved = logits + prior
    if before > 0 and after > 0:
        moved[pitched] += np.float32(math.log(before / after))
    return moved


@dataclass
class BarClock:
    """Where a piece stands in music time: ``bars_opened`` bars begun, ``elapsed`` seconds of the bars closed before
    the open one, at the current ``tempo`` (BPM), which the piece itself set (``tempo_set``) or is the default."""

    bars_opened: int = 0
    elapsed: float = 0.0
    tempo: float = DEFAULT_TEMPO_BPM
    tempo_set: bool = False

    @property
    def bar_seconds(self) -> float:
        return BEATS_PER_BAR * 60.0 / self.tempo

    def changes_tempo(self, facts: TokenFacts) -> np.ndarray:
        """``(V,)`` bool: tokens that would set a tempo other than the piece's own. Before the piece sets one, none
        in its first bar and all after it (a tempo first set later would follow the default one that a MIDI decoder
        puts at the start: two tempi)."""
        if not self.tempo_set:
            return np.full(len(facts.tempo_bpm), self.bars_opened > 1) & ~np.isnan(facts.tempo_bpm)
        with np.errstate(invalid="ignore"):
            return ~np.isnan(facts.tempo_bpm) & (np.abs(facts.tempo_bpm - self.tempo) > 0.01)

    def admit(self, token: int, facts: TokenFacts, settings: SamplingSettings) -> bool:
        """Move the clock past ``token``; ``False`` (clock unchanged) if the token would open a bar past the
        requested length."""
        new_bars = int(facts.bars[token])
        if new_bars:
            elapsed = self.elapsed + (new_bars if self.bars_opened else new_bars - 1) * self.bar_seconds
            if settings.bars is not None and self.bars_opened + new_bars > settings.bars:
                return False
            if settings.seconds is not None and self.bars_opened and elapsed >= settings.seconds:
                return False
            self.elapsed, self.bars_opened = elapsed, self.bars_opened + new_bars
        tempo = float(facts.tempo_bpm[token])
        if not math.isnan(tempo):
            self.tempo, self.tempo_set = tempo, True
        return True


def draw_token(logits: np.ndarray, top_k: int, top_p: float, uniform: float) -> int:
    """The token at ``uniform`` (in [0, 1)) of the distribution ``softmax(logits)`` restricted to the top-k tokens and
    to the smallest most-likely set of probability ``>= top_p`` (the most likely token always survives), renormalised.

    Args:
        logits: ``(V,)`` (``-inf`` for tokens that may not be drawn).  top_k: 0 = off.  top_p: 1.0 = off.
    """
    probabilities = np.exp(logits - np.maximum.reduce(logits))
    if (top_k and top_k < probabilities.size) or top_p < 1.0:
        order = np.argsort(-probabilities, kind="stable")
        probabilities = probabilities[order]
        cumulative = np.cumsum(probabilities)
        keep = probabilities.size
        if top_p < 1.0:  # keep a token while the mass before it is below top_p
            keep = min(keep, int(np.searchsorted(cumulative, top_p * cumulative[-1], side="left")) + 1)
        if top_k:
            keep = min(keep, top_k)
        cumulative = cumulative[:keep]
        return int(order[min(int(np.searchsorted(cumulative, uniform * cumulative[-1], side="right")), keep - 1)])
    cumulative = np.cumsum(probabilities)
    return int(min(int(np.searchsorted(cumulative, uniform * cumulative[-1], side="right")), cumulative.size - 1))


def row_generator(seed: int, row: int = 0) -> torch.Generator:
    """The random stream of row ``row`` of a batch sampled with ``seed`` (row 0 is the seed itself, so one image
    alone and the first image of a batch get the same piece)."""
    return torch.Generator(device="cpu").manual_seed(int(seed) + 7919 * row)




@contextmanager
def sampling_threads(model: SymbolicModel) -> Iterator[None]:
    """One torch CPU thread while a small model samples (see :data:`SMALL_MODEL_WIDTH`), restored afterwards."""
    before = torch.get_num_threads()
    small = model.config.d_model <= SMALL_MODEL_WIDTH and next(model.parameters()).device.type == "cpu"
    if small:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if small:
            torch.set_num_threads(before)


@torch.inference_mode()
def sample_window(model: SymbolicModel, memory: torch.Tensor, prompt: Sequence[int], facts: TokenFacts,
                  settings: SamplingSettings, generator: torch.Generator, clock: BarClock,
                  allow_eos: bool = True) -> tuple[list[int], str]:
    """Continue ``prompt`` (token ids, BOS first) in one window of the model's positions.

    Args:
        memory: ``(1, M, d)`` from :meth:`SymbolicModel.encode`, or ``(2, M, d)`` = (conditioned, unconditioned)
            rows for classifier-free guidance (``logits = u + guidance · (c − u)``).
        clock: the piece's clock when the prompt ends; moved past every kept token.
        allow_eos: ``False`` forbids EOS (a piece of a requested length goes on).
    Returns:
        ``(new token ids, why it stopped)``: ``"eos"``, ``"length"`` (the next token would pass the length) or
        ``"full"`` (no position left).
    """
    if len(prompt) >= model.config.max_tokens:
        raise ValueError(f"a prompt of {len(prompt)} tokens leaves no room in {model.config.max_tokens} positions")
    rows = memory.shape[0]
    banned = [facts.pad, facts.bos] + ([] if allow_eos else [facts.eos])

    def blocked_tokens() -> np.ndarray:
        """``(V,)``: 0 for allowed tokens, -inf for banned ones (specials; tempo changes when steady); before the
        piece sets its tempo, the tempo prior's lean on tempo tokens (:func:`tempo_bonus`)."""
        blocked = np.zeros(len(facts.bars), dtype=np.float32)
        if settings.tempo_prior > 0 and not clock.tempo_set:
            blocked += tempo_bonus(facts, settings.tempo_prior, settings.target_arousal)[0]
        blocked[banned] = -np.inf
        if settings.steady_tempo:
            blocked[clock.changes_tempo(facts)] = -np.inf
        return blocked

    decoder = window_decoder(model, memory, settings.use_cache)
    logits = decoder.prefill(np.array([list(prompt)] * rows))
    kept: list[int] = []
    leans = settings.mode_prior > 0 and settings.target_valence != 0
    key = (KeyTracker(facts, settings.key_prior, prompt, settings.mode_prior, settings.target_valence)
           if settings.key_prior > 0 or leans else None)
    grammar = GrammarTracker(facts.grammar, prompt) if settings.grammar and facts.grammar is not None else None
    blocked = blocked_tokens()
    uniforms = torch.rand(model.config.max_tokens - len(prompt), generator=generator).numpy()  # one per step
    while True:
        step_logits = logits[0] if rows == 1 else logits[1] + np.float32(settings.guidance) * (logits[0] - logits[1])
        step_logits = step_logits + blocked
        if grammar is not None:
            inside = np.where(grammar.banned(), -np.inf, step_logits)
            if np.isfinite(inside).any():  # else the grammar's every token is blocked otherwise: it gives way
                step_logits = inside
        if key is not None:
            penalty = key.penalty()[0]
            if penalty.any():
                step_logits = with_note_mass_kept(step_logits, penalty, key.pitched)
        step_logits = step_logits / np.float32(settings.temperature)
        token = draw_token(step_logits, settings.top_k, settings.top_p, float(uniforms[len(kept)]))
        if token == facts.eos:
            return kept, "eos"
        tempo_was_set, bars_were = clock.tempo_set, clock.bars_opened
        if not clock.admit(token, facts, settings):
            return kept, "length"
        if (clock.tempo_set and not tempo_was_set and (settings.steady_tempo or settings.tempo_prior > 0)) or (
                settings.steady_tempo and not clock.tempo_set and bars_were <= 1 < clock.bars_opened):
            # the first tempo is the piece's tempo and the tempo prior has done its work; or bar 2 began without one
            blocked = blocked_tokens()
        kept.append(token)
        if key is not None:
            key.admit(token)
        if grammar is not None:
            grammar.admit(token)
        if len(prompt) + len(kept) >= model.config.max_tokens:
            return kept, "full"
        logits = decoder.step(token)


def sample_tokens(model: SymbolicModel, memory: torch.Tensor, facts: TokenFacts, settings: SamplingSettings
                  ) -> list[list[int]]:
    """Sample one window (from BOS) per memory row, each row with its own seeded stream (:func:`row_generator`).

    Args:
        memory: ``(B, M, d)`` from :meth:`SymbolicModel.encode`.
    Returns:
        ``B`` lists of token ids (no BOS, no EOS, no stopping token).
    """
    with sampling_threads(model):
        return [sample_window(model, memory[row:row + 1], [facts.bos], facts, settings,
                              row_generator(settings.seed, row), BarClock())[0]
                for row in range(memory.shape[0])]
