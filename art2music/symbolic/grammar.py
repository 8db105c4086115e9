"""Sampling inside the REMI grammar: the tokens a piece may take next, given what it has written.

A REMI piece (miditok, ``use_programs`` with one token stream) is a run of bars; each bar is ``Bar TimeSig`` and then
its onsets in time order, each ``Position_p`` (``p`` in eighths of a beat from the bar line; a tempo may follow it),
then its notes, each ``Program_x Pitch_n Velocity_v Duration_d`` (``PitchDrum_n`` for drums, program -1). Every
piece of the demo corpus, and every well-formed MIDI file, encodes to exactly that.

A small model strays from it, and whatever it writes is still decoded. On the demo model's validation pieces 20 %
of all notes were exact copies of a note already started at the same time by the same instrument (0 % in the
reference pieces): not heard (a synthesiser plays one key once) but counted, they raised notes per second by a
quarter. Most came from positions going back within a bar to an onset already written (63 of the 64 pieces did
that), so the copies are found per position of the bar, not only at the latest one. A note missing its pitch or
velocity is dropped by the decoder. :class:`GrammarTracker` follows the piece's base tokens and, at each step, bans
every (BPE) token that would break the grammar:

- its first base token does not follow the last one (``Bar`` → ``TimeSig``; ``TimeSig`` → ``Position``;
  ``Position`` → ``Program`` or ``Tempo``; ``Tempo`` → ``Program``; ``Program_-1`` → ``PitchDrum``, another
  ``Program`` → ``Pitch``; a pitch → ``Velocity`` → ``Duration``; ``Duration`` → ``Program``, ``Position`` or
  ``Bar``); leniently, an empty bar (``Bar`` or ``TimeSig`` → ``Bar``) stays allowed, and the special tokens are
  left to the sampler;
- its first ``Position`` (before any ``Bar``) is past the bar's end (4/4 when the bar names no time signature);
- it starts a note (program and pitch) already started at the same position of the same bar.

Measured and left out (demo model, shipped sampling defaults, 64 pieces per split): also forcing positions forward
within a bar (as every real piece has them) halved notes per second (0.48x the references') and lowered polyphony
(0.64x): the model then closed its bars early. Keeping each piece to the instruments of its first bar (every demo
piece does) brought instruments from 7.2 to 3.8 per piece but polyphony on the test split from 0.77x to 0.73x.

The token tables come from :func:`grammar_tables`, read once per tokenizer from its BPE vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

POSITIONS_PER_BEAT = 8
"""REMI positions per quarter note under the tokenizer's finest beat resolution (``BEAT_RESOLUTION``)."""

_NAMES = {"Bar": "bar", "TimeSig": "timesig", "Position": "position", "Tempo": "tempo", "Program": "program",
          "Pitch": "pitch", "PitchDrum": "drum", "Velocity": "velocity", "Duration": "duration"}
FOLLOWS = {
    "start": ("bar",),
    "bar": ("timesig", "bar"),
    "timesig": ("position", "bar"),
    "position": ("program", "tempo"),
    "tempo": ("program",),
    "program": ("pitch", "drum"),  # a pitched program takes a Pitch, drums (-1) a PitchDrum
    "pitch": ("velocity",),
    "drum": ("velocity",),
    "velocity": ("duration",),
    "duration": ("program", "position", "bar"),
}
"""The kinds of base token that may follow each kind (``start``: nothing written yet; base tokens of other kinds,
such as specials, are not followed)."""


@dataclass(frozen=True)
class GrammarTables:
    """Per token id (``V`` = vocabulary size):

    steps: the token's base tokens as ``(kind, value)``; ``value`` is the position, program or pitch, the bar's
        length in positions for a time signature, else 0.
    allowed: ``{state: (V,) bool}`` tokens whose first base token may follow the state, where the state is the last
        base kind, and for ``"program"`` whether it named drums (``"program-drums"``).
    first_position: ``(V,)`` the token's first ``Position`` before any ``Bar`` (-1: none).
    with_program: ``{(program, pitch): ids}`` tokens that, before any ``Bar``/``Position``, name a program and start
        that pitch with it.  bare_pitch: ``{pitch: ids}`` tokens that start with that pitch (the current program's).
    Special tokens (PAD, BOS, EOS) are allowed in every state: which of them may be drawn is the sampler's business.
    """

    steps: tuple[tuple[tuple[str, int], ...], ...]
    allowed: dict[str, np.ndarray]
    first_position: np.ndarray
    with_program: dict[tuple[int, int], np.ndarray]
    bare_pitch: dict[int, np.ndarray]


