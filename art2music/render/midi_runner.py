"""The midi engine's render loop: image → MIDI piece → ``midi/<id>.mid``, ``audio/<id>.wav``, ``pianoroll/<id>.png``.

It reuses the audio engine's machinery (:mod:`art2music.render.runner`): planning with fingerprints (a rerun skips
finished items), per-item failures, records written last, the output folder's lock, stopping on signals with
``results.json`` and the gallery for what was finished. Each item is sampled on its own with a seed derived from
the run's seed and the item's id, so a piece does not depend on which other items share its batch or run.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from art2music.io.images import ImageLoadError
from art2music.render.inputs import Collection
from art2music.render.interrupt import RenderInterrupted
from art2music.render.lock import lock_output_folder
from art2music.render.outputs import (AUDIO_DIR, ITEM_DIR, MIDI_DIR, ROLL_DIR, THUMB_DIR, WAV_SUBTYPES,
                                      OutputWriteError, remove_stale_temporaries, write_midi, write_png,
                                      write_thumbnail, write_wav)
from art2music.render.results import ItemResult, write_record
from art2music.render.runner import (PlannedItem, RenderReport, RenderSettings, collect_results, fail_item,
                                     feeling_fields, finish_run, finish_stopped_run, load_for_render, plan_render)


def midi_output_paths(out_dir: Path, item_id: str) -> dict[str, Path]:
    """The files of one item of the midi engine: ``midi``, ``wav``, ``png`` (piano roll), ``thumbnail``, ``record``."""
    return {"midi": out_dir / MIDI_DIR / f"{item_id}.mid", "wav": out_dir / AUDIO_DIR / f"{item_id}.wav",
            "png": out_dir / ROLL_DIR / f"{item_id}.png", "thumbnail": out_dir / THUMB_DIR / f"{item_id}.jpg",
            "record": out_dir / ITEM_DIR / f"{item_id}.json"}


def midi_outputs_complete(out_dir: Path, item_id: str) -> bool:
    """Every output of a finished item is there and non-empty (written atomically, so never half-written)."""
    paths = midi_output_paths(out_dir, item_id)
    return all(paths[name].is_file() and paths[name].stat().st_size > 0 for name in ("midi", "wav", "png", "thumbnail"))


def item_seed(seed: int, item_id: str) -> int:
    """The sampling seed of one item: stable for ``(seed, item_id)``."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{item_id}".encode()).digest()[:4], "little")


FROM_PICTURE = "(from the picture)"
"""The ``emotion`` recorded for an item steered by the feeling the model read from its picture."""


def _render_item(pipe: Any, out_dir: Path, planned: PlannedItem, image, sampling, wav_format: str,
                 judge: Any = None) -> ItemResult:
    from art2music.symbolic.piece import piano_roll_image

    started = time.perf_counter()
    try:
        va, emotion = planned.va, planned.emotion
        if va is None:  # the model reads the feeling from the picture: record it as the item's target
            va, emotion = tuple(float(value) for value in pipe.predict_va([image])[0]), FROM_PICTURE
        piece = pipe.compose([image], [list(va)], replace(sampling, seed=item_seed(sampling.seed, planned.item.id)))[0]
        if not piece.notes:
            return fail_item(out_dir, planned, "render_error", "the model wrote no notes for this image (try another "
                                                               "--seed)")
        audio = piece.to_audio(pipe.sample_rate)
    except (RuntimeError, ValueError) as error:
        return fail_item(out_dir, planned, "render_error", f"the model failed: {error}")
    paths = midi_output_paths(out_dir, planned.item.id)
    write_midi(paths["midi"], piece)
    write_wav(paths["wav"], audio, pipe.sample_rate, WAV_SUBTYPES[wav_format])
    write_png(paths["png"], piano_roll_image(piece))
    write_thumbnail(paths["thumbnail"], image)
    item = planned.item
    relative = {name: path.relative_to(out_dir).as_posix() for name, path in paths.items()}
    result = ItemResult(item.id, str(item.image), item.comment, "ok", wav=relative["wav"], png=relative["png"],
                        thumbnail=relative["thumbnail"], midi=relative["midi"],
                        seconds=round(len(audio) / pipe.sample_rate, 4),
                        render_seconds=round(time.perf_counter() - started, 4), source=item.source,
                        fingerprint=planned.fingerprint,
                        **feeling_fields(va, emotion, judge if _judge_fits(judge, pipe) else None, audio))
    write_record(out_dir, result)
    return result


def _judge_fits(judge: Any, pipe: Any) -> bool:
    return judge is not None and judge.mel_config.sample_rate == pipe.sample_rate


def render_midi_collection(pipe: Any, collection: Collection, out_dir: str | os.PathLike, sampling,
                           settings: RenderSettings = RenderSettings(), model_identity: str = "",
                           model_name: str = "", wait_for_lock: bool = False, judge: Any = None) -> RenderReport:
    """Render every item of ``collection`` with ``pipe`` (an :class:`~art2music.symbolic.pipeline.Art2Midi`).

    Each item is steered to its target feeling (a CSV row's, else ``settings.va``), or, without one, to the feeling
    the model reads from its picture; both are recorded, and with a ``judge`` (a VA judge) what it hears in the audio.

    Args:
        sampling: :class:`~art2music.symbolic.sampling.SamplingSettings` (length, temperature, top-k/p, seed); part
            of every item's fingerprint, so changing them re-renders.
    Raises: as :func:`art2music.render.runner.render_collection`.
    """
    from tqdm import tqdm

    out_dir = Path(out_dir)
    identity = f"{model_identity}|midi|{sampling}"
    with lock_output_folder(out_dir, wait=wait_for_lock):
        remove_stale_temporaries(out_dir)
        run_info = {"started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "model": model_name,
                    "model_identity": model_identity, "engine": "midi", "sampling": str(sampling),
                    "wav_format": settings.wav_format, "sample_rate": pipe.sample_rate, "devices": 1}
        plan = plan_render(collection, out_dir, identity, settings, pipe.sample_rate, 0,
                           outputs_complete=midi_outputs_complete)
        rendered: dict[str, ItemResult] = {}
        try:
            with tqdm(total=len(plan.pending), desc="composing", unit="image", file=sys.stderr,
                      disable=not settings.progress) as bar:
                for planned in plan.pending:
                    image = load_for_render(planned, settings.max_pixels)
                    if isinstance(image, ImageLoadError):
                        result = fail_item(out_dir, planned, image.reason, image.detail)
                    else:
                        result = _render_item(pipe, out_dir, planned, image, sampling, settings.wav_format, judge)
                    rendered[result.id] = result
                    bar.update(1)
            return finish_run(out_dir, collect_results(collection, plan, out_dir, rendered), run_info)
        except (RenderInterrupted, KeyboardInterrupt, OutputWriteError) as stop:
            stop.report = finish_stopped_run(out_dir, collect_results(collection, plan, out_dir, rendered),
                                              run_info, stop)
            raise
