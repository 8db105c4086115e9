"""``art2music render``: exit codes, the bundled sample collection, non-UTF-8 CSVs, and SIGKILL + resume."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile
from PIL import Image

from art2music.render.cli import main
from art2music.render.results import read_results
from tests.art2music.render.conftest import SAMPLES, build_tiny_pipeline

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples" / "collection"


def _render(*args: str) -> int:
    return main([*map(str, args), "--no-progress"])


def test_the_sample_collection_renders_completely_with_a_working_gallery(tiny_model_dir, tmp_path):
    out = tmp_path / "out"
    assert _render(EXAMPLES / "collection.csv", "--out", out, "--model", tiny_model_dir, "--batch-size", "3",
                   "--threads", "1") == 0
    results = read_results(out)
    assert [r.status for r in results] == ["ok"] * 8
    assert {r.id for r in results} == {"sunrise", "storm", "carnival", "ghost", "harbour", "forest", "moonlight",
                                       "fireworks"}  # the last row has no id: its file stem
    for result in results:
        audio, rate = soundfile.read(out / result.wav)
        assert rate == 22050 and audio.shape == (SAMPLES,)
    with Image.open(out / "thumbs" / "harbour.jpg") as thumb:  # stored sideways with an EXIF rotation
        assert thumb.width > thumb.height
    page = (out / "index.html").read_text(encoding="utf-8")
    links = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert len(links) == 3 * 8 and all((out / link).is_file() for link in links)
    assert "« le calme du soir »" in page and "&quot;wow&quot;" in page


def test_a_failed_item_gives_exit_code_1_and_is_named(tiny_model_dir, tmp_path, capsys):
    Image.new("RGB", (30, 30), (1, 2, 3)).save(tmp_path / "good.png")
    (tmp_path / "broken.jpg").write_text("<html>a saved web page, not a picture</html>")
    assert _render(tmp_path, "--out", tmp_path / "out", "--model", tiny_model_dir) == 1
    assert "failed broken: not_an_image" in capsys.readouterr().err
    assert {r.id: r.status for r in read_results(tmp_path / "out")} == {"good": "ok", "broken": "failed"}


def test_vocoder_precision_choice_is_part_of_the_model_identity(tiny_model_dir, tmp_path):
    Image.new("RGB", (30, 30), (200, 120, 10)).save(tmp_path / "amber.png")
    out = tmp_path / "out"
    common = (tmp_path, "--out", out, "--model", tiny_model_dir, "--threads", "1")
    assert _render(*common, "--vocoder-precision", "float32") == 0
    exact = soundfile.read(out / "audio" / "amber.wav", dtype="float32")[0]
    assert _render(*common, "--vocoder-precision", "float32") == 0
    assert read_results(out)[0].status == "skipped"  # same model, same arithmetic: nothing to redo
    assert _render(*common, "--vocoder-precision", "bfloat16") == 0
    assert read_results(out)[0].status == "ok"  # other arithmetic, other audio: rendered again
    fast = soundfile.read(out / "audio" / "amber.wav", dtype="float32")[0]
    assert fast.shape == exact.shape and 0 < np.abs(fast - exact).max() < 0.05


def test_the_pipeline_precision_is_recorded_and_a_change_re_renders(tiny_model_dir, tmp_path):
    import json

    from vocoder.precision import bf16_recurrent_pays

    Image.new("RGB", (30, 30), (20, 120, 210)).save(tmp_path / "blue.png")
    out = tmp_path / "out"
    common = (tmp_path, "--out", out, "--model", tiny_model_dir, "--threads", "1")
    assert _render(*common, "--precision", "float32") == 0
    run = json.loads((out / "results.json").read_text())["run"]
    assert run["precision"] == {"encoder": "float32", "stage1": "float32", "vocoder": "float32"}
    assert _render(*common, "--precision", "bfloat16", "--vocoder-precision", "float32") == 0
    assert read_results(out)[0].status == "ok"  # bf16 encoders: other embeddings, rendered again
    run = json.loads((out / "results.json").read_text())["run"]
    stage1 = "bfloat16" if bf16_recurrent_pays("cpu") else "float32"  # a BiLSTM follows only on AMX
    assert run["precision"] == {"encoder": "bfloat16", "stage1": stage1, "vocoder": "float32"}
    assert f"arithmetic: encoder bfloat16, stage1 {stage1}, vocoder float32" in (out / "index.html").read_text()


def test_a_non_utf8_csv_renders_its_valid_rows_and_reports_the_others(tiny_model_dir, tmp_path, capsys):
    Image.new("RGB", (30, 30), (90, 2, 3)).save(tmp_path / "a.png")
    (tmp_path / "list.csv").write_bytes("image,comment\na.png,plain ascii\na.png,tr\xe8s triste\n".encode("cp1252"))
    assert _render(tmp_path / "list.csv", "--out", tmp_path / "out", "--model", tiny_model_dir) == 1
    err = capsys.readouterr().err
    assert "not valid UTF-8" in err and "list.csv:3: undecodable_row" in err
    results = read_results(tmp_path / "out")
    assert [(r.status, r.reason) for r in results] == [("ok", ""), ("failed", "undecodable_row")]


@pytest.mark.parametrize("make_args, message", [
    (lambda d, m: [d / "absent", "--out", d / "o", "--model", m], "does not exist"),
    (lambda d, m: [d / "imgs", "--out", d / "o", "--model", d / "no_model"], "cannot load the model"),
    (lambda d, m: [d / "imgs", "--out", d / "o", "--model", m, "--batch-size", "0"], "--batch-size"),
    (lambda d, m: [d / "imgs", "--out", d / "o", "--model", m, "--threads", "0"], "--threads"),
    (lambda d, m: [d / "imgs", "--out", d / "imgs" / "a.png", "--model", m], "not a folder"),
    (lambda d, m: [d / "bad.csv", "--out", d / "o", "--model", m], "no 'image' column"),
])
def test_usage_errors_exit_with_2_and_say_what_is_wrong(tiny_model_dir, tmp_path, capsys, make_args, message):
    (tmp_path / "imgs").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "imgs" / "a.png")
    (tmp_path / "bad.csv").write_text("path,comment\na.png,x\n", encoding="utf-8")
    assert _render(*make_args(tmp_path, tiny_model_dir)) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o" / "results.json").exists()


def test_missing_arguments_are_usage_errors(capsys):
    assert main([]) == 2
    assert main(["somewhere"]) == 2  # no --out
    assert "--out" in capsys.readouterr().err


def test_a_run_killed_with_sigkill_resumes_without_redoing_finished_items(tmp_path):
    model = tmp_path / "model"
    build_tiny_pipeline(frames=200).save_pretrained(model)  # ~10x the work per item: a wide window to kill in
    images = tmp_path / "in"
    images.mkdir()
    rng = np.random.default_rng(0)
    for index in range(40):
        Image.fromarray(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)).save(images / f"art{index:02d}.png")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "art2music.render.cli", str(images), "--out", str(out), "--model", str(model),
               "--batch-size", "2", "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    records = out / "items"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if records.is_dir() and len(list(records.glob("[!.]*.json"))) >= 4:
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.002)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL, process.stderr.read().decode()
    process.stderr.close()
    done_before = {path.stem: (out / "audio" / f"{path.stem}.wav").stat().st_mtime_ns
                   for path in records.glob("[!.]*.json")}  # not the temporary files of an unfinished write
    assert 4 <= len(done_before) < 40, "the kill must land mid-run"
    assert not (out / "results.json").exists()

    assert _render(images, "--out", out, "--model", model, "--batch-size", "2") == 0
    results = read_results(out)
    assert len(results) == 40 and all(r.status in ("ok", "skipped") for r in results)
    assert {r.id for r in results if r.status == "skipped"} == set(done_before)
    for result in results:
        audio, rate = soundfile.read(out / result.wav, dtype="float32")
        assert rate == 22050 and audio.shape == (200 * 256,) and np.isfinite(audio).all()
        with Image.open(out / result.png) as mel, Image.open(out / result.thumbnail) as thumb:
            mel.load()
            thumb.load()
    assert {stem: (out / "audio" / f"{stem}.wav").stat().st_mtime_ns for stem in done_before} == done_before
    leftovers = [p for p in out.rglob(".*") if p.is_file()]
    assert leftovers == []
    shutil.rmtree(out)
