"""Atomic writes: all or nothing, ordinary permissions."""

from __future__ import annotations

import os

import pytest

from art2music.io.atomic import atomic_open, atomic_write_text, temporary_sibling


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "out.txt"
    atomic_write_text(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_open(target) as handle:
            handle.write("half")
            raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_written_files_get_umask_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "a.txt", "x")
        sibling = temporary_sibling(tmp_path / "b.wav")
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644
    assert sibling.suffix == ".wav" and sibling.stat().st_mode & 0o777 == 0o644
