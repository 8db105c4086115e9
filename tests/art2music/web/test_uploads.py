"""Upload checks of the web page: load_image's rules with the page's limits, one sentence per refusal, no path."""

from __future__ import annotations

import pytest
from PIL import Image

from art2music.web.uploads import MAX_UPLOAD_BYTES, UploadError, check_upload


def _refusal(path, **limits) -> UploadError:
    with pytest.raises(UploadError) as caught:
        check_upload(path, **limits)
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    if path is not None:
        assert str(path) not in message and path.name not in message, "the server's temporary path leaked"
    return caught.value


def test_an_image_loads_upright_rgb(tmp_path):
    path = tmp_path / "painting.png"
    Image.new("LA", (30, 20), (90, 255)).save(path)
    image = check_upload(path)
    assert image.mode == "RGB" and image.size == (30, 20)


def test_nothing_uploaded():
    assert _refusal(None).reason == "missing"


def test_a_text_file_is_not_an_image(tmp_path):
    path = tmp_path / "painting.png"
    path.write_text("not a painting\n")
    error = _refusal(path)
    assert error.reason == "not_an_image" and "not an image" in str(error)


def test_a_truncated_image(tmp_path):
    whole = tmp_path / "whole.png"
    Image.effect_noise((200, 200), 60).convert("RGB").save(whole)
    cut = tmp_path / "cut.png"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    assert _refusal(cut).reason == "truncated"


def test_a_decompression_bomb_is_refused_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    Image.new("1", (10_000, 9_000)).save(path)  # 90 megapixels in a few kilobytes
    assert path.stat().st_size < 100_000
    error = _refusal(path)
    assert error.reason == "too_large" and "decompression bomb" in str(error)


def test_an_extreme_aspect_ratio(tmp_path):
    path = tmp_path / "thread.png"
    Image.new("RGB", (2, 500)).save(path)
    assert _refusal(path).reason == "extreme_aspect_ratio"


def test_a_file_over_the_upload_limit(tmp_path):
    path = tmp_path / "big.png"
    Image.effect_noise((64, 64), 60).convert("RGB").save(path)
    error = _refusal(path, max_bytes=1000)
    assert error.reason == "too_large" and "1000" in str(error)
    assert MAX_UPLOAD_BYTES < (1 << 30)  # tighter than render's limit
