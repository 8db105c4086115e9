"""Reading collections: folders, CSVs (comments, ids, encodings, broken rows) and the id rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from art2music.render.inputs import (MAX_COMMENT_CHARS, MAX_ID_BYTES, CollectionError, is_safe_id, read_collection,
                                     safe_id_from_stem)


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
