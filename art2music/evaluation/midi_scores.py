"""Scores of a set of MIDI pieces: the symbolic metrics, emotion figures and novelty against training pieces.

Used by the midi-engine evaluation (:mod:`art2music.evaluation.midi_run`) for generated and reference pieces alike:

- :func:`score_pieces`: the means of :data:`METRIC_NAMES` (:mod:`art2music.symbolic.metrics`), the share of major
  keys for positive- vs negative-valence targets, tempo and notes/s for high- vs low-arousal targets, and the VA
  distance between each target and the piece's VA as read by the *independent* feature judge
  (:func:`art2music.symbolic.metrics.judge_va`, not the regressor of the VA loss);
- :func:`novelty`: the longest run of tokens, and of whole bars, that a piece shares with any training piece.
"""

from __future__ import annotations

import itertools
from typing import Sequence

import numpy as np

from art2music.symbolic import metrics
from art2music.symbolic.piece import MidiPiece

METRIC_NAMES = ("pitch_class_entropy", "polyphony_rate", "scale_consistency", "groove_consistency",
                "empty_beat_rate", "notes_per_second", "tempo_bpm")
BAR_GRID = 12
"""Onset and duration grid of the bar comparison, per beat (sixteenths and triplets)."""


def mean(values) -> float | None:
    """Mean of the finite values, ``None`` if there are none (JSON has no NaN)."""
    finite = [float(v) for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(finite)) if finite else None


def score_pieces(pieces: Sequence[MidiPiece], targets: np.ndarray) -> dict:
    """Metrics of ``pieces`` against their target VA ``(N, 2)`` in [-1, 1] (row ``k`` is piece ``k``'s target)."""
    targets = np.asarray(targets, dtype=float).reshape(-1, 2)
    if len(pieces) != len(targets):
        raise ValueError(f"{len(pieces)} pieces but {len(targets)} targets")
    rows = [metrics.piece_metrics(piece.notes, piece.tempo_bpm) for piece in pieces]
    judged = np.array([metrics.judge_va(piece.notes, piece.tempo_bpm) for piece in pieces]).reshape(-1, 2)
    major = np.array([metrics.estimate_key(piece.notes)[1] == "major" for piece in pieces])
    positive, negative = targets[:, 0] > 0, targets[:, 0] < 0
    high, low = targets[:, 1] > 0, targets[:, 1] < 0
    tempo = np.array([row["tempo_bpm"] for row in rows])
    density = np.array([row["notes_per_second"] for row in rows])
    return {"count": len(pieces), "empty_pieces": sum(not piece.notes for piece in pieces),
            "metrics": {name: mean(row[name] for row in rows) for name in METRIC_NAMES},
            "major_share_positive_valence": mean(major[positive]), "major_share_negative_valence": mean(major[negative]),
            "tempo_high_arousal": mean(tempo[high]), "tempo_low_arousal": mean(tempo[low]),
            "notes_per_second_high_arousal": mean(density[high]), "notes_per_second_low_arousal": mean(density[low]),
            "judge_va_distance": mean(np.linalg.norm(judged - targets, axis=1)),
            "judge_valence_sign_agreement": mean(np.sign(judged[:, 0]) == np.sign(targets[:, 0])),
            "judge_arousal_sign_agreement": mean(np.sign(judged[:, 1]) == np.sign(targets[:, 1]))}


def ratios(values: dict[str, float | None], reference: dict[str, float | None]) -> dict[str, float | None]:
    """``value / reference`` per metric (``None`` where either is missing or the reference is 0)."""
    return {name: value / reference[name] if value is not None and reference.get(name) else None
            for name, value in values.items()}


def bar_signatures(score) -> list[tuple | None]:
    """One entry per bar (4 beats) of a symusic Score up to its last note: the sorted ``(onset, pitch, duration,
    program)`` of the notes starting in it, on a :data:`BAR_GRID`-per-beat grid; ``None`` for a bar with no onset.
    Tempo and velocity are left out: the same notes at another tempo or loudness are still a copy."""
    ticks_per_beat = score.ticks_per_quarter
    bar = 4 * ticks_per_beat
    onsets: dict[int, list] = {}
    for track in score.tracks:
        program = -1 if track.is_drum else int(track.program)
        for note in track.notes:
            index, offset = divmod(int(note.time), bar)
            onsets.setdefault(index, []).append((round(offset * BAR_GRID / ticks_per_beat), int(note.pitch),
                                                 round(int(note.duration) * BAR_GRID / ticks_per_beat), program))
    if not onsets:
        return []
    return [tuple(sorted(onsets[k])) if k in onsets else None for k in range(max(onsets) + 1)]


class TrainingCorpus:
    """Training pieces to compare with: their token ids (under one tokenizer) and bar signatures."""

    def __init__(self, token_sequences: Sequence[Sequence[int]], bar_sequences: Sequence[Sequence[tuple | None]]):
        self._bar_ids: dict[tuple, int] = {}
        self._silent = itertools.count(-1, -1)
        self.tokens = [list(sequence) for sequence in token_sequences]
        self.bars = [self._ids(sequence) for sequence in bar_sequences]
        self._token_grams: dict[int, set] = {}
        self._bar_grams: dict[int, set] = {}

    def _ids(self, bars: Sequence[tuple | None]) -> list[int]:
        """Bar signatures → ids; a bar with no onset gets a fresh negative id, so silence never counts as copied."""
        return [next(self._silent) if signature is None else self._bar_ids.setdefault(signature, len(self._bar_ids))
                for signature in bars]

    def longest_token_run(self, tokens: Sequence[int]) -> tuple[int, int]:
        """``(length, start)`` of the longest token run of ``tokens`` found in a training piece."""
        return metrics.longest_shared_run(list(tokens), self.tokens, self._token_grams)

    def longest_bar_run(self, bars: Sequence[tuple | None]) -> int:
        """How many consecutive whole bars of a piece (same notes, see :func:`bar_signatures`) occur in one training
        piece in the same order."""
        ids = [self._bar_ids.get(signature, -10**9 - k) if signature is not None else -10**9 - k
               for k, signature in enumerate(bars)]
        return metrics.longest_shared_run(ids, self.bars, self._bar_grams)[0]


def novelty(pieces: Sequence[MidiPiece], token_sequences: Sequence[Sequence[int]], corpus: TrainingCorpus) -> dict:
    """The longest token run and bar run each piece (token ids ``token_sequences[k]``) shares with the corpus."""
    tokens = [corpus.longest_token_run(sequence)[0] for sequence in token_sequences]
    bars = [corpus.longest_bar_run(bar_signatures(piece.score)) for piece in pieces]
    return {"longest_shared_tokens_max": int(max(tokens, default=0)), "longest_shared_tokens_mean": mean(tokens),
            "longest_shared_bars_max": int(max(bars, default=0)), "longest_shared_bars_mean": mean(bars),
            "training_pieces": len(corpus.tokens), "mean_tokens_per_piece": mean(len(t) for t in token_sequences),
            "mean_piece_seconds": mean(piece.seconds for piece in pieces)}
