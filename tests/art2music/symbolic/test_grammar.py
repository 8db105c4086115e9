"""The REMI grammar as a sampling constraint: each note's token order, positions inside the bar, no note twice at one
onset."""

from __future__ import annotations

import collections

import numpy as np
import pytest
from PIL import Image

from art2music.symbolic.grammar import GrammarTracker, grammar_tables

VOCAB = [
    ["PAD_None"], ["BOS_None"], ["EOS_None"],
    ["Bar_None"], ["TimeSig_4/4"], ["TimeSig_3/4"],
    ["Position_0"], ["Position_4"], ["Position_8"], ["Position_40"],
    ["Tempo_100.0"],
    ["Program_0"], ["Program_-1"], ["Program_33"],
    ["Pitch_60"], ["Pitch_64"], ["PitchDrum_36"],
    ["Velocity_63"], ["Duration_1.0.8"],
    ["Program_0", "Pitch_60"],                                 # 19: a note start with its program
    ["Pitch_64", "Velocity_63"],                               # 20: a bare pitch (the current program's)
    ["Duration_1.0.8", "Position_4", "Program_0", "Pitch_60"],  # 21: moves on, then starts a note
    ["Program_33", "Pitch_64"],                                # 22: another instrument's note
    ["Bar_None", "TimeSig_4/4", "Position_0"],                 # 23
]
IDS = {"/".join(base): index for index, base in enumerate(VOCAB)}


def _id(*base: str) -> int:
    return IDS["/".join(base)]


@pytest.fixture
def tables():
    return grammar_tables(VOCAB)


def _note(program: str, pitch: str) -> list[int]:
    return [_id(program), _id(pitch), _id("Velocity_63"), _id("Duration_1.0.8")]


def test_tables_read_each_tokens_first_step_position_and_note_starts(tables):
    assert tables.first_position[_id("Position_4")] == 4 and tables.first_position[21] == 4
    assert tables.first_position[23] == -1  # its position is in the next bar
    assert tables.first_position[_id("Pitch_60")] == -1
    assert set(tables.with_program[(0, 60)]) == {19}  # 21 starts its note at another onset
    assert set(tables.with_program[(33, 64)]) == {22}
    assert set(tables.bare_pitch[64]) == {_id("Pitch_64"), 20}
    assert tables.allowed["velocity"][_id("Duration_1.0.8")] and not tables.allowed["velocity"][_id("Program_0")]
    assert tables.allowed["program"][_id("Pitch_60")] and not tables.allowed["program"][_id("PitchDrum_36")]
    assert tables.allowed["program-drums"][_id("PitchDrum_36")] and not tables.allowed["program-drums"][20]
    for state in tables.allowed:  # the specials are the sampler's business
        assert tables.allowed[state][[0, 1, 2]].all()


def test_each_note_is_program_pitch_velocity_duration_and_a_bar_opens_with_its_time_signature(tables):
    tracker = GrammarTracker(tables, [_id("BOS_None")])
    allowed = lambda: {VOCAB[i][0] for i in np.flatnonzero(~tracker.banned()) if i > 2}  # noqa: E731
    assert allowed() == {"Bar_None"}
    tracker.admit(_id("Bar_None"))
    assert allowed() == {"TimeSig_4/4", "TimeSig_3/4", "Bar_None"}
    for token, then in [("TimeSig_4/4", "Position_0"), ("Position_0", "Program_0"), ("Program_0", "Pitch_60"),
                        ("Pitch_60", "Velocity_63"), ("Velocity_63", "Duration_1.0.8")]:
        tracker.admit(_id(token))
        assert then in allowed(), token
    assert "Tempo_100.0" not in allowed() and "Velocity_63" not in allowed()
    tracker.admit(_id("Duration_1.0.8"))
    assert {"Program_0", "Position_4", "Bar_None"} <= allowed() and "Pitch_60" not in allowed()
    tracker.admit(_id("Program_-1"))
    assert allowed() == {"PitchDrum_36"}  # drums take a drum key, not a pitch


def test_a_note_is_not_started_twice_at_one_onset_even_when_the_position_comes_back(tables):
    prompt = [_id("BOS_None"), _id("Bar_None"), _id("TimeSig_4/4"), _id("Position_4")] + _note("Program_0", "Pitch_64")
    tracker = GrammarTracker(tables, prompt)
    banned = tracker.banned()
    assert not banned[19]  # (0, 60) is not started yet
    tracker.admit(_id("Program_0"))
    assert tracker.banned()[_id("Pitch_64")] and not tracker.banned()[_id("Pitch_60")]
    assert tracker.banned()[20]  # a bare Pitch_64 is the same note
    for token in [_id("Pitch_60"), _id("Velocity_63"), _id("Duration_1.0.8")]:
        tracker.admit(token)
    assert tracker.banned()[19]  # Program_0 Pitch_60 again at position 4
    assert not tracker.banned()[22]  # another instrument may play at this onset
    tracker.admit(_id("Position_8"))
    assert not tracker.banned()[19]  # a new onset
    for token in _note("Program_0", "Pitch_60") + [_id("Position_4"), _id("Program_0")]:
        tracker.admit(token)
    assert tracker.banned()[_id("Pitch_60")] and tracker.banned()[_id("Pitch_64")]  # back at 4: both started there
    tracker.admit(_id("Bar_None"))
    tracker.admit(_id("TimeSig_4/4"))
    tracker.admit(_id("Position_4"))
    assert not tracker.banned()[19]  # position 4 of the next bar


def test_a_position_past_the_bars_end_is_banned(tables):
    tracker = GrammarTracker(tables, [_id("BOS_None"), _id("Bar_None"), _id("TimeSig_4/4")])
    assert tracker.banned()[_id("Position_40")] and not tracker.banned()[_id("Position_8")]  # 32 positions in 4/4


def test_sampled_pieces_keep_the_grammar(tiny_midi_pipeline):
    """Pieces from a barely trained model: every token follows the last, and no note starts twice at one onset."""
    from art2music.symbolic.pipeline import Art2Midi

    composer = Art2Midi.from_pretrained(tiny_midi_pipeline)
    base = composer.tokenizer._vocab_learned_bytes_to_tokens
    follows = {"Bar": {"TimeSig", "Bar"}, "TimeSig": {"Position", "Bar"}, "Position": {"Program", "Tempo"},
               "Tempo": {"Program"}, "Pitch": {"Velocity"}, "PitchDrum": {"Velocity"}, "Velocity": {"Duration"},
               "Duration": {"Program", "Position", "Bar"}}
    notes = 0
    for seed in range(4):
        piece = composer(Image.fromarray(np.full((32, 32, 3), 60 * seed, dtype=np.uint8)), seed=seed, bars=4)
        steps = [b for token in piece.tokens for b in base[composer.tokenizer._model.id_to_token(token)]]
        for before, after in zip(steps, steps[1:]):
            kind, _, value = before.partition("_")
            expected = ({"PitchDrum"} if value == "-1" else {"Pitch"}) if kind == "Program" else follows[kind]
            assert after.partition("_")[0] in expected, (before, after)
        starts = collections.Counter((round(n.start, 4), n.program, n.pitch) for n in piece.notes)
        assert max(starts.values(), default=1) == 1
        notes += len(piece.notes)
    assert notes >= 20, "the tiny model wrote too few notes to judge"
