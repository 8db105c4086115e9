"""The render loop: every tricky image renders, bad ones fail by name, reruns skip and redo correctly."""

from __future__ import annotations

import csv
import json
import os
import shutil
import socket

from pathlib import Path

import numpy as np
import pytest
import soundfile
from PIL import Image

from art2music.pipeline import Art2Music
from art2music.export.identity import model_folder_identity, pipeline_identity
from art2music.render.inputs import MAX_COMMENT_CHARS, MAX_ID_BYTES, read_collection
from art2music.render.results import ItemResult, read_results, write_results
from art2music.render.runner import RenderSettings, render_collection

from tests.art2music.render.conftest import SAMPLES, build_tiny_pipeline, write_bad_images, write_tricky_images
from tests.conftest import call_within

QUIET = RenderSettings(batch_size=4, progress=False)


def _csv(path, rows, header="image,comment,id"):
    path.write_text(header + "\n" + "".join(",".join(f'"{v}"' for v in row) + "\n" for row in rows), encoding="utf-8")
    return path


def _by_id(out_dir):
    return {result.id or result.source: result for result in read_results(out_dir)}


def test_tricky_images_render_and_bad_ones_fail_by_name(tiny_pipe, tmp_path):
    tricky = write_tricky_images(tmp_path / "in")
    bad = write_bad_images(tmp_path / "in")
    report = render_collection(tiny_pipe, read_collection(tmp_path / "in"), tmp_path / "out", QUIET)
    results = _by_id(tmp_path / "out")
    assert report.exit_code == 1 and report.summary == {"ok": len(tricky), "skipped": 0, "failed": len(bad),
                                                        "total": len(tricky) + len(bad)}
    for kind in tricky:
        result = results[kind]
        assert result.status == "ok", (kind, result)
        audio, rate = soundfile.read(tmp_path / "out" / result.wav, dtype="float32")
        assert rate == 22050 and audio.shape == (SAMPLES,) and np.isfinite(audio).all()
        assert result.seconds == pytest.approx(SAMPLES / 22050, abs=1e-3)
        with Image.open(tmp_path / "out" / result.thumbnail) as thumb, Image.open(tmp_path / "out" / result.png) as mel:
            assert thumb.mode == "RGB" and mel.size == (20, 80)
            # The EXIF-rotated file is stored 48x32 with "rotate 90": it must come out upright (32 wide, 48 high).
            assert thumb.size == ((32, 48) if kind == "exif_rotated" else (48, 32))
    for reason, path in bad.items():
        result = results[path.stem]
        assert (result.status, result.reason) == ("failed", reason)
        assert result.wav == "" and not (tmp_path / "out" / "audio" / f"{path.stem}.wav").exists()
    # Transparent areas are composited on white, not black: the fully transparent left edge is light.
    with Image.open(tmp_path / "out" / results["transparent"].thumbnail) as thumb:
        assert np.asarray(thumb)[:, 0].mean() > 200

    def pixels(kind):
        with Image.open(tmp_path / "out" / results[kind].thumbnail) as thumb:
            return np.asarray(thumb, dtype=np.float32)

    # The same picture stored as CMYK, palette or animated (first frame) looks like the RGB original, and
    # 16-bit gray is rescaled, not clipped to white (a plain convert would saturate it).
    for kind in ("cmyk", "palette", "animated"):
        assert np.abs(pixels(kind) - pixels("rgb")).mean() < 20, kind
    assert np.abs(pixels("gray16") - pixels("grayscale")).mean() < 3 and pixels("gray16").mean() < 200
    gallery = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert all(f"audio/{kind}.wav" in gallery for kind in tricky) and "too_large" in gallery


def test_batched_rendering_matches_one_by_one_and_order_is_kept(tiny_pipe, tmp_path):
    paths = write_tricky_images(tmp_path / "in")
    rows = [(path.relative_to(tmp_path), f"comment {i}", f"item{i}") for i, path in enumerate(paths.values())]
    collection = read_collection(_csv(tmp_path / "list.csv", rows))
    for name, size in (("batched", 3), ("single", 1)):
        render_collection(tiny_pipe, collection, tmp_path / name,
                          RenderSettings(batch_size=size, wav_format="float", progress=False))
    batched, single = read_results(tmp_path / "batched"), read_results(tmp_path / "single")
    assert [r.id for r in batched] == [f"item{i}" for i in range(len(rows))] == [r.id for r in single]
    audio = {}
    for one, other in zip(batched, single):
        audio[one.id] = soundfile.read(tmp_path / "batched" / one.wav, dtype="float32")[0]
        alone = soundfile.read(tmp_path / "single" / other.wav, dtype="float32")[0]
        assert np.abs(audio[one.id] - alone).max() < 1e-4  # float rounding of batched matmuls only
    differences = [np.abs(audio["item0"] - audio[key]).max() for key in list(audio)[1:]]
    assert min(differences) > 1e-4  # different paintings and comments, different music


