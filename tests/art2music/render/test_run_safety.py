"""``art2music render`` run safety: one render per folder, one-line errors with documented exit codes, clean
stops on SIGINT/SIGTERM, and no raw control characters on the terminal."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile
from PIL import Image

from art2music.cli import printable
from art2music.render import lock as lock_module
from vocoder import files as vocoder_files
from art2music.render import runner
from art2music.render.cli import main
from art2music.render.inputs import read_collection
from art2music.render.lock import LOCK_NAME
from art2music.render.results import read_results
from art2music.render.runner import RenderSettings, render_collection
from tests.art2music.render.conftest import SAMPLES, build_tiny_pipeline

REPO = Path(__file__).resolve().parents[3]


def _render(*args: object) -> int:
    return main([*map(str, args), "--no-progress", "--threads", "1"])


def _images(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(count)
    for index in range(count):
        Image.fromarray(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)).save(folder / f"art{index:02d}.png")
    return folder


def _hold_lock(out: Path, pid: int = 4242) -> int:
    """Lock ``out`` the way another render would (a separate open file, so even this process is refused)."""
    out.mkdir(parents=True, exist_ok=True)
    fd = os.open(out / LOCK_NAME, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.write(fd, json.dumps({"pid": pid, "host": "studio", "started": "2025-01-01T10:00:00+00:00",
                             "command": "art2music render art --out out"}).encode())
    return fd


def _plant_temporary(out: Path) -> Path:
    """A temporary file as a running render's atomic write leaves it for a moment."""
    (out / "audio").mkdir(parents=True, exist_ok=True)
    temporary = out / "audio" / ".art00.wav.k3j2h1ab.tmp.wav"
    temporary.write_bytes(b"RIFF half a wav")
    return temporary


# ---------------------------------------------------------------------------------------------- the lock
def test_a_second_render_into_a_locked_folder_exits_2_naming_the_holder(tiny_model_dir, tmp_path, capsys):
    out = tmp_path / "out"
    fd = _hold_lock(out)
    temporary = _plant_temporary(out)
    try:
        assert _render(_images(tmp_path / "in", 2), "--out", out, "--model", tiny_model_dir) == 2
    finally:
        os.close(fd)
    err = capsys.readouterr().err
    assert "is in use by another render (pid 4242 on host studio since 2025-01-01T10:00:00+00:00" in err
    assert "--wait" in err and "Traceback" not in err
    assert temporary.exists(), "the running render's temporary file must be left alone"
    assert not (out / "results.json").exists()


def test_wait_proceeds_once_the_holder_releases_the_folder(tiny_model_dir, tmp_path, capsys):
    out = tmp_path / "out"
    fd = _hold_lock(out, pid=777)
    temporary = _plant_temporary(out)
    releaser = threading.Timer(0.6, os.close, args=(fd,))  # the other render finishes (or dies)
    releaser.start()
    try:
        assert _render(_images(tmp_path / "in", 2), "--out", out, "--model", tiny_model_dir, "--wait") == 0
    finally:
        releaser.join()
    err = capsys.readouterr().err
    assert "art2music render: waiting for the render into" in err and "(pid 777 on host studio" in err
    assert [r.status for r in read_results(out)] == ["ok", "ok"]
    assert not temporary.exists(), "stale temporaries are removed once the lock is held"
    assert not (out / LOCK_NAME).exists(), "the lock file is removed when the render ends"


def test_wait_gives_up_after_its_timeout(tiny_model_dir, tmp_path, capsys):
    out = tmp_path / "out"
    fd = _hold_lock(out)
    started = time.monotonic()
    try:
        assert _render(_images(tmp_path / "in", 1), "--out", out, "--model", tiny_model_dir, "--wait",
                       "--wait-timeout", "0.5") == 2
    finally:
        os.close(fd)
    assert 0.4 < time.monotonic() - started < 30
    err = capsys.readouterr().err
    assert "waiting for the render" in err and "pid 4242" in err and "is in use by another render" in err


def test_the_python_api_takes_the_lock_too(tiny_pipe, tmp_path):
    out = tmp_path / "out"
    fd = _hold_lock(out)
    try:
        with pytest.raises(lock_module.OutputLocked, match="pid 4242"):
            render_collection(tiny_pipe, read_collection(_images(tmp_path / "in", 1)), out,
                              RenderSettings(progress=False))
    finally:
        os.close(fd)


