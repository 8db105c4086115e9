"""A target feeling per render: ``--emotion`` / ``--valence --arousal`` defaults, CSV rows that override them,
fingerprints that include the target, per-row bad-input results, the judged feeling and the gallery's VA plane."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from PIL import Image

from art2music.audio_engine.stage1 import Stage1Model
from art2music.emotion_judge import VAJudge, VAJudgeConfig
from art2music.emotions import VALENCE_AROUSAL
from art2music.render.cli import main
from art2music.render.gallery import va_plane_svg
from art2music.render.inputs import read_collection
from art2music.render.results import ItemResult, read_results
from tests.art2music.render.conftest import build_tiny_pipeline


@pytest.fixture(scope="module")
def steered_model(tmp_path_factory) -> Path:
    """A tiny pipeline folder whose stage 1 takes a target feeling, with a tiny VA judge beside it."""
    pipe = build_tiny_pipeline()
    torch.manual_seed(1)
    stage1 = Stage1Model(dataclasses.replace(pipe.stage1.config, emotion_conditioning=True))
    stage1.load_state_dict(pipe.stage1.state_dict(), strict=False)
    with torch.no_grad():
        stage1.emotion.mlp[-1].weight.mul_(20)  # make targets move the tiny model's mel clearly
    pipe.stage1 = stage1
    pipe.va_judge = VAJudge(VAJudgeConfig(channels=(4, 8), hidden=8)).frozen()
    return pipe.save_pretrained(tmp_path_factory.mktemp("steered") / "model")


def _collection(folder: Path, rows: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (40, 30), (200, 40, 40)).save(folder / "red.png")
    Image.new("RGB", (30, 40), (20, 40, 200)).save(folder / "blue.png")
    (folder / "c.csv").write_text("image,id,emotion,valence,arousal\n" + "\n".join(rows) + "\n")
    return folder / "c.csv"


def render(csv: Path, out: Path, model: Path, *extra: str) -> int:
    return main([str(csv), "--out", str(out), "--model", str(model), "--no-progress", "--precision", "float32",
                 *extra])


def test_csv_targets_are_read_and_bad_ones_are_bad_items(tmp_path):
    csv = _collection(tmp_path, ["red.png,a,Sadness,,", "red.png,b,,0.5,-0.25", "red.png,c,,,",
                                 "red.png,d,joy,,", "red.png,e,,1.5,0", "red.png,f,,0.5,", "red.png,g,,abc,0.1"])
    collection = read_collection(csv)
    items = {item.id: item for item in collection.items}
    assert items["a"].va == VALENCE_AROUSAL["sadness"] and items["a"].emotion == "sadness"
    assert items["b"].va == (0.5, -0.25) and items["c"].va is None
    bad = {item.id: item for item in collection.bad}
    assert set(bad) == {"d", "e", "f", "g"} and {item.reason for item in bad.values()} == {"bad_target"}
    assert "expected one of amusement" in bad["d"].detail and "[-1, 1]" in bad["e"].detail
    assert "give both valence and arousal" in bad["f"].detail and "'abc'" in bad["g"].detail


def test_defaults_rows_fingerprints_judged_feeling_and_gallery(steered_model, tmp_path):
    csv = _collection(tmp_path / "in", ["red.png,own,,-0.9,-0.5", "red.png,default,,,", "blue.png,bad,,,2"])
    out = tmp_path / "out"
    assert render(csv, out, steered_model, "--emotion", "amusement") == 1  # the bad row fails alone
    results = {result.id: result for result in read_results(out)}
    assert results["bad"].status == "failed" and results["bad"].reason == "bad_target"
    own, default = results["own"], results["default"]
    assert (own.target_valence, own.target_arousal, own.emotion) == (-0.9, -0.5, "")
    assert (default.target_valence, default.target_arousal) == VALENCE_AROUSAL["amusement"]
    assert default.emotion == "amusement"
    for result in (own, default):
        assert -1 <= result.judged_valence <= 1 and -1 <= result.judged_arousal <= 1
    own_audio, _ = soundfile.read(out / own.wav)
    default_audio, _ = soundfile.read(out / default.wav)
    assert np.abs(own_audio - default_audio).max() > 1e-3  # same image, different targets: different music
    html = (out / "index.html").read_text()
    assert html.count('class="target"') == 2 and html.count('class="judged"') == 2
    csv_text = (out / "results.csv").read_text()
    assert "target_valence" in csv_text.splitlines()[0] and "amusement" in csv_text

    # a changed default re-renders only the items that use it; the row with its own target is kept
    assert render(csv, out, steered_model, "--valence", "0.1", "--arousal", "0.2") == 1
    results = {result.id: result for result in read_results(out)}
    assert results["own"].status == "skipped" and results["default"].status == "ok"
    assert (results["default"].target_valence, results["default"].target_arousal) == (0.1, 0.2)
    run = json.loads((out / "results.json").read_text())["run"]
    assert run["target"] == {"emotion": "", "va": [0.1, 0.2]} and run["va_judge"] is True


def test_a_model_without_emotion_conditioning_refuses_targets(tiny_model_dir, tmp_path, capsys):
    csv = _collection(tmp_path / "in", ["red.png,own,fear,,", "blue.png,plain,,,"])
    out = tmp_path / "out"
    assert render(csv, out, tiny_model_dir, "--valence", "0.2", "--arousal", "0.3") == 2
    assert "model.emotion_conditioning: true" in capsys.readouterr().err
    assert render(csv, out, tiny_model_dir) == 1  # the row's own target fails alone, naming the fix
    results = {result.id: result for result in read_results(out)}
    assert results["plain"].status == "ok" and results["plain"].target_valence is None
    assert results["own"].reason == "bad_target" and "emotion_conditioning" in results["own"].detail


@pytest.mark.parametrize("options, message", [
    (["--emotion", "joy"], "expected one of amusement"),
    (["--valence", "1.5", "--arousal", "0"], r"valence must be a number in \[-1, 1\]"),
    (["--arousal", "0.5"], "give both valence and arousal"),
    (["--emotion", "fear", "--valence", "0.1", "--arousal", "0.1"], "not both"),
])
def test_bad_command_line_targets_exit_2_with_one_line(tiny_model_dir, tmp_path, capsys, options, message):
    csv = _collection(tmp_path / "in", ["red.png,a,,,"])
    assert render(csv, tmp_path / "out", tiny_model_dir, *options) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and re.search(message, error)


def test_va_plane_places_points_by_their_coordinates():
    result = ItemResult("x", "x.png", "", "ok", emotion="fear", target_valence=-1.0, target_arousal=1.0,
                        judged_valence=1.0, judged_arousal=-1.0)
    svg = va_plane_svg(result)
    assert 'class="target" cx="6.0" cy="6.0"' in svg and 'class="judged" cx="90.0" cy="90.0"' in svg
    assert "target fear" in svg and va_plane_svg(ItemResult("y", "y.png", "", "ok")) == ""
