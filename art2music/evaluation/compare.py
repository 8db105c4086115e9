"""``art2music compare-evaluations``: one table from several ``art2music evaluate`` runs on the same split.

Each run scores one pipeline (e.g. the flow decoder and the BiLSTM) against the same baselines. This joins their
``metrics.json``: every run's ``model`` and ``model-griffin-lim`` rows, labelled with the run's name, then the
baseline and reference rows once (taken from the first run). The runs must share the manifest and split, and
their baselines must agree (the same vocoder), or the joined table would compare unlike things.

Writes ``OUT/comparison.md`` (the score and music tables) and ``OUT/comparison.json``.
Exit codes: 0 written, 2 usage error (missing or mismatched runs).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from art2music.cli import parse_arguments, usage_error
from art2music.evaluation.report import markdown_table, music_table
from vocoder.files import atomic_write_text

COMMAND = "compare-evaluations"
MODEL_ROWS = ("model", "model-griffin-lim")
SHARED_KEYS = ("manifest", "split")


def join(runs: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """``[(label, metrics.json contents), ...]`` → one metrics dict whose systems hold every run's model rows."""
    first_label, first = runs[0]
    for label, metrics in runs[1:]:
        for key in SHARED_KEYS:
            if metrics.get(key) != first.get(key):
                raise ValueError(f"runs '{first_label}' and '{label}' differ in {key}: {first.get(key)!r} vs "
                                 f"{metrics.get(key)!r}; compare runs on the same data")
        for row in ("reference", "copy-vocoder"):
            ours, theirs = first["systems"].get(row, {}), metrics["systems"].get(row, {})
            if ours.get("lsd") is not None and theirs.get("lsd") is not None and abs(ours["lsd"] - theirs["lsd"]) > 1e-6:
                raise ValueError(f"runs '{first_label}' and '{label}' disagree on the '{row}' row (LSD "
                                 f"{ours['lsd']:.3f} vs {theirs['lsd']:.3f}): they used different vocoders or data")
    systems: dict[str, Any] = {}
    for label, metrics in runs:
        for row in MODEL_ROWS:
            if row in metrics["systems"]:
                entry = dict(metrics["systems"][row])
                entry["description"] = f"{label}: {entry['description']}"
                systems[f"{label}" if row == "model" else f"{label}-griffin-lim"] = entry
    systems.update({name: entry for name, entry in first["systems"].items() if name not in MODEL_ROWS})
    return {**{key: first.get(key) for key in SHARED_KEYS}, "embeddings": first.get("embeddings", []),
            "runs": {label: metrics.get("model") for label, metrics in runs}, "systems": systems}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="art2music compare-evaluations", description=__doc__.split("\n\n")[1],
                                     epilog="exit codes: 0 written, 2 usage error")
    parser.add_argument("runs", nargs="+", help="LABEL=FOLDER: an `art2music evaluate --out` folder, named LABEL")
    parser.add_argument("--out", required=True, help="folder for comparison.md and comparison.json")
    args = parse_arguments(parser, argv)
    if isinstance(args, int):
        return args
    runs = []
    for spec in args.runs:
        label, separator, folder = spec.partition("=")
        if not separator or not label or not folder:
            return usage_error(COMMAND, f"expected LABEL=FOLDER, got {spec!r}")
        path = Path(folder) / "metrics.json"
        if not path.is_file():
            return usage_error(COMMAND, f"no metrics.json in {folder}: run `art2music evaluate --out {folder}` first")
        runs.append((label, json.loads(path.read_text(encoding="utf-8"))))
    try:
        joined = join(runs)
    except ValueError as error:
        return usage_error(COMMAND, str(error))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "comparison.json", json.dumps(joined, indent=2, ensure_ascii=False) + "\n")
    atomic_write_text(out / "comparison.md", "\n\n".join(
        [f"# {' vs '.join(label for label, _ in runs)} on the {joined['split']} split", markdown_table(joined),
         "Music (on the log-mel re-analysed from each system's audio):", music_table(joined)]) + "\n")
    print(f"wrote {out / 'comparison.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
