"""build-articaps end to end on a tiny corpus in the real formats: outputs, report, resume, shards, errors."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

import art2music.articaps.features as features
from art2music.io.audio import clip_num_samples, load_clip, waveform_to_mel
from art2music.articaps.build_report import read_report
from art2music.articaps.builder import main
from art2music.articaps.feature_cache import FeatureCache
from art2music.articaps.manifest import read_manifest
from art2music.encoders.clip import ClipEncoder
from art2music.io.images import load_image
from vocoder.mel import num_frames

from tests.art2music.articaps.conftest import make_raw_corpus

# Everything in train and every comment paired with every clip, so every broken file gets looked at.
ALL_PAIRS = ("--splits", "1,0,0", "--top-k", "20", "--candidates", "20", "--max-clip-uses", "0")


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_build_writes_manifest_cache_and_report(raw_corpus, tmp_path):
    out = tmp_path / "out"
    assert main(raw_corpus.builder_args(out, *ALL_PAIRS, "--text-template", "{emotion}: {comment}")) == 1
    manifest = read_manifest(out / "manifest.csv")
    assert len(manifest) == 18 * 6  # 6 good paintings x 3 comments, each with the 6 good clips
    assert {row.split for row in manifest} == {"train"}
    used = {row.audio_path.rsplit("/", 1)[-1] for row in manifest} | {row.image_path for row in manifest}
    assert not any(bad in name for name in used for bad in ("corrupt", "silent", "short", "broken", "missing"))
    reasons = {item.reason for item in read_report(out / "report.csv")}
    assert reasons == {"malformed_row", "unknown_emotion", "empty_comment", "missing_image", "corrupt_image",
                       "missing_clip", "corrupt_audio", "silent_audio", "too_short_audio"}

    cache = FeatureCache.open(out / "cache", ids=manifest.ids)
    assert cache.is_complete() and cache.frames == num_frames(clip_num_samples(1.0)) == 87
    assert cache.encoder_spec["text_template"] == "{emotion}: {comment}"
    assert cache.encoder_spec["arch"] == "art2music-tiny"
    row = manifest[5]
    expected_mel = waveform_to_mel(load_clip(manifest.resolve(row.audio_path), clip_num_samples(1.0)))
    assert np.allclose(cache.mel(5), expected_mel[:, :87], atol=0.02)
    torch.manual_seed(0)
    encoder = ClipEncoder("art2music-tiny", None)
    image = load_image(manifest.resolve(row.image_path))
    text_vector, image_vector = encoder.embed([image], [f"{row.emotion}: {row.comment}"])
    assert np.allclose(cache.image_embeddings[5], image_vector[0].numpy(), atol=1e-4)
    assert np.allclose(cache.text_embeddings[5], text_vector[0].numpy(), atol=1e-4)
    summary = json.loads((out / "build.json").read_text())
    assert summary["final_pairs"] == len(manifest)
    assert summary["plan"]["clips"] == 6  # the corrupt, silent and short clips are dropped before matching
    assert not (out / "work" / "shards" / "0-of-1" / "cache").exists()  # shard caches removed after the merge

    mtime = (out / "cache" / "mels.npy").stat().st_mtime_ns
    assert main(raw_corpus.builder_args(out, *ALL_PAIRS, "--text-template", "{emotion}: {comment}")) == 1
    assert (out / "cache" / "mels.npy").stat().st_mtime_ns == mtime  # a rerun does nothing
    assert main(raw_corpus.builder_args(out, *ALL_PAIRS)) == 2  # other options: refuse to mix builds


def test_interrupted_build_resumes_without_redoing_mels(raw_corpus, tmp_path, monkeypatch):
    out = tmp_path / "out"

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(features, "extract_embeddings", interrupted)
    assert main(raw_corpus.builder_args(out, "--seed", "3")) == 130
    assert (out / "work" / "plan" / "pairs.csv").is_file() and not (out / "manifest.csv").exists()
    monkeypatch.undo()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    decoded = []
    real_job = features.clip_mel_job
    monkeypatch.setattr(features, "clip_mel_job", lambda job, config: decoded.append(job.key) or real_job(job, config))
    code = main(raw_corpus.builder_args(out, "--seed", "3"))
    assert code in (0, 1)
    # Every mel was written before the interruption, and bad clips never reached the plan: nothing is decoded.
    assert decoded == []
    manifest = read_manifest(out / "manifest.csv")
    assert FeatureCache.open(out / "cache", ids=manifest.ids).is_complete()


def test_two_shards_give_the_same_result_as_one(raw_corpus, tmp_path, monkeypatch):
    single, sharded = tmp_path / "single", tmp_path / "sharded"
    monkeypatch.setattr(features, "MIN_JOBS_PER_WORKER", 1)  # the single build decodes in 2 worker processes
    options = ("--splits", "0.5,0.25,0.25", "--batch-size", "4")  # several 4-row chunks for each shard
    assert main(raw_corpus.builder_args(single, *options) + ["--workers", "2"]) == 1
    assert main(raw_corpus.builder_args(sharded, *options, "--shard", "1/2", "--keep-work")) in (0, 1)
    assert not (sharded / "manifest.csv").exists()
    assert main(raw_corpus.builder_args(sharded, *options, "--merge", "--shard", "0/2")) == 2
    assert main(raw_corpus.builder_args(sharded, *options, "--shard", "0/2", "--keep-work")) == 1  # merges
    done = [json.loads((sharded / "work" / "shards" / f"{i}-of-2" / "done.json").read_text()) for i in range(2)]
    assert all(stats["complete_rows"] >= 4 for stats in done)  # both shards really computed features
    one, two = read_manifest(single / "manifest.csv"), read_manifest(sharded / "manifest.csv")
    assert one.rows == two.rows
    cache_one, cache_two = FeatureCache.open(single / "cache"), FeatureCache.open(sharded / "cache")
    # Bitwise: each clip's mel is computed alone on one thread in both builds, and a shard owns whole
    # chunks of the plan, so the encoder sees exactly the batches of the single build (same rows, same
    # order, same thread count in this process). A float difference here means the batching changed.
    every_row = list(range(len(one.rows)))
    assert np.array_equal(cache_one.mel_batch(every_row), cache_two.mel_batch(every_row))
    for name in ("image_embeddings", "text_embeddings"):
        assert np.array_equal(np.asarray(getattr(cache_one, name)), np.asarray(getattr(cache_two, name)))
    # A clip used by rows of both shards is reported once.
    assert sorted(read_report(single / "report.csv"), key=str) == sorted(read_report(sharded / "report.csv"), key=str)


def _add_empty_painting_and_silent_clip(corpus, comments: int = 1) -> tuple[Path, Path]:
    """A 0-byte painting with ``comments`` comments and a silent clip whose caption matches them best."""
    painting, clip = corpus.wikiart / "Abstract" / "empty.jpg", corpus.audio / "hushClip.wav"
    painting.write_bytes(b"")
    soundfile.write(clip, np.zeros(22050 * 2, dtype=np.float32), 22050)
    with open(corpus.artemis, "a", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["Abstract", "empty", "contentment", f"a quiet hushed empty room {k}", 1]
                                      for k in range(comments)])
    with open(corpus.musiccaps, "a", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerow(["hushClip", 0, 10, "", "[]", "a quiet hushed empty room", 1, "False", "False"])
    return painting, clip


def _report_counts(out) -> Counter:
    return Counter((item.item, item.reason) for item in read_report(out / "report.csv"))


def test_a_bad_painting_paired_with_a_bad_clip_is_reported_too(tmp_path):
    corpus = make_raw_corpus(tmp_path / "raw", paintings_per_emotion=1, clips_per_emotion=1, broken=False)
    painting, clip = _add_empty_painting_and_silent_clip(corpus)
    out = tmp_path / "out"
    assert main(corpus.builder_args(out, "--splits", "1,0,0")) == 1
    assert _report_counts(out) == {(str(painting), "corrupt_image"): 1, (str(clip), "silent_audio"): 1}
    assert "empty" in read_report(out / "report.csv")[0].detail  # the loader's own reason
    assert len(read_manifest(out / "manifest.csv")) == 6  # each good comment kept its good clip


def test_a_bad_file_used_by_many_pairs_and_shards_is_reported_once(tmp_path):
    corpus = make_raw_corpus(tmp_path / "raw", paintings_per_emotion=1, clips_per_emotion=1, broken=False)
    painting, clip = _add_empty_painting_and_silent_clip(corpus, comments=3)
    out, args = tmp_path / "out", corpus.builder_args(tmp_path / "out", *ALL_PAIRS, "--batch-size", "2")
    assert [main(args + ["--shard", f"{i}/2"]) for i in range(2)] == [0, 1]
    assert _report_counts(out) == {(str(painting), "corrupt_image"): 1, (str(clip), "silent_audio"): 1}
    assert "3 comment(s) dropped" in {item.item: item for item in read_report(out / "report.csv")}[str(painting)].detail


@pytest.mark.parametrize("extra, message", [
    (("--text-template", "{caption}"), "text-template"),
    (("--shard", "2/2"), "shard"),
    (("--splits", "0.5,0.6,0.1"), "fractions"),
    (("--audio-pattern", "{name}.wav"), "placeholder"),
    (("--encoder-arch", "ViT-B-32", "--encoder-pretrained", "laion2b_s34b_b79k"), "huggingface"),
    (("--encoder-arch", "ViT-B-32", "--encoder-pretrained", "/nowhere/open_clip_model.safetensors"), "does not exist"),
])
def test_usage_errors_exit_2_with_a_reason(raw_corpus, tmp_path, capsys, monkeypatch, extra, message):
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda *a, **k: None)  # as on a fresh machine
    args = raw_corpus.builder_args(tmp_path / "out")
    args = [a for a in args if a not in ("--encoder-arch", "art2music-tiny", "--encoder-pretrained", "none")] \
        if "--encoder-arch" in extra else args
    assert main(args + list(extra)) == 2
    assert message in capsys.readouterr().err.lower()


def test_missing_input_csv_exit_2(raw_corpus, tmp_path, capsys):
    raw_corpus.artemis.unlink()
    assert main(raw_corpus.builder_args(tmp_path / "out")) == 2
    assert "does not exist" in capsys.readouterr().err


def test_more_shards_than_pairs(raw_corpus, tmp_path):
    out = tmp_path / "out"
    args = raw_corpus.builder_args(out, "--splits", "1,0,0", "--max-clip-uses", "1")
    codes = [main(args + ["--shard", f"{i}/12"]) for i in range(12)]  # 9 planned pairs, 12 shards
    assert codes[-1] == 1 and all(code in (0, 1) for code in codes)
    manifest = read_manifest(out / "manifest.csv")
    assert len(manifest) == 6  # one comment per good clip, the reuse cap being 1
    assert FeatureCache.open(out / "cache", ids=manifest.ids).is_complete()
