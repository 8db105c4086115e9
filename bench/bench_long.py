"""Long pieces and loops from the flow stage 1: do they stay music, and are the seams inaudible by measurement?

For a few images of a split, one piece of ``--seconds`` (default 180) is written by overlapping windows
(:mod:`art2music.audio_engine.decoders.flow_windows`), and one ``--loop-seconds`` loop. On stage 1's log-mel:

- **seams**: spectral flux (mean |m[:, t+1] − m[:, t]| over bins) at the frames inside each window overlap,
  against the flux everywhere else; the issue's bar: seam flux no larger than within windows;
- **no decay**: temporal variation (per-bin std over time, averaged) of each 10-s section, and its ratio to the
  first section's, so a piece that fades into silence or noise shows;
- **loops**: the flux across the wrap point (last frame → first frame) against the mean flux inside the loop,
  over ``--loop-seeds`` loops per item (one step per loop is a noisy figure); as a control, the flux of an ordinary
  step half-way through each loop, and the wrap step's percentile among its loop's steps (0.5: a typical step);
- **speed**: seconds to compose and vocode the whole piece (the issue asks for a 3-minute piece in < 15 s).

Usage: python bench/bench_long.py --model PIPELINE --manifest datasets/demo/articaps/manifest.csv [--items 4]
       [--seconds 180] [--loop-seconds 8] [--loop-seeds 8] [--steps N] [--threads 2] [--split test]
Writes bench/results/long_pieces.json.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from common import write_result


def flux_per_frame(mel: np.ndarray) -> np.ndarray:
    """``(n_mels, T)`` → ``(T − 1,)``: mean absolute change between consecutive frames."""
    return np.abs(np.diff(mel, axis=1)).mean(axis=0)


def seam_frames(frames: int, window: int) -> np.ndarray:
    """Indices ``t`` of the flux steps ``t → t + 1`` inside a window overlap (frames covered by two windows)."""
    from art2music.audio_engine.decoders.flow_windows import window_plan, window_starts

    window, overlap = window_plan(frames, window)
    covering = np.zeros(frames, dtype=int)
    for start in window_starts(frames, window, overlap, loop=False):
        covering[start:start + window] += 1
    shared = covering > 1
    return np.flatnonzero(shared[:-1] | shared[1:])  # the steps into, through and out of each overlap


def section_variation(mel: np.ndarray, frames_per_section: int) -> list[float]:
    from art2music.evaluation.metrics import temporal_variation

    return [float(temporal_variation(mel[:, start:start + frames_per_section]))
            for start in range(0, mel.shape[1] - frames_per_section + 1, frames_per_section)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--items", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--loop-seconds", type=float, default=8.0)
    parser.add_argument("--steps", type=int, default=None, help="ODE steps (default: the model's)")
    parser.add_argument("--loop-seeds", type=int, default=8, help="loops per item (one wrap step each)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.set_num_threads(args.threads)
    from art2music.articaps.manifest import read_manifest
    from art2music.pipeline import Art2Music

    pipe = Art2Music.from_pretrained(args.model)
    if not pipe.is_generative:
        raise SystemExit("bench_long needs a pipeline with the flow stage 1")
    manifest = read_manifest(args.manifest)
    rows = [manifest[index] for index in manifest.split_indices(args.split)]
    seen, items = set(), []
    for row in rows:  # one comment per painting
        if row.image_path not in seen:
            seen.add(row.image_path)
            items.append(row)
        if len(items) == args.items:
            break
    window = pipe.stage1.decoder.frames
    section = pipe.mel_config.seconds_to_frames(10.0)
    results = []
    for index, row in enumerate(items):
        text, image = pipe.embed([manifest.resolve(row.image_path)], [row.comment])
        started = time.perf_counter()
        mel = pipe.embeddings_to_mel(text, image, seeds=[index], seconds=args.seconds, steps=args.steps)
        composed = time.perf_counter()
        pipe.mel_to_audio(mel)
        voiced = time.perf_counter()
        mel = mel[0].numpy()
        flux = flux_per_frame(mel)
        seams = seam_frames(mel.shape[1], window)
        within = np.setdiff1d(np.arange(flux.size), seams)
        variation = section_variation(mel, section)
        seeds = [1000 * index + k for k in range(args.loop_seeds)]
        loops = pipe.embeddings_to_mel(text.repeat(len(seeds), 1), image.repeat(len(seeds), 1), seeds=seeds,
                                       seconds=args.loop_seconds, loop=True, steps=args.steps).numpy()
        loop_flux = np.stack([flux_per_frame(loop) for loop in loops])  # (seeds, T - 1)
        wraps = np.abs(loops[:, :, 0] - loops[:, :, -1]).mean(axis=1)  # (seeds,) the step from the end to the start
        middle = loop_flux[:, loop_flux.shape[1] // 2]  # a control: an ordinary step half-way through each loop
        wrap_rank = float(np.mean([(row < wrap).mean() for row, wrap in zip(loop_flux, wraps)]))
        results.append({"id": row.id, "seconds": args.seconds, "compose_seconds": round(composed - started, 2),
                        "vocode_seconds": round(voiced - composed, 2),
                        "seam_flux": float(flux[seams].mean()), "within_flux": float(flux[within].mean()),
                        "section_temporal_variation": [round(v, 4) for v in variation],
                        "last_over_first_section": round(variation[-1] / variation[0], 3),
                        "loop_seconds": args.loop_seconds, "loops": len(seeds), "wrap_flux": float(wraps.mean()),
                        "middle_step_flux": float(middle.mean()), "loop_within_flux": float(loop_flux.mean()),
                        "wrap_step_percentile": round(wrap_rank, 3)})
        print(results[-1], flush=True)
    summary = {name: float(np.mean([r[name] for r in results]))
               for name in ("seam_flux", "within_flux", "wrap_flux", "middle_step_flux", "loop_within_flux",
                            "wrap_step_percentile", "compose_seconds", "vocode_seconds", "last_over_first_section")}
    summary["seam_over_within"] = summary["seam_flux"] / summary["within_flux"]
    summary["wrap_over_within"] = summary["wrap_flux"] / summary["loop_within_flux"]
    summary["middle_step_over_within"] = summary["middle_step_flux"] / summary["loop_within_flux"]
    path = write_result("long_pieces", {"what": "flow stage 1: long pieces from overlapping windows sampled together, and loops (stage-1 "
                                                "log-mel figures; compose/vocode wall seconds)",
                                        "model": args.model, "steps": args.steps or pipe.stage1.decoder.config.steps,
                                        "threads": args.threads, "window_frames": window, "summary": summary,
                                        "items": results})
    print(summary, f"\nwrote {path}")


if __name__ == "__main__":
    main()
