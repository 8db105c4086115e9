"""Reading collections: folders, CSVs (comments, ids, encodings, broken rows) and the id rules."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest
from PIL import features

from art2music.render import inputs
from art2music.render.inputs import (IMAGE_EXTENSIONS, MAX_COMMENT_CHARS, MAX_ID_BYTES, CollectionError, is_safe_id,
                                     read_collection, safe_id_from_stem)
from tests.conftest import call_within


def _touch(folder: Path, *names: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"x")


def test_folder_lists_images_sorted_and_ignores_other_files(tmp_path):
    _touch(tmp_path, "b.PNG", "a.jpg", "notes.txt", ".hidden.png", "c.webp")
    (tmp_path / "sub.png").mkdir()  # a folder, whatever its name: walked into
    collection = read_collection(tmp_path)
    assert [item.id for item in collection.items] == ["a", "b", "c"]
    assert collection.items[0].image == tmp_path / "a.jpg"
    assert all(item.comment == "" for item in collection.items)
    assert collection.bad == []
    assert collection.warnings == [f"ignored 2 other file(s) in {tmp_path} (hidden, or not images), e.g. .hidden.png, "
                                   f"notes.txt"]


def test_folder_ids_are_sanitised_and_made_unique_deterministically(tmp_path):
    _touch(tmp_path, "Starry Night.jpg", "Starry Night.png", "starry_night.gif", "ça va?.png", "_.png")
    ids = [item.id for item in read_collection(tmp_path).items]
    assert ids == ["Starry_Night", "Starry_Night-2", "image", "starry_night-3", "ça_va_"]
    assert ids == [item.id for item in read_collection(tmp_path).items]  # same on every run
    assert all(is_safe_id(name) for name in ids)


def test_csv_with_comments_ids_relative_paths_and_bom(tmp_path):
    (tmp_path / "art").mkdir()
    (tmp_path / "list.csv").write_bytes(
        "\ufeffimage,comment,id\n"
        "art/one.jpg,\"Warm, bright, joyful\",first\n"
        "art/two.png,,\n"
        f"{tmp_path / 'elsewhere.png'},\"multi\nline\",third\n".encode("utf-8"))
    collection = read_collection(tmp_path / "list.csv")
    assert [(i.id, i.image, i.comment) for i in collection.items] == [
        ("first", tmp_path / "art" / "one.jpg", "Warm, bright, joyful"),
        ("two", tmp_path / "art" / "two.png", ""),
        ("third", tmp_path / "elsewhere.png", "multi\nline")]
    assert collection.bad == [] and collection.warnings == []


def test_csv_column_order_and_case_do_not_matter_and_comment_is_optional(tmp_path):
    (tmp_path / "a.csv").write_text("ID , Image\nx1,p.png\n", encoding="utf-8")
    [item] = read_collection(tmp_path / "a.csv").items
    assert (item.id, item.image.name, item.comment) == ("x1", "p.png", "")


def test_bad_csv_rows_are_reported_by_line_and_the_rest_is_kept(tmp_path):
    rows = [b"image,comment,id", b"ok.png,fine,good", b"too,many,fields,here", b"short",
            b",no image here,noimg", "caf\xe9.png,latin-1 comment,latin".encode("latin-1"),
            b"ok2.png,,", b""]
    (tmp_path / "c.csv").write_bytes(b"\n".join(rows))
    collection = read_collection(tmp_path / "c.csv")
    assert [item.id for item in collection.items] == ["good", "ok2"]
    reasons = {bad.source: bad.reason for bad in collection.bad}
    assert reasons == {"c.csv:3": "malformed_row", "c.csv:4": "malformed_row", "c.csv:5": "empty_image_field",
                       "c.csv:6": "undecodable_row"}
    undecodable = next(bad for bad in collection.bad if bad.reason == "undecodable_row")
    assert "UTF-8" in undecodable.detail and undecodable.id == "latin"
    assert "\\xe9" in undecodable.image  # shown escaped, never as a lone surrogate
    [warning] = collection.warnings
    assert "not valid UTF-8" in warning and "re-save" in warning


def test_explicit_ids_unsafe_or_duplicate_are_bad_items_and_derived_ids_avoid_them(tmp_path):
    (tmp_path / "d.csv").write_text(
        "image,id\nsunset.jpg,Sunset\nx.jpg,sunset\ny.jpg,../etc/passwd\nz.jpg,.hidden\nsunset.jpg,\n"
        f"w.jpg,{'a' * (MAX_ID_BYTES + 1)}\n", encoding="utf-8")
    collection = read_collection(tmp_path / "d.csv")
    assert [item.id for item in collection.items] == ["Sunset", "sunset-2"]
    assert [(bad.source, bad.reason) for bad in collection.bad] == [
        ("d.csv:3", "duplicate_id"), ("d.csv:4", "unsafe_id"), ("d.csv:5", "unsafe_id"), ("d.csv:7", "unsafe_id")]


@pytest.mark.parametrize("content, message", [
    (None, "does not exist"),
    ("", "is empty"),
    ("picture,comment\na.png,x\n", "no 'image' column"),
    ("image,comment\n", "no rows"),
])
def test_unreadable_collections_raise_a_usage_error(tmp_path, content, message):
    path = tmp_path / "list.csv"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(CollectionError, match=message):
        read_collection(path)


def test_empty_folder_and_wrong_file_type_are_usage_errors(tmp_path):
    with pytest.raises(CollectionError, match="no image files"):
        read_collection(tmp_path)
    (tmp_path / "list.txt").write_text("image\n")
    with pytest.raises(CollectionError, match="neither a folder"):
        read_collection(tmp_path / "list.txt")


def test_safe_id_rules():
    assert is_safe_id("Mona_Lisa-1503.v2") and is_safe_id("été")
    for bad in ("", ".x", "-x", "a/b", "a b", "a\\b", "con:1", "x" * (MAX_ID_BYTES + 1)):
        assert not is_safe_id(bad), bad
    assert safe_id_from_stem("  weird / name?  ") == "weird_name_"
    assert safe_id_from_stem("///") == "image"


def _read_within(path, seconds: float = 10.0, **kwargs):
    """``read_collection(path)``'s outcome (a Collection or the exception), failing instead of hanging."""
    return call_within(seconds, read_collection, path, **kwargs)


