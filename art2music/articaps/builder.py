"""``art2music build-articaps``: build the ArtiCaps manifest and feature cache from ArtEmis + MusicCaps.

Steps: read both CSVs (bad rows and missing files reported, not fatal; with ``--midi DIR`` each clip's MIDI
score too, written to the manifest's ``midi_path``) → check every painting and clip
once (:mod:`art2music.articaps.validation`; unusable ones reported once each) → plan (split paintings and clips,
match comments to captions by sentence-embedding similarity inside each split) → extract features for
this shard's rows (clip mels in a process pool, CLIP embeddings in batches) → merge shards into
``OUT/manifest.csv`` + ``OUT/cache/`` + ``OUT/report.csv``. Every step resumes: a rerun with the same
inputs reuses the plan and the finished rows. Layout and distributed use: :mod:`art2music.articaps.shards`.

Exit codes: 0 built with nothing skipped; 1 built, but some items were skipped (see report.csv), or no
pair could be made; 2 usage or configuration error (bad option, missing input, missing encoder weights).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from art2music.cli import parse_arguments
from art2music.articaps.artemis import read_artemis
from art2music.encoders.clip import check_text_template
from art2music.io.audio import DEFAULT_MIN_SECONDS, PAPER_CLIP_SECONDS, PAPER_FRAMES, clip_num_samples
from art2music.articaps.build_report import count_reasons
from art2music.articaps.csv_records import CsvFormatError
from art2music.articaps.matching import MatchConfig
from art2music.articaps.musiccaps import (DEFAULT_AUDIO_PATTERN, DEFAULT_MIDI_PATTERN, check_audio_pattern,
                                          read_musiccaps)
from art2music.articaps.planning import fingerprint, plan_pairs
from art2music.articaps.shards import (BuildLayout, NoUsablePairs, ShardSpec, load_plan, mark_shard_done, merge_shards,
                                   plan_chunk_rows, publish_plan, shard_finished)
from art2music.articaps.splits import SplitFractions
from art2music.encoders.clip import DEFAULT_TEXT_TEMPLATE
from vocoder.mel import MelConfig, num_frames


class UsageError(ValueError):
    """A bad option or input: exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="art2music build-articaps",
        description="Pair ArtEmis comments with MusicCaps clips and cache their mels and CLIP embeddings.",
        epilog="Exit codes: 0 ok; 1 built but items were skipped (OUT/report.csv) or no pairs; 2 usage error.")
    inputs = parser.add_argument_group("inputs")
    inputs.add_argument("--artemis", required=True, type=Path, help="artemis_dataset_release_v0.csv")
    inputs.add_argument("--wikiart", required=True, type=Path, help="WikiArt root with <art_style>/<painting>.jpg")
    inputs.add_argument("--musiccaps", required=True, type=Path, help="musiccaps-public.csv")
    inputs.add_argument("--audio", required=True, type=Path, help="folder of the downloaded MusicCaps clips")
    inputs.add_argument("--audio-pattern", default=DEFAULT_AUDIO_PATTERN,
                        help="clip file name in --audio; placeholders {ytid}, {start_s}, {end_s} (default %(default)s)")
    inputs.add_argument("--midi", type=Path, default=None,
                        help="folder of the clips' MIDI scores, written to the manifest's midi_path (MusicCaps has "
                             "none; the demo corpus has one per clip)")
    inputs.add_argument("--midi-pattern", default=DEFAULT_MIDI_PATTERN,
                        help="score file name in --midi; same placeholders (default %(default)s)")
    parser.add_argument("--out", required=True, type=Path, help="output folder (manifest.csv, cache/, report.csv)")
    encoder = parser.add_argument_group("encoder")
    encoder.add_argument("--encoder-arch", default="ViT-H-14", help="OpenCLIP architecture (default %(default)s)")
    encoder.add_argument("--encoder-pretrained", default="laion2b_s32b_b79k",
                         help="pretrained tag, weights file, or 'none' for random init (default %(default)s)")
    encoder.add_argument("--text-template", default=DEFAULT_TEXT_TEMPLATE,
                         help="text given to CLIP; placeholders {comment}, {emotion} (default %(default)s)")
    encoder.add_argument("--device", default="cpu",
                         help="torch device for the CLIP encoder and the matching text model (default %(default)s)")
    encoder.add_argument("--batch-size", type=int, default=32, help="images per encoder batch (default %(default)s)")
    audio = parser.add_argument_group("audio")
    mel = MelConfig()
    audio.add_argument("--seconds", type=float, default=PAPER_CLIP_SECONDS,
                       help=f"clip length; round(seconds*{mel.sample_rate})+{mel.hop_length} samples, "
                            f"{PAPER_CLIP_SECONDS:g} s = {PAPER_FRAMES} frames (default %(default)s)")
    audio.add_argument("--min-seconds", type=float, default=DEFAULT_MIN_SECONDS,
                       help="shorter clips are skipped as too short (default %(default)s)")
    matching = parser.add_argument_group("matching and splits")
    matching.add_argument("--text-model", type=Path, default=None,
                          help="sentence-transformers folder for matching (default: bundled all-MiniLM-L6-v2)")
    matching.add_argument("--top-k", type=int, default=1, help="clips paired with each comment, at most (default %(default)s)")
    matching.add_argument("--candidates", type=int, default=50,
                          help="most similar clips considered per comment, >= top-k (default %(default)s)")
    matching.add_argument("--threshold", type=float, default=0.0, help="minimum cosine similarity (default %(default)s)")
    matching.add_argument("--max-clip-uses", type=int, default=10,
                          help="comments one clip may be paired with, 0 = unlimited (default %(default)s)")
    matching.add_argument("--splits", default="0.8,0.1,0.1", help="train,val,test fractions (default %(default)s)")
    matching.add_argument("--seed", type=int, default=0, help="split seed (default %(default)s)")
    run = parser.add_argument_group("running")
    run.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                     help="processes decoding audio and threads loading images (default: all cores, %(default)s)")
    run.add_argument("--shard", default="0/1",
                     help="process shard I of N (0-based): the chunks c of plan rows with c %% N == I, a chunk being "
                          "--batch-size rows of the run that planned (default %(default)s)")
    run.add_argument("--merge", action="store_true", help="only merge finished shards into OUT/cache")
    run.add_argument("--plan-only", action="store_true", help="stop after publishing the plan (OUT/work/plan)")
    run.add_argument("--restart", action="store_true", help="discard earlier work in OUT and start over")
    run.add_argument("--keep-work", action="store_true", help="keep the shard caches after merging")
    run.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def _check_options(args: argparse.Namespace) -> tuple[MatchConfig, SplitFractions, ShardSpec]:
    try:
        check_text_template(args.text_template)
    except ValueError as error:
        raise UsageError(f"--text-template: {error}") from None
    if not args.seconds > 0 or args.min_seconds < 0 or args.min_seconds > args.seconds:
        raise UsageError(f"need --seconds > 0 and 0 <= --min-seconds <= --seconds, got {args.seconds}, {args.min_seconds}")
    if args.workers < 1 or args.batch_size < 1:
        raise UsageError("--workers and --batch-size must be at least 1")
    try:
        check_audio_pattern(args.audio_pattern)
        check_audio_pattern(args.midi_pattern)
        return (MatchConfig(args.top_k, args.threshold, args.max_clip_uses, args.candidates), SplitFractions.parse(args.splits),
                ShardSpec.parse(args.shard))
    except ValueError as error:
        raise UsageError(str(error)) from None


