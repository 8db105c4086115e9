"""The one adapter between the page and a loaded pipeline, and the folder the page's files are written to.

The page offers every control (comment, emotion, seed, steps, guidance, length); which of them a pipeline can use
is read from the pipeline itself, never assumed:

- the options its ``__call__`` accepts (``inspect.signature``): :class:`art2music.Art2Music` takes ``comment``,
  ``emotion``, ``valence``, ``arousal``, ``seed``, ``steps``, ``guidance`` and ``seconds``; the midi engine's
  ``Art2Midi`` takes ``emotion``, ``valence``, ``arousal``, ``seed``, ``guidance`` and ``seconds`` (any length,
  windowed) but no comment;
- whether it can be steered to a feeling at all: a pipeline that says ``accepts_va = False`` (a stage 1 trained
  without emotion conditioning, such as the demo's) takes no emotion, valence or arousal;
- whether it samples at all: a pipeline that says ``is_generative = False`` (the BiLSTM stage 1) refuses seeds,
  steps and guidance even where its signature lists them, and makes at most its trained length.

:func:`capabilities` turns that into the options to pass and one note per control that does not apply (shown on
the page); :func:`generate` passes exactly those options and returns a waveform, whatever the engine returns
(a waveform array, or a MIDI piece with ``to_audio()`` and ``save()``).
"""

from __future__ import annotations

import atexit
import inspect
import itertools
import shutil
import tempfile
import threading
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from PIL import Image

from art2music.render.outputs import write_mel_png, write_wav
from vocoder.mel import MelConfig, mel_spectrogram

OPTIONS = ("comment", "emotion", "valence", "arousal", "seed", "steps", "guidance", "seconds")
"""Every option the page can send, by the keyword a pipeline's ``__call__`` takes it as."""

SAMPLING = frozenset({"seed", "steps", "guidance"})
FEELING = frozenset({"emotion", "valence", "arousal"})
MAX_PAGE_SECONDS = 300.0
"""The longest piece the page asks for (5 minutes, the issue's target for long pieces)."""

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class Capabilities:
    """What one loaded pipeline can do for the page.

    Attributes:
        options: the :data:`OPTIONS` to pass to it.
        seconds: the length it makes when not told (s).
        max_seconds: the longest it can make (s).
        notes: one sentence per control it cannot use, and why.
    """

    options: frozenset[str]
    seconds: float
    max_seconds: float
    notes: tuple[str, ...]


@dataclass(frozen=True)
class Request:
    """One generation: the checked image (RGB) and the page's values (``None``: not set, use the model's default)."""

    image: Image.Image
    comment: str | None = None
    emotion: str | None = None
    valence: float | None = None
    arousal: float | None = None
    seed: int | None = None
    steps: int | None = None
    guidance: float | None = None
    seconds: float | None = None


@dataclass(frozen=True)
class Generated:
    """A generation's result: ``waveform`` ``(samples,)`` float32 in [-1, 1] at ``sample_rate`` Hz, the MIDI piece
    when the engine is symbolic, and the options that were set on the page but do not apply (not passed)."""

    waveform: np.ndarray
    sample_rate: int
    midi: object | None
    ignored: tuple[str, ...]


def accepted_options(pipeline: object) -> frozenset[str]:
    """The :data:`OPTIONS` that ``pipeline.__call__`` names as parameters (a ``**kwargs`` catch-all counts for none)."""
    parameters = inspect.signature(pipeline.__call__).parameters
    return frozenset(name for name in OPTIONS if name in parameters)


def decoder_name(pipeline: object) -> str:
    """What makes the music, in words for the page: ``"BiLSTM decoder"``, ``"flow decoder"``, ``"midi engine"``."""
    decoder = getattr(pipeline, "decoder", None)  # Art2Music names its stage-1 decoder; other engines do not
    if decoder is None:
        return "midi engine" if "Midi" in type(pipeline).__name__ else type(pipeline).__name__
    return {"bilstm": "BiLSTM decoder", "flow": "flow decoder"}.get(decoder, f"{decoder} decoder")


def capabilities(pipeline: object) -> Capabilities:
    """Read what ``pipeline`` can do (see the module docstring); the notes are ready to show on the page."""
    options = set(accepted_options(pipeline))
    name = decoder_name(pipeline)
    deterministic = getattr(pipeline, "is_generative", True) is False
    if deterministic:
        options -= SAMPLING
    trained = float(getattr(pipeline, "duration_seconds", 0.0) or 0.0)
    default = trained if trained > 0 else 20.0
    longest = trained if deterministic and trained > 0 else MAX_PAGE_SECONDS
    notes = []
    if SAMPLING - options:
        missing = ", ".join(sorted(SAMPLING - options, key=("seed", "steps", "guidance").index))
        if deterministic:
            notes.append(f"The {name} is deterministic: it has no {missing} (one picture, one piece); "
                         "a model with the flow decoder samples a new piece per seed.")
        else:
            notes.append(f"The {name} takes no {missing}.")
    if "seconds" not in options:
        notes.append(f"The {name} makes {default:.1f} s pieces (its trained length); other lengths come with the "
                     "flow decoder.")
    elif deterministic:
        notes.append(f"The {name} makes at most {longest:.1f} s (its trained length).")
    if getattr(pipeline, "accepts_va", True) is False and options & FEELING:
        options -= FEELING
        notes.append(f"The {name} was trained without emotion conditioning: it reads the feeling from the picture "
                     "and comment (retrain it with model.emotion_conditioning: true to choose one).")
    elif "emotion" not in options:
        notes.append("This engine reads the feeling from the picture and comment; it cannot be chosen here yet.")
    elif not {"valence", "arousal"} <= options:
        notes.append("This engine takes an emotion name, not valence and arousal numbers.")
    if "comment" not in options:
        notes.append("This engine does not read comments.")
    return Capabilities(frozenset(options), default, longest, tuple(notes))


