"""Flow decoder: quality against ODE steps (FAD and flux at 2, 4, 8, 16, 32 steps), to pick the default.

For each number of steps, every item of the split is sampled (seed ``2 · row``, as ``art2music evaluate`` does),
vocoded with the pipeline's vocoder, and re-analysed into a log-mel. Against the split's true clips (their cached
log-mels) it reports FAD on the offline mel-stats embedding (not VGGish), and temporal variation, flux and
inter-item distance as ratios to the true clips' (see :mod:`art2music.evaluation.metrics`), plus the wall time of
stage 1 per item. The same figures on stage 1's own mels (before the vocoder) are under ``stage1_mel``: the demo
vocoder smooths (copy-synthesis of the TRUE mels keeps only ~0.4x their flux), so the two tell the decoder's share
from the vocoder's. ``--baseline`` adds the same figures for another pipeline (e.g. the BiLSTM demo) once.

Usage: python bench/bench_flow_steps.py --model FLOW_PIPELINE --manifest datasets/demo/articaps/manifest.csv
       [--baseline demo] [--steps 2 4 8 16 32] [--guidance G] [--split test]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from common import write_result


def _figures(mels: list[np.ndarray], reference: list[np.ndarray], embedding) -> dict:
    from art2music.evaluation.metrics import (frechet_audio_distance, inter_item_distance, spectral_flux,
                                              temporal_variation)

    def summary(items):
        return {"temporal_variation": float(np.mean([temporal_variation(m) for m in items])),
                "flux": float(np.mean([spectral_flux(m) for m in items])),
                "inter_item_distance": inter_item_distance(np.stack([m.mean(axis=1) for m in items]))}

    ours, truth = summary(mels), summary(reference)
    fad = frechet_audio_distance(np.concatenate([embedding.embed_mel(m) for m in reference]),
                                 np.concatenate([embedding.embed_mel(m) for m in mels])).value
    return {"fad_mel_stats": fad, **ours, **{f"{name}_ratio": ours[name] / truth[name] for name in truth}}


def _render(pipe, text, image, rows, batch_size, **sampling) -> tuple[list[np.ndarray], list[np.ndarray], float]:
    from art2music.io.audio import waveform_to_mel

    mels, stage1_mels, seconds = [], [], 0.0
    for start in range(0, len(rows), batch_size):
        chunk = slice(start, start + batch_size)
        options = dict(sampling)
        if pipe.is_generative:
            options["seeds"] = [2 * row for row in rows[chunk]]
        began = time.perf_counter()
        mel = pipe.embeddings_to_mel(text[chunk], image[chunk], **options)
        seconds += time.perf_counter() - began
        stage1_mels += list(mel.float().cpu().numpy())
        mels += [waveform_to_mel(audio, pipe.mel_config) for audio in pipe.mel_to_audio(mel)]
    return mels, stage1_mels, seconds / len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a pipeline folder with a flow stage 1")
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--baseline", default=None, help="another pipeline to score once (e.g. 'demo')")
    parser.add_argument("--split", default="test")
    parser.add_argument("--steps", type=int, nargs="+", default=[2, 4, 8, 16, 32])
    parser.add_argument("--guidance", type=float, default=None)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--name", default="flow_steps", help="result file name in bench/results/")
    args = parser.parse_args()
    from art2music.evaluation.embeddings import MelStatsEmbedding
    from art2music.evaluation.setup import EvaluationContext

    context = EvaluationContext.load(args.model, args.manifest, args.split, None, "cpu")
    rows = context.split_rows
    text, image, failed = context.embeddings_for(rows)
    rows = [row for row in rows if row not in failed]
    reference = [context.cache.mel(row) for row in rows]
    embedding = MelStatsEmbedding(context.pipe.mel_config)
    truth = _figures(reference, reference, embedding)
    results = {"model": args.model, "manifest": args.manifest, "split": args.split, "items": len(rows),
               "guidance": args.guidance if args.guidance is not None else context.pipe.sampling_defaults()["guidance"],
               "load_average": os.getloadavg()[0],
               "true_clips": {name: truth[name] for name in ("temporal_variation", "flux", "inter_item_distance")},
               "steps": {}}
    for steps in args.steps:
        mels, stage1_mels, per_item = _render(context.pipe, text, image, rows, args.batch_size, steps=steps,
                                              guidance=args.guidance)
        results["steps"][str(steps)] = {**_figures(mels, reference, embedding), "stage1_seconds_per_item": per_item,
                                        "stage1_mel": _figures(stage1_mels, reference, embedding)}
        print(steps, results["steps"][str(steps)], flush=True)
    if args.baseline:
        baseline = EvaluationContext.load(args.baseline, args.manifest, args.split, None, "cpu").pipe
        mels, stage1_mels, per_item = _render(baseline, text, image, rows, args.batch_size)
        results["baseline"] = {"model": args.baseline, "decoder": baseline.decoder,
                               **_figures(mels, reference, embedding), "stage1_seconds_per_item": per_item,
                               "stage1_mel": _figures(stage1_mels, reference, embedding)}
        print("baseline", results["baseline"], flush=True)
    print(write_result(args.name, results))


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    main()