def _weights_identity(pretrained: str) -> str:
    path = Path(pretrained).expanduser()
    if path.is_file():
        stat = path.stat()
        return f"{path.name}:{stat.st_size}:{int(stat.st_mtime)}"
    return pretrained


def _log(message: str) -> None:
    print(f"build-articaps: {message}", file=sys.stderr, flush=True)


def _finish(skipped_count: int, reasons: dict[str, int], layout: BuildLayout, pairs: int) -> int:
    _log(f"done: {pairs} pairs in {layout.manifest}, features in {layout.cache}")
    if skipped_count:
        _log(f"{skipped_count} item(s) skipped ({', '.join(f'{k}: {v}' for k, v in reasons.items())}); "
             f"see {layout.report}")
        return 1
    return 0


def run_build(args: argparse.Namespace) -> int:
    """The build itself (``main`` wraps it with error handling)."""
    match, fractions, shard = _check_options(args)
    layout = BuildLayout(args.out)
    mel_config = MelConfig()
    num_samples = clip_num_samples(args.seconds, mel_config)
    pretrained = None if args.encoder_pretrained in ("", "none", "None") else args.encoder_pretrained
    from art2music.encoders.clip import register_architectures, resolve_weights

    register_architectures()
    resolve_weights(args.encoder_arch, pretrained)  # fail fast: missing weights raise EncoderWeightsNotFound
    if args.restart:
        for path in (layout.work, layout.cache):
            shutil.rmtree(path, ignore_errors=True)
        for path in (layout.manifest, layout.report, layout.summary):
            path.unlink(missing_ok=True)

    started = time.time()
    comments, skipped_artemis = read_artemis(args.artemis, args.wikiart)
    clips, skipped_musiccaps = read_musiccaps(args.musiccaps, args.audio, args.audio_pattern, midi_dir=args.midi,
                                              midi_pattern=args.midi_pattern)
    options: dict[str, Any] = {
        "encoder_arch": args.encoder_arch, "encoder_pretrained": _weights_identity(pretrained) if pretrained else None,
        "text_template": args.text_template, "seconds": args.seconds, "min_seconds": args.min_seconds,
        "num_samples": num_samples, "mel_config": mel_config.to_dict(), "audio_pattern": args.audio_pattern,
        "text_model": str(args.text_model) if args.text_model else "bundled all-MiniLM-L6-v2",
        "top_k": match.top_k, "candidates": match.candidates, "threshold": match.threshold, "max_clip_uses": match.max_clip_uses,
        "splits": fractions.as_tuple(), "split_strata": "emotion", "seed": args.seed}
    if args.midi:  # only then, so a build without MIDI keeps the fingerprint it had before --midi existed
        options["midi_pattern"] = args.midi_pattern
    print_fp = fingerprint(options, [args.artemis, args.musiccaps], comments, clips)
    if layout.summary.is_file() and layout.manifest.is_file():
        previous = json.loads(layout.summary.read_text(encoding="utf-8"))
        if previous.get("fingerprint") != print_fp:
            raise UsageError(f"{layout.out} already holds a build made from different inputs or options; use "
                             f"another --out, or --restart to rebuild it")
        from art2music.articaps.build_report import read_report

        skipped = read_report(layout.report)
        _log(f"{layout.out} is already complete for these inputs; nothing to do")
        return _finish(len(skipped), count_reasons(skipped), layout, previous.get("final_pairs", 0))

    if (layout.plan / "plan.json").is_file():
        plan, planning_skips, meta = load_plan(layout)
        if meta.get("fingerprint") != print_fp:
            raise UsageError(f"{layout.work} holds an unfinished build from different inputs or options; use "
                             f"another --out, or --restart to discard it")
        _log(f"reusing the plan in {layout.plan} ({len(plan)} pairs)")
    else:
        from art2music.articaps.text_embedding import SentenceEmbedder
        from art2music.articaps.validation import check_clips, check_paintings

        _log(f"checking the paintings of {len(comments)} comments and {len(clips)} clips ...")
        comments, bad_paintings = check_paintings(comments, args.workers, progress=not args.quiet)
        clips, bad_clips = check_clips(clips, num_samples, args.min_seconds, mel_config, args.workers,
                                       progress=not args.quiet)
        _log(f"{len(comments)} comments on usable paintings, {len(clips)} usable clips; matching ...")
        embedder = SentenceEmbedder(args.text_model, device=args.device)
        result = plan_pairs(comments, clips, lambda texts: embedder.embed(texts, progress=not args.quiet), match,
                            fractions, args.seed, layout.out)
        meta = {"fingerprint": print_fp, "options": options, "stats": result.stats, "chunk_rows": args.batch_size}
        publish_plan(layout, result.rows, skipped_artemis + skipped_musiccaps + bad_paintings + bad_clips, meta)
        plan, planning_skips, meta = load_plan(layout)  # the published plan, ours or a concurrent shard's
    if args.plan_only:
        _log(f"plan published in {layout.plan}: {len(plan)} pairs; {json.dumps(meta['stats'].get('splits', {}))}")
        return 0
    if len(plan) == 0:
        from art2music.articaps.build_report import write_report

        write_report(layout.report, planning_skips)
        _log(f"no pairs could be made (see {layout.report}); check the inputs, or lower --threshold")
        return 1

    shard_failures: list = []
    if not args.merge:
        shard_failures = _extract_shard(args, layout, plan, shard, plan_chunk_rows(meta), mel_config, num_samples,
                                        pretrained)
        if shard.count > 1:
            _log(f"shard {shard.name} finished ({len(shard_failures)} item(s) skipped)")
    pending = [i for i in range(shard.count) if not shard_finished(layout, ShardSpec(i, shard.count))]
    if pending:
        if args.merge:
            raise UsageError(f"cannot merge yet: shard(s) {', '.join(f'{i}/{shard.count}' for i in pending)} "
                             f"have not finished")
        _log(f"waiting for shard(s) {', '.join(f'{i}/{shard.count}' for i in pending)}; the last one to finish merges "
             f"(or run with --merge --shard 0/{shard.count})")
        return 1 if shard_failures else 0
    summary = {"options": options, "plan": meta.get("stats", {}), "shards": shard.count,
               "seconds_this_run": round(time.time() - started, 1)}
    try:
        manifest, skipped = merge_shards(layout, shard.count, print_fp, summary, keep_work=args.keep_work)
    except NoUsablePairs as error:
        _log(str(error))
        return 1
    return _finish(len(skipped), count_reasons(skipped), layout, len(manifest))