def test_empty_and_very_long_comments_render(tiny_pipe, tmp_path):
    Image.new("RGB", (40, 30), (200, 30, 30)).save(tmp_path / "red.png")
    long_comment = ("passionate " * 500).strip()
    rows = [("red.png", "", "empty"), ("red.png", long_comment, "long"), ("red.png", "passionate", "short")]
    report = render_collection(tiny_pipe, read_collection(_csv(tmp_path / "c.csv", rows)), tmp_path / "out", QUIET)
    assert report.exit_code == 0
    results = _by_id(tmp_path / "out")
    assert results["long"].comment == long_comment[:MAX_COMMENT_CHARS] and len(long_comment) > MAX_COMMENT_CHARS
    audio = {key: soundfile.read(tmp_path / "out" / results[key].wav)[0] for key in results}
    assert not np.allclose(audio["empty"], audio["short"])  # the comment matters


def test_rerun_skips_done_items_and_redoes_changed_ones(tmp_path):
    model_a, model_b = tmp_path / "model_a", tmp_path / "model_b"
    build_tiny_pipeline(seed=0).save_pretrained(model_a)
    shutil.copytree(model_a, model_b)
    for kind, colour in (("one", (255, 0, 0)), ("two", (0, 255, 0)), ("three", (0, 0, 255))):
        Image.new("RGB", (32, 32), colour).save(tmp_path / f"{kind}.png")
    csv_path = _csv(tmp_path / "c.csv", [("one.png", "a", "one"), ("two.png", "b", "two"), ("three.png", "c", "three")])
    pipe = Art2Music.from_pretrained(model_a)
    out = tmp_path / "out"

    def run(model_dir=model_a, settings=QUIET, the_pipe=None):
        report = render_collection(the_pipe or pipe, read_collection(csv_path), out, settings,
                                   model_folder_identity(model_dir))
        return {r.id: r.status for r in report.results}

    assert run() == {"one": "ok", "two": "ok", "three": "ok"}
    stamps = {p.name: p.stat().st_mtime_ns for p in (out / "audio").iterdir()}
    assert run() == {"one": "skipped", "two": "skipped", "three": "skipped"}
    assert stamps == {p.name: p.stat().st_mtime_ns for p in (out / "audio").iterdir()}  # untouched
    Image.new("RGB", (32, 32), (9, 9, 9)).save(tmp_path / "one.png")  # changed image
    csv_path.write_text(csv_path.read_text().replace('"b"', '"b changed"'))  # changed comment
    assert run() == {"one": "ok", "two": "ok", "three": "skipped"}
    (out / "audio" / "three.wav").write_bytes(b"RIFF broken")  # damaged output
    assert run() == {"one": "skipped", "two": "skipped", "three": "ok"}
    assert run(settings=RenderSettings(progress=False, redo=True)) == {"one": "ok", "two": "ok", "three": "ok"}
    assert run(settings=RenderSettings(progress=False, wav_format="float")) == {"one": "ok", "two": "ok",
                                                                                "three": "ok"}
    assert soundfile.info(str(out / "audio" / "one.wav")).subtype == "FLOAT"
    # A changed model (other weights in the folder) re-renders everything.
    build_tiny_pipeline(seed=1).save_pretrained(model_b)
    settings = RenderSettings(progress=False, wav_format="float")
    assert run(model_b, settings, Art2Music.from_pretrained(model_b)) == {"one": "ok", "two": "ok", "three": "ok"}
    assert run(model_b, settings, Art2Music.from_pretrained(model_b)) == {"one": "skipped", "two": "skipped",
                                                                         "three": "skipped"}


def test_an_item_that_breaks_the_model_fails_alone(tiny_pipe, tmp_path, monkeypatch):
    for kind in ("a", "b", "c"):
        Image.new("RGB", (20, 20), (10, 100, 200)).save(tmp_path / f"{kind}.png")
    csv_path = _csv(tmp_path / "c.csv", [("a.png", "fine", "a"), ("b.png", "boom", "b"), ("c.png", "fine too", "c")])
    original = tiny_pipe.embed

    def fragile_embed(images, comments=None):
        if "boom" in comments:
            raise RuntimeError("simulated out-of-memory")
        return original(images, comments)

    monkeypatch.setattr(tiny_pipe, "embed", fragile_embed)
    report = render_collection(tiny_pipe, read_collection(csv_path), tmp_path / "out", QUIET)
    statuses = {r.id: (r.status, r.reason) for r in report.results}
    assert statuses == {"a": ("ok", ""), "b": ("failed", "render_error"), "c": ("ok", "")}
    assert "simulated out-of-memory" in report.results[1].detail
    record = json.loads((tmp_path / "out" / "items" / "b.json").read_text())
    assert record["status"] == "failed"  # retried on the next run, not skipped


