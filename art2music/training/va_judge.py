"""``art2music train-va-judge``: train the music valence-arousal judge on clips whose feeling is known.

Data: the demo corpus's clips (``raw/audio/<ytid>.wav``) with their true emotions (``raw/demo_labels.csv``, rows
``clip,<ytid>,<emotion>``), placed in the VA plane through :data:`art2music.emotions.VALENCE_AROUSAL`. The split
is by clip: a clip the ArtiCaps manifest puts in its ``val`` or ``test`` split is held out (so a stage 1
evaluated on the test split is judged by a judge that never heard those clips); clips the manifest does not use
train. Without a manifest, clips are split by a hash of their name (80/10/10). Optionally (``--musiccaps``), clips
of a MusicCaps-style CSV that the labels do not cover join at the mean VA of their caption's mood words
(:func:`art2music.emotions.caption_valence_arousal`); on the demo corpus every caption's clip is labelled, so this
adds nothing there (on its captions the mood words give the labelled emotion for 185 of 192 clips).

Training: random 2-s crops (the judge reads any length), a random loudness shift (a constant added to the
log-mel), squared VA error, AdamW with a cosine schedule, a fixed number of epochs (no selection on held-out
clips). It writes ``OUT/config.json`` + ``OUT/model.safetensors`` (:mod:`art2music.emotion_judge.folder`) and
``OUT/metrics.json``: agreement (:func:`art2music.emotion_judge.va_agreement`) on the full train, val and test
clips, and the run's facts.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

SPLITS = ("train", "val", "test")


def read_clip_labels(labels_csv: Path) -> dict[str, str]:
    """``demo_labels.csv`` → ``{ytid: emotion}`` for its ``clip`` rows (emotions normalised)."""
    from art2music.emotions import normalize_emotion
    from art2music.io.csv_table import read_table

    header, lines = read_table(labels_csv.read_text(encoding="utf-8-sig"), lowercase_header=True)
    missing = {"kind", "key", "emotion"} - set(header)
    if missing:
        raise ValueError(f"{labels_csv} lacks the column(s) {', '.join(sorted(missing))} (expected kind,key,emotion)")
    return {line.values["key"]: normalize_emotion(line.values["emotion"]) for line in lines
            if line.values is not None and line.values["kind"] == "clip"}


def read_caption_targets(musiccaps_csv: Path, audio_dir: Path, skip: set[str]) -> dict[str, tuple[float, float]]:
    """MusicCaps-style clips whose caption names a mood → ``{ytid: (valence, arousal)}`` through
    :func:`art2music.emotions.caption_valence_arousal`; clips in ``skip`` (known emotions), without a mood word or
    without ``audio_dir/<ytid>.wav`` are left out."""
    from art2music.emotions import caption_valence_arousal
    from art2music.io.csv_table import read_table

    header, lines = read_table(musiccaps_csv.read_text(encoding="utf-8-sig"), lowercase_header=True)
    if not {"ytid", "caption"} <= set(header):
        raise ValueError(f"{musiccaps_csv} lacks the column(s) ytid and/or caption (MusicCaps' columns)")
    targets = {}
    for line in lines:
        if line.values is None or line.values["ytid"] in skip:
            continue
        va = caption_valence_arousal(line.values["caption"])
        if va is not None and (audio_dir / f"{line.values['ytid']}.wav").is_file():
            targets[line.values["ytid"]] = va
    return targets


def clip_splits(clips: list[str], manifest_csv: Path | None) -> dict[str, str]:
    """Each clip's split: from the manifest's rows that use it (``val``/``test`` hold it out), else ``train``;
    without a manifest, by a hash of the clip's name (80/10/10)."""
    if manifest_csv is None:
        def by_hash(name: str) -> str:
            bucket = int(hashlib.sha256(name.encode()).hexdigest()[:8], 16) % 10
            return "test" if bucket == 0 else "val" if bucket == 1 else "train"
        return {clip: by_hash(clip) for clip in clips}
    from art2music.articaps.manifest import read_manifest

    manifest = read_manifest(manifest_csv)
    used: dict[str, set[str]] = {}
    for row in manifest:
        used.setdefault(Path(row.audio_path).stem, set()).add(row.split)

    def held_out(splits: set[str]) -> str:  # a clip any test row uses is a test clip, then val
        return "test" if "test" in splits else "val" if "val" in splits else "train"
    return {clip: held_out(used.get(clip, set())) for clip in clips}


