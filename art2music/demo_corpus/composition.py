"""Procedural MIDI composition shaped by an emotion (mode, tempo, register, density, timbre, dynamics).

A piece has up to four parts: a melody (random walk on the profile's scale, note lengths and
articulation from the profile), a bass following a chord progression, an optional sustained pad, and
percussion in one of the profile's patterns. Everything random comes from the ``rng`` argument, so a
composition is a pure function of its seed. Written with mido as a type-1 MIDI file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mido
import numpy as np

from art2music.demo_corpus.profiles import SCALES, EmotionProfile

TICKS_PER_BEAT = 480
DRUM_CHANNEL = 9
_PROGRESSIONS = ((0, 3, 4, 0), (0, 5, 3, 4), (0, 4, 5, 3), (0, 0, 3, 4), (0, 5, 1, 4))
# General MIDI percussion keys.
KICK, SNARE, CLOSED_HAT, OPEN_HAT, CRASH, LOW_TOM, HIGH_TOM, WOODBLOCK, TAMBOURINE = 36, 38, 42, 46, 49, 45, 50, 76, 54


@dataclass(frozen=True)
class Composition:
    """A composed piece and the facts a caption describes."""

    midi: mido.MidiFile
    tempo_bpm: int
    melody_program: int
    drums: str
    scale: str
    root: int
    beats: int


class _Part:
    """Collects timed events of one track and writes them as delta-timed MIDI messages."""

    def __init__(self, channel: int, program: int | None, name: str):
        self.channel = channel
        self.events: list[tuple[int, int, mido.Message]] = []
        self.name = name
        if program is not None:
            self.events.append((0, 0, mido.Message("program_change", program=program, channel=channel)))

    def note(self, start_beats: float, length_beats: float, pitch: int, velocity: int) -> None:
        if not 0 <= pitch <= 127:
            return
        start = int(round(start_beats * TICKS_PER_BEAT))
        end = max(start + 1, int(round((start_beats + length_beats) * TICKS_PER_BEAT)))
        velocity = int(np.clip(velocity, 1, 127))
        self.events.append((start, 2, mido.Message("note_on", note=pitch, velocity=velocity, channel=self.channel)))
        self.events.append((end, 1, mido.Message("note_off", note=pitch, velocity=0, channel=self.channel)))

    def bend(self, at_beats: float, amount: float) -> None:
        value = int(np.clip(amount, -1, 1) * 8191)
        self.events.append((int(round(at_beats * TICKS_PER_BEAT)), 0,
                            mido.Message("pitchwheel", pitch=value, channel=self.channel)))

    def track(self) -> mido.MidiTrack:
        track = mido.MidiTrack([mido.MetaMessage("track_name", name=self.name, time=0)])
        now = 0
        for tick, _, message in sorted(self.events, key=lambda item: (item[0], item[1])):
            track.append(message.copy(time=tick - now))
            now = tick
        return track


def _scale_pitches(scale: str, root: int, low: int, high: int) -> list[int]:
    steps = set(SCALES[scale])
    return [pitch for pitch in range(low, high + 1) if (pitch - root) % 12 in steps]


def _chord_root(degree: int, scale: str, root: int, low: int) -> int:
    """Pitch of scale ``degree`` (0-based) at or above ``low``."""
    interval = SCALES[scale][degree % len(SCALES[scale])]
    return low + ((root + interval - low) % 12)


def compose(profile: EmotionProfile, rng: np.random.Generator, seconds: float) -> Composition:
    """Compose about ``seconds`` of music for ``profile`` (a little more, so the clip has no fade-out)."""
    bpm = int(rng.integers(profile.tempo[0], profile.tempo[1] + 1))
    beats = int(math.ceil(seconds * bpm / 60.0)) + 2
    scale = profile.scales[int(rng.integers(len(profile.scales)))]
    root = int(rng.integers(12))
    melody_program = int(profile.melody_programs[int(rng.integers(len(profile.melody_programs)))])
    bass_program = int(profile.bass_programs[int(rng.integers(len(profile.bass_programs)))])
    pad_program = int(profile.pad_program[int(rng.integers(len(profile.pad_program)))])
    drums = profile.drums[int(rng.integers(len(profile.drums)))]
    progression = _PROGRESSIONS[int(rng.integers(len(_PROGRESSIONS)))]
    low_v, high_v = profile.velocity

    def velocity(at: float) -> int:
        base = rng.integers(low_v, high_v + 1)
        if profile.emotion == "awe":  # a swell from soft to loud
            base = low_v + (high_v - low_v) * at / beats
        return int(base)

    melody = _Part(0, melody_program, "melody")
    pitches = _scale_pitches(scale, root, *profile.melody_register)
    position = int(rng.integers(len(pitches) // 3, 2 * len(pitches) // 3 + 1))
    rest_probability = {"fear": 0.3, "sadness": 0.1}.get(profile.emotion, 0.05)
    t = 0.0
    while t < beats:
        length = float(profile.note_beats[int(rng.integers(len(profile.note_beats)))])
        if rng.random() >= rest_probability:
            step = int(rng.choice([-2, -1, -1, 0, 1, 1, 2, 4, -4], p=[.1, .2, .15, .05, .2, .15, .1, .025, .025]))
            position = int(np.clip(position + step, 0, len(pitches) - 1))
            pitch = pitches[position]
            loud = velocity(t)
            if profile.emotion == "fear" and rng.random() < 0.15:
                loud = 118  # a sudden accent
            if rng.random() < profile.dissonance:
                pitch += int(rng.choice([-1, 1]))
                melody.note(t, length * profile.gate, pitch + 1, loud)  # a semitone cluster
            melody.note(t, length * profile.gate, pitch, loud)
            if profile.bend > 0:
                for k in range(int(length * 4)):
                    melody.bend(t + k / 4, profile.bend * 0.5 * math.sin(k * math.pi / 2 + rng.uniform(0, 1)))
        t += length

    bass = _Part(1, bass_program, "bass")
    pad = _Part(2, pad_program, "pad") if pad_program >= 0 else None
    bass_step = 0.5 if drums in ("driving", "heavy") else (1.0 if drums in ("bouncy", "lurching") else 4.0)
    for bar_start in range(0, beats, 4):
        degree = progression[(bar_start // 4) % len(progression)]
        bass_root = _chord_root(degree, scale, root, profile.bass_register[0])
        step_t = float(bar_start)
        while step_t < min(bar_start + 4, beats):
            bass.note(step_t, bass_step * 0.9, bass_root, velocity(step_t) - 5)
            if profile.emotion == "anger":  # power chord: fifth and octave
                bass.note(step_t, bass_step * 0.9, bass_root + 7, velocity(step_t) - 5)
                bass.note(step_t, bass_step * 0.9, bass_root + 12, velocity(step_t) - 10)
            step_t += bass_step
        if pad is not None:
            chord_low = _chord_root(degree, scale, root, profile.bass_register[0] + 12)
            for third in (0, 2, 4):
                interval = SCALES[scale][(degree + third) % len(SCALES[scale])] - SCALES[scale][degree % len(SCALES[scale])]
                pad.note(bar_start, 4.0, chord_low + interval % 12, int(velocity(bar_start) * 0.6))

    parts = [melody, bass] + ([pad] if pad is not None else [])
    if drums:
        parts.append(_drum_part(drums, beats, rng, profile))
    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    conductor = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0)])
    midi.tracks.append(conductor)
    midi.tracks.extend(part.track() for part in parts)
    return Composition(midi, bpm, melody_program, drums, scale, root, beats)


def _drum_part(pattern: str, beats: int, rng: np.random.Generator, profile: EmotionProfile) -> _Part:
    """Percussion: GM drum keys on channel 10, or a timpani roll for ``timpani``."""
    if pattern == "timpani":
        part = _Part(3, 47, "timpani")
        low = profile.bass_register[0] + 12
        for bar_start in range(0, beats, 8):
            for k in range(16):  # a 4-beat crescendo roll in sixteenths
                part.note(bar_start + k / 4, 0.25, low, 40 + 4 * k)
        return part
    part = _Part(DRUM_CHANNEL, None, "drums")
    for beat in range(beats):
        bar_beat = beat % 4
        if pattern == "bouncy":
            part.note(beat, 0.1, CLOSED_HAT, 60)
            part.note(beat + 0.5, 0.1, WOODBLOCK, 70)
            if bar_beat in (0, 2):
                part.note(beat, 0.1, KICK, 75)
        elif pattern == "driving":
            part.note(beat, 0.1, KICK, 115)
            for half in (0.0, 0.5):
                part.note(beat + half, 0.1, CLOSED_HAT if half == 0 else OPEN_HAT, 85)
            if bar_beat in (1, 3):
                part.note(beat, 0.1, SNARE, 118)
            if bar_beat == 0:
                part.note(beat, 0.1, CRASH, 100)
        elif pattern == "heavy":
            for half in (0.0, 0.5):
                part.note(beat + half, 0.1, KICK, 125)
            if bar_beat in (1, 3):
                part.note(beat, 0.1, SNARE, 127)
            if bar_beat == 0:
                part.note(beat, 0.1, CRASH, 120)
            if bar_beat == 3 and rng.random() < 0.5:
                for k, tom in enumerate((HIGH_TOM, HIGH_TOM, LOW_TOM, LOW_TOM)):
                    part.note(beat + k / 4, 0.1, tom, 120)
        elif pattern == "lurching":
            offsets = (0.0, 1.5, 2.75) if (beat // 4) % 2 == 0 else (0.0, 1.25, 3.0)
            if bar_beat == 0:
                for offset in offsets:
                    part.note(beat + offset, 0.1, LOW_TOM if offset else KICK, int(rng.integers(70, 95)))
                part.note(beat + 2.0, 0.1, TAMBOURINE, 60)
        elif pattern == "stabs":
            if rng.random() < 0.3:
                at = beat + float(rng.choice([0.0, 0.25, 0.75]))
                part.note(at, 0.2, LOW_TOM, 120)
                part.note(at, 0.2, CRASH, 90)
        else:
            raise ValueError(f"unknown drum pattern {pattern!r}")
    return part