def test_the_lock_is_reentrant_in_one_process_and_exclusive_across_open_files(tmp_path):
    with lock_module.lock_output_folder(tmp_path / "out") as held:
        with lock_module.lock_output_folder(tmp_path / "out") as again:
            assert again is held
        assert (tmp_path / "out" / LOCK_NAME).exists()
        holder = json.loads((tmp_path / "out" / LOCK_NAME).read_text())
        assert holder["pid"] == os.getpid() and holder["host"]
        fd = os.open(tmp_path / "out" / LOCK_NAME, os.O_RDWR)
        with pytest.raises(BlockingIOError):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.close(fd)
    assert not (tmp_path / "out" / LOCK_NAME).exists()


def test_a_ddp_child_process_does_not_take_the_lock(monkeypatch):
    assert not lock_module.is_ddp_child()
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert lock_module.is_ddp_child()


# ------------------------------------------------------------------------------ output folder errors
def test_an_output_folder_under_a_file_is_one_line_and_exit_2(tiny_model_dir, tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    assert _render(_images(tmp_path / "in", 1), "--out", tmp_path / "notes.txt" / "out", "--model",
                   tiny_model_dir) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "cannot create the output folder" in err and "Not a directory [ENOTDIR]" in err


@pytest.mark.parametrize("code, text", [(errno.EROFS, "Read-only file system [EROFS]"),
                                        (errno.ENOSPC, "No space left on device [ENOSPC]"),
                                        (errno.EACCES, "Permission denied [EACCES]")])
def test_an_output_folder_that_cannot_be_written_is_one_line_and_exit_2(tiny_model_dir, tmp_path, capsys,
                                                                        monkeypatch, code, text):
    # As root chmod does not stop writes: simulate the file system's answer where the lock file is created.
    def refuse(path):
        raise OSError(code, os.strerror(code), str(path))

    monkeypatch.setattr(lock_module, "_try_lock", refuse)
    assert _render(_images(tmp_path / "in", 1), "--out", tmp_path / "out", "--model", tiny_model_dir) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"cannot write in the output folder {tmp_path / 'out'}: {text}" in err


def _disk_fills_after(monkeypatch, writes_allowed: int, only: str = "") -> None:
    """From the ``writes_allowed``-th output file on (of those whose path contains ``only``), every write fails
    with ENOSPC, as on a file system that has just filled up."""
    real = vocoder_files._new_temporary
    count = 0

    def new_temporary(path):
        nonlocal count
        if only in str(path):
            count += 1
            if count > writes_allowed:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(path)

    monkeypatch.setattr(vocoder_files, "_new_temporary", new_temporary)


def test_a_full_disk_mid_run_stops_with_exit_3_keeping_finished_items(tiny_model_dir, tmp_path, capsys, monkeypatch):
    images, out = _images(tmp_path / "in", 4), tmp_path / "out"
    _disk_fills_after(monkeypatch, writes_allowed=1, only=f"{os.sep}audio{os.sep}")  # the 2nd WAV does not fit
    assert _render(images, "--out", out, "--model", tiny_model_dir, "--batch-size", "1") == 3
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"error: cannot write {out / 'audio' / 'art01.wav'}: No space left on device [ENOSPC]" in err
    assert "rendered 1, kept 0, failed 0, not reached 3 of 4" in err
    results = read_results(out)
    assert [(r.status, r.reason) for r in results] == [("ok", "")] + [("failed", "interrupted")] * 3
    assert "No space left on device" in results[1].detail and "rerun to render it" in results[1].detail
    assert soundfile.read(out / results[0].wav)[0].shape == (SAMPLES,)
    assert not list((out / "audio").glob(".*")), "no temporary file is left behind"
    monkeypatch.undo()  # space was freed
    assert _render(images, "--out", out, "--model", tiny_model_dir, "--batch-size", "1") == 0
    assert [r.status for r in read_results(out)] == ["skipped", "ok", "ok", "ok"]


def test_when_even_the_results_cannot_be_written_the_terminal_says_so(tiny_model_dir, tmp_path, capsys, monkeypatch):
    _disk_fills_after(monkeypatch, writes_allowed=4)  # item 1's four files, then nothing
    assert _render(_images(tmp_path / "in", 2), "--out", tmp_path / "out", "--model", tiny_model_dir,
                   "--batch-size", "1") == 3
    err = capsys.readouterr().err
    assert "(results.json could not be written)" in err and "No space left on device [ENOSPC]" in err
    assert "Traceback" not in err and not (tmp_path / "out" / "results.json").exists()


# ------------------------------------------------------------------------------------ model errors
def test_a_model_that_cannot_be_loaded_is_one_line_and_exit_2(tiny_model_dir, tmp_path, capsys):
    import shutil

    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    (model / "pipeline.json").write_text('["not", "an", "object"]')
    assert _render(_images(tmp_path / "in", 1), "--out", tmp_path / "out", "--model", model) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "art2music render: error: cannot load the model" in err and "pipeline.json: holds a JSON list" in err
    assert not (tmp_path / "out" / LOCK_NAME).exists()


# ------------------------------------------------------------------------------------------ signals
def test_an_interrupted_api_render_writes_results_for_what_was_finished(tiny_pipe, tmp_path, monkeypatch):
    calls = 0
    real = runner.render_images

    def interrupted_on_the_third_batch(pipe, images, comments, *sampling):
        nonlocal calls
        calls += 1
        if calls == 3:
            raise KeyboardInterrupt
        return real(pipe, images, comments, *sampling)

    monkeypatch.setattr(runner, "render_images", interrupted_on_the_third_batch)
    collection = read_collection(_images(tmp_path / "in", 5))
    with pytest.raises(KeyboardInterrupt) as stopped:
        render_collection(tiny_pipe, collection, tmp_path / "out", RenderSettings(batch_size=1, progress=False))
    assert stopped.value.report.stopped == "the run was interrupted by SIGINT"
    results = read_results(tmp_path / "out")
    assert [(r.status, r.reason) for r in results] == [("ok", "")] * 2 + [("failed", "interrupted")] * 3
    assert results[2].detail == "the run was interrupted by SIGINT before this item; rerun to render it"
    assert "interrupted" in (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert not (tmp_path / "out" / LOCK_NAME).exists()


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_mid_run_writes_results_and_a_rerun_completes(tmp_path, signum, code):
    model = tmp_path / "model"
    build_tiny_pipeline(frames=200).save_pretrained(model)  # slow enough per item to stop mid-run
    images, out = _images(tmp_path / "in", 12), tmp_path / "out"
    command = [sys.executable, "-m", "art2music", "render", str(images), "--out", str(out), "--model", str(model),
               "--batch-size", "1", "--no-progress", "--threads", "1"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if (out / "items").is_dir() and list((out / "items").glob("[!.]*.json")):
            if signum == signal.SIGTERM:  # meanwhile, a second render into the same folder is refused
                assert _render(images, "--out", out, "--model", model) == 2
            process.send_signal(signum)
            break
        time.sleep(0.005)
    _, err = process.communicate(timeout=60)
    err = err.decode()
    assert process.returncode == code, err
    assert "Traceback" not in err and f"interrupted by {signal.Signals(signum).name}: rendered" in err
    results = read_results(out)
    statuses = [(r.status, r.reason) for r in results]
    assert ("ok", "") in statuses and ("failed", "interrupted") in statuses, statuses
    assert set(statuses) == {("ok", ""), ("failed", "interrupted")}
    for result in results:
        if result.status == "ok":
            audio, rate = soundfile.read(out / result.wav, dtype="float32")
            assert rate == 22050 and audio.shape == (200 * 256,)
    if signum == signal.SIGTERM:
        assert _render(images, "--out", out, "--model", model) == 0
        assert {r.status for r in read_results(out)} <= {"ok", "skipped"}
        assert not [p for p in out.rglob(".*") if p.is_file()], "no temporary or lock file is left"


# -------------------------------------------------------------------------------- terminal safety
def test_printable_escapes_control_characters_and_keeps_ordinary_unicode():
    assert printable("a\x1b[31mred\x1b[0m\n\t\u202e\x7f") == "a\\x1b[31mred\\x1b[0m\\n\\t\\u202e\\x7f"
    assert printable("« 夕暮れの静けさ » é") == "« 夕暮れの静けさ » é"


def test_escape_sequences_in_names_and_comments_never_reach_the_terminal(tiny_model_dir, tmp_path, capsys):
    folder = tmp_path / "in"
    _images(folder, 1)
    csv = folder / "list\x1b[31m.csv"
    csv.write_text("image,comment\nart00.png,\x1b]0;pwned\x07 a calm sea\n,\x1b[2J wipes the screen\n",
                   encoding="utf-8")
    assert _render(csv, "--out", tmp_path / "out", "--model", tiny_model_dir) == 1
    assert _render(folder / "gone\x1b[2J", "--out", tmp_path / "out2", "--model", tiny_model_dir) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err
    assert "failed list\\x1b[31m.csv:3: empty_image_field" in err
    assert "gone\\x1b[2J does not exist" in err
