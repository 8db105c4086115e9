"""demo-corpus end to end on a small corpus: real formats, a real build, determinism, learnable emotion."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from art2music.articaps.artemis import read_artemis
from art2music.demo_corpus import main
from art2music.demo_corpus.generate import emotion_agreement, generate_raw, read_labels
from art2music.io.synthesis import find_soundfont
from art2music.articaps.feature_cache import FeatureCache
from art2music.articaps.manifest import read_manifest
from art2music.articaps.musiccaps import read_musiccaps
from vocoder.mel import num_frames

SMALL = ["--paintings-per-emotion", "4", "--comments-per-painting", "2", "--clips-per-emotion", "4",
         "--seconds", "1.5", "--image-size", "64", "--workers", "2", "--quiet"]


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_small_corpus_builds_and_its_emotions_are_learnable(tmp_path):
    out = tmp_path / "demo"
    assert main(["--out", str(out), *SMALL]) == 0
    raw = out / "raw"
    comments, skipped_art = read_artemis(raw / "artemis_dataset_release_v0.csv", raw / "wikiart")
    clips, skipped_caps = read_musiccaps(raw / "musiccaps-public.csv", raw / "audio")
    assert len(comments) == 8 * 4 * 2 and len(clips) == 8 * 4 and not skipped_art and not skipped_caps
    manifest = read_manifest(out / "articaps" / "manifest.csv")
    cache = FeatureCache.open(out / "articaps" / "cache", ids=manifest.ids)
    assert cache.is_complete() and cache.frames == num_frames(round(1.5 * 22050) + 256)
    assert cache.encoder_spec["arch"] == "art2music-tiny"
    assert len(manifest) >= 0.7 * len(comments)
    for row in manifest:  # every clip's MIDI is named beside its audio, relative to the manifest
        assert Path(row.midi_path).stem == Path(row.audio_path).stem and Path(row.midi_path).suffix == ".mid"
        assert manifest.resolve(row.midi_path).resolve() == (raw / "midi" / Path(row.midi_path).name).resolve()
    summary = json.loads((out / "demo_corpus.json").read_text())
    signal = summary["learnable_signal"]
    # The bar: at least twice chance on held-out items, from mels and from pixels.
    assert signal["chance"] == pytest.approx(1 / 8)
    assert signal["audio_accuracy"] >= 2 * signal["chance"], signal
    assert signal["image_accuracy"] >= 2 * signal["chance"], signal
    # Matching by meaning mostly joins comments and clips of the same emotion (chance: 1/8).
    assert emotion_agreement(out) == summary["pair_emotion_agreement"] >= 0.4
    labels = read_labels(raw)
    assert sum(kind == "clip" for kind, _ in labels) == 32

    assert main(["--out", str(out), *SMALL]) == 0  # a rerun renders nothing again and reuses the build
    assert json.loads((out / "demo_corpus.json").read_text())["clips_rendered_now"] == 0


def test_generation_is_deterministic(tmp_path):
    args = dict(emotions=("fear", "awe"), paintings_per_emotion=2, comments_per_painting=2, clips_per_emotion=1,
                seconds=1.0, seed=11, workers=2, soundfont=find_soundfont(), image_size=48, progress=False)
    generate_raw(tmp_path / "a", **args)
    generate_raw(tmp_path / "b", **args)
    for name in ("artemis_dataset_release_v0.csv", "musiccaps-public.csv", "demo_labels.csv"):
        assert (tmp_path / "a" / "raw" / name).read_bytes() == (tmp_path / "b" / "raw" / name).read_bytes()
    images_a = sorted((tmp_path / "a" / "raw" / "wikiart").rglob("*.jpg"))
    images_b = sorted((tmp_path / "b" / "raw" / "wikiart").rglob("*.jpg"))
    assert [p.read_bytes() for p in images_a] == [p.read_bytes() for p in images_b] and len(images_a) == 4
    other = generate_raw(tmp_path / "c", **{**args, "seed": 12})
    assert other["comments"] == 8
    assert (tmp_path / "c" / "raw" / "musiccaps-public.csv").read_bytes() != \
        (tmp_path / "a" / "raw" / "musiccaps-public.csv").read_bytes()


@pytest.mark.parametrize("args, message", [(["--emotions", "awe"], "two emotions"),
                                           (["--emotions", "awe,joy"], "unknown emotion"),
                                           (["--seconds", "0.1"], "seconds"),
                                           (["--soundfont", "/nope.sf2"], "does not exist")])
def test_bad_options_exit_2(tmp_path, capsys, args, message):
    assert main(["--out", str(tmp_path / "d"), *args]) == 2
    assert message in capsys.readouterr().err
