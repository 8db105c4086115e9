"""The midi engine's soundtrack: one section per slide at one shared tempo, each in a key close to the last.

Only the composer's public API is used (:meth:`art2music.symbolic.pipeline.Art2Midi.compose`: a feeling read from
the image, a length in seconds, a seed). It cannot be told a tempo or a key, so:

- **one tempo**: each section keeps its notes' positions in beats and is played at the shared tempo, the median of
  the sections' own tempi, nudged so that a whole number of 4/4 bars fills ``seconds_per_image`` exactly (the cues
  then fall on bar lines); a section whose music is shorter than its bars is repeated from its start, whole bars at
  a time, and notes past its end are cut there;
- **keys**: each section's key is estimated (:mod:`.keys`) and it is transposed, mode kept, to a key closely related
  to the previous section's (drums are not transposed);
- **channels**: a MIDI file has 15 melodic channels; when the sections use more instruments, the least-used are
  played by a kept instrument of their family (:func:`fit_channels`, noted in the cue sheet);
- the sections are joined into one MIDI score (a track per GM program), saved as ``track.mid`` and played by
  FluidSynth as one piece.
"""

from __future__ import annotations

import hashlib
import statistics
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from art2music.soundtrack.cue_sheet import Cue, Soundtrack
from art2music.soundtrack.keys import Key, estimate_key, related_shift
from art2music.soundtrack.slides import Slide

TICKS_PER_QUARTER = 480
BEATS_PER_BAR = 4
END_FADE_SECONDS = 0.05
MELODIC_CHANNELS = 15
"""MIDI channels for pitched instruments (16 minus the drum channel): more programs than this would share channels."""


class CompositionError(RuntimeError):
    """The composer wrote no notes for a slide (exit code 1: another seed may work)."""


@dataclass
class Section:
    """One slide's music: ``notes`` as ``(track key (program, is_drum), start beat, length in beats, pitch,
    velocity)``; ``beats``: where its music ends; its own tempo and key."""

    notes: list[tuple[tuple[int, bool], float, float, int, int]]
    beats: float
    tempo: float
    key: Key | None


def section_seed(seed: int, index: int) -> int:
    """Slide ``index``'s sampling seed, stable for ``(seed, index)``."""
    return int.from_bytes(hashlib.sha256(f"{seed}:soundtrack:{index}".encode()).digest()[:4], "little")


def section_from_piece(piece: Any) -> Section:
    """A :class:`~art2music.symbolic.piece.MidiPiece` → its notes in beats, tempo and key."""
    score = piece.score
    tpq = float(score.ticks_per_quarter)
    notes = [((int(track.program), bool(track.is_drum)), note.time / tpq, note.duration / tpq, int(note.pitch),
              int(note.velocity)) for track in score.tracks for note in track.notes]
    beats = max((start + length for _, start, length, _, _ in notes), default=0.0)
    key = estimate_key((pitch, length) for (_, drum), _, length, pitch, _ in notes if not drum)
    return Section(notes, beats, piece.tempo_bpm, key)


def shared_tempo(tempi: Sequence[float], seconds_per_image: float) -> tuple[float, int]:
    """``(tempo in bpm, bars per section)``: the median tempo, moved so that whole bars fill each section exactly."""
    median = statistics.median(tempi)
    bars = max(1, round(seconds_per_image * median / 60 / BEATS_PER_BAR))
    return bars * BEATS_PER_BAR * 60 / seconds_per_image, bars


def fit_notes(section: Section, section_beats: float, transpose: int) -> list[tuple]:
    """The section's notes repeated (whole bars) to fill ``section_beats``, cut at its end, pitched notes moved by
    ``transpose`` semitones (an octave back when that leaves the MIDI range)."""
    period = max(BEATS_PER_BAR, BEATS_PER_BAR * np.ceil(section.beats / BEATS_PER_BAR - 1e-6))
    fitted = []
    for repeat in range(int(np.ceil(section_beats / period))):
        for track, start, length, pitch, velocity in section.notes:
            start += repeat * period
            if start >= section_beats:
                continue
            if not track[1]:
                pitch += transpose
                pitch += 12 * ((pitch < 0) - (pitch > 127))
            fitted.append((track, start, min(length, section_beats - start), pitch, velocity))
    return fitted