def _extract_shard(args, layout: BuildLayout, plan, shard: ShardSpec, chunk_rows: int, mel_config: MelConfig,
                   num_samples: int, pretrained: str | None) -> list:
    """Compute this shard's mels and embeddings (resuming a partial run) and mark the shard done.

    The shard owns whole chunks of ``chunk_rows`` plan rows; embedding batches are cut at fixed plan
    positions, so its embeddings are the ones a single build computes (see :mod:`art2music.articaps.shards`).
    """
    from art2music.articaps.feature_cache import FeatureCache
    from art2music.articaps.features import FeatureSettings, extract_embeddings, extract_mels
    from art2music.encoders.clip import ClipEncoder

    if pretrained is None:
        import torch

        torch.manual_seed(0)  # random-init encoders must be identical in every shard and every rerun
    encoder = ClipEncoder(args.encoder_arch, pretrained).to(args.device)
    encoder_spec = encoder.spec() | {"text_template": args.text_template}
    indices = shard.rows(len(plan), chunk_rows)
    rows = [plan[k] for k in indices]
    if not rows:  # more shards than pairs
        mark_shard_done(layout, shard, [], {"rows": 0, "complete_rows": 0, "failures": 0})
        return []
    cache_dir = layout.shard_dir(shard) / "cache"
    frames = num_frames(num_samples, mel_config)
    if (cache_dir / "cache.json").is_file():
        cache = FeatureCache.open(cache_dir, mel_config=mel_config, encoder_spec=encoder_spec,
                                  ids=[row.id for row in rows], writable=True)
        _log(f"resuming shard {shard.name}: {len(cache.missing_rows())} of {len(rows)} rows left")
    else:
        cache = FeatureCache.create(cache_dir, [row.id for row in rows], frames, mel_config, encoder_spec,
                                    encoder.embed_dim)
    settings = FeatureSettings(mel_config, num_samples, args.min_seconds, args.text_template, args.workers,
                               args.batch_size, progress=not args.quiet)
    failures = extract_mels(cache, rows, plan.root, settings)
    import numpy as np

    no_mel = set(int(i) for i in np.flatnonzero(np.asarray(cache.mel_done) == 0))
    failures += extract_embeddings(cache, rows, plan.root, encoder, settings, skip=no_mel, positions=indices)
    stats = {"rows": len(rows), "complete_rows": len(rows) - len(cache.missing_rows()), "failures": len(failures)}
    mark_shard_done(layout, shard, failures, stats)
    return failures


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``art2music build-articaps``; returns the exit code."""
    args = parse_arguments(build_parser(), argv)
    if isinstance(args, int):
        return args
    from art2music.encoders.clip import EncoderWeightsNotFound

    try:
        return run_build(args)
    except (UsageError, CsvFormatError, EncoderWeightsNotFound, FileNotFoundError) as error:
        _log(f"error: {error}")
        return 2
    except ValueError as error:  # e.g. an unknown encoder architecture or a cache from another config
        _log(f"error: {error}")
        return 2
    except KeyboardInterrupt:
        _log("interrupted; rerun the same command to resume")
        return 130


if __name__ == "__main__":
    sys.exit(main())
