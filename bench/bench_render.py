"""End-to-end batch-rendering throughput: images per minute and x real time, one by one versus batched.

Measures ``art2music.render.render_collection`` (image decoding, encoder, stage 1, vocoder, WAV + PNG +
thumbnail + record writes) on synthetic 512x384 JPEG "paintings", with random weights (speed does not
depend on the values), for two model sizes:

- ``demo``: the shipped demo's sizes (tiny OpenCLIP, stage 1 with 128-wide fusion / 2x128 BiLSTM, a
  half-width HiFi-GAN V3), 4 s clips (344 frames), as in configs/demo/*.yaml;
- ``paper``: the paper's sizes: ViT-H-14 (random weights), stage 1 of 512 / 4x512 BiLSTM for 862 frames
  (10 s), HiFi-GAN V1. Slow on CPU: keep ``--paper-images`` small.

``--decoder flow`` swaps the BiLSTM for the flow decoder sized as in ``configs/demo/stage1_flow.yaml`` (demo) and
``configs/stage1_flow.yaml`` (paper), sampled with their default steps and guidance (``--steps`` overrides).

Before timing a batch size, every step runs once untimed on a batch of that size at the full clip length
(oneDNN builds its kernels for each new input shape on first use). Then ``--rounds`` timed runs with ``redo`` so
every item is really rendered; the fastest is kept (the machine is shared: the load average is recorded).
The paper's sizes get one timed run and no per-step breakdown, so they finish in a few minutes. x real time = seconds of audio / seconds of wall time.

Usage: python bench/bench_render.py [--sizes demo paper] [--demo-images 16] [--paper-images 2]
       [--batch-sizes 1 8] [--threads 2] [--rounds 2] [--skip-paper] [--quick] [--decoder flow [--steps N]]
Results land in bench/results/render.json under "<size>/threads=<n>" (the flow decoder:
"<size>/flow-<steps>steps[-<solver>]/threads=<n>"); entries not re-measured are kept.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from common import RESULTS, write_result

from art2music.encoders.clip import TINY_ARCH, ClipEncoder  # noqa: E402  (common puts the repo on sys.path)
from art2music.audio_engine.decoders.flow import FlowConfig  # noqa: E402
from art2music.audio_engine.stage1 import Stage1Config, Stage1Model  # noqa: E402
from art2music.pipeline import Art2Music  # noqa: E402
from art2music.render import RenderSettings, read_collection, render_collection  # noqa: E402
from vocoder import PRESETS, Generator, GeneratorConfig, MelConfig, resolve_precision  # noqa: E402

DEMO_VOCODER = GeneratorConfig(resblock="2", upsample_rates=(8, 8, 4), upsample_kernel_sizes=(16, 16, 8),
                               upsample_initial_channel=128, resblock_kernel_sizes=(3, 5, 7),
                               resblock_dilation_sizes=((1, 2), (2, 6), (3, 12)))


FLOW_CONFIGS = {"demo": "configs/demo/stage1_flow.yaml", "paper": "configs/stage1_flow.yaml"}


def flow_config(size: str, steps: int | None) -> tuple[FlowConfig, int]:
    """The flow decoder's sizes and its fusion width from the size's training config (``steps`` overrides)."""
    import yaml

    model = yaml.safe_load((RESULTS.parent.parent / FLOW_CONFIGS[size]).read_text())["model"]
    values = dict(model["flow"])
    if steps is not None:
        values["steps"] = steps
    return FlowConfig(**values), int(model.get("fusion_dim", 512))


def build(size: str, decoder: str = "bilstm", steps: int | None = None) -> Art2Music:
    """A random-weight pipeline of the ``demo`` or ``paper`` sizes (see module docstring)."""
    torch.manual_seed(0)
    mel = MelConfig()
    flow, fusion = flow_config(size, steps) if decoder == "flow" else (None, None)
    if size == "demo":
        encoder = ClipEncoder(TINY_ARCH, None)
        stage1 = Stage1Config(embed_dim=encoder.embed_dim, fusion_dim=fusion or 128, decoder_input_dim=128,
                              lstm_hidden=128, lstm_layers=2, frames=344, decoder=decoder, flow=flow)
        vocoder = Generator(DEMO_VOCODER, mel)
    else:
        encoder = ClipEncoder("ViT-H-14", None)
        # the paper's defaults: 512, 4 x 512, 862 frames
        stage1 = Stage1Config(embed_dim=encoder.embed_dim, fusion_dim=fusion or 512, decoder=decoder, flow=flow)
        vocoder = Generator(PRESETS["v1"], mel)
    # the arithmetic a user gets by default (precision="auto": bf16 where the CPU runs it natively)
    vocoder = vocoder.remove_weight_norm().set_inference_dtype(resolve_precision("auto"))
    return Art2Music(encoder, Stage1Model(stage1), vocoder, mel, precision=resolve_precision("auto"))


def write_paintings(folder: Path, count: int) -> Path:
    """``count`` 512x384 JPEGs with smooth colour fields and noise (a typical web-sized artwork)."""
    from PIL import Image

    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    y, x = np.mgrid[0:384, 0:512] / 512.0
    for index in range(count):
        phase = rng.uniform(0, 6.28, size=3)
        field = np.stack([np.sin(6 * x + 4 * y + p) for p in phase], axis=-1) * 0.4 + 0.5
        pixels = np.clip(field + rng.normal(0, 0.05, field.shape), 0, 1) * 255
        Image.fromarray(pixels.astype(np.uint8)).save(folder / f"painting{index:03d}.jpg", quality=90)
    rows = "".join(f"painting{i:03d}.jpg,a {['calm', 'joyful', 'gloomy'][i % 3]} painting number {i}\n"
                   for i in range(count))
    (folder / "collection.csv").write_text("image,comment\n" + rows, encoding="utf-8")
    return folder / "collection.csv"


def warm_up(pipe: Art2Music, csv_path: Path, batch_size: int) -> None:
    """Run every step once on a batch of ``batch_size`` at the full clip length, so no timed run pays for
    kernel creation or first page-ins: oneDNN sets up its kernels per input shape, and with bf16 on AMX the
    first 10-s clip through V1 takes 4.6 s instead of 1.0-1.6 s (a user pays that once per clip length). The
    first call also converts the encoders' weights to bf16 (:meth:`ClipEncoder.set_inference_dtype`)."""
    from art2music.io.images import load_image

    items = read_collection(csv_path).items
    images = [load_image(items[index % len(items)].image) for index in range(batch_size)]
    text, image = pipe.embed(images, ["warm-up"] * batch_size)
    pipe.mel_to_audio(pipe.embeddings_to_mel(text, image))


