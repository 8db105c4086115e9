"""Writing a soundtrack's files all together or not at all.

For ``--out track.wav``: ``track.wav``, ``track.json`` (the cue sheet), ``track.html`` (the player), the thumbnails
in ``track_images/<index>-<id>.jpg`` and, for the midi engine, ``track.mid``. Everything is first written into a
hidden staging folder beside them (each file atomically, by the project's writers), then moved into place; a failure
or an interrupt before that removes the staging folder, so a failed run leaves neither half-written files nor a
partial set (an earlier run's files stay as they were).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

from art2music.render.outputs import write_midi, write_text, write_thumbnail, write_wav
from art2music.soundtrack.cue_sheet import Soundtrack, cue_sheet_json
from art2music.soundtrack.player import player_html
from art2music.soundtrack.slides import Slide

PLAYER_THUMBNAIL_SIZE = 640
"""Longer side of the player's pictures, in pixels: sharp on a laptop screen, ~50 KB each."""


def output_paths(wav: Path) -> dict[str, Path]:
    """``wav``'s sibling outputs: ``wav``, ``json``, ``html``, ``midi``, ``images`` (a folder)."""
    return {"wav": wav, "json": wav.with_suffix(".json"), "html": wav.with_suffix(".html"),
            "midi": wav.with_suffix(".mid"), "images": wav.with_name(f"{wav.stem}_images")}


def write_soundtrack(track: Soundtrack, slides: list[Slide], wav: Path, wav_subtype: str = "PCM_16") -> dict[str, Path]:
    """Write every output of ``track`` for ``--out wav``; returns the paths written.

    Raises:
        art2music.render.outputs.OutputWriteError: a file could not be written (nothing is left behind).
        OSError: moving the staged files into place failed.
    """
    final = output_paths(wav)
    wav.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{wav.stem}.staging-", dir=wav.parent))
    try:
        staged = output_paths(staging / wav.name)
        cues = []
        for cue, slide in zip(track.cues, slides):
            name = f"{final['images'].name}/{cue.index}-{cue.id}.jpg"
            write_thumbnail(staging / name, slide.picture, PLAYER_THUMBNAIL_SIZE)
            cues.append(replace(cue, thumbnail=name))
        track = replace(track, cues=cues)
        written = ["wav", "json", "html", "images"]
        if track.midi is not None:
            write_midi(staged["midi"], track.midi)
            written.append("midi")
        write_wav(staged["wav"], track.waveform, track.sample_rate, wav_subtype)
        write_text(staged["json"], cue_sheet_json(track, wav.name, final["midi"].name if track.midi else None))
        write_text(staged["html"], player_html(track, wav.name))
        _publish(staged, final, written)
        return {name: final[name] for name in written}
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _publish(staged: dict[str, Path], final: dict[str, Path], names: list[str]) -> None:
    """Move staged files into place (``os.replace``; the images folder swapped whole), the page last."""
    old_images = None
    if final["images"].is_dir() and not final["images"].is_symlink():
        old_images = staged["images"].with_name("old_images")
        os.replace(final["images"], old_images)
    os.replace(staged["images"], final["images"])
    for name in sorted(names, key=lambda n: n == "html"):  # the page, which links the rest, last
        if name != "images":
            os.replace(staged[name], final[name])
    if old_images is not None:
        shutil.rmtree(old_images, ignore_errors=True)