def compose_midi_track(pipe: Any, slides: Sequence[Slide], seconds_per_image: float, seed: int = 0,
                       temperature: float | None = None, top_p: float | None = None) -> Soundtrack:
    """The soundtrack of ``slides`` with an :class:`~art2music.symbolic.pipeline.Art2Midi` composer;
    ``temperature`` / ``top_p`` ``None``: the composer's own defaults (``pipe.sampling``); each section samples with the
    composer's default guidance, as ``render --engine midi`` does.

    Raises:
        CompositionError: the composer wrote no notes for a slide.
        art2music.io.synthesis.SynthesisUnavailable: no FluidSynth or soundfont.
    """
    from art2music.symbolic.sampling import SamplingSettings

    sampling = pipe.sampling.resolve(temperature=temperature, top_p=top_p)
    sections = []
    for index, slide in enumerate(slides):
        settings = SamplingSettings(**sampling, seconds=seconds_per_image, guidance=pipe.default_guidance(),
                                    seed=section_seed(seed, index))
        section = section_from_piece(pipe.compose([slide.picture], None, settings)[0])
        if not section.notes:
            raise CompositionError(f"the model wrote no notes for {slide.image} (try another --seed)")
        sections.append(section)
    tempo, bars = shared_tempo([s.tempo for s in sections], seconds_per_image)
    section_beats = bars * BEATS_PER_BAR
    notes, cues, previous = [], [], None
    for index, (slide, section) in enumerate(zip(slides, sections)):
        shift = 0 if previous is None or section.key is None else related_shift(section.key, previous)
        key = section.key.transposed(shift) if section.key is not None else None
        previous = key or previous
        notes += [(track, start + index * section_beats, length, pitch, velocity)
                  for track, start, length, pitch, velocity in fit_notes(section, section_beats, shift)]
        extra = {"own_tempo_bpm": round(section.tempo, 2), "own_key": str(section.key) if section.key else None,
                 "key": str(key) if key else None, "transposed_semitones": shift,
                 "repeated": bool(section.beats < section_beats - 1e-6)}
        cues.append(Cue(index, slide.id, str(slide.image), slide.comment, index * seconds_per_image,
                        (index + 1) * seconds_per_image, extra=extra))
    notes, merged = fit_channels(notes)
    piece = joined_piece(notes, tempo)
    samples = int(round(len(slides) * seconds_per_image * pipe.sample_rate))
    waveform = exact_length(piece.to_audio(pipe.sample_rate), samples, pipe.sample_rate)
    settings = {"engine": "midi", "seconds_per_image": seconds_per_image, "seed": seed, **sampling,
                "tempo_bpm": round(tempo, 3), "bars_per_image": bars,
                "median_tempo_bpm": round(statistics.median(s.tempo for s in sections), 3),
                "merged_programs": {str(old): new for old, new in merged.items()}}
    track_notes = [f"the sections use more than {MELODIC_CHANNELS} instruments, the channels of a MIDI file; the "
                   f"least-used were played by a kept instrument of their family: {merged}"] if merged else []
    return Soundtrack(waveform, pipe.sample_rate, cues, "continued", settings, midi=piece, notes=track_notes)


def fit_channels(notes: list[tuple]) -> tuple[list[tuple], dict[int, int]]:
    """Notes using at most :data:`MELODIC_CHANNELS` melodic programs (a MIDI file has 16 channels, one for drums, and
    each track takes one): the programs with the most note-beats are kept, every other one is played by the kept
    program of its GM family (``program // 8``: pianos, organs, strings ...) nearest to it, else by the nearest kept
    program. Returns the notes and ``{merged program: program playing it}``."""
    weight: dict[int, float] = {}
    for (program, drum), _, length, _, _ in notes:
        if not drum:
            weight[program] = weight.get(program, 0.0) + length
    if len(weight) <= MELODIC_CHANNELS:
        return notes, {}
    kept = sorted(sorted(weight, key=lambda program: -weight[program])[:MELODIC_CHANNELS])
    merged = {}
    for program in sorted(set(weight) - set(kept)):
        family = [k for k in kept if k // 8 == program // 8]
        merged[program] = min(family or kept, key=lambda k: (abs(k - program), k))
    return [((merged.get(program, program) if not drum else program, drum), *rest)
            for (program, drum), *rest in notes], merged


def joined_piece(notes: list[tuple], tempo: float) -> Any:
    """Notes ``(track key, start beat, beats, pitch, velocity)`` → a MidiPiece: one track per key, one tempo, 4/4."""
    from symusic import Note, Score, Tempo, TimeSignature, Track

    from art2music.symbolic.piece import MidiPiece

    score = Score(TICKS_PER_QUARTER)
    score.tempos.append(Tempo(0, qpm=tempo))
    score.time_signatures.append(TimeSignature(0, BEATS_PER_BAR, 4))
    tracks: dict[tuple[int, bool], Any] = {}
    for (program, drum), start, length, pitch, velocity in sorted(notes, key=lambda note: note[1]):
        if (program, drum) not in tracks:
            tracks[(program, drum)] = Track(f"{'drums' if drum else f'program {program}'}", program, drum)
        tracks[(program, drum)].notes.append(Note(int(round(start * TICKS_PER_QUARTER)),
                                                  max(1, int(round(length * TICKS_PER_QUARTER))), pitch, velocity))
    # symusic writes track i on channel i (skipping 9, the drums'): drum tracks go last, so the melodic tracks get
    # 15 channels of their own
    for key in sorted(tracks, key=lambda key: key[1]):
        score.tracks.append(tracks[key])
    return MidiPiece(score)


def exact_length(waveform: np.ndarray, samples: int, sample_rate: int) -> np.ndarray:
    """Pad with silence or cut to ``samples``; a cut ends in a short fade (no click)."""
    waveform = np.asarray(waveform, dtype=np.float32)
    if waveform.size >= samples:
        waveform = waveform[:samples].copy()
        fade = min(samples, int(END_FADE_SECONDS * sample_rate))
        waveform[samples - fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
        return waveform
    return np.concatenate([waveform, np.zeros(samples - waveform.size, dtype=np.float32)])
