"""``python -m art2music.symbolic.report``: score midi-engine models on the held-out demo pairs, as JSON.

For every *test* painting (never seen in training) each model composes ``--seeds`` pieces from the painting alone
(the VA is read from the image, as for a user who gives none). Reported per model:
  - the symbolic metrics (:mod:`art2music.symbolic.metrics`), mean over generated pieces, beside the same means over
    the held-out reference pieces (test-split pieces, of the same emotions) and their ratio;
  - the share of major keys for positive- vs negative-valence paintings; tempo and notes/s for high- vs low-arousal
    paintings;
  - the VA distance between each painting's VA and the generated piece's VA as estimated by the *independent*
    feature judge (:func:`art2music.symbolic.metrics.judge_va`), with the judge's own distance on the references;
  - novelty: the longest run of tokens shared with any training piece, in tokens and in bars.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from art2music.symbolic import metrics
from art2music.symbolic.corpus import compose_pieces, read_demo_corpus
from art2music.symbolic.piece import MidiPiece
from art2music.symbolic.tokenizer import read_scores, score_to_ids

METRIC_NAMES = ("pitch_class_entropy", "polyphony_rate", "scale_consistency", "groove_consistency",
                "empty_beat_rate", "notes_per_second", "tempo_bpm")


def _mean(values) -> float:
    values = [v for v in values if v == v]
    return float(np.mean(values)) if values else float("nan")


def score_pieces(pieces: list[MidiPiece], targets: np.ndarray) -> dict:
    """Metrics of pieces against target VA ``(N, 2)``."""
    rows = [metrics.piece_metrics(piece.notes, piece.tempo_bpm) for piece in pieces]
    judged = np.array([metrics.judge_va(piece.notes, piece.tempo_bpm) for piece in pieces])
    modes = [metrics.estimate_key(piece.notes)[1] for piece in pieces]
    positive, negative = targets[:, 0] > 0, targets[:, 0] < 0
    high, low = targets[:, 1] > 0, targets[:, 1] < 0
    major = np.array([mode == "major" for mode in modes])
    tempo = np.array([row["tempo_bpm"] for row in rows])
    density = np.array([row["notes_per_second"] for row in rows])
    return {"count": len(pieces), "empty_pieces": sum(not piece.notes for piece in pieces),
            "metrics": {name: _mean(row[name] for row in rows) for name in METRIC_NAMES},
            "major_share_positive_valence": _mean(major[positive]), "major_share_negative_valence": _mean(major[negative]),
            "tempo_high_arousal": _mean(tempo[high]), "tempo_low_arousal": _mean(tempo[low]),
            "notes_per_second_high_arousal": _mean(density[high]), "notes_per_second_low_arousal": _mean(density[low]),
            "judge_va_distance": _mean(np.linalg.norm(judged - targets, axis=1)),
            "judge_valence_sign_agreement": _mean(np.sign(judged[:, 0]) == np.sign(targets[:, 0])),
            "judge_arousal_sign_agreement": _mean(np.sign(judged[:, 1]) == np.sign(targets[:, 1]))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m art2music.symbolic.report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", required=True, metavar="NAME=FOLDER",
                        help="a pipeline folder (or demo-midi) to score, named; repeat to compare")
    parser.add_argument("--raw", default="datasets/demo/raw", help="the demo corpus raw/ folder")
    parser.add_argument("--composed", default="runs/midi-demo/data/composed",
                        help="the training run's composed pieces folder (data.work_dir/composed)")
    parser.add_argument("--composed-per-emotion", type=int, default=60)
    parser.add_argument("--composed-seconds", type=float, default=14.0)
    parser.add_argument("--seed", type=int, default=0, help="the training run's data seed (splits)")
    parser.add_argument("--seeds", type=int, default=2, help="pieces per test painting")
    parser.add_argument("--seconds", type=float, default=12.0, help="length asked of each piece")
    parser.add_argument("--guidance", type=float, default=None,
                        help="classifier-free guidance on the VA (default: each model's own default)")
    parser.add_argument("--out", default="outputs/midi_eval.json")
    args = parser.parse_args(argv)

    from art2music.symbolic.pipeline import Art2Midi
    from vocoder.files import atomic_write_text

    paintings, pieces = read_demo_corpus(args.raw, args.seed)
    emotions = sorted({p.emotion for p in paintings})
    pieces += compose_pieces(args.composed, emotions, args.composed_per_emotion, args.composed_seconds, args.seed)
    test_paintings = [p for p in paintings if p.split == "test"]
    reference_pieces = [p for p in pieces if p.split == "test"]
    ref_scores, _, _ = read_scores(p.path for p in reference_pieces)
    references = [MidiPiece(score) for score in ref_scores]
    ref_va = np.array([(p.valence, p.arousal) for p in reference_pieces])
    train_scores, _, _ = read_scores(p.path for p in pieces if p.split == "train")
    report = {"test_paintings": len(test_paintings), "reference_pieces": len(references),
              "references": score_pieces(references, ref_va), "models": {}}
    targets = np.array([(p.valence, p.arousal) for p in test_paintings for _ in range(args.seeds)])
    for named in args.model:
        name, _, folder = named.partition("=")
        pipe = Art2Midi.from_pretrained(folder or name)
        generated = []
        for index, painting in enumerate(test_paintings):
            for seed in range(args.seeds):
                generated.append(pipe(painting.path, seconds=args.seconds, seed=1000 * index + seed,
                                      guidance=args.guidance))
        scored = score_pieces(generated, targets)
        scored["guidance"] = pipe.default_guidance() if args.guidance is None else args.guidance
        reference_means = report["references"]["metrics"]
        scored["ratio_to_references"] = {key: value / reference_means[key] if reference_means[key] else float("nan")
                                         for key, value in scored["metrics"].items()}
        predicted = pipe.predict_va([p.path for p in test_paintings]).numpy()
        truth = np.array([(p.valence, p.arousal) for p in test_paintings])
        scored["image_va_error"] = _mean(np.linalg.norm(predicted - truth, axis=1))
        corpus = [score_to_ids(pipe.tokenizer, score) for score in train_scores]
        shared = [metrics.longest_shared_run(piece.tokens, corpus) for piece in generated]
        runs = [length for length, _ in shared]
        bars = [sum(int(pipe.facts.bars[t]) for t in piece.tokens[start:start + length])  # Bar tokens inside the run
                for piece, (length, start) in zip(generated, shared)]
        scored["novelty"] = {"longest_shared_tokens_max": int(max(runs, default=0)),
                             "longest_shared_tokens_mean": _mean(runs), "longest_shared_bars_max": int(max(bars, default=0)),
                             "mean_tokens_per_piece": _mean([len(p.tokens) for p in generated]),
                             "mean_piece_seconds": _mean([p.seconds for p in generated])}
        report["models"][name] = scored
        print(f"{name}: judge VA distance {scored['judge_va_distance']:.3f}", file=sys.stderr)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps(report, indent=1) + "\n")
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
