"""ArtEmis reader: the released CSV format, malformed rows reported with their line, images located."""

from __future__ import annotations

import pytest

from art2music.articaps.artemis import read_artemis
from art2music.articaps.csv_records import CsvFormatError

HEADER = "art_style,painting,emotion,utterance,repetition\n"


def _corpus(tmp_path, body: bytes):
    wikiart = tmp_path / "wikiart"
    (wikiart / "Impressionism").mkdir(parents=True)
    (wikiart / "Impressionism" / "claude-monet_water-lilies.jpg").write_bytes(b"jpeg bytes are not checked here")
    csv_path = tmp_path / "artemis_dataset_release_v0.csv"
    csv_path.write_bytes(HEADER.encode() + body)
    return csv_path, wikiart


def test_reads_rows_and_reports_every_malformed_one(tmp_path):
    body = (b"Impressionism,claude-monet_water-lilies,contentment,\"Calm water, soft colours\",1\n"     # line 2 ok
            b"Impressionism,claude-monet_water-lilies,Something Else,It is a pond,2\n"               # 3 ok (alias)
            b"Impressionism,claude-monet_water-lilies,awe\n"                                          # 4 columns
            b"Impressionism,claude-monet_water-lilies,happiness,not an ArtEmis emotion,1\n"          # 5 emotion
            b"Impressionism,claude-monet_water-lilies,awe,   ,1\n"                                    # 6 empty
            b"Impressionism,claude-monet_water-lilies,awe,tr\xe8s beau,1\n"                           # 7 latin-1
            b"Impressionism,../../etc,awe,path trick,1\n"                                             # 8 bad name
            b"Impressionism,missing-painting,fear,dark and scary,1\n"                                 # 9 no image
            b"Impressionism,missing-painting,sadness,so sad,1\n")                                     # 10 no image
    csv_path, wikiart = _corpus(tmp_path, body)
    comments, skipped = read_artemis(csv_path, wikiart)
    assert [(c.line, c.emotion) for c in comments] == [(2, "contentment"), (3, "something else")]
    assert comments[0].comment == "Calm water, soft colours"
    assert comments[0].image_path == wikiart / "Impressionism" / "claude-monet_water-lilies.jpg"
    assert comments[0].painting == "Impressionism/claude-monet_water-lilies"
    found = {(item.item, item.reason) for item in skipped}
    name = csv_path.name
    assert found == {(f"{name}:4", "malformed_row"), (f"{name}:5", "unknown_emotion"), (f"{name}:6", "empty_comment"),
                     (f"{name}:7", "malformed_row"), (f"{name}:8", "malformed_row"),
                     (str(wikiart / "Impressionism" / "missing-painting.jpg"), "missing_image")}
    missing = next(item for item in skipped if item.reason == "missing_image")
    assert "2 comment(s)" in missing.detail  # reported once per painting


def test_header_without_required_column_is_a_usage_error(tmp_path):
    csv_path = tmp_path / "artemis.csv"
    csv_path.write_text("art_style,painting,feeling,utterance\nA,b,awe,x\n")
    (tmp_path / "wikiart").mkdir()
    with pytest.raises(CsvFormatError, match="emotion"):
        read_artemis(csv_path, tmp_path / "wikiart")


def test_missing_inputs_are_named(tmp_path):
    (tmp_path / "wikiart").mkdir()
    with pytest.raises(CsvFormatError, match="does not exist"):
        read_artemis(tmp_path / "nope.csv", tmp_path / "wikiart")
    csv_path, _ = _corpus(tmp_path, b"")
    with pytest.raises(FileNotFoundError, match="WikiArt folder"):
        read_artemis(csv_path, tmp_path / "no-wikiart")
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(CsvFormatError, match="empty"):
        read_artemis(tmp_path / "empty.csv", tmp_path / "wikiart")