def load_mels(audio_dir: Path, clips: list[str]) -> list[np.ndarray]:
    """Each clip's ``(n_mels, frames)`` log-mel (HiFi-GAN's definition), from ``audio_dir/<clip>.wav``."""
    from art2music.io.audio import waveform_to_mel
    from vocoder.audio import read_audio
    from vocoder.mel import MelConfig

    config = MelConfig()
    return [waveform_to_mel(np.clip(read_audio(audio_dir / f"{clip}.wav", config.sample_rate), -1, 1), config)
            for clip in clips]


def _crops(mels: list[np.ndarray], indices: np.ndarray, frames: int, silence: float,
           generator: np.random.Generator) -> torch.Tensor:
    """Random ``frames``-long crops (padded with silence) with a random loudness shift: ``(B, n_mels, frames)``."""
    batch = []
    for index in indices:
        mel = mels[index]
        if mel.shape[1] < frames:
            mel = np.pad(mel, ((0, 0), (0, frames - mel.shape[1])), constant_values=silence)
        start = generator.integers(0, mel.shape[1] - frames + 1)
        shift = generator.uniform(-1.5, 1.5)
        batch.append(np.maximum(mel[:, start:start + frames] + shift, silence))
    return torch.from_numpy(np.stack(batch).astype(np.float32))


def judge_mels(judge, mels: list[np.ndarray]) -> np.ndarray:
    """The judged (valence, arousal) of each full mel: ``(N, 2)``."""
    return np.concatenate([judge.judge(torch.from_numpy(mel)[None]).numpy() for mel in mels])


