"""Output files: atomic WAV/PNG/thumbnail writes, readable permissions, stale temporaries, the gallery."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest
import soundfile
from PIL import Image

from art2music.render.gallery import gallery_html, write_gallery
from art2music.render.outputs import (MEL_PNG_RANGE, mel_to_rgb, output_paths, remove_stale_temporaries,
                                      wav_is_complete, write_mel_png, write_thumbnail)
from art2music.render.results import ItemResult, read_results, write_results
from vocoder.audio import write_wav


def test_wav_is_written_as_16_bit_pcm_or_float_and_checked(tmp_path):
    waveform = np.sin(np.linspace(0, 200, 5120)).astype(np.float32) * 0.5
    write_wav(tmp_path / "a.wav", waveform, 22050)
    decoded, rate = soundfile.read(tmp_path / "a.wav", dtype="float32")
    assert rate == 22050 and soundfile.info(str(tmp_path / "a.wav")).subtype == "PCM_16"
    assert np.abs(decoded - waveform).max() < 1 / 16000
    write_wav(tmp_path / "f.wav", waveform, 22050, "FLOAT")
    assert np.array_equal(soundfile.read(tmp_path / "f.wav", dtype="float32")[0], waveform)
    assert wav_is_complete(tmp_path / "a.wav", 22050, 5120)
    assert not wav_is_complete(tmp_path / "a.wav", 22050, 5121)
    (tmp_path / "cut.wav").write_bytes((tmp_path / "a.wav").read_bytes()[:100])
    assert not wav_is_complete(tmp_path / "cut.wav", 22050, 5120)
    assert not wav_is_complete(tmp_path / "absent.wav", 22050, 5120)
    with pytest.raises(ValueError, match="mono"):
        write_wav(tmp_path / "s.wav", np.zeros((2, 10), np.float32), 22050)


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    write_wav(tmp_path / "a.wav", np.zeros(256, np.float32), 22050)
    before = (tmp_path / "a.wav").read_bytes()
    with pytest.raises(Exception):
        write_wav(tmp_path / "a.wav", np.zeros(256, np.float32), 22050, "NOT_A_SUBTYPE")
    assert (tmp_path / "a.wav").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav"]


def test_files_get_normal_permissions_not_the_temporary_0600(tmp_path):
    write_wav(tmp_path / "a.wav", np.zeros(256, np.float32), 22050)
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE((tmp_path / "a.wav").stat().st_mode) == 0o666 & ~umask


def test_mel_png_puts_low_bins_at_the_bottom_on_a_fixed_scale(tmp_path):
    mel = np.full((80, 30), MEL_PNG_RANGE[0], np.float32)
    mel[0, :] = MEL_PNG_RANGE[1]  # loudest lowest bin
    picture = mel_to_rgb(mel)
    assert picture.shape == (80, 30, 3) and picture.dtype == np.uint8
    assert picture[-1].sum() > picture[0].sum() * 3  # bright bottom row, dark top rows
    assert np.array_equal(picture[0], picture[40])
    write_mel_png(tmp_path / "m.png", mel)
    with Image.open(tmp_path / "m.png") as image:
        assert image.size == (30, 80) and np.array_equal(np.asarray(image), picture)


def test_thumbnail_keeps_aspect_and_is_small(tmp_path):
    write_thumbnail(tmp_path / "t.jpg", Image.new("RGB", (1200, 600), (10, 200, 30)))
    with Image.open(tmp_path / "t.jpg") as image:
        assert image.format == "JPEG" and image.size == (256, 128)


def test_stale_temporaries_of_a_killed_run_are_removed_and_nothing_else(tmp_path):
    paths = output_paths(tmp_path, "x")
    paths["wav"].parent.mkdir(parents=True)
    stale = paths["wav"].parent / ".x.wav.abc123de.tmp.wav"
    stale.write_bytes(b"partial")
    keep = paths["wav"].parent / "x.wav"
    keep.write_bytes(b"done")
    assert remove_stale_temporaries(tmp_path) == [stale]
    assert keep.exists() and not stale.exists()


def _result(**overrides) -> ItemResult:
    values = dict(id="a", image="in/a.png", comment="", status="ok", wav="audio/a.wav", png="mel/a.png",
                  thumbnail="thumbs/a.jpg", seconds=10.0)
    values.update(overrides)
    return ItemResult(**values)


def test_gallery_escapes_user_text_and_uses_relative_encoded_links(tmp_path):
    evil = '<script>alert("x")</script> & friends'
    results = [_result(id="q_1", comment=evil, wav="audio/q_1.wav", thumbnail="thumbs/q_1.jpg"),
               _result(id="ça_va", wav="audio/ça_va.wav", png="mel/ça_va.png", thumbnail="thumbs/ça_va.jpg",
                       status="skipped"),
               _result(id="", image="<img src=x onerror=1>.png", status="failed", reason="truncated",
                       detail="cannot decode <b>", source="list.csv:4", wav="", png="", thumbnail=""),
               _result(id="long", comment="word " * 1000)]
    page = gallery_html(results, {"model": "<demo>", "finished": "now"})
    assert "<script>" not in page and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; friends" in page
    assert "<img src=x" not in page and "cannot decode &lt;b&gt;" in page and "list.csv:4" in page
    assert 'src="audio/%C3%A7a_va.wav"' in page and 'src="thumbs/q_1.jpg"' in page
    assert "file:" not in page and "/in/" not in page.split("<h2>")[0]  # no absolute links in the cards
    assert "<details" in page  # very long comments are folded
    assert page.count('class="card"') == 3 and "Failed (1)" in page
    path = write_gallery(tmp_path, results, {})
    assert path.read_text(encoding="utf-8") == gallery_html(results, {})


def test_results_round_trip_and_csv_columns(tmp_path):
    results = [_result(), _result(id="b", status="failed", reason="missing", detail="no such file", wav="")]
    write_results(tmp_path, results, {"model": "demo"})
    assert read_results(tmp_path) == results
    header = (tmp_path / "results.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header[:10] == ["id", "image", "comment", "status", "reason", "detail", "wav", "png", "thumbnail",
                           "seconds"]
    with pytest.raises(ValueError, match="status"):
        _result(status="done")
