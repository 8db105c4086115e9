from __future__ import annotations

from pathlib import Path

import mido
import pytest

from art2music.symbolic.tokenizer import (BadMidiError, ids_to_score, load_tokenizer, read_score, read_scores,
                                          save_tokenizer, score_to_ids, skipped_lines)


def _notes(score) -> set[tuple[int, int, int]]:
    """(program, pitch, onset in 1/8 beats) of every note: what REMI at 8 positions per beat must keep."""
    tpq = score.ticks_per_quarter
    return {(-1 if track.is_drum else track.program, note.pitch, round(note.time * 8 / tpq))
            for track in score.tracks for note in track.notes}


def test_round_trip_keeps_the_notes(tokenizer, demo_midis):
    for path in demo_midis[:4]:
        score = read_score(path)
        ids = score_to_ids(tokenizer, score)
        back = ids_to_score(tokenizer, ids)
        assert _notes(back) == _notes(score)
        assert len(ids) < len(tokenizer.encode(score, encode_ids=False).tokens)  # BPE shortened the sequence


def test_tokens_carry_every_kind(tokenizer, demo_midis):
    tokens = tokenizer.encode(read_score(demo_midis[0]), encode_ids=False).tokens
    kinds = {token.split("_")[0] for token in tokens}
    assert {"Bar", "Position", "Tempo", "Program", "Pitch", "Velocity", "Duration"} <= kinds


def test_save_and_load(tokenizer, demo_midis, tmp_path):
    path = save_tokenizer(tokenizer, tmp_path)
    assert path.name == "tokenizer.json"
    loaded = load_tokenizer(tmp_path, vocab_size=len(tokenizer))
    score = read_score(demo_midis[1])
    assert score_to_ids(loaded, score) == score_to_ids(tokenizer, score)
    with pytest.raises(ValueError, match="expects 9999"):
        load_tokenizer(path, vocab_size=9999)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="bad.json"):
        load_tokenizer(tmp_path / "bad.json")


def _midi_with(path: Path, tempo_bpm: float, notes: int) -> Path:
    midi = mido.MidiFile(type=1, ticks_per_beat=480)
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo_bpm), time=0)])
    for k in range(notes):
        track += [mido.Message("note_on", note=60 + k, velocity=80, time=0),
                  mido.Message("note_off", note=60 + k, velocity=0, time=480)]
    midi.tracks.append(track)
    midi.save(str(path))
    return path


def test_bad_files_are_skipped_and_named(tmp_path, demo_midis):
    (tmp_path / "empty.mid").write_bytes(b"")
    (tmp_path / "corrupt.mid").write_bytes(b"MThd\x00\x00\x00\x06garbage-bytes")
    bad = [tmp_path / "empty.mid", tmp_path / "corrupt.mid", _midi_with(tmp_path / "silent.mid", 120, 0),
           _midi_with(tmp_path / "fast.mid", 2000, 4), _midi_with(tmp_path / "slow.mid", 6, 4), tmp_path / "missing.mid"]
    scores, kept, skipped = read_scores([demo_midis[0], *bad, _midi_with(tmp_path / "quick.mid", 350, 3)])
    assert kept == [demo_midis[0], tmp_path / "quick.mid"] and len(scores) == 2  # 350 bpm is fast, not absurd
    assert [(s.name, s.reason) for s in skipped] == [("empty.mid", "empty"), ("corrupt.mid", "corrupt"),
                                                     ("silent.mid", "no_notes"), ("fast.mid", "absurd_tempo"),
                                                     ("slow.mid", "absurd_tempo"), ("missing.mid", "missing")]
    lines = skipped_lines(skipped, 8)
    assert len(lines) == 7 and lines[4].startswith("skipped slow.mid: absurd_tempo: tempo 6.0 bpm")
    assert lines[-1] == "6 of 8 MIDI files skipped" and skipped_lines([], 8) == []
    with pytest.raises(BadMidiError, match="fast.mid: absurd_tempo"):
        read_score(tmp_path / "fast.mid")
    assert read_score(_midi_with(tmp_path / "fine.mid", 90, 3)) is not None
