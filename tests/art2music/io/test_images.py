"""load_image: every odd image a collection holds becomes a correct upright RGB picture, or a clear error."""

from __future__ import annotations

import os
import socket

import numpy as np
import pytest
from PIL import Image

from art2music.io.images import MAX_ASPECT_RATIO, ImageLoadError, load_image
from tests.conftest import call_within


def _load_within(path, seconds: float = 10.0, **kwargs) -> ImageLoadError:
    """``load_image(path)``'s error, failing (instead of hanging the suite) if it does not return in time."""
    result = call_within(seconds, load_image, path, **kwargs)
    assert isinstance(result, ImageLoadError), result
    return result


def _solid(mode: str, size=(8, 6), colour=None) -> Image.Image:
    return Image.new(mode, size, colour)


def test_rgb_jpeg_round_trip(tmp_path):
    path = tmp_path / "a.jpg"
    _solid("RGB", colour=(200, 40, 10)).save(path, quality=95)
    image = load_image(path)
    assert image.mode == "RGB" and image.size == (8, 6)
    assert np.allclose(np.asarray(image)[3, 3], (200, 40, 10), atol=4)


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    path = tmp_path / "cmyk.jpg"
    _solid("CMYK", colour=(0, 255, 255, 0)).save(path, quality=95)  # pure red in CMYK
    red, green, blue = np.asarray(load_image(path))[2, 2].astype(int)
    assert red > 200 and green < 60 and blue < 60


def test_16_bit_grayscale_is_scaled_not_clipped(tmp_path):
    path = tmp_path / "gray16.png"
    values = np.full((6, 8), 32768, dtype=np.uint16)  # mid-grey in 16 bits
    Image.fromarray(values).save(path)
    assert Image.open(path).mode.startswith("I")
    pixel = np.asarray(load_image(path))[0, 0]
    assert 120 <= pixel[0] <= 136 and pixel[0] == pixel[1] == pixel[2]  # a plain convert("RGB") gives 255


def test_transparent_png_is_composited_on_white(tmp_path):
    path = tmp_path / "alpha.png"
    image = _solid("RGBA", colour=(0, 0, 0, 0))
    image.putpixel((0, 0), (255, 0, 0, 255))
    image.save(path)
    pixels = np.asarray(load_image(path))
    assert tuple(pixels[3, 3]) == (255, 255, 255)  # transparent black shows as white, not black
    assert tuple(pixels[0, 0]) == (255, 0, 0)


def test_palette_with_transparent_index_and_grayscale_alpha(tmp_path):
    palette_path = tmp_path / "palette.png"
    image = _solid("P", colour=1)
    image.putpalette([0, 0, 0, 0, 0, 255] + [0] * 762)
    image.info["transparency"] = 1
    image.save(palette_path, transparency=1)
    assert tuple(np.asarray(load_image(palette_path))[1, 1]) == (255, 255, 255)
    la_path = tmp_path / "la.png"
    _solid("LA", colour=(0, 0)).save(la_path)
    assert tuple(np.asarray(load_image(la_path))[1, 1]) == (255, 255, 255)


def test_grayscale_and_one_bit(tmp_path):
    for mode, colour, expected in (("L", 77, 77), ("1", 1, 255)):
        path = tmp_path / f"{mode}.png"
        _solid(mode, colour=colour).save(path)
        pixel = np.asarray(load_image(path))[0, 0]
        assert tuple(pixel) == (expected,) * 3


def test_animated_gif_gives_first_frame(tmp_path):
    path = tmp_path / "anim.gif"
    frames = [_solid("RGB", colour=(255, 0, 0)), _solid("RGB", colour=(0, 0, 255))]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    red, green, blue = np.asarray(load_image(path))[2, 2].astype(int)
    assert red > 200 and blue < 50


def test_exif_orientation_is_applied(tmp_path):
    path = tmp_path / "rotated.jpg"
    image = _solid("RGB", size=(40, 20), colour=(0, 0, 0))
    image.paste((255, 255, 255), (0, 0, 10, 20))  # white band on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    image.save(path, exif=exif, quality=95)
    upright = load_image(path)
    assert upright.size == (20, 40)
    pixels = np.asarray(upright).mean(axis=2)
    assert pixels[:10].mean() > 200 and pixels[-10:].mean() < 50  # the band is now at the top


@pytest.mark.parametrize("case, reason", [("missing", "missing"), ("empty", "empty"), ("text", "not_an_image"),
                                          ("truncated", "truncated"), ("directory", "not_a_file")])
def test_unusable_files_raise_specific_errors(tmp_path, case, reason):
    path = tmp_path / "x.jpg"
    if case == "empty":
        path.write_bytes(b"")
    elif case == "text":
        path.write_text("this is a caption, not a picture")
    elif case == "truncated":
        noise = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
        Image.fromarray(noise).save(path, quality=95)
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif case == "directory":
        path.mkdir()
    with pytest.raises(ImageLoadError) as caught:
        load_image(path)
    assert caught.value.reason == reason
    assert str(path) in str(caught.value)


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    path = tmp_path / "big.png"
    _solid("L", size=(300, 300), colour=0).save(path)
    with pytest.raises(ImageLoadError) as caught:
        load_image(path, max_pixels=10_000)
    assert caught.value.reason == "too_large" and "90000" in str(caught.value)
    assert load_image(path).size == (300, 300)  # fine under the default limit


def test_special_files_are_refused_without_being_read(tmp_path):
    fifo = tmp_path / "x.png"
    os.mkfifo(fifo)
    (tmp_path / "zero.png").symlink_to("/dev/zero")
    (tmp_path / "random.png").symlink_to("/dev/urandom")
    listener = socket.socket(socket.AF_UNIX)
    socket_path = f"/tmp/a2m-{os.getpid()}.png"  # AF_UNIX paths are limited to ~100 bytes: keep it short
    listener.bind(socket_path)
    try:
        for path, kind in [(fifo, "FIFO"), (tmp_path / "zero.png", "character device"),
                           (tmp_path / "random.png", "character device"), (socket_path, "socket"),
                           (tmp_path, "directory")]:
            error = _load_within(path)
            assert error.reason == "not_a_file" and kind in error.detail, (path, error)
    finally:
        listener.close()
        os.unlink(socket_path)


def test_file_above_the_byte_limit_is_refused_before_reading(tmp_path):
    path = tmp_path / "x.png"
    _solid("RGB", size=(64, 64), colour=(1, 2, 3)).save(path)
    error = _load_within(path, max_bytes=50)
    assert error.reason == "too_large" and str(path.stat().st_size) in error.detail and "50" in error.detail


def test_extreme_aspect_ratio_is_refused_and_a_long_scroll_loads(tmp_path):
    needle = tmp_path / "needle.png"
    _solid("L", size=(1, 1_000_000), colour=0).save(needle)
    assert needle.stat().st_size < 10_000  # tiny on disk, under the pixel limit, yet explosive when resized
    error = _load_within(needle)
    assert error.reason == "extreme_aspect_ratio"
    assert "1x1000000" in error.detail and str(MAX_ASPECT_RATIO) in error.detail
    scroll = tmp_path / "scroll.png"
    _solid("RGB", size=(50 * 20, 20), colour=(9, 9, 9)).save(scroll)
    assert load_image(scroll).size == (1000, 20)
