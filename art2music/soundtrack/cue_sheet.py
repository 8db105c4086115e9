"""The cue sheet ``track.json``: for each slide, its image and the seconds of the track where its section plays.

::

    {"track": "track.wav", "seconds": 24.0, "sample_rate": 22050, "engine": "audio", "transitions": "continued",
     "settings": {"model": "demo", "seconds_per_image": 8.0, "seed": 7, "steps": 16, ...},
     "cues": [{"index": 0, "id": "sunrise", "image": "/abs/sunrise.jpg", "thumbnail": "track_images/0-sunrise.jpg",
               "comment": "", "start": 0.0, "end": 8.0, ...}, ...]}

Cues are back to back: ``cues[0].start`` is 0, each ``end`` is the next ``start``, and the last ``end`` is the
track's length. With crossfades, a section's sound begins a little before its ``start`` (the fade is centred on the
boundary); the player changes pictures at ``start``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Cue:
    """One slide's section: ``start``/``end`` in seconds; ``extra`` holds engine facts (tempo, key, transposition)."""

    index: int
    id: str
    image: str
    comment: str
    start: float
    end: float
    thumbnail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values.update(values.pop("extra"))
        values["start"], values["end"] = round(self.start, 6), round(self.end, 6)
        return values


@dataclass
class Soundtrack:
    """A composed soundtrack before it is written.

    Attributes:
        waveform: ``(samples,)`` float32 in [-1, 1] at ``sample_rate``.
        cues: one per slide, back to back, the last ending at the waveform's end.
        transitions: ``"continued"`` (each section continues the last: flow inpainting, or one MIDI piece) or
            ``"crossfade"`` (separate clips joined by equal-power crossfades).
        settings: what made it (model, engine, seconds per image, seed, steps ...), copied into the cue sheet.
        midi: the joined :class:`~art2music.symbolic.piece.MidiPiece` (midi engine), else ``None``.
        notes: sentences for the user (e.g. why transitions are crossfades).
        mel: a flow stage 1's log-mel of the whole track ``(n_mels, frames)`` (for measurements), else ``None``.
    """

    waveform: Any
    sample_rate: int
    cues: list[Cue]
    transitions: str
    settings: dict[str, Any]
    midi: Any = None
    notes: list[str] = field(default_factory=list)
    mel: Any = None

    @property
    def seconds(self) -> float:
        return len(self.waveform) / self.sample_rate


def back_to_back(boundaries_samples: list[int], sample_rate: int) -> list[tuple[float, float]]:
    """``[0, b1, ..., total]`` sample positions → ``[(start, end), ...]`` seconds of each section."""
    return [(start / sample_rate, end / sample_rate) for start, end in zip(boundaries_samples, boundaries_samples[1:])]


def cue_sheet_json(track: Soundtrack, wav_name: str, midi_name: str | None = None) -> str:
    """The cue sheet as JSON text (UTF-8, non-ASCII kept readable)."""
    sheet = {"track": wav_name, "seconds": round(track.seconds, 6), "sample_rate": track.sample_rate,
             "transitions": track.transitions, **({"midi": midi_name} if midi_name else {}),
             "settings": track.settings, "notes": track.notes, "cues": [cue.to_dict() for cue in track.cues]}
    return json.dumps(sheet, indent=2, ensure_ascii=False) + "\n"
