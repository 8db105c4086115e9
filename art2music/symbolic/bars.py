"""Bars of a symusic Score (in ticks): their length, cutting a run of bars out, appending bars, timing them.

The windowed continuation (:mod:`art2music.symbolic.continuation`) and the loop closure (:mod:`.loop`) work on whole
bars. A bar is the score's first time signature long (4/4 when it sets none: every demo piece is in 4/4).
Tracks are matched by ``(program, is_drum)``.
"""

from __future__ import annotations

DEFAULT_TEMPO_BPM = 120.0


def bar_ticks(score) -> int:
    """Length of one bar in ticks (the first time signature's, 4/4 if none)."""
    numerator, denominator = 4, 4
    if len(score.time_signatures):
        numerator, denominator = score.time_signatures[0].numerator, score.time_signatures[0].denominator
    return int(round(score.ticks_per_quarter * 4 * numerator / denominator))


def empty_like(score):
    """A score with ``score``'s resolution and time signature, and no notes or tempi."""
    from symusic import Score, TimeSignature

    empty = Score(score.ticks_per_quarter)
    if len(score.time_signatures):
        first = score.time_signatures[0]
        empty.time_signatures.append(TimeSignature(0, first.numerator, first.denominator))
    return empty


def tempo_at(score, tick: int) -> float:
    """The tempo (BPM) sounding at ``tick`` (:data:`DEFAULT_TEMPO_BPM` before the first tempo event)."""
    tempo = DEFAULT_TEMPO_BPM
    for event in score.tempos:
        if event.time > tick:
            break
        tempo = float(event.qpm)
    return tempo


def _track_for(score, program: int, is_drum: bool):
    from symusic import Track

    for track in score.tracks:
        if track.program == program and track.is_drum == is_drum:
            return track
    track = Track(program=program, is_drum=is_drum)
    score.tracks.append(track)
    return score.tracks[len(score.tracks) - 1]


def append_notes(target, source, start_tick: int, end_tick: int, offset: int, tempos: bool = True) -> None:
    """Copy into ``target`` every note of ``source`` starting in ``[start_tick, end_tick)``, and (with ``tempos``)
    every tempo change in that span, moved by ``offset`` ticks (both scores share one resolution)."""
    from symusic import Note, Tempo

    if source.ticks_per_quarter != target.ticks_per_quarter:
        raise ValueError(f"resolutions differ: {source.ticks_per_quarter} and {target.ticks_per_quarter} ticks/beat")
    for track in source.tracks:
        notes = [note for note in track.notes if start_tick <= note.time < end_tick]
        if notes:
            destination = _track_for(target, track.program, track.is_drum)
            for note in notes:
                destination.notes.append(Note(note.time + offset, note.duration, note.pitch, note.velocity))
    last = tempo_at(target, start_tick + offset) if len(target.tempos) else None
    for event in source.tempos if tempos else ():
        if start_tick <= event.time < end_tick and float(event.qpm) != last:
            target.tempos.append(Tempo(event.time + offset, float(event.qpm)))
            last = float(event.qpm)
    target.tempos.sort()
    for track in target.tracks:
        track.notes.sort()


def cut_bars(score, first_bar: int, end_bar: int):
    """Bars ``first_bar .. end_bar - 1`` of ``score`` as a new score starting at tick 0 (notes by onset; the tempo
    sounding at the first bar set at 0)."""
    from symusic import Tempo

    ticks = bar_ticks(score)
    cut = empty_like(score)
    cut.tempos.append(Tempo(0, tempo_at(score, first_bar * ticks)))
    append_notes(cut, score, first_bar * ticks, end_bar * ticks, -first_bar * ticks)
    return cut


def bars_seconds(score, bars: int) -> float:
    """Seconds from the start to the end of bar ``bars`` (tempo changes honoured)."""
    ticks, total, position = bar_ticks(score), 0.0, 0
    end = bars * ticks
    changes = [(int(event.time), float(event.qpm)) for event in score.tempos if event.time < end]
    tempo = DEFAULT_TEMPO_BPM
    for time, qpm in changes:
        total += (time - position) / score.ticks_per_quarter * 60.0 / tempo
        position, tempo = max(position, time), qpm
    return total + (end - position) / score.ticks_per_quarter * 60.0 / tempo