def train_va_judge(labels_csv: Path, audio_dir: Path, out_dir: Path, manifest_csv: Path | None = None,
                   epochs: int = 60, batch_size: int = 16, lr: float = 3e-3, crop_frames: int = 172,
                   seed: int = 0, progress: bool = True, musiccaps_csv: Path | None = None) -> dict:
    """Train a judge and write its folder; returns the metrics document (also ``OUT/metrics.json``).

    Args:
        musiccaps_csv: also train on the clips of this MusicCaps-style CSV (``ytid``, ``caption``) that the labels
            do not cover and whose caption names a mood (:data:`art2music.emotions.MOOD_WORDS`), at the mean VA of
            its mood words; they are split like the others.
    """
    from art2music.emotion_judge import VAJudge, save_va_judge, va_agreement
    from art2music.emotions import VALENCE_AROUSAL
    from vocoder.files import atomic_write_text
    from vocoder.mel import MelConfig

    started = time.time()
    torch.manual_seed(seed)
    generator = np.random.default_rng(seed)
    labels = read_clip_labels(labels_csv)
    known = {clip: VALENCE_AROUSAL[emotion] for clip, emotion in labels.items()}
    from_captions = read_caption_targets(musiccaps_csv, audio_dir, set(known)) if musiccaps_csv else {}
    clips = sorted(known) + sorted(from_captions)
    if len(clips) < 4:
        raise ValueError(f"{labels_csv} lists {len(clips)} clips; the judge needs at least 4")
    splits = clip_splits(clips, manifest_csv)
    mels = load_mels(audio_dir, clips)
    targets = np.asarray([known.get(clip) or from_captions[clip] for clip in clips], dtype=np.float32)
    by_split = {name: np.asarray([i for i, clip in enumerate(clips) if splits[clip] == name]) for name in SPLITS}
    train = by_split["train"]
    if len(train) < 2:
        raise ValueError("fewer than 2 training clips after holding out the val/test clips")
    mel_config = MelConfig()
    judge = VAJudge(mel_config=mel_config)
    stacked = np.concatenate([mels[i] for i in train], axis=1)
    judge.set_normalization(torch.from_numpy(stacked.mean(axis=1)), torch.from_numpy(stacked.std(axis=1)))
    optimizer = torch.optim.AdamW(judge.parameters(), lr=lr, weight_decay=1e-2)
    steps_per_epoch = math.ceil(len(train) / batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs * steps_per_epoch)
    history = []
    for epoch in range(epochs):
        judge.train()
        order = generator.permutation(train)
        losses = []
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            mel = _crops(mels, batch, crop_frames, mel_config.silence_value, generator)
            loss = judge.loss(mel, torch.from_numpy(targets[batch]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
        history.append(float(np.mean(losses)))
        if progress and (epoch + 1) % 10 == 0:
            print(f"epoch {epoch + 1}/{epochs}: train loss {history[-1]:.4f}", file=sys.stderr)
    judge.eval()
    metrics = {name: va_agreement(judge_mels(judge, [mels[i] for i in rows]), targets[rows])
               for name, rows in by_split.items() if len(rows)}
    held_out = np.concatenate([by_split["val"], by_split["test"]]).astype(int)
    if len(held_out):
        metrics["held_out"] = va_agreement(judge_mels(judge, [mels[i] for i in held_out]), targets[held_out])
    document = {"agreement": metrics, "clips": {name: int(len(rows)) for name, rows in by_split.items()},
                "clips_from_caption_mood_words": len(from_captions),
                "split": "by clip: the manifest's val/test clips held out" if manifest_csv else "by clip name hash",
                "epochs": epochs, "batch_size": batch_size, "lr": lr, "crop_frames": crop_frames, "seed": seed,
                "first_loss": history[0], "last_loss": history[-1], "minutes": round((time.time() - started) / 60, 2),
                "labels": str(labels_csv), "table": "art2music.emotions.VALENCE_AROUSAL (NRC VAD v1)"}
    save_va_judge(judge, out_dir)
    atomic_write_text(out_dir / "metrics.json", json.dumps(document, indent=2) + "\n")
    return document


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="art2music train-va-judge",
        description="Train the music valence-arousal judge (a small CNN over the log-mel) on clips with known "
                    "emotions; writes OUT/config.json, OUT/model.safetensors and OUT/metrics.json (held-out "
                    "agreement). Put OUT as va_judge/ inside a pipeline folder for render and evaluate to use it.")
    parser.add_argument("--corpus", default="datasets/demo",
                        help="demo corpus folder: reads raw/demo_labels.csv, raw/audio/ and articaps/manifest.csv "
                             "(default datasets/demo)")
    parser.add_argument("--labels", default=None, help="labels CSV (kind,key,emotion) instead of the corpus's")
    parser.add_argument("--audio", default=None, help="folder of <key>.wav clips instead of the corpus's")
    parser.add_argument("--manifest", default=None,
                        help="ArtiCaps manifest whose val/test clips are held out (default: the corpus's, if any)")
    parser.add_argument("--musiccaps", default=None,
                        help="also train on the clips of this MusicCaps CSV (ytid, caption) that the labels lack and "
                             "whose caption names a mood (art2music.emotions.MOOD_WORDS), from the --audio folder")
    parser.add_argument("--out", required=True, help="output folder, e.g. art2music/assets/demo/va_judge")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--crop-frames", type=int, default=172, help="training crop length in mel frames (172 = 2 s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    return parser


def main(argv: list[str] | None = None) -> int:
    from art2music.cli import parse_arguments, usage_error

    args = parse_arguments(build_parser(), argv)
    if isinstance(args, int):
        return args
    corpus = Path(args.corpus).expanduser()
    labels = Path(args.labels) if args.labels else corpus / "raw" / "demo_labels.csv"
    audio = Path(args.audio) if args.audio else corpus / "raw" / "audio"
    manifest = Path(args.manifest) if args.manifest else corpus / "articaps" / "manifest.csv"
    if args.manifest is None and not manifest.is_file():
        manifest = None
    musiccaps = Path(args.musiccaps) if args.musiccaps else None
    for what, path in (("labels CSV", labels), ("audio folder", audio), ("manifest", manifest),
                       ("MusicCaps CSV", musiccaps)):
        if path is not None and not path.exists():
            return usage_error("train-va-judge", f"the {what} {path} does not exist")
    if args.epochs < 1 or args.batch_size < 1 or args.crop_frames < 16 or not args.lr > 0:
        return usage_error("train-va-judge", "--epochs and --batch-size must be at least 1, --crop-frames at least 16 "
                                             "and --lr positive")
    previous_threads = torch.get_num_threads()
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        document = train_va_judge(labels, audio, Path(args.out), manifest, args.epochs, args.batch_size, args.lr,
                                  args.crop_frames, seed=args.seed, musiccaps_csv=musiccaps)
    except (ValueError, OSError) as error:
        return usage_error("train-va-judge", str(error))
    finally:
        torch.set_num_threads(previous_threads)  # main() may be called in-process (tests, notebooks)
    for name, values in document["agreement"].items():
        print(f"{name}: {json.dumps(values)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
