"""Seamless loops: a piece of whole bars whose last bar resolves to its first, so it can repeat without a seam.

:func:`close_loop` takes a piece written to a whole number of bars (:mod:`art2music.symbolic.continuation`) and

1. cuts every note at the loop end, so nothing sounds past bar ``bars`` (the repeat starts there);
2. reads the *opening chord*: the pitch classes of the pitched notes that start in the first beat of bar 1 (the first
   onset when none does);
3. makes the final sonority that chord: every pitched note that starts at, or still sounds at, the last onset of the
   last bar moves to the nearest pitch of the opening chord's classes (ties go down), and the notes of that last
   onset are held to the loop end. A last bar with no pitched onset gets the opening chord, held for the bar, and
   notes ringing into it from the bar before stop at its bar line.

Drums are only cut at the end (a piece of drums alone is only cut). Audio of a loop wraps the synthesiser's release tail onto the start
(:meth:`art2music.symbolic.piece.MidiPiece.to_audio`), so the waveform is exactly the loop long.
"""

from __future__ import annotations

from art2music.symbolic.bars import bar_ticks


def opening_notes(score) -> list[tuple[int, object]]:
    """``(track index, note)`` of the pitched notes starting in the first beat (else at the first onset)."""
    pitched = [(index, note) for index, track in enumerate(score.tracks) if not track.is_drum for note in track.notes]
    if not pitched:
        return []
    first_beat = [(index, note) for index, note in pitched if note.time < score.ticks_per_quarter]
    if first_beat:
        return first_beat
    first = min(note.time for _, note in pitched)
    return [(index, note) for index, note in pitched if note.time == first]


def opening_chord(score) -> set[int]:
    """Pitch classes of :func:`opening_notes`; empty for a piece without pitched notes."""
    return {note.pitch % 12 for _, note in opening_notes(score)}


def nearest_in_classes(pitch: int, classes: set[int]) -> int:
    """The pitch closest to ``pitch`` whose pitch class is in ``classes`` (ties: the lower one), kept in 0-127."""
    candidates = [p for p in range(max(0, pitch - 6), min(127, pitch + 6) + 1) if p % 12 in classes]
    return min(candidates, key=lambda p: (abs(p - pitch), p))


def close_loop(score, bars: int):
    """A copy of ``score`` (bars ``0 .. bars - 1``) closed as a loop (see the module docstring).

    Raises:
        ValueError: ``bars`` < 1.
    """
    from symusic import Note

    if bars < 1:
        raise ValueError(f"a loop needs at least one bar, got {bars}")
    closed = score.copy()
    ticks = bar_ticks(closed)
    end, last_bar = bars * ticks, (bars - 1) * ticks
    for track in closed.tracks:
        kept = [Note(note.time, min(note.duration, end - note.time), note.pitch, note.velocity)
                for note in track.notes if note.time < end]
        track.notes.clear()
        for note in kept:
            track.notes.append(note)
    opening = opening_notes(closed)
    chord = {note.pitch % 12 for _, note in opening}
    if not chord:  # drums alone: nothing to resolve
        return closed
    pitched_tracks = [track for track in closed.tracks if not track.is_drum]
    last_onsets = [note.time for track in pitched_tracks for note in track.notes if note.time >= last_bar]
    if not last_onsets:  # an empty last bar: the opening chord, held, alone (notes ringing into it stop at its line)
        for track in pitched_tracks:
            for index, note in enumerate(track.notes):
                if note.time < last_bar < note.time + note.duration:
                    track.notes[index] = Note(note.time, last_bar - note.time, note.pitch, note.velocity)
        added = {(index, note.pitch): note.velocity for index, note in opening}
        for (index, pitch), velocity in added.items():
            closed.tracks[index].notes.append(Note(last_bar, ticks, pitch, velocity))
    else:
        final = max(last_onsets)
        for track in pitched_tracks:
            for index, note in enumerate(track.notes):
                if note.time == final or note.time < final < note.time + note.duration:
                    duration = end - note.time if note.time == final else note.duration
                    track.notes[index] = Note(note.time, duration, nearest_in_classes(note.pitch, chord), note.velocity)
    for track in closed.tracks:
        track.notes.sort()
    return closed