def _bar_positions(time_signature: str) -> int:
    """``"3/4"`` → 24: positions in a bar of that time signature."""
    numerator, denominator = (int(part) for part in time_signature.split("/"))
    return numerator * POSITIONS_PER_BEAT * 4 // denominator


def _parse(base: Sequence[str]) -> tuple[tuple[str, int], ...]:
    steps = []
    for token in base:
        name, _, value = token.partition("_")
        kind = _NAMES.get(name)
        if kind is None:
            continue
        if kind in ("position", "program", "pitch", "drum"):
            steps.append((kind, int(value)))
        elif kind == "timesig":
            steps.append((kind, _bar_positions(value)))
        else:
            steps.append((kind, 0))
    return tuple(steps)


def grammar_tables(base_tokens: Sequence[Sequence[str]]) -> GrammarTables:
    """Tables from each token id's base REMI tokens (``["Position_4", "Program_0", "Pitch_60", ...]``)."""
    steps = tuple(_parse(base) for base in base_tokens)
    first_kind = [token_steps[0][0] if token_steps else None for token_steps in steps]  # None: a special token
    follows = dict(FOLLOWS, program=("pitch",), **{"program-drums": ("drum",)})
    allowed = {state: np.array([kind is None or kind in kinds for kind in first_kind])
               for state, kinds in follows.items()}
    first_position = np.full(len(steps), -1, dtype=np.int64)
    with_program: dict[tuple[int, int], list[int]] = {}
    bare_pitch: dict[int, list[int]] = {}
    for index, token_steps in enumerate(steps):
        program: int | None = None  # None: the piece's current program
        for kind, value in token_steps:
            if kind == "bar":
                break
            if kind == "position":
                first_position[index] = value
                break  # later notes start at another onset
            if kind == "program":
                program = value
            elif kind in ("pitch", "drum"):
                if program is None:
                    bare_pitch.setdefault(value, []).append(index)
                else:
                    with_program.setdefault((program, value), []).append(index)
    return GrammarTables(steps, allowed, first_position,
                         {note: np.array(ids) for note, ids in with_program.items()},
                         {pitch: np.array(ids) for pitch, ids in bare_pitch.items()})


class GrammarTracker:
    """Where a piece stands in the grammar, and :meth:`banned`: the tokens that may not come next.

    Args:
        tables: from :func:`grammar_tables` (``TokenFacts.grammar``).
        prompt: tokens already in the piece (BOS first, or a continuation's prompt), replayed to find the state.
    """

    def __init__(self, tables: GrammarTables, prompt: Sequence[int] = ()):
        self.tables = tables
        self.last = "start"
        self.position = -1  # the bar's current position; -1 before its first
        self.bar_positions = 4 * POSITIONS_PER_BEAT
        self.program: int | None = None
        self.by_position: dict[int, set[tuple[int, int]]] = {}  # position -> (program, pitch) started there
        self.started: set[tuple[int, int]] = set()  # by_position[position]
        for token in prompt:
            self.admit(token)

    def admit(self, token: int) -> None:
        for kind, value in self.tables.steps[token]:
            if kind == "bar":
                self.position, self.bar_positions = -1, 4 * POSITIONS_PER_BEAT
                self.by_position, self.started = {}, set()
            elif kind == "timesig":
                self.bar_positions = value
            elif kind == "position" and value != self.position:
                self.position = value
                self.started = self.by_position.setdefault(value, set())
            elif kind == "program":
                self.program = value
            elif kind in ("pitch", "drum") and self.program is not None:
                self.started.add((self.program, value))
            self.last = kind

    def banned(self) -> np.ndarray:
        """``(V,)`` bool: the tokens that would break the grammar here."""
        state = "program-drums" if self.last == "program" and self.program == -1 else self.last
        first = self.tables.first_position
        banned = ~self.tables.allowed[state] | (first >= self.bar_positions)
        for program, pitch in self.started:
            ids = self.tables.with_program.get((program, pitch))
            if ids is not None:
                banned[ids] = True
            if program == self.program:
                ids = self.tables.bare_pitch.get(pitch)
                if ids is not None:
                    banned[ids] = True
        return banned