def test_in_memory_identity_tracks_the_weights():
    assert pipeline_identity(build_tiny_pipeline(seed=0)) == pipeline_identity(build_tiny_pipeline(seed=0))
    assert pipeline_identity(build_tiny_pipeline(seed=0)) != pipeline_identity(build_tiny_pipeline(seed=1))


def _render_within(pipe, collection, out_dir, seconds: float = 60.0):
    """``render_collection``'s report, failing (instead of hanging the suite) if it does not return in time."""
    report = call_within(seconds, render_collection, pipe, collection, out_dir, QUIET)
    assert not isinstance(report, BaseException), f"rendering raised {report!r}"
    return report


def test_special_huge_and_overlong_inputs_fail_alone_by_name(tiny_pipe, tmp_path):
    art = tmp_path / "art"
    (art / "nested").mkdir(parents=True)
    Image.new("RGB", (40, 30), (200, 30, 30)).save(art / "good.png")
    Image.new("L", (1, 1_000_000), 0).save(art / "needle.png")
    long_name = "夜" * 80  # 240 bytes: today's limit is bytes, so this id is cut, not a crash
    Image.new("RGB", (40, 30), (30, 30, 200)).save(art / f"{long_name}.png")
    os.mkfifo(art / "nested" / "x.png")
    (art / "y.png").symlink_to("/dev/zero")
    (art / "dir.png").symlink_to(art / "nested")  # a symlink to a folder, named like an image: not entered
    socket_path = f"/tmp/a2m-{os.getpid()}-s.png"  # AF_UNIX paths are limited to ~100 bytes
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(socket_path)
    try:
        collection = read_collection(art)
        collection.items.append(type(collection.items[0])("sock", Path(socket_path), "", "socket"))
        report = _render_within(tiny_pipe, collection, tmp_path / "out")
    finally:
        listener.close()
        os.unlink(socket_path)
    results = _by_id(tmp_path / "out")
    assert report.exit_code == 1
    cut_id = "夜" * (MAX_ID_BYTES // 3)
    assert results["good"].status == "ok" and results[cut_id].status == "ok"
    expected = {"needle": ("extreme_aspect_ratio", "1x1000000"), "nested_x": ("not_a_file", "FIFO"),
                "y": ("not_a_file", "character device"), "sock": ("not_a_file", "socket")}
    for item_id, (reason, detail) in expected.items():
        assert (results[item_id].status, results[item_id].reason) == ("failed", reason), results[item_id]
        assert detail in results[item_id].detail
    with open(tmp_path / "out" / "results.csv", encoding="utf-8", newline="") as handle:
        assert {row["id"] for row in csv.DictReader(handle)} == set(results)


def test_the_longest_allowed_id_writes_all_its_outputs(tiny_pipe, tmp_path):
    Image.new("RGB", (40, 30), (200, 30, 30)).save(tmp_path / "red.png")
    longest = ["é" * (MAX_ID_BYTES // 2) + "a" * (MAX_ID_BYTES % 2), "a" * MAX_ID_BYTES, "夜" * (MAX_ID_BYTES // 3)]
    assert all(len(name.encode()) == MAX_ID_BYTES for name in longest)
    report = render_collection(tiny_pipe, read_collection(_csv(tmp_path / "c.csv", [("red.png", "", name)
                                                                                     for name in longest])),
                               tmp_path / "out", QUIET)
    assert report.exit_code == 0, report.results
    for name in longest:
        for folder, suffix in (("audio", "wav"), ("mel", "png"), ("thumbs", "jpg"), ("items", "json")):
            assert (tmp_path / "out" / folder / f"{name}.{suffix}").is_file()


def test_results_csv_neutralises_formulas_and_json_keeps_them(tmp_path):
    comments = ['=HYPERLINK("http://x","click")', "+1", "-sad", "@SUM(A1)", "\tx", "\rx", "calm, -not at the start"]
    results = [ItemResult(f"i{index}", "red.png", comment, "ok", seconds=1.5) for index, comment in enumerate(comments)]
    results.append(ItemResult("", "=cmd.png", "", "failed", "missing", "no such file", source="=c.csv:9"))
    write_results(tmp_path, results, {"model": "demo"})
    with open(tmp_path / "results.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["comment"] for row in rows] == ["'" + comment for comment in comments[:5]] + ["'\nx", comments[6], ""]
    assert (rows[-1]["image"], rows[-1]["source"], rows[0]["seconds"]) == ("'=cmd.png", "'=c.csv:9", "1.5")
    assert [result.comment for result in read_results(tmp_path)][:7] == comments  # the JSON keeps raw values