def test_nested_folders_are_walked_with_ids_from_the_relative_path(tmp_path):
    art = tmp_path / "art"
    _touch(art, "top.png", "notes.txt", ".DS_Store", "Thumbs.db")
    _touch(art / "Romanticism", "x.jpg", "drawing.svg", "photo.HEIC", "shot.cr2", "shot.dng")
    _touch(art / "Baroque", "x.jpg")
    _touch(art / "Baroque" / "late", "y.png")
    _touch(art / ".git", "z.png")
    (art / "Baroque" / "loop").symlink_to(art, target_is_directory=True)
    (art / "out").mkdir()
    for name in ("thumbs", "mel"):  # our own outputs, inside the input folder
        _touch(art / "out" / name, "x.jpg")
    collection = read_collection(art, exclude=art / "out")
    assert [(item.id, item.source) for item in collection.items] == [
        ("top", "top.png"), ("Baroque_x", "Baroque/x.jpg"), ("Baroque_late_y", "Baroque/late/y.png"),
        ("Romanticism_x", "Romanticism/x.jpg")]
    unsupported = {bad.source: bad.detail for bad in collection.bad if bad.reason == "unsupported_format"}
    assert set(unsupported) == {"Romanticism/drawing.svg", "Romanticism/photo.HEIC", "Romanticism/shot.cr2",
                                "Romanticism/shot.dng"}
    assert "convert it to PNG" in unsupported["Romanticism/drawing.svg"]
    assert "HEIF" in unsupported["Romanticism/photo.HEIC"] and "raw" in unsupported["Romanticism/shot.cr2"]
    ignored, linked = collection.warnings
    assert ignored.startswith("ignored 3 other file(s)") and "notes.txt" in ignored
    assert "Baroque/loop" in linked
    # The output folder given as the input folder itself: its sub-folders are still skipped.
    with pytest.raises(CollectionError, match="no image files"):
        read_collection(art / "out", exclude=art / "out")


def test_top_level_files_keep_their_stem_and_collisions_still_get_numbers(tmp_path):
    _touch(tmp_path, "a_x.png")
    _touch(tmp_path / "a", "x.png")
    assert [item.id for item in read_collection(tmp_path).items] == ["a_x", "a_x-2"]


