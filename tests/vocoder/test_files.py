"""Atomic writes: all or nothing, ordinary permissions, stale temporaries recognised exactly."""

from __future__ import annotations

import os

import pytest

from vocoder.files import (atomic_open, atomic_write, atomic_write_bytes, atomic_write_text, is_temporary_name,
                           remove_stale_temporaries)


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "out.txt"
    atomic_write_text(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_open(target) as handle:
            handle.write("half")
            raise RuntimeError("crash mid-write")
    with pytest.raises(RuntimeError):
        atomic_write(target, lambda tmp: (tmp.write_text("half"), (_ for _ in ()).throw(RuntimeError("crash"))))
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_callback_writer_gets_a_temporary_with_the_targets_suffix(tmp_path):
    seen = []

    def write(tmp):
        seen.append(tmp)
        tmp.write_bytes(b"payload")

    atomic_write(tmp_path / "sub" / "w.npz", write)
    assert (tmp_path / "sub" / "w.npz").read_bytes() == b"payload"
    assert seen[0].suffix == ".npz" and seen[0].parent == tmp_path / "sub" and is_temporary_name(seen[0].name)
    atomic_write_bytes(tmp_path / "b.bin", b"\x00\x01")
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    with pytest.raises(ValueError, match="whole files"):
        with atomic_open(tmp_path / "b.bin", "a"):
            pass


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_written_files_get_umask_permissions(tmp_path, umask):
    old = os.umask(umask)
    try:
        atomic_write_text(tmp_path / "a.txt", "x")
        atomic_write(tmp_path / "b.wav", lambda tmp: tmp.write_bytes(b"RIFF"))
    finally:
        os.umask(old)
    for name in ("a.txt", "b.wav"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~umask


def test_stale_temporaries_are_exactly_the_names_the_writer_makes(tmp_path):
    def made_name(target):
        names = []
        atomic_write(tmp_path / target, lambda tmp: names.append(tmp.name))
        return names[0]

    real = [made_name("x.wav"), made_name("noext"), made_name("archive.tar.gz")]
    kept = ["y.wav", ".hidden", ".x.wav.tmp", ".x.wav.abc123de.tmp.png", "x.wav.abc123de.tmp.wav",
            ".x.wav.ABC123DE.tmp.wav", ".x.wav.abc.tmp.wav", "notes.tmp.txt"]
    for name in real + kept:
        (tmp_path / name).write_text("junk")
    (tmp_path / ".dir.abc123de.tmp").mkdir()
    assert all(is_temporary_name(name) for name in real)
    removed = remove_stale_temporaries(tmp_path)
    assert sorted(p.name for p in removed) == sorted(real)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept + [".dir.abc123de.tmp", "x.wav", "noext",
                                                                  "archive.tar.gz"])
    assert remove_stale_temporaries(tmp_path / "absent") == []


def test_unusable_file_errors_share_one_shape_and_check_their_reasons(tmp_path):
    from art2music.io.images import ImageLoadError
    from vocoder.audio import AudioError

    error = ImageLoadError(tmp_path / "a.png", "not_an_image", "Pillow cannot identify it")
    assert (error.path, error.reason, str(error)) == (tmp_path / "a.png", "not_an_image",
                                                     f"{tmp_path / 'a.png'}: not an image: Pillow cannot identify it")
    with pytest.raises(ValueError, match="unknown AudioError reason 'not_an_image'"):
        AudioError(tmp_path / "a.wav", "not_an_image", "images only")
