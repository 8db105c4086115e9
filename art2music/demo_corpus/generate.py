"""``art2music demo-corpus``: generate the embedded demo corpus and build its ArtiCaps cache.

Writes, deterministically from ``--seed``, a raw corpus in the real public formats::

    DIR/raw/artemis_dataset_release_v0.csv      art_style,painting,emotion,utterance,repetition
    DIR/raw/wikiart/<style>/<painting>.jpg      procedural paintings (:mod:`.paintings`)
    DIR/raw/musiccaps-public.csv                ytid,start_s,end_s,...,caption,...
    DIR/raw/midi/<ytid>.mid                     procedural compositions (:mod:`.composition`)
    DIR/raw/audio/<ytid>.wav                    FluidSynth renderings, mono 22050 Hz
    DIR/raw/demo_labels.csv                     kind,key,emotion: the ground truth behind every item

then runs the real ArtiCaps builder on it into ``DIR/articaps/`` (manifest.csv + cache/) with the tiny
encoder, and writes ``DIR/demo_corpus.json`` (sizes, timings, how often matched pairs share an emotion).
Reruns reuse rendered clips and the finished build.

Exit codes: those of ``build-articaps`` (0 ok, 1 some items skipped), 2 for a usage or setup error
(FluidSynth or the soundfont missing).
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import io
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from art2music.cli import parse_arguments
from art2music.articaps.artemis import ARTEMIS_COLUMNS
from art2music.demo_corpus.composition import compose
from art2music.demo_corpus.paintings import paint
from art2music.demo_corpus.profiles import DEFAULT_EMOTIONS, PROFILES
from art2music.io.synthesis import SynthesisUnavailable, find_fluidsynth, find_soundfont, render_midi
from art2music.demo_corpus.texts import write_caption, write_comment
from art2music.articaps.musiccaps import MUSICCAPS_COLUMNS
from art2music.emotions import EMOTIONS, normalize_emotion
from vocoder.files import atomic_write, atomic_write_text
from vocoder.mel import MelConfig

STYLES = ("Abstract_Expressionism", "Color_Field_Painting", "Lyrical_Abstraction", "Action_painting")
DEMO_ENCODER_WEIGHTS = Path(__file__).resolve().parents[1] / "assets" / "demo" / "encoder" / "open_clip_model.safetensors"
SAMPLE_RATE = MelConfig().sample_rate
_KIND = {"painting": 1, "comment": 2, "clip": 3}


def item_rng(seed: int, kind: str, emotion: str, index: int) -> np.random.Generator:
    """The random source of one item: independent of every other item, so items never shift each other."""
    return np.random.default_rng([seed, _KIND[kind], EMOTIONS.index(emotion), index])


def youtube_like_id(seed: int, emotion: str, index: int) -> str:
    """An 11-character id in YouTube's alphabet (``A-Za-z0-9_-``), stable for (seed, emotion, index)."""
    digest = hashlib.sha1(f"{seed}:{emotion}:{index}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()[:11]


def _csv_text(header, rows) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def generate_raw(out: Path, emotions: tuple[str, ...], paintings_per_emotion: int, comments_per_painting: int,
                 clips_per_emotion: int, seconds: float, seed: int, workers: int, soundfont: Path,
                 image_size: int = 256, progress: bool = True) -> dict:
    """Write the raw corpus (see the module docstring); returns counts. Existing clips are kept."""
    from tqdm import tqdm

    raw = out / "raw"
    artemis_rows, musiccaps_rows, labels = [], [], []
    for emotion in emotions:
        profile = PROFILES[emotion]
        for index in range(paintings_per_emotion):
            rng = item_rng(seed, "painting", emotion, index)
            style = STYLES[int(rng.integers(len(STYLES)))]
            name = f"demo-painter_composition-{EMOTIONS.index(emotion)}{index:03d}"
            shape_style = profile.shapes[int(rng.integers(len(profile.shapes)))]
            image = paint(profile, rng, image_size, shape_style)
            target = raw / "wikiart" / style / f"{name}.jpg"
            atomic_write(target, lambda tmp, image=image: image.save(tmp, format="JPEG", quality=90))
            labels.append(("painting", f"{style}/{name}", emotion))
            text_rng = item_rng(seed, "comment", emotion, index)  # comments name the shapes actually painted
            for _ in range(comments_per_painting):
                artemis_rows.append((style, name, emotion, write_comment(profile, text_rng, shape_style), 1))
    jobs = []
    for emotion in emotions:
        profile = PROFILES[emotion]
        for index in range(clips_per_emotion):
            rng = item_rng(seed, "clip", emotion, index)
            piece = compose(profile, rng, seconds)
            ytid = youtube_like_id(seed, emotion, index)
            midi_path = raw / "midi" / f"{ytid}.mid"
            midi_path.parent.mkdir(parents=True, exist_ok=True)
            piece.midi.save(str(midi_path))
            caption = write_caption(profile, rng, piece.melody_program, piece.drums, piece.tempo_bpm)
            start = int(rng.integers(0, 30)) * 10
            aspects = [profile.moods[0], profile.genres[0], piece.scale.replace("_", " "), f"{piece.tempo_bpm} bpm"]
            musiccaps_rows.append((ytid, start, start + seconds, "/m/04rlf", str(aspects), caption,
                                   int(rng.integers(10)), "False", "False"))
            labels.append(("clip", ytid, emotion))
            jobs.append((midi_path, raw / "audio" / f"{ytid}.wav"))
    fluidsynth = find_fluidsynth()
    todo = [(midi, wav) for midi, wav in jobs if not wav.is_file()]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        renders = pool.map(lambda job: render_midi(job[0], job[1], soundfont, SAMPLE_RATE, seconds, fluidsynth), todo)
        peaks = list(tqdm(renders, total=len(todo), desc="fluidsynth", file=sys.stderr, disable=not progress))
    silent = [str(wav) for (midi, wav), peak in zip(todo, peaks) if peak < 1e-3]
    if silent:
        raise RuntimeError(f"FluidSynth rendered silence for {silent[:3]}...; is {soundfont} a General MIDI soundfont?")
    atomic_write_text(raw / "artemis_dataset_release_v0.csv", _csv_text(ARTEMIS_COLUMNS, artemis_rows))
    atomic_write_text(raw / "musiccaps-public.csv", _csv_text(MUSICCAPS_COLUMNS, musiccaps_rows))
    atomic_write_text(raw / "demo_labels.csv", _csv_text(("kind", "key", "emotion"), labels))
    return {"paintings": paintings_per_emotion * len(emotions), "comments": len(artemis_rows),
            "clips": len(musiccaps_rows), "clips_rendered_now": len(todo)}


def read_labels(raw: Path) -> dict[tuple[str, str], str]:
    """``{(kind, key): emotion}`` from ``demo_labels.csv`` (kind ``painting`` key ``style/name``, ``clip`` key ytid)."""
    with open(raw / "demo_labels.csv", encoding="utf-8", newline="") as handle:
        return {(row["kind"], row["key"]): row["emotion"] for row in csv.DictReader(handle)}


def emotion_agreement(out: Path) -> float | None:
    """Fraction of built pairs whose clip was composed for the comment's emotion (None if not built)."""
    from art2music.articaps.manifest import read_manifest

    manifest_path = out / "articaps" / "manifest.csv"
    if not manifest_path.is_file():
        return None
    labels = read_labels(out / "raw")
    manifest = read_manifest(manifest_path)
    if len(manifest) == 0:
        return None
    same = sum(labels[("clip", Path(row.audio_path).stem)] == row.emotion for row in manifest)
    return same / len(manifest)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="art2music demo-corpus",
                                     description="Generate the demo corpus (paintings, comments, MIDI music, captions) "
                                                 "and build its ArtiCaps manifest and feature cache.")
    parser.add_argument("--out", required=True, type=Path, help="output folder (raw/, articaps/)")
    parser.add_argument("--seed", type=int, default=0, help="everything is a function of this seed (default %(default)s)")
    parser.add_argument("--emotions", default=",".join(DEFAULT_EMOTIONS),
                        help="comma-separated ArtEmis emotions (default: the eight with a clear affect)")
    parser.add_argument("--paintings-per-emotion", type=int, default=20, help="default %(default)s")
    parser.add_argument("--comments-per-painting", type=int, default=3, help="default %(default)s")
    parser.add_argument("--clips-per-emotion", type=int, default=24, help="default %(default)s")
    parser.add_argument("--seconds", type=float, default=4.0, help="clip length in seconds (default %(default)s)")
    parser.add_argument("--image-size", type=int, default=256, help="painting width and height (default %(default)s)")
    parser.add_argument("--max-clip-uses", type=int, default=3, help="pairs per clip at most (default %(default)s)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="parallel FluidSynth/decoding jobs")
    parser.add_argument("--soundfont", default=None, help="General MIDI .sf2 (default: $ART2MUSIC_SOUNDFONT or the "
                                                          "system's FluidR3_GM.sf2)")
    parser.add_argument("--encoder-pretrained", default=None,
                        help="encoder weights for art2music-tiny (default: the shipped demo encoder if present, else none)")
    parser.add_argument("--rebuild", action="store_true",
                        help="rebuild the ArtiCaps folder from scratch (e.g. after changing the encoder)")
    parser.add_argument("--raw-only", action="store_true", help="write the raw corpus but do not build the cache")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``art2music demo-corpus``; returns the exit code."""
    args = parse_arguments(build_parser(), argv)
    if isinstance(args, int):
        return args
    try:
        emotions = tuple(dict.fromkeys(normalize_emotion(name) for name in args.emotions.split(",") if name.strip()))
        if len(emotions) < 2:
            raise ValueError("--emotions needs at least two emotions")
        if min(args.paintings_per_emotion, args.comments_per_painting, args.clips_per_emotion) < 1:
            raise ValueError("--paintings-per-emotion, --comments-per-painting and --clips-per-emotion must be >= 1")
        if not 1.0 <= args.seconds <= 30.0 or args.image_size < 32:
            raise ValueError("--seconds must be in [1, 30] and --image-size at least 32")
        soundfont = find_soundfont(args.soundfont)
        find_fluidsynth()
    except (ValueError, SynthesisUnavailable) as error:
        print(f"demo-corpus: error: {error}", file=sys.stderr)
        return 2
    started = time.time()
    counts = generate_raw(args.out, emotions, args.paintings_per_emotion, args.comments_per_painting,
                          args.clips_per_emotion, args.seconds, args.seed, args.workers, soundfont, args.image_size,
                          progress=not args.quiet)
    generated = time.time() - started
    print(f"demo-corpus: raw corpus in {args.out / 'raw'}: {counts} ({generated:.1f} s)", file=sys.stderr)
    from art2music.demo_corpus.signal_check import corpus_signal

    signal = corpus_signal(args.out / "raw", args.seconds)
    print(f"demo-corpus: held-out emotion accuracy from mel statistics {signal['audio_accuracy']:.1%}, from image "
          f"colours {signal['image_accuracy']:.1%} (chance {signal['chance']:.1%})", file=sys.stderr)
    summary = {"seed": args.seed, "emotions": list(emotions), "seconds": args.seconds, **counts,
               "generation_seconds": round(generated, 1), "learnable_signal": signal}
    code = 0
    if not args.raw_only:
        from art2music.articaps.builder import main as build

        pretrained = args.encoder_pretrained or (str(DEMO_ENCODER_WEIGHTS) if DEMO_ENCODER_WEIGHTS.is_file() else "none")
        raw = args.out / "raw"
        build_started = time.time()
        code = build(["--artemis", str(raw / "artemis_dataset_release_v0.csv"), "--wikiart", str(raw / "wikiart"),
                      "--musiccaps", str(raw / "musiccaps-public.csv"), "--audio", str(raw / "audio"),
                      "--midi", str(raw / "midi"),
                      "--out", str(args.out / "articaps"), "--encoder-arch", "art2music-tiny",
                      "--encoder-pretrained", pretrained, "--seconds", str(args.seconds), "--top-k", "1",
                      "--max-clip-uses", str(args.max_clip_uses), "--seed", str(args.seed),
                      "--workers", str(args.workers)] + (["--quiet"] if args.quiet else [])
                     + (["--restart"] if args.rebuild else []))
        summary.update(build_seconds=round(time.time() - build_started, 1), build_exit_code=code,
                       encoder_pretrained=Path(pretrained).name, pair_emotion_agreement=emotion_agreement(args.out))
        if summary["pair_emotion_agreement"] is not None:
            print(f"demo-corpus: {summary['pair_emotion_agreement']:.1%} of pairs join a comment and a clip of the "
                  f"same emotion", file=sys.stderr)
    atomic_write_text(args.out / "demo_corpus.json", json.dumps(summary, indent=2, sort_keys=True))
    return code


if __name__ == "__main__":
    sys.exit(main())
