"""Writing an evaluation's results: ``metrics.json`` (everything) and ``metrics.md`` (the comparison table).

The Markdown table has one row per system (model, baselines, copy-synthesis, and the true clip as a sanity
row) and one column per metric; FAD and cosine columns carry their embedding's name, so a FAD on the
offline ``mel-stats`` embedding reads "FAD (mel-stats, not VGGish)" and is never taken for a VGGish FAD.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vocoder.files import atomic_write_text
from art2music.evaluation.systems import GENERATIVE

LOWER_IS_BETTER = "↓"
HIGHER_IS_BETTER = "↑"


def _number(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def markdown_table(metrics: dict[str, Any]) -> str:
    """The systems × metrics table (GitHub Markdown), without the notes."""
    embeddings = metrics.get("embeddings", [])
    header = ["system", f"MCD dB {LOWER_IS_BETTER}", f"MCD-DTW dB {LOWER_IS_BETTER}", f"LSD dB {LOWER_IS_BETTER}",
              f"mel L1 {LOWER_IS_BETTER}"]
    for embedding in embeddings:
        header += [f"FAD ({embedding['label']}) {LOWER_IS_BETTER}", f"cosine ({embedding['label']}) {HIGHER_IS_BETTER}"]
    header.append(f"emotion acc. {HIGHER_IS_BETTER}")
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    for name, entry in metrics.get("systems", {}).items():
        cells = [f"{name} ({entry['description']})", _number(entry["mcd"]), _number(entry["mcd_dtw"]),
                 _number(entry["lsd"]), _number(entry["mel_l1"], 3)]
        for embedding in embeddings:
            fad = entry["fad"].get(embedding["name"])
            cells += [_number(fad["value"] if fad else None), _number(entry["cosine"].get(embedding["name"]), 3)]
        cells.append(_number(entry["emotion_accuracy"], 3))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def music_table(metrics: dict[str, Any]) -> str:
    """Music figures per system, each with its ratio to the true clips' (1× = like real music)."""
    header = ["system", "temporal variation (× true)", "flux (× true)", "inter-item distance (× true)",
              "seed diversity (× true inter-item)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    for name, entry in metrics.get("systems", {}).items():
        ratios = entry.get("ratio_to_reference", {})
        cells = [name] + [f"{_number(entry.get(metric), 3)} ({_number(ratios.get(metric))}×)"
                          if entry.get(metric) is not None else "—"
                          for metric in ("temporal_variation", "flux", "inter_item_distance")]
        diversity = entry.get("seed_diversity")
        cells.append(f"{_number(diversity, 3)} ({_number(ratios.get('seed_diversity'))}×)" if diversity is not None
                     else "—")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def findings(metrics: dict[str, Any]) -> list[str]:
    """One sentence per question the evaluation answers (vocoder vs Griffin-Lim, model vs baselines)."""
    systems = metrics.get("systems", {})
    if not systems:
        return []
    lines = []
    copy_vocoder, copy_gl = systems["copy-vocoder"]["lsd"], systems["copy-griffin-lim"]["lsd"]
    verdict = "beats" if copy_vocoder < copy_gl else "does NOT beat"
    lines.append(f"Copy-synthesis (true mel → audio): the model's vocoder {verdict} Griffin-Lim in log-spectral "
                 f"distance ({copy_vocoder:.2f} dB vs {copy_gl:.2f} dB).")
    model_l1, mean_l1 = systems["model"]["mel_l1"], systems["mean-mel"]["mel_l1"]
    verdict = "below" if model_l1 < mean_l1 else "NOT below"
    lines.append(f"Stage-1 mel L1 is {verdict} the mean-mel baseline's ({model_l1:.3f} vs {mean_l1:.3f}).")
    best = []
    for label, pick in (("MCD", lambda e: e["mcd"]), ("LSD", lambda e: e["lsd"]), ("mel L1", lambda e: e["mel_l1"])):
        scored = {name: pick(systems[name]) for name in GENERATIVE if pick(systems[name]) is not None}
        best.append(f"{label} {min(scored, key=scored.get)}")
    for embedding in metrics.get("embeddings", []):
        fads = {name: systems[name]["fad"].get(embedding["name"]) for name in GENERATIVE}
        fads = {name: fad["value"] for name, fad in fads.items() if fad}
        if fads:
            best.append(f"FAD ({embedding['label']}) {min(fads, key=fads.get)}")
    by_accuracy = {name: systems[name]["emotion_accuracy"] for name in GENERATIVE}
    best.append(f"emotion accuracy {max(by_accuracy, key=by_accuracy.get)}")
    lines.append(f"Best of model and baselines ({', '.join(GENERATIVE)}) per metric: {'; '.join(best)}.")
    chance = metrics["emotion_probe"]["chance"]
    accuracies = ", ".join(f"{name} {systems[name]['emotion_accuracy']:.3f}" for name in ("reference", *GENERATIVE))
    classes = len(metrics["emotion_probe"]["classes"])
    lines.append(f"Emotion recovered from the audio (chance {chance:.3f} = 1/{classes}): {accuracies}.")
    return lines


def markdown_report(metrics: dict[str, Any]) -> str:
    """The whole metrics.md: title, what was evaluated, the table, findings, sample sizes, definitions."""
    items = metrics.get("items", {})
    fad_sizes = []
    for embedding in metrics.get("embeddings", []):
        fad = metrics.get("systems", {}).get("model", {}).get("fad", {}).get(embedding["name"])
        if fad:
            fad_sizes.append(f"{embedding['label']}: {fad['n_reference']} reference vs {fad['n_generated']} "
                             f"generated windows of {fad['dim']} dimensions")
    parts = [f"# Evaluation of `{metrics.get('model')}` on the {metrics.get('split')} split",
             "",
             f"Manifest `{metrics.get('manifest')}`, {items.get('scored', 0)} items scored, {items.get('failed', 0)} "
             f"failed; embeddings for stage 1 from the {metrics.get('embeddings_source')}; {metrics.get('date')}.",
             "", markdown_table(metrics), "", "Music (on the log-mel re-analysed from each system's audio):", "",
             music_table(metrics), ""]
    if metrics.get("va_judge"):
        from art2music.evaluation.va_scores import va_table

        parts += ["Feeling (the pipeline's VA judge on each system's audio, against the painting's target):", "",
                  va_table(metrics["va_judge"]), ""]
    parts += [f"- {line}" for line in findings(metrics)]
    if fad_sizes:
        parts.append(f"- FAD sample sizes ({'; '.join(fad_sizes)}). FAD is biased upward at small N: compare values "
                     f"only at equal N, never with published VGGish FADs unless the column says VGGish.")
    parts += ["", "Definitions:", ""]
    parts += [f"- **{name}**: {text}" for name, text in metrics.get("definitions", {}).items()]
    if metrics.get("failures"):
        parts += ["", "Failed items:", ""]
        parts += [f"- `{failure['id']}`: {failure['reason']}: {failure['detail']}" for failure in metrics["failures"]]
    return "\n".join(parts) + "\n"


def write_report(out_dir: str | Path, metrics: dict[str, Any]) -> None:
    """Write ``metrics.json`` and ``metrics.md`` into ``out_dir``, each atomically."""
    out_dir = Path(out_dir)
    atomic_write_text(out_dir / "metrics.json", json.dumps(metrics, indent=2, ensure_ascii=False) + "\n")
    atomic_write_text(out_dir / "metrics.md", markdown_report(metrics))
