"""A generated piece: its MIDI (a symusic Score), the tokens that wrote it, saving, audio and a piano roll.

``piece.save("x.mid")`` writes a standard MIDI file atomically; ``piece.to_audio()`` renders it with FluidSynth and
a General MIDI soundfont (:mod:`art2music.io.synthesis`) to a mono float32 waveform; ``piano_roll_image(piece)`` draws
pitch (rows, high at the top) over time (columns) without a plotting library.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SAMPLE_RATE = 22050
"""Audio rate in Hz, the project's (HiFi-GAN's) rate, so both engines' WAVs match."""
RELEASE_SECONDS = 1.0
"""Audio kept after the piece ends (its last bar, or its last note if later), so the release is not cut."""


@dataclass(frozen=True)
class Note:
    """One note: ``start``/``end`` in seconds, MIDI ``pitch`` and ``velocity``, GM ``program`` (-1 = drums)."""

    start: float
    end: float
    pitch: int
    velocity: int
    program: int


class MidiPiece:
    """A generated piece. ``score``: a symusic Score; ``tokens``: the token ids it was decoded from; ``bars``: its
    length in whole bars when it was written to a length (``None``: it ends with its last note); ``loop``: it is a
    seamless loop of ``bars`` bars (:mod:`art2music.symbolic.loop`)."""

    def __init__(self, score, tokens: list[int] | None = None, bars: int | None = None, loop: bool = False):
        if loop and not bars:
            raise ValueError("a loop needs its length in bars")
        self.score = score
        self.tokens = list(tokens or [])
        self.bars = bars
        self.loop = loop

    @property
    def notes(self) -> list[Note]:
        """Every note in seconds, sorted by start time."""
        timed = self.score.to("second")
        notes = [Note(float(n.time), float(n.time + n.duration), int(n.pitch), int(n.velocity),
                      -1 if track.is_drum else int(track.program))
                 for track in timed.tracks for n in track.notes]
        return sorted(notes, key=lambda note: (note.start, note.pitch))

    @property
    def seconds(self) -> float:
        """Time from the start to the end of the last note, in seconds."""
        return max((note.end for note in self.notes), default=0.0)

    @property
    def bar_seconds(self) -> float | None:
        """The length of its whole bars in seconds (``None`` when :attr:`bars` is unknown)."""
        from art2music.symbolic.bars import bars_seconds

        return None if self.bars is None else bars_seconds(self.score, self.bars)

    @property
    def tempo_bpm(self) -> float:
        """The first tempo of the piece (120 if it sets none)."""
        return float(self.score.tempos[0].qpm) if len(self.score.tempos) else 120.0

    def save(self, path: str | os.PathLike) -> Path:
        """Write the piece as a standard MIDI file, atomically."""
        from vocoder.files import atomic_write

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda temporary: self.score.dump_midi(str(temporary)))
        return path

    def to_audio(self, sample_rate: int = SAMPLE_RATE, soundfont: str | os.PathLike | None = None) -> np.ndarray:
        """Render with FluidSynth → ``(samples,)`` float32 mono in [-1, 1], the piece (its whole bars, or to its last
        note's end if that is later) plus :data:`RELEASE_SECONDS`;
        a loop is exactly its bars long, the release tail added onto its start (where the repeat plays it).

        Raises:
            ValueError: the piece has no notes.
            art2music.io.synthesis.SynthesisUnavailable: no FluidSynth or no GM soundfont (says how to install).
        """
        from vocoder.audio import read_audio

        from art2music.io.synthesis import find_fluidsynth, find_soundfont, render_midi

        if not self.notes:
            raise ValueError("the piece has no notes to render")
        fluidsynth, font = find_fluidsynth(), find_soundfont(soundfont)
        length = self.bar_seconds if self.loop else max(self.seconds, self.bar_seconds or 0.0)  # rests count
        with tempfile.TemporaryDirectory(prefix="art2music-midi-") as folder:
            midi, wav = Path(folder) / "piece.mid", Path(folder) / "piece.wav"
            self.save(midi)
            render_midi(midi, wav, font, sample_rate, length + RELEASE_SECONDS, fluidsynth)
            audio = np.asarray(read_audio(wav, sample_rate), dtype=np.float32).reshape(-1)
        if self.loop:
            samples = int(round(length * sample_rate))
            audio = np.pad(audio, (0, max(0, samples - len(audio))))
            loop, tail = audio[:samples].copy(), audio[samples:]
            loop[:len(tail)] += tail[:samples]  # the release of the last bar sounds over the repeat's first bar
            audio = np.clip(loop, -1.0, 1.0)
        return audio

    def __repr__(self) -> str:
        return f"MidiPiece(notes={len(self.notes)}, seconds={self.seconds:.2f}, tempo={self.tempo_bpm:.0f} bpm)"


_PROGRAM_COLOURS = np.array([(230, 159, 0), (86, 180, 233), (0, 158, 115), (240, 228, 66), (0, 114, 178),
                             (213, 94, 0), (204, 121, 167), (200, 200, 200)], dtype=np.uint8)
"""Okabe-Ito colours, one per GM program family (program // 16), grey for drums."""


def piano_roll_image(piece: MidiPiece, pixels_per_second: int = 40, low: int = 21, high: int = 108):
    """A PIL image: one row per pitch ``low..high`` (high pitches at the top), ``pixels_per_second`` columns per
    second; each note a bar coloured by its program family, brighter for louder notes."""
    from PIL import Image

    notes = piece.notes
    width = max(1, int(np.ceil((piece.seconds + 0.25) * pixels_per_second)))
    rows = high - low + 1
    canvas = np.full((rows, width, 3), 18, dtype=np.uint8)
    canvas[[high - p for p in range(low, high + 1) if p % 12 == 0]] = 40  # a faint line at every C
    for note in notes:
        pitch = min(max(note.pitch, low), high)
        start = int(note.start * pixels_per_second)
        end = max(start + 1, int(note.end * pixels_per_second))
        colour = _PROGRAM_COLOURS[7 if note.program < 0 else min(note.program // 16, 6)]
        canvas[high - pitch, start:end] = (colour * (0.45 + 0.55 * note.velocity / 127)).astype(np.uint8)
    return Image.fromarray(canvas).resize((width, rows * 3), Image.NEAREST)
