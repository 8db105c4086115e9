"""Does the target feeling steer the music? Sweep valence (arousal fixed) and arousal (valence fixed) for fixed images.

For each image and each axis, the target runs over ``--points`` values from -1 to 1 while the other coordinate
stays at ``--fixed``; every output is read back:

- by the VA judge (:mod:`art2music.emotion_judge`, the pipeline folder's ``va_judge/``; for ``demo-midi`` the audio
  demo's, trained on the same corpus) on the rendered audio: judged valence for the valence sweep, judged arousal
  for the arousal sweep;
- for the midi engine also by musical facts independent of any learned model: the share of major keys
  (Krumhansl-Kessler key finding) against valence, tempo (BPM) and notes per second against arousal.

Spearman's rho between the swept target and each reading is given per image and pooled over all images' points,
with the mean over images (an engine that follows its target gives rho near 1). The audio engine needs a stage 1
trained with emotion conditioning; others are refused with the reason. Writes ``bench/results/va_sweep_<engine>.json``
(or ``--out``).

Usage: python bench/bench_va_sweep.py [--model demo-midi|DIR] [--manifest M --split test | --images DIR_OR_CSV]
       [--count 8] [--points 9] [--fixed 0] [--seeds 2] [--seconds 8] [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from common import write_result

REPOSITORY = Path(__file__).resolve().parents[1]
DEFAULT_MANIFEST = REPOSITORY / "datasets" / "demo" / "articaps" / "manifest.csv"
AXES = ("valence", "arousal")


def pick_images(args: argparse.Namespace) -> list[Path]:
    """The images to sweep: ``--images`` (a folder or render CSV), else the manifest split's distinct paintings, else
    the bundled example collection; the first ``--count``."""
    if args.images is None and Path(args.manifest).is_file():
        from art2music.articaps.manifest import read_manifest

        manifest = read_manifest(args.manifest)
        paths = list(dict.fromkeys(manifest.resolve(manifest[row].image_path) for row in manifest.split_indices(args.split)))
    else:
        from art2music.render.inputs import read_collection

        paths = [item.image for item in read_collection(args.images or REPOSITORY / "examples" / "collection").items]
    if not paths:
        raise SystemExit("no images to sweep")
    return paths[:args.count]


def load_engine(model: str):
    """``(engine name, pipeline, judge or None)`` for a pipeline folder or ``demo`` / ``demo-midi``."""
    from art2music.emotion_judge import find_va_judge, load_va_judge
    from art2music.export.format import DEMO_DIR, read_pipeline_meta, resolve_pipeline_folder

    folder = resolve_pipeline_folder(model)
    if read_pipeline_meta(folder)["engine"] == "midi":
        from art2music.symbolic.pipeline import Art2Midi

        judge = find_va_judge(folder) or (find_va_judge(DEMO_DIR) if model == "demo-midi" else None)
        return "midi", Art2Midi.from_pretrained(model), None if judge is None else load_va_judge(judge)
    from art2music import Art2Music

    pipe = Art2Music.from_pretrained(model, precision="float32")
    if not pipe.accepts_va:
        pipe.check_va((0.0, 0.0))  # raises the one-line reason
    return "audio", pipe, pipe.va_judge


def readings(engine: str, pipe, judge, image, valence: float, arousal: float, seeds: int, seconds: float) -> dict:
    """The mean readings of the outputs for one target over ``seeds`` draws."""
    values: dict[str, list[float]] = {}

    def add(name: str, value: float) -> None:
        values.setdefault(name, []).append(float(value))

    for seed in range(seeds):
        if engine == "midi":
            from art2music.symbolic.metrics import estimate_key, notes_per_second

            piece = pipe(image, valence=valence, arousal=arousal, seconds=seconds, seed=seed)
            notes = piece.notes
            add("major", 1.0 if notes and estimate_key(notes)[1] == "major" else 0.0)
            add("tempo_bpm", piece.tempo_bpm)
            add("notes_per_second", notes_per_second(notes))
            audio = piece.to_audio(pipe.sample_rate) if judge is not None and notes else None
        else:
            options = {"seed": seed} if pipe.is_generative else {}
            audio = pipe(image, valence=valence, arousal=arousal, **options)
        if judge is not None and audio is not None and len(audio) > 0:
            judged_valence, judged_arousal = judge.judge_waveform(audio)
            add("judged_valence", judged_valence)
            add("judged_arousal", judged_arousal)
        if engine == "audio" and not pipe.is_generative:
            break  # deterministic: more draws give the same piece
    return {name: float(np.mean(numbers)) for name, numbers in values.items()}


READINGS_PER_AXIS = {"valence": ("judged_valence", "major"), "arousal": ("judged_arousal", "tempo_bpm",
                                                                         "notes_per_second")}


def summarize(sweeps: list[dict], targets: np.ndarray) -> dict:
    """Spearman rho per image and pooled, for each axis and each of its readings."""
    from art2music.emotion_judge.agreement import spearman_rho

    summary: dict = {}
    for axis in AXES:
        for name in READINGS_PER_AXIS[axis]:
            per_image, pooled_x, pooled_y = [], [], []
            for sweep in sweeps:
                points = sweep[axis]
                if not all(name in point for point in points):
                    continue
                series = [point[name] for point in points]
                per_image.append(spearman_rho(targets, series))
                pooled_x += list(targets)
                pooled_y += series
            if not pooled_x:
                continue
            defined = [rho for rho in per_image if rho is not None]
            summary[f"{axis}->{name}"] = {
                "rho_mean_over_images": float(np.mean(defined)) if defined else None,
                "rho_per_image": per_image, "rho_pooled": spearman_rho(pooled_x, pooled_y),
                "images_with_constant_reading": sum(rho is None for rho in per_image)}
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="demo-midi", help="pipeline folder, 'demo' or 'demo-midi' (default)")
    parser.add_argument("--manifest", default=str(DEFAULT_MANIFEST), help="ArtiCaps manifest whose split's paintings "
                                                                          "are swept (default: the demo corpus's)")
    parser.add_argument("--split", default="test")
    parser.add_argument("--images", default=None, help="a folder of images or a render CSV instead of the manifest")
    parser.add_argument("--count", type=int, default=8, help="images (default 8)")
    parser.add_argument("--points", type=int, default=9, help="target values from -1 to 1 per axis (default 9)")
    parser.add_argument("--fixed", type=float, default=0.0, help="the other coordinate during a sweep (default 0)")
    parser.add_argument("--seeds", type=int, default=2, help="draws per target for sampling engines (default 2)")
    parser.add_argument("--seconds", type=float, default=8.0, help="midi engine: piece length (default 8 s)")
    parser.add_argument("--out", default=None, help="JSON file (default bench/results/va_sweep_<engine>.json)")
    parser.add_argument("--quick", action="store_true", help="2 images, 5 points, 1 draw, 4-s pieces")
    args = parser.parse_args()
    if args.quick:
        args.count, args.points, args.seeds, args.seconds = 2, 5, 1, 4.0
    if args.count < 1 or args.points < 3 or args.seeds < 1 or not -1 <= args.fixed <= 1:
        parser.error("need --count >= 1, --points >= 3, --seeds >= 1 and --fixed in [-1, 1]")
    try:
        engine, pipe, judge = load_engine(args.model)
    except ValueError as error:
        print(f"bench_va_sweep: {error}", file=sys.stderr)
        return 2
    images = pick_images(args)
    targets = np.linspace(-1.0, 1.0, args.points)
    started = time.perf_counter()
    sweeps = []
    for image in images:
        sweep = {"image": str(image)}
        for axis in AXES:
            sweep[axis] = [readings(engine, pipe, judge, image, *((value, args.fixed) if axis == "valence" else
                                                                (args.fixed, value)), args.seeds, args.seconds)
                           for value in targets]
        sweeps.append(sweep)
        print(f"swept {image.name}", file=sys.stderr)
    payload = {"model": args.model, "engine": engine, "judge": judge is not None, "images": len(images),
               "targets": targets.tolist(), "fixed": args.fixed, "seeds": args.seeds,
               "seconds": args.seconds if engine == "midi" else None, "spearman": summarize(sweeps, targets),
               "sweeps": sweeps, "wall_seconds": round(time.perf_counter() - started, 1)}
    if args.out:
        from vocoder.files import atomic_write_text

        atomic_write_text(Path(args.out), json.dumps(payload, indent=2) + "\n")
        path = args.out
    else:
        path = write_result(f"va_sweep_{engine}", payload)
    for name, figures in payload["spearman"].items():
        print(f"{name}: rho mean over images {figures['rho_mean_over_images']}, pooled {figures['rho_pooled']}",
              file=sys.stderr)
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