def test_image_extensions_follow_what_this_pillow_reads():
    assert {".jpg", ".png", ".webp", ".tif"} <= IMAGE_EXTENSIONS
    assert (".avif" in IMAGE_EXTENSIONS) == features.check("avif")
    assert not {".svg", ".heic", ".cr2", ".mpg", ".txt"} & IMAGE_EXTENSIONS


def test_ids_are_limited_in_utf8_bytes_and_cut_at_a_character_boundary(tmp_path):
    long_name = "夜" * 80  # 240 bytes: over the limit although only 80 characters
    _touch(tmp_path / "art", f"{long_name}.png")
    (tmp_path / "list.csv").write_text(f"image,id\nart/{long_name}.png,{long_name}\nart/{long_name}.png,\n"
                                       f"art/{long_name}.png,\n", encoding="utf-8")
    collection = read_collection(tmp_path / "list.csv")
    [bad] = collection.bad
    assert bad.reason == "unsafe_id" and "240 bytes" in bad.detail and str(MAX_ID_BYTES) in bad.detail
    first, second = [item.id for item in collection.items]
    assert first == "夜" * (MAX_ID_BYTES // 3) and len(first.encode()) == MAX_ID_BYTES  # whole characters only
    assert second.endswith("-2") and len(second.encode()) <= MAX_ID_BYTES and is_safe_id(second)
    assert [item.id for item in read_collection(tmp_path / "art").items] == [first]


def test_windows_device_names_and_trailing_dots_are_refused_as_ids_and_avoided_when_derived(tmp_path):
    for name in ("CON", "con", "nul.txt", "Com1", "LPT9.x", "COM¹", "name."):
        assert not is_safe_id(name), name
    assert is_safe_id("CON_") and is_safe_id("console") and is_safe_id("COM10")
    assert safe_id_from_stem("CON") == "CON_" and safe_id_from_stem("aux.backup") == "aux_.backup"
    assert safe_id_from_stem("name.") == "name"
    (tmp_path / "w.csv").write_text("image,id\na.png,CON\nb.png,x.\nc.png,\ncon.png,\n", encoding="utf-8")
    collection = read_collection(tmp_path / "w.csv")
    assert {bad.source: bad.reason for bad in collection.bad} == {"w.csv:2": "unsafe_id", "w.csv:3": "unsafe_id"}
    assert "reserved device name" in collection.bad[0].detail and "dot" in collection.bad[1].detail
    assert [item.id for item in collection.items] == ["c", "con_"]


def test_a_megabyte_comment_is_read_and_cut_for_the_encoder(tmp_path):
    comment = "lovely " * 150_000  # ~1 MB, far above the csv module's default 131072-character field limit
    (tmp_path / "c.csv").write_text(f'image,comment\na.png,"{comment}"\nb.png,short\n', encoding="utf-8")
    collection = read_collection(tmp_path / "c.csv")
    assert [len(item.comment) for item in collection.items] == [MAX_COMMENT_CHARS, 5]
    assert collection.items[0].comment == comment.strip()[:MAX_COMMENT_CHARS]
    [warning] = collection.warnings
    assert "c.csv:2" in warning and str(MAX_COMMENT_CHARS) in warning
    assert csv.field_size_limit() == 131072  # the module-wide limit is restored


def test_a_csv_that_is_a_special_file_or_too_large_is_a_usage_error(tmp_path, monkeypatch):
    os.mkfifo(tmp_path / "fifo.csv")
    (tmp_path / "zero.csv").symlink_to("/dev/zero")
    for name, kind in (("fifo.csv", "FIFO"), ("zero.csv", "character device")):
        error = _read_within(tmp_path / name)
        assert isinstance(error, CollectionError) and kind in str(error), error
    (tmp_path / "big.csv").write_text("image\n" + "a.png\n" * 100, encoding="utf-8")
    monkeypatch.setattr(inputs, "MAX_CSV_BYTES", 100)
    with pytest.raises(CollectionError, match="too large.*606 bytes.*split it"):
        read_collection(tmp_path / "big.csv")


def test_a_fifo_named_like_an_image_in_a_folder_is_listed_without_being_opened(tmp_path):
    _touch(tmp_path, "a.png")
    os.mkfifo(tmp_path / "x.png")
    collection = _read_within(tmp_path)
    assert [item.id for item in collection.items] == ["a", "x"]  # planning reports x as not_a_file
