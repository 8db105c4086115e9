"""The manifest's ``midi_path`` column: read from a MIDI folder by the builder, written relative, old files still read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from art2music.articaps.artemis import ArtemisComment
from art2music.articaps.manifest import COLUMNS, COLUMNS_WITHOUT_MIDI, ManifestError, read_manifest
from art2music.articaps.matching import MatchConfig
from art2music.articaps.musiccaps import read_musiccaps
from art2music.articaps.planning import plan_pairs
from art2music.articaps.splits import SplitFractions

HEADER = ("ytid,start_s,end_s,audioset_positive_labels,aspect_list,caption,author_id,is_balanced_subset,"
          "is_audioset_eval\n")


def _musiccaps(tmp_path: Path, ytids: list[str]) -> Path:
    rows = "".join(f'{ytid},0,10,"/m/04rlf","[]","song {k}",1,False,False\n' for k, ytid in enumerate(ytids))
    path = tmp_path / "musiccaps-public.csv"
    path.write_text(HEADER + rows, encoding="utf-8")
    return path


def test_the_reader_takes_each_clips_midi_from_the_folder_and_reports_a_missing_one(tmp_path):
    audio, midi = tmp_path / "audio", tmp_path / "midi"
    audio.mkdir()
    midi.mkdir()
    for ytid in ("withMidi000", "noMidi00000"):
        (audio / f"{ytid}.wav").write_bytes(b"x")
    (midi / "withMidi000.mid").write_bytes(b"MThd")
    csv_path = _musiccaps(tmp_path, ["withMidi000", "noMidi00000"])
    clips, skipped = read_musiccaps(csv_path, audio, midi_dir=midi)
    assert [(clip.ytid, clip.midi_path) for clip in clips] == [("withMidi000", midi / "withMidi000.mid"),
                                                                ("noMidi00000", None)]
    assert [(item.reason, Path(item.item).name) for item in skipped] == [("missing_midi", "noMidi00000.mid")]
    without, skipped = read_musiccaps(csv_path, audio)  # no MIDI folder: no paths, nothing reported
    assert [clip.midi_path for clip in without] == [None, None] and skipped == []
    with pytest.raises(FileNotFoundError, match="MIDI folder"):
        read_musiccaps(csv_path, audio, midi_dir=tmp_path / "nowhere")


def test_the_plan_writes_midi_paths_relative_to_the_manifest_and_empty_without_one(tmp_path):
    audio, midi = tmp_path / "raw" / "audio", tmp_path / "raw" / "midi"
    audio.mkdir(parents=True)
    midi.mkdir()
    ytids = [f"clip{k:07d}" for k in range(4)]
    for ytid in ytids:
        (audio / f"{ytid}.wav").write_bytes(b"x")
    for ytid in ytids[:2]:
        (midi / f"{ytid}.mid").write_bytes(b"MThd")
    clips, _ = read_musiccaps(_musiccaps(tmp_path, ytids), audio, midi_dir=midi)
    comments = [ArtemisComment(line=i + 2, painting=f"Style/p{i}", image_path=tmp_path / f"p{i}.jpg", emotion="awe",
                               comment=f"comment {i}") for i in range(4)]
    rng = np.random.default_rng(0)
    vectors = {}

    def embed(texts):
        for text in texts:
            vectors.setdefault(text, rng.normal(size=8))
        out = np.stack([vectors[t] for t in texts])
        return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)

    out = tmp_path / "articaps"
    rows = plan_pairs(comments, clips, embed, MatchConfig(top_k=4, threshold=-1.0, max_clip_uses=0, candidates=4),
                      SplitFractions(1.0, 0.0, 0.0), 0, out).rows
    assert len(rows) == 16
    for row in rows:
        ytid = Path(row.audio_path).stem
        if ytid in ytids[:2]:
            assert row.midi_path == f"../raw/midi/{ytid}.mid"
            assert (out / row.midi_path).resolve() == (midi / f"{ytid}.mid").resolve()
        else:
            assert row.midi_path == ""


def test_a_manifest_round_trips_midi_paths_and_an_old_one_reads_with_none(tmp_path):
    old = tmp_path / "old.csv"
    old.write_text(",".join(COLUMNS_WITHOUT_MIDI) + "\npair1,img.jpg,nice,awe,clip.wav,a song,0.5,train\n",
                   encoding="utf-8")
    manifest = read_manifest(old)
    assert manifest[0].midi_path == "" and manifest[0].audio_path == "clip.wav"
    rewritten = tmp_path / "new.csv"
    manifest.write(rewritten)
    assert rewritten.read_text(encoding="utf-8").splitlines()[0] == ",".join(COLUMNS)
    new = tmp_path / "midi.csv"
    new.write_text(",".join(COLUMNS) + "\npair1,img.jpg,nice,awe,clip.wav,scores/clip.mid,a song,0.5,train\n",
                   encoding="utf-8")
    again = read_manifest(new)
    assert again[0].midi_path == "scores/clip.mid" and again.resolve(again[0].midi_path) == tmp_path / "scores/clip.mid"
    again.write(rewritten)
    assert read_manifest(rewritten)[0] == again[0]
    short = tmp_path / "short.csv"
    short.write_text(",".join(COLUMNS) + "\npair1,img.jpg,nice,awe,clip.wav,a song,0.5,train\n", encoding="utf-8")
    with pytest.raises(ManifestError, match="expected 9 fields"):
        read_manifest(short)


def test_build_articaps_with_midi_names_each_clips_score_and_keeps_builds_without_it(tmp_path, capsys, monkeypatch):
    from art2music.articaps.build_report import read_report
    from art2music.articaps.builder import main
    from tests.art2music.articaps.conftest import make_raw_corpus

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    corpus = make_raw_corpus(tmp_path / "raw", broken=False)
    midi = tmp_path / "raw" / "midi"
    midi.mkdir()
    for k in range(3):  # amusement clips have a score, sadness clips do not
        (midi / f"amuClip{k}.mid").write_bytes(b"MThd")
    out = tmp_path / "out"
    options = ("--splits", "1,0,0", "--top-k", "6", "--candidates", "6", "--max-clip-uses", "0")
    assert main(corpus.builder_args(out, *options)) == 0
    assert {row.midi_path for row in read_manifest(out / "manifest.csv")} == {""}
    assert main(corpus.builder_args(out, *options)) == 0  # the same inputs: the build is reused
    assert "already complete" in capsys.readouterr().err
    assert main(corpus.builder_args(out, *options, "--midi", str(midi))) == 2  # scores are a different input
    assert "different inputs" in capsys.readouterr().err
    assert main(corpus.builder_args(out, *options, "--midi", str(midi), "--restart")) == 1  # sadness: missing_midi
    manifest = read_manifest(out / "manifest.csv")
    for row in manifest:
        ytid = Path(row.audio_path).stem
        assert row.midi_path == (f"../raw/midi/{ytid}.mid" if ytid.startswith("amu") else "")
    assert {row.midi_path for row in manifest} > {""}
    missing = [item for item in read_report(out / "report.csv") if item.reason == "missing_midi"]
    assert sorted(Path(item.item).name for item in missing) == ["sadClip0.mid", "sadClip1.mid", "sadClip2.mid"]
