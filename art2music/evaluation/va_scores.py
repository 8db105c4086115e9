"""The feeling of each system's audio, judged: the VA judge's (valence, arousal) against the painting's target.

A painting's target is the mean over its annotators' emotions (:func:`art2music.emotions.mean_valence_arousal`):
every manifest row of one image is one annotator's comment and emotion. Each system's waveform is re-analysed
into HiFi-GAN's log-mel and read by the pipeline folder's judge (``va_judge/``, :mod:`art2music.emotion_judge`);
without a judge, none of this is computed. Per item, per system: ``judged_va`` ``[v, a]``; per system over the
split: :func:`~art2music.emotion_judge.va_agreement` (distance, sign agreement of valence and of arousal,
quadrant accuracy).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Sequence

import numpy as np
from art2music.emotions import mean_valence_arousal

DEFINITION = ("the VA judge's (valence, arousal) of the log-mel re-analysed from each system's audio, against the "
              "painting's target: the mean over its annotators' emotions through the NRC VAD table; distance = mean "
              "Euclidean distance in [-1, 1]^2, sign = share of items with the target's sign (>= 0 positive), "
              "quadrant = both signs right")


def painting_targets(manifest: Sequence[Any]) -> list[tuple[float, float]]:
    """Each manifest row's painting target (valence, arousal): the mean over all rows of the same image."""
    emotions: dict[str, list[str]] = defaultdict(list)
    for row in manifest:
        emotions[row.image_path].append(row.emotion)
    means = {image: mean_valence_arousal(names) for image, names in emotions.items()}
    return [means[row.image_path] for row in manifest]


def judge_waveform(judge: Any, waveform: np.ndarray) -> list[float]:
    """The judged ``[valence, arousal]`` of a ``(samples,)`` waveform (:meth:`VAJudge.judge_waveform`)."""
    return list(judge.judge_waveform(waveform))


def summarize_va(items: Sequence[tuple[dict, dict]], systems: Sequence[str]) -> dict[str, Any] | None:
    """Per system, the agreement of its judged VA with the items' targets; ``None`` when no item was judged."""
    from art2music.emotion_judge import va_agreement

    judged_items = [record for record, _ in items if "target_va" in record]
    if not judged_items:
        return None
    targets = np.array([record["target_va"] for record in judged_items])
    summary: dict[str, Any] = {"definition": DEFINITION, "systems": {}}
    for system in systems:
        judged = np.array([record["metrics"][system]["judged_va"] for record in judged_items])
        summary["systems"][system] = {**va_agreement(judged, targets), "mean_judged": judged.mean(axis=0).tolist()}
    summary["mean_target"] = targets.mean(axis=0).tolist()
    return summary


def va_table(summary: dict[str, Any]) -> str:
    """The Markdown table of :func:`summarize_va`'s figures, one row per system."""
    lines = ["| system | VA distance ↓ | valence sign ↑ | arousal sign ↑ | quadrant ↑ | mean judged (v, a) |",
             "|---|---:|---:|---:|---:|---|"]
    for name, entry in summary["systems"].items():
        valence, arousal = entry["mean_judged"]
        lines.append(f"| {name} | {entry['distance']:.3f} | {entry['valence_sign']:.3f} | {entry['arousal_sign']:.3f} "
                     f"| {entry['quadrant']:.3f} | ({valence:+.2f}, {arousal:+.2f}) |")
    return "\n".join(lines)
