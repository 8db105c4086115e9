"""Writing a midi-engine evaluation: ``metrics.json`` (everything) and ``metrics.md`` (two tables and the targets).

The first table has one row per system (the held-out reference pieces, then each model) and one column per symbolic
metric, each model value followed by its ratio to the references'; the second gives the emotion and novelty figures.
The findings check the issue's targets on the held-out split: every metric within ±25 % of the references', emotion
accuracy at least 3× chance, more major keys for positive- than for negative-valence paintings, faster and denser
music for high-arousal paintings, no piece sharing more than 4 bars with a training piece.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vocoder.files import atomic_write_text

METRIC_LABELS = {"pitch_class_entropy": "pitch-class entropy (bits)", "polyphony_rate": "polyphony rate",
                 "scale_consistency": "scale consistency", "groove_consistency": "groove consistency",
                 "empty_beat_rate": "empty-beat rate", "notes_per_second": "notes/s", "tempo_bpm": "tempo (BPM)"}
RATIO_TOLERANCE = 0.25
CHANCE_FACTOR = 3.0
MAX_SHARED_BARS = 4


def _number(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _pair(first: float | None, second: float | None, digits: int = 2) -> str:
    return f"{_number(first, digits)} / {_number(second, digits)}"


def metrics_table(result: dict[str, Any]) -> str:
    """Systems × symbolic metrics (a model's cells: value (× reference))."""
    header = ["system", "pieces", *METRIC_LABELS.values()]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    for name, entry in result["systems"].items():
        ratios = entry.get("ratio_to_reference", {})
        cells = [name, str(entry["count"])]
        for metric in METRIC_LABELS:
            value = _number(entry["metrics"][metric], 1 if metric == "tempo_bpm" else 2)
            cells.append(f"{value} ({_number(ratios[metric])}×)" if ratios.get(metric) is not None else value)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def emotion_table(result: dict[str, Any]) -> str:
    """Systems × emotion and novelty figures."""
    header = ["system", "VA distance (judge) ↓", "valence / arousal sign agreement", "emotion acc. (audio) ↑",
              "major share, +V / −V", "tempo, +A / −A", "notes/s, +A / −A", "longest shared run: tokens / bars"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    for name, entry in result["systems"].items():
        novelty = entry.get("novelty", {})
        lines.append("| " + " | ".join([
            name, _number(entry["judge_va_distance"]),
            _pair(entry["judge_valence_sign_agreement"], entry["judge_arousal_sign_agreement"]),
            _number(entry.get("emotion_accuracy"), 3),
            _pair(entry["major_share_positive_valence"], entry["major_share_negative_valence"]),
            _pair(entry["tempo_high_arousal"], entry["tempo_low_arousal"], 0),
            _pair(entry["notes_per_second_high_arousal"], entry["notes_per_second_low_arousal"], 1),
            f"{novelty.get('longest_shared_tokens_max', '—')} / {novelty.get('longest_shared_bars_max', '—')}"]) + " |")
    return "\n".join(lines)


def _greater(first: float | None, second: float | None) -> bool | None:
    return None if first is None or second is None else first > second


def targets(entry: dict[str, Any], chance: float | None) -> dict[str, bool | None]:
    """The issue's targets for one model: ``True``/``False``, or ``None`` where a figure is missing."""
    ratios = [value for value in entry.get("ratio_to_reference", {}).values() if value is not None]
    accuracy = entry.get("emotion_accuracy")
    return {"metrics_within_25_percent": all(abs(r - 1) <= RATIO_TOLERANCE for r in ratios) if ratios else None,
            "emotion_accuracy_3x_chance": None if accuracy is None or chance is None
            else accuracy >= CHANCE_FACTOR * chance,
            "more_major_for_positive_valence": _greater(entry["major_share_positive_valence"],
                                                        entry["major_share_negative_valence"]),
            "faster_for_high_arousal": _greater(entry["tempo_high_arousal"], entry["tempo_low_arousal"]),
            "denser_for_high_arousal": _greater(entry["notes_per_second_high_arousal"],
                                                entry["notes_per_second_low_arousal"]),
            "at_most_4_bars_shared": entry["novelty"]["longest_shared_bars_max"] <= MAX_SHARED_BARS}


def _verdict(value: bool | None) -> str:
    return {True: "met", False: "NOT met", None: "not measured"}[value]


def markdown_report(result: dict[str, Any]) -> str:
    """The whole metrics.md."""
    probe = result.get("emotion_probe")
    chance = probe["chance"] if probe else None
    parts = [f"# Midi-engine evaluation on the {result['split']} split",
             "",
             f"Manifest `{result['manifest']}`: {result['paintings']} held-out paintings "
             f"({result['settings']['pieces_per_painting']} piece(s) each, {result['settings']['seconds']:g} s asked, "
             f"VA read from the image), {result['reference_pieces']} held-out reference pieces, "
             f"{result['training_pieces']} training pieces for the novelty check; {result['date']}.",
             "", metrics_table(result), "", emotion_table(result), ""]
    for name, entry in result["systems"].items():
        if name == "reference":
            continue
        checks = entry.get("targets") or targets(entry, chance)
        parts.append(f"- `{name}` ({entry['model']}): " + "; ".join(f"{key.replace('_', ' ')}: {_verdict(value)}"
                                                                 for key, value in checks.items())
                     + f"; its image → VA head is {_number(entry.get('image_va_error'))} from the paintings' VA.")
    if probe:
        parts.append(f"- Emotion accuracy: the audio evaluation's probe (mel statistics, logistic regression) trained "
                     f"on the true training clips, applied to the first {probe['seconds']:g} s of each render; chance "
                     f"{chance:.3f} = 1/{len(probe['classes'])}; the reference row is the true test clips' audio.")
    parts += ["- VA distance: Euclidean, between the painting's target (its emotion's valence and arousal) and the "
              "piece's as read by the feature judge (`art2music.symbolic.metrics.judge_va`: key mode and register → "
              "valence, tempo and density → arousal), which is not the VA loss's regressor. The reference row is the "
              "judge's own distance on the true pieces: its floor.",
              "- Novelty: the longest run of tokens, and of whole bars (same onsets, pitches, durations, programs), "
              "that a piece shares with one training piece; the reference row shows what held-out real pieces share "
              "by chance."]
    if result.get("skipped_midi"):
        parts += ["", f"Skipped MIDI files ({len(result['skipped_midi'])}):", ""]
        parts += [f"- `{bad['name']}`: {bad['reason']}: {bad['detail']}" for bad in result["skipped_midi"]]
    if result.get("failures"):
        parts += ["", "Failed paintings:", ""]
        parts += [f"- `{failure['id']}` ({failure['system']}): {failure['reason']}: {failure['detail']}"
                  for failure in result["failures"]]
    return "\n".join(parts) + "\n"


def write_midi_report(out_dir: str | Path, result: dict[str, Any]) -> None:
    """Write ``metrics.json`` and ``metrics.md`` into ``out_dir``, each atomically."""
    out_dir = Path(out_dir)
    atomic_write_text(out_dir / "metrics.json", json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    atomic_write_text(out_dir / "metrics.md", markdown_report(result))
