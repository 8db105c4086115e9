"""The one file hash."""

from __future__ import annotations

import hashlib

from art2music.io import hashing


def test_file_sha256_reads_in_chunks_and_matches_hashlib(tmp_path, monkeypatch):
    data = bytes(range(256)) * 41  # not a multiple of the chunk size
    (tmp_path / "f.bin").write_bytes(data)
    monkeypatch.setattr(hashing, "CHUNK_BYTES", 1000)
    assert hashing.file_sha256(tmp_path / "f.bin") == hashlib.sha256(data).hexdigest()