def measure(pipe: Art2Music, csv_path: Path, out_dir: Path, batch_size: int, rounds: int) -> dict:
    collection = read_collection(csv_path)
    warm_up(pipe, csv_path, batch_size)
    settings = RenderSettings(batch_size=batch_size, progress=False, redo=True)
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        report = render_collection(pipe, collection, out_dir / f"batch{batch_size}", settings, "bench")
        times.append(time.perf_counter() - started)
        if report.summary["ok"] != len(collection.items):
            raise RuntimeError(f"benchmark render failed: {report.summary}")
    seconds = min(times)
    audio_seconds = len(collection.items) * pipe.duration_seconds
    return {"batch_size": batch_size, "images": len(collection.items), "wall_seconds": round(seconds, 3),
            "all_wall_seconds": [round(t, 3) for t in times], "images_per_minute": round(60 * len(collection.items)
                                                                                           / seconds, 2),
            "x_real_time": round(audio_seconds / seconds, 3), "audio_seconds_per_image": round(pipe.duration_seconds, 3)}


def stage_times(pipe: Art2Music, csv_path: Path, batch_size: int) -> dict:
    """Seconds per image of each step for one batch (to explain where the time goes)."""
    from art2music.io.images import load_image
    from art2music.render.outputs import write_mel_png
    from vocoder.audio import write_wav

    collection = read_collection(csv_path)
    items = collection.items[:batch_size]
    started = time.perf_counter()
    images = [load_image(item.image) for item in items]
    loaded = time.perf_counter()
    text, image = pipe.embed(images, [item.comment for item in items])
    embedded = time.perf_counter()
    mel = pipe.embeddings_to_mel(text, image)
    mels = time.perf_counter()
    audio = pipe.mel_to_audio(mel)
    voiced = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        for index in range(len(items)):
            write_wav(Path(scratch) / f"{index}.wav", audio[index], pipe.sample_rate)
            write_mel_png(Path(scratch) / f"{index}.png", mel[index].float().numpy())
    written = time.perf_counter()
    count = len(items)
    return {"batch_size": batch_size, "load_images": round((loaded - started) / count, 4),
            "encoder": round((embedded - loaded) / count, 4), "stage1": round((mels - embedded) / count, 4),
            "vocoder": round((voiced - mels) / count, 4), "write_wav_png": round((written - voiced) / count, 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--demo-images", type=int, default=16)
    parser.add_argument("--paper-images", type=int, default=2)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--threads", type=int, nargs="+", default=[2], help="torch intra-op threads (each value)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--sizes", nargs="+", choices=("demo", "paper"), default=["demo", "paper"])
    parser.add_argument("--skip-paper", action="store_true", help="same as --sizes demo")
    parser.add_argument("--decoder", choices=("bilstm", "flow"), default="bilstm", help="stage-1 decoder")
    parser.add_argument("--steps", type=int, default=None, help="flow ODE steps (default: the config's)")
    parser.add_argument("--quick", action="store_true",
                        help="a short check (demo sizes, 4 images, batch sizes 1 and 4, one round), stored apart")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.demo_images, args.batch_sizes, args.rounds = ["demo"], 4, [1, 4], 1
    if args.skip_paper:
        args.sizes = [size for size in args.sizes if size != "paper"]
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    # Entries not measured now (other sizes or thread counts) are kept from the previous results file.
    previous = RESULTS / "render.json"
    results = json.loads(previous.read_text())["results"] if previous.is_file() else {}
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        for size in args.sizes:
            count = args.demo_images if size == "demo" else args.paper_images
            csv_path = write_paintings(scratch / f"{size}_in", count)
            built = time.perf_counter()
            pipe = build(size, args.decoder, args.steps)
            build_seconds = time.perf_counter() - built
            batch_sizes = sorted({min(b, count) for b in args.batch_sizes})
            small = size == "demo"  # the paper's sizes: one timed round, to stay within a few minutes
            for threads in args.threads:
                torch.set_num_threads(threads)
                load_before = os.getloadavg()
                runs = [measure(pipe, csv_path, scratch / f"{size}_out", b, args.rounds if small else 1)
                        for b in batch_sizes]
                one, best = runs[0], runs[-1]
                entry = {"size": size, "decoder": args.decoder, "torch_threads": threads, "build_seconds": round(build_seconds, 2),
                         "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                         "vocoder_precision": str(resolve_precision("auto")).removeprefix("torch."),
                         "encoder_precision": str(resolve_precision("auto")).removeprefix("torch."),
                         "load_average_before": [round(v, 2) for v in load_before],
                         "load_average_after": [round(v, 2) for v in os.getloadavg()], "runs": runs,
                         "speedup_batched_vs_one_by_one": round(one["wall_seconds"] / best["wall_seconds"], 2)}
                if small:
                    entry["stage_seconds_per_image"] = [stage_times(pipe, csv_path, b) for b in batch_sizes]
                if args.decoder == "flow":
                    flow = pipe.stage1.config.flow
                    entry["flow"] = {"steps": flow.steps, "solver": flow.solver, "guidance": flow.guidance,
                                     "guidance_until": flow.guidance_until, "channels": flow.channels}
                decoder_key = ""
                if args.decoder == "flow":
                    flow = pipe.stage1.config.flow
                    decoder_key = f"/flow-{flow.steps}steps" + ("" if flow.solver == "euler" else f"-{flow.solver}")
                results[f"{size}{decoder_key}/threads={threads}" + ("/quick" if args.quick else "")] = entry
                print(size, threads, {r["batch_size"]: (r["images_per_minute"], r["x_real_time"]) for r in runs},
                      flush=True)
            del pipe
    path = write_result("render", {
        "what": "end-to-end art2music render (decode, encode, stage 1, vocoder, write WAV/PNG/thumbnail/record) "
                "with random weights; images_per_minute and x_real_time per batch size, fastest of the rounds; "
                "the machine is shared, so each entry records its load average",
        "results": dict(sorted(results.items()))})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