def check_request(request: Request, capabilities_: Capabilities) -> None:
    """Refuse values no pipeline could use, with one line for the page (``ValueError``)."""
    if request.seed is not None and not 0 <= request.seed < 2 ** 31:
        raise ValueError(f"The seed must be a whole number from 0 to {2 ** 31 - 1}.")
    if request.steps is not None and not 1 <= request.steps <= 1000:
        raise ValueError("Steps must be a whole number from 1 to 1000.")
    if request.guidance is not None and not 0.0 <= request.guidance <= 20.0:
        raise ValueError("Guidance must be between 0 and 20.")
    if (request.valence is None) != (request.arousal is None):
        raise ValueError("Give both valence and arousal (each from -1 to 1), or neither.")
    for label, value in (("Valence", request.valence), ("Arousal", request.arousal)):
        if value is not None and not -1.0 <= value <= 1.0:
            raise ValueError(f"{label} must be between -1 and 1.")
    if request.emotion is not None and request.valence is not None:
        raise ValueError("Choose an emotion or valence and arousal, not both.")
    if request.seconds is not None and "seconds" in capabilities_.options:
        if not 0.5 <= request.seconds <= capabilities_.max_seconds:
            raise ValueError(f"The length must be between 0.5 and {capabilities_.max_seconds:.1f} seconds.")


def generate(pipeline: object, request: Request, progress: Progress | None = None) -> Generated:
    """Make one piece: pass ``pipeline`` the options it accepts (:func:`capabilities`), return its waveform.

    Raises:
        ValueError: a value out of range (one line for the page), or the pipeline's own refusal.
    """
    capabilities_ = capabilities(pipeline)
    check_request(request, capabilities_)
    given = {field.name: getattr(request, field.name) for field in fields(request) if field.name in OPTIONS}
    given = {name: value for name, value in given.items() if value is not None and value != ""}
    options = {name: value for name, value in given.items() if name in capabilities_.options}
    ignored = tuple(name for name in given if name not in capabilities_.options)
    if progress is not None:
        progress(0.2, f"composing with the {decoder_name(pipeline)}")
    result = pipeline(request.image, **options)
    midi = None
    if hasattr(result, "to_audio"):
        if progress is not None:
            progress(0.7, "playing the notes")
        midi, result = result, result.to_audio()
    waveform = np.asarray(result, dtype=np.float32).reshape(-1)
    return Generated(waveform, int(pipeline.sample_rate), midi, ignored)


class OutputFolder:
    """A per-process temporary folder for the page's files (WAV, spectrogram PNG, MIDI), each written atomically
    (:mod:`vocoder.files` through :mod:`art2music.render.outputs`) and removed when the process exits."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(tempfile.mkdtemp(prefix="art2music-serve-", dir=root))
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        atexit.register(self.cleanup)

    def write(self, generated: Generated, mel_config: MelConfig | None = None) -> dict[str, Path]:
        """Write one result; returns its files: ``wav`` always, ``png`` (the log-mel spectrogram of the waveform,
        as ``render`` draws it) when the waveform is long enough and at the mel's rate, ``mid`` for a MIDI piece."""
        with self._lock:
            number = next(self._counter)
        stem = self.root / f"art2music-{number:04d}"
        paths = {"wav": stem.with_suffix(".wav")}
        write_wav(paths["wav"], generated.waveform, generated.sample_rate)
        mel_config = mel_config or MelConfig()
        if generated.sample_rate == mel_config.sample_rate and generated.waveform.size > mel_config.padding:
            paths["png"] = stem.with_suffix(".png")
            with torch.inference_mode():
                mel = mel_spectrogram(torch.from_numpy(generated.waveform)[None], mel_config)[0].numpy()
            write_mel_png(paths["png"], mel)
        if generated.midi is not None and hasattr(generated.midi, "save"):
            paths["mid"] = Path(generated.midi.save(stem.with_suffix(".mid")))
        return paths

    def cleanup(self) -> None:
        """Remove the folder and everything in it (registered with ``atexit``; safe to call twice)."""
        shutil.rmtree(self.root, ignore_errors=True)
