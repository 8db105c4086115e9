"""Output layout of an ArtiCaps build, shards, and the merge that produces the final cache.

::

    OUT/manifest.csv            final manifest (written last: its presence means the build is complete)
    OUT/cache/                  final FeatureCache, row k = manifest row k
    OUT/report.csv              every skipped item and why
    OUT/build.json              options, fingerprint, statistics
    OUT/work/plan/              pairs.csv (all planned pairs), skipped.csv, plan.json (fingerprint, stats)
    OUT/work/shards/I-of-N/     cache/ (the rows of pairs.csv shard I owns), failures.csv, done.json

Pairs are cut into chunks of ``plan.json["chunk_rows"]`` consecutive rows (chunk ``c`` is rows
``[c * chunk_rows, (c + 1) * chunk_rows)``), and shard ``I`` of ``N`` owns the chunks with ``c % N == I``.
The encoder embeds a chunk in batches whose boundaries are fixed in plan order, never across chunks, so
a shard computes exactly the batches a single build computes, and the cached embeddings do not depend on
how many shards there are (a batch's size changes float results in the last bits).

Distributed builds: run ``build-articaps ... --shard I/N`` for I = 0..N-1 on machines that share OUT (NFS,
Lustre ...). The plan is published once: every shard computes it if absent and publishes it by renaming
a private folder to ``work/plan`` (atomic; the loser discards its copy and uses the winner's), so all
shards work from identical rows. Each shard writes only its own cache folder (no two machines write
one file). The shard that finds all N ``done.json`` files merges; ``--merge`` does it by hand.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from vocoder.files import atomic_write_text
from art2music.articaps.build_report import SkippedItem, read_report, write_report
from art2music.articaps.feature_cache import FeatureCache
from art2music.articaps.manifest import Manifest, ManifestRow, read_manifest


class NoUsablePairs(RuntimeError):
    """Every planned pair lost its clip or its image: there is nothing to merge."""


@dataclass(frozen=True)
class ShardSpec:
    """Shard ``index`` of ``count`` (0-based): owns the chunks ``c`` of plan rows with ``c % count == index``."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ValueError(f"shard must be I/N with 0 <= I < N, got {self.index}/{self.count}")

    @classmethod
    def parse(cls, text: str) -> "ShardSpec":
        """``"2/8"`` → shard 2 of 8."""
        try:
            index, count = (int(part) for part in text.split("/"))
        except ValueError:
            raise ValueError(f"--shard {text!r} must look like I/N, e.g. 0/4 (0-based)") from None
        return cls(index, count)

    @property
    def name(self) -> str:
        return f"{self.index}-of-{self.count}"

    def rows(self, total: int, chunk_rows: int = 1) -> list[int]:
        """The plan rows this shard owns, in plan order: whole chunks of ``chunk_rows`` consecutive rows.

        ``chunk_rows`` 1 gives rows ``k`` with ``k % count == index`` (plans published before chunks
        existed record no chunk size and are read that way).
        """
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be at least 1, got {chunk_rows}")
        return [k for k in range(total) if (k // chunk_rows) % self.count == self.index]


def plan_chunk_rows(meta: dict[str, Any]) -> int:
    """Rows per shard chunk recorded in a plan's ``plan.json`` (1 for plans that predate chunks)."""
    return int(meta.get("chunk_rows", 1))


class BuildLayout:
    """Paths of one build's output folder (see the module docstring)."""

    def __init__(self, out: str | Path):
        self.out = Path(out)
        self.manifest = self.out / "manifest.csv"
        self.cache = self.out / "cache"
        self.report = self.out / "report.csv"
        self.summary = self.out / "build.json"
        self.work = self.out / "work"
        self.plan = self.work / "plan"

    def shard_dir(self, shard: ShardSpec) -> Path:
        return self.work / "shards" / shard.name


def publish_plan(layout: BuildLayout, rows: Sequence[ManifestRow], skipped: Sequence[SkippedItem],
                 meta: dict[str, Any]) -> bool:
    """Publish the plan atomically unless another process already has; True if this one won."""
    layout.work.mkdir(parents=True, exist_ok=True)
    private = Path(tempfile.mkdtemp(prefix=".plan-", dir=layout.work))
    try:
        Manifest(rows, root=layout.out).write(private / "pairs.csv")
        write_report(private / "skipped.csv", skipped)
        atomic_write_text(private / "plan.json", json.dumps(meta, indent=2, sort_keys=True))
        os.rename(private, layout.plan)  # atomic; fails if work/plan already exists and is not empty
        return True
    except OSError:
        if not (layout.plan / "plan.json").is_file():
            raise
        return False
    finally:
        if private.exists():
            shutil.rmtree(private, ignore_errors=True)


def load_plan(layout: BuildLayout) -> tuple[Manifest, list[SkippedItem], dict[str, Any]]:
    """Read the published plan: ``(pairs, skipped while planning, plan.json)``; rows resolve against OUT."""
    meta = json.loads((layout.plan / "plan.json").read_text(encoding="utf-8"))
    pairs = read_manifest(layout.plan / "pairs.csv")
    return Manifest(pairs.rows, root=layout.out), read_report(layout.plan / "skipped.csv"), meta


def shard_finished(layout: BuildLayout, shard: ShardSpec) -> bool:
    return (layout.shard_dir(shard) / "done.json").is_file()


def mark_shard_done(layout: BuildLayout, shard: ShardSpec, failures: Sequence[SkippedItem], stats: dict) -> None:
    """Record a shard's failures, then its completion (done.json last)."""
    directory = layout.shard_dir(shard)
    write_report(directory / "failures.csv", failures)
    atomic_write_text(directory / "done.json", json.dumps(stats, indent=2, sort_keys=True))


def merge_shards(layout: BuildLayout, count: int, fingerprint: str, summary: dict[str, Any],
                 keep_work: bool = False) -> tuple[Manifest, list[SkippedItem]]:
    """Combine the ``count`` shard caches into ``OUT/cache`` and write the final manifest and report.

    Rows whose mel or embeddings are missing (their clip or image failed) are left out, so every row of
    the final manifest has complete features.

    Raises:
        RuntimeError: a shard has not finished (the message lists which).
    """
    pending = [ShardSpec(i, count).name for i in range(count) if not shard_finished(layout, ShardSpec(i, count))]
    if pending:
        raise RuntimeError(f"cannot merge {layout.out}: shard(s) {', '.join(pending)} not finished; run "
                           f"build-articaps with --shard I/{count} for them first")
    plan, skipped, meta = load_plan(layout)
    chunk_rows = plan_chunk_rows(meta)
    shard_caches = []
    kept: list[tuple[int, FeatureCache, int]] = []  # (plan row, shard cache, shard row)
    for i in range(count):
        shard = ShardSpec(i, count)
        rows = shard.rows(len(plan), chunk_rows)
        if not rows:
            continue
        cache = FeatureCache.open(layout.shard_dir(shard) / "cache", ids=[plan[k].id for k in rows])
        shard_caches.append(cache)
        skipped += read_report(layout.shard_dir(shard) / "failures.csv")
        done = (np.asarray(cache.mel_done) == 1) & (np.asarray(cache.embedding_done) == 1)
        kept += [(k, cache, local) for local, k in enumerate(rows) if done[local]]
    kept.sort(key=lambda item: item[0])
    # A clip or image shared by rows of several shards failed in each of them: report it once.
    skipped = list({(item.source, item.item, item.reason): item for item in skipped}.values())
    final_rows = [plan[k] for k, _, _ in kept]
    if not final_rows:
        write_report(layout.report, skipped)
        raise NoUsablePairs(f"no planned pair has usable features (every clip or image failed); see {layout.report}")
    template = shard_caches[0]
    if not layout.cache.exists():
        private = Path(tempfile.mkdtemp(prefix=".cache-", dir=layout.out))
        try:
            merged = FeatureCache.create(private, [row.id for row in final_rows], template.frames, template.mel_config,
                                         template.encoder_spec, template.embed_dim)
            for new, (_, cache, local) in enumerate(kept):
                merged.copy_row_from(new, cache, local)
            merged.flush()  # data before flags
            merged.mel_done[:] = 1
            merged.embedding_done[:] = 1
            merged.flush()
            del merged
            try:
                os.rename(private, layout.cache)
            except OSError:
                if not layout.cache.is_dir():
                    raise  # otherwise a concurrent merger won with identical content
        finally:
            if private.exists():
                shutil.rmtree(private, ignore_errors=True)
    FeatureCache.open(layout.cache, ids=[row.id for row in final_rows])  # verify what is there
    write_report(layout.report, skipped)
    manifest = Manifest(final_rows, root=layout.out)
    summary = dict(summary, fingerprint=fingerprint, final_pairs=len(final_rows), skipped_items=len(skipped))
    atomic_write_text(layout.summary, json.dumps(summary, indent=2, sort_keys=True))
    manifest.write(layout.manifest)  # last: its presence means the build is complete
    if not keep_work:
        for i in range(count):
            shutil.rmtree(layout.shard_dir(ShardSpec(i, count)) / "cache", ignore_errors=True)
    return manifest, skipped


__all__ = ["NoUsablePairs", "ShardSpec", "BuildLayout", "plan_chunk_rows", "publish_plan", "load_plan", "shard_finished", "mark_shard_done",
           "merge_shards"]
