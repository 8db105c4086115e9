from __future__ import annotations

from pathlib import Path

import pytest

from art2music.symbolic.corpus import (Painting, Piece, assign_splits, compose_pieces, emotion_va, pair_by_va,
                                       pair_same_emotion)
from art2music.symbolic.emopia import QUADRANT_VA, quadrant_of, read_emopia

from .conftest import compose_piece


def _demo_items(root: Path) -> tuple[list[Painting], list[Piece]]:
    """Ten paintings and ten pieces per emotion, each group split by its own seeded permutation."""
    paintings, pieces = [], []
    for emotion in ("amusement", "sadness"):
        for kind, items, name in ((Painting, paintings, "painting"), (Piece, pieces, "piece")):
            splits = assign_splits(10, seed=len(items) + len(name))
            items += [kind(root / f"{emotion}-{name}-{k}", emotion, *emotion_va(emotion), split)
                      for k, split in enumerate(splits)]
    return paintings, pieces


def test_splits_are_seeded_and_cover_every_split():
    names = assign_splits(20, seed=3)
    assert names == assign_splits(20, seed=3) and names != assign_splits(20, seed=4)
    assert names.count("train") == 14 and names.count("val") == 3 and names.count("test") == 3
    with pytest.raises(ValueError, match="sum"):
        assign_splits(5, 0, (0.5, 0.5, 0.5))


def test_demo_pairs_keep_splits_and_emotions_apart(tmp_path):
    paintings, pieces = _demo_items(tmp_path)
    assert len(paintings) == 20 and len(pieces) == 20
    assert {p.valence > 0 for p in paintings if p.emotion == "amusement"} == {True}
    for split in ("train", "val", "test"):
        pairs = pair_same_emotion(paintings, pieces, split, per_painting=2, seed=1)
        assert pairs, split
        for painting, piece in pairs:
            assert painting.split == piece.split == split and painting.emotion == piece.emotion
    train_pieces = {piece.path for _, piece in pair_same_emotion(paintings, pieces, "train", 3)}
    test_pieces = {piece.path for _, piece in pair_same_emotion(paintings, pieces, "test", 3)}
    assert not train_pieces & test_pieces


def test_composed_pieces_are_deterministic_and_reused(tmp_path):
    first = compose_pieces(tmp_path, ["fear", "excitement"], per_emotion=4, seconds=5.0, seed=2)
    stamps = {piece.path: piece.path.stat().st_mtime_ns for piece in first}
    again = compose_pieces(tmp_path, ["fear", "excitement"], per_emotion=4, seconds=5.0, seed=2)
    assert again == first and all(piece.path.stat().st_mtime_ns == stamps[piece.path] for piece in again)
    other = compose_pieces(tmp_path / "other", ["fear"], per_emotion=1, seconds=5.0, seed=3)
    assert other[0].path.read_bytes() != first[0].path.read_bytes()


def test_emopia_reader_and_va_pairing(tmp_path):
    midis = tmp_path / "midis"
    midis.mkdir()
    for quadrant in (1, 2, 3, 4):
        for song in range(3):
            for clip in range(2):
                compose_piece(midis / f"Q{quadrant}_song{quadrant}{song}_{clip}.mid", "amusement", quadrant * 10 + song,
                              seconds=2.0)
    (midis / "readme.mid").write_bytes(b"x")
    pieces, ignored = read_emopia(tmp_path, seed=0)
    assert ignored == ["readme.mid"] and len(pieces) == 24
    assert quadrant_of("Q3_abc_1.mid") == 3 and quadrant_of("X_abc.mid") is None
    for piece in pieces:
        assert (piece.valence, piece.arousal) == QUADRANT_VA[int(piece.path.name[1])]
    song_split = {}
    for piece in pieces:  # clips of one song share a split
        assert song_split.setdefault(piece.path.name.rsplit("_", 1)[0], piece.split) == piece.split
    sad = Painting(tmp_path / "sad.jpg", "sadness", -0.8, -0.6, "train")
    happy = Painting(tmp_path / "happy.jpg", "excitement", 0.7, 0.9, "train")
    pairs = pair_by_va([sad, happy], pieces, "train", per_painting=4, nearest=2)
    for painting, piece in pairs:
        assert piece.split == "train"
        assert (piece.valence > 0) == (painting.valence > 0) and (piece.arousal > 0) == (painting.arousal > 0)
    with pytest.raises(FileNotFoundError, match="EMOPIA"):
        read_emopia(tmp_path / "nothing-here")
    assert pair_by_va([sad], [Piece(tmp_path / "a.mid", "", 0.5, 0.5, "val")], "train", 2) == []


def test_other_emotion_pairs_never_match_and_keep_splits(tmp_path):
    from art2music.symbolic.corpus import pair_other_emotion

    paintings, pieces = _demo_items(tmp_path)
    for split in ("train", "val", "test"):
        pairs = pair_other_emotion(paintings, pieces, split, per_painting=3, seed=1)
        assert len(pairs) == 3 * sum(p.split == split for p in paintings)
        assert all(painting.split == piece.split == split and painting.emotion != piece.emotion
                   for painting, piece in pairs)
    only_sad = pair_other_emotion(paintings, [p for p in pieces if p.emotion == "sadness"], "train", 2)
    assert only_sad and {painting.emotion for painting, _ in only_sad} == {"amusement"}  # sad paintings: no other
