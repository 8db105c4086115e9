"""Rendering MIDI to audio with FluidSynth and a General MIDI soundfont (the demo corpus and the midi engine).

Runs ``fluidsynth -ni -q -g GAIN -r RATE -F out.wav soundfont.sf2 in.mid`` (the FluidSynth command line;
Debian packages ``fluidsynth`` and ``fluid-soundfont-gm``, installed by ``make install``), then trims the
result to the clip length, mixes it to mono and writes it atomically as 16-bit WAV.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np

from vocoder.audio import write_wav

SOUNDFONT_ENV = "ART2MUSIC_SOUNDFONT"
SOUNDFONT_CANDIDATES = ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/sounds/sf2/default-GM.sf2",
                        "/usr/share/soundfonts/FluidR3_GM.sf2", "/usr/share/soundfonts/default.sf2",
                        "/opt/homebrew/share/soundfonts/default.sf2")
GAIN = 0.6
"""FluidSynth master gain: loud enough to use the 16-bit range, low enough that the densest parts do not clip."""


class SynthesisUnavailable(RuntimeError):
    """FluidSynth or a General MIDI soundfont is not installed."""


def find_fluidsynth() -> str:
    """Path of the ``fluidsynth`` executable, or :class:`SynthesisUnavailable` saying how to install it."""
    path = shutil.which("fluidsynth")
    if path is None:
        raise SynthesisUnavailable("the demo corpus renders MIDI with FluidSynth, which is not installed: run "
                                   "`make install` (or `sudo apt-get install fluidsynth fluid-soundfont-gm`)")
    return path


def find_soundfont(explicit: str | os.PathLike | None = None) -> Path:
    """The soundfont to use: ``explicit``, else ``$ART2MUSIC_SOUNDFONT``, else a standard system location."""
    for candidate, origin in ((explicit, "--soundfont"), (os.environ.get(SOUNDFONT_ENV), f"${SOUNDFONT_ENV}")):
        if candidate:
            path = Path(candidate).expanduser()
            if not path.is_file():
                raise SynthesisUnavailable(f"soundfont {path} (from {origin}) does not exist")
            return path
    for candidate in SOUNDFONT_CANDIDATES:
        if Path(candidate).is_file():
            return Path(candidate)
    raise SynthesisUnavailable(f"no General MIDI soundfont found (looked in {', '.join(SOUNDFONT_CANDIDATES)}); run "
                               f"`make install` (Debian package fluid-soundfont-gm) or set {SOUNDFONT_ENV}=/path/to/gm.sf2")


def render_midi(midi_path: str | os.PathLike, wav_path: str | os.PathLike, soundfont: str | os.PathLike,
                sample_rate: int, seconds: float, fluidsynth: str = "fluidsynth", timeout_s: float = 120.0) -> float:
    """Render ``midi_path`` to a mono 16-bit WAV of exactly ``seconds`` at ``sample_rate``; silence is added where
    FluidSynth stops early (it renders to the last event and a short release: a piece whose last bars are rests, or
    a loop, is longer than that).

    Returns:
        The peak amplitude of the written clip (for checks; 0 would mean silence).

    Raises:
        RuntimeError: FluidSynth failed (its stderr is in the message) or produced no audio at the rate asked.
    """
    import soundfile

    wav_path = Path(wav_path)
    wav_path.parent.mkdir(parents=True, exist_ok=True)
    raw = wav_path.with_name(f".{wav_path.stem}.{os.getpid()}.raw.wav")
    try:
        completed = subprocess.run([fluidsynth, "-ni", "-q", "-g", str(GAIN), "-r", str(sample_rate), "-F", str(raw),
                                    str(soundfont), str(midi_path)], capture_output=True, text=True, timeout=timeout_s)
        if completed.returncode != 0 or not raw.is_file():
            raise RuntimeError(f"fluidsynth failed on {midi_path} (exit {completed.returncode}): "
                               f"{completed.stderr.strip()[-500:]}")
        audio, rate = soundfile.read(str(raw), dtype="float32", always_2d=True)
    finally:
        raw.unlink(missing_ok=True)
    wanted = int(round(seconds * sample_rate))
    if rate != sample_rate or audio.shape[0] == 0:
        raise RuntimeError(f"fluidsynth rendered {audio.shape[0]} samples at {rate} Hz from {midi_path}; expected "
                           f"{wanted} at {sample_rate} Hz")
    mono = np.pad(audio[:wanted].mean(axis=1), (0, max(0, wanted - audio.shape[0])))
    fade = min(wanted, int(0.02 * sample_rate))
    mono[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)  # no click at the cut
    peak = float(np.abs(mono).max())
    if peak > 0.99:
        mono *= 0.99 / peak
    write_wav(wav_path, mono, sample_rate, subtype="PCM_16")
    return min(peak, 0.99)
