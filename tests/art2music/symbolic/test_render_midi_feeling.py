"""The midi engine takes the same target feeling as the audio engine (``--emotion``, ``--valence --arousal``, CSV
columns, ``Art2Midi(valence=…, arousal=…)``) and records it, or the feeling it read from the picture."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from art2music.emotions import VALENCE_AROUSAL
from art2music.render.cli import main
from art2music.render.midi_runner import FROM_PICTURE
from art2music.symbolic.pipeline import Art2Midi

pytestmark = pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="FluidSynth is not installed")


def test_art2midi_takes_valence_and_arousal_like_the_audio_engine(tiny_midi_pipeline):
    pipe = Art2Midi.from_pretrained(tiny_midi_pipeline)
    image = Image.new("RGB", (32, 32), (90, 30, 30))
    by_numbers = pipe(image, valence=-0.9, arousal=-0.4, seconds=2, seed=1)
    by_va = pipe(image, va=(-0.9, -0.4), seconds=2, seed=1)
    assert by_numbers.tokens == by_va.tokens and by_numbers.tokens
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        pipe(image, valence=1.5, arousal=0.0)
    with pytest.raises(ValueError, match="give both valence and arousal"):
        pipe(image, valence=0.5)


def test_midi_render_records_targets_and_the_feeling_read_from_the_picture(tiny_midi_pipeline, tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    Image.fromarray((np.random.default_rng(0).random((30, 30, 3)) * 255).astype(np.uint8)).save(images / "p.png")
    (images / "c.csv").write_text("image,id,emotion\np.png,own,fear\np.png,default,\np.png,bad,bliss\n")
    out = tmp_path / "out"
    args = [str(images / "c.csv"), "--out", str(out), "--engine", "midi", "--model", str(tiny_midi_pipeline),
            "--seconds", "2", "--no-progress"]
    assert main(args + ["--valence", "0.3", "--arousal", "-0.2"]) == 1
    items = {item["id"]: item for item in json.loads((out / "results.json").read_text())["items"]}
    assert (items["own"]["target_valence"], items["own"]["target_arousal"]) == VALENCE_AROUSAL["fear"]
    assert (items["default"]["target_valence"], items["default"]["target_arousal"]) == (0.3, -0.2)
    assert items["bad"]["reason"] == "bad_target"
    assert main(args) == 1  # no default: the item is steered by what the model reads in the picture
    items = {item["id"]: item for item in json.loads((out / "results.json").read_text())["items"]}
    assert items["own"]["status"] == "skipped" and items["default"]["status"] == "ok"
    assert items["default"]["emotion"] == FROM_PICTURE
    assert -1 <= items["default"]["target_valence"] <= 1 and 'class="target"' in (out / "index.html").read_text()
