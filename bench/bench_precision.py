"""What ``precision="auto"`` buys on this CPU, and what it costs in fidelity: bf16 against forced float32.

Measured in one run, float32 and the default interleaved round by round (best of ``--rounds``), so the
ratios hold on a shared machine even when absolute figures drift:

- ``demo``: the shipped demo pipeline (art2music/assets/demo) rendering ``--demo-images`` synthetic
  paintings in batches of 8 (encode → stage 1 → vocoder, the work of ``render``, no file writes); fidelity:
  embedding cosine, mel L1 change (and, when the demo corpus is built, that change as a share of the
  model's own error against the true clips of its test split), vocoder signal-to-error;
- ``paper``: the paper's sizes with random weights (ViT-H-14 image and text towers, stage 1 with a 4x512
  BiLSTM for 862 frames = 10 s, HiFi-GAN V1), one image: seconds per stage and x real time for a 10-s clip;
- ``--fidelity DIR ...``: other pipeline folders (e.g. a BiLSTM export): their precisions and the bf16 mel change
  as a share of their error against the demo test split's true clips.

The CPU's name and bf16 capability flags are recorded beside the figures. Usage:
python bench/bench_precision.py [--threads 2] [--rounds 3] [--demo-images 16] [--skip-paper] [--quick] [--data DIR]
       [--fidelity DIR ...]
Writes bench/results/precision.json.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch

from common import write_result

from art2music.audio_engine.stage1 import Stage1Config, Stage1Model  # noqa: E402  (common puts the repo on sys.path)
from art2music.encoders.clip import ClipEncoder  # noqa: E402
from art2music.pipeline import Art2Music  # noqa: E402
from vocoder import PRESETS, Generator, MelConfig  # noqa: E402
from vocoder.precision import NATIVE_BF16_FLAGS, bf16_support, cpu_flags, resolve_precision  # noqa: E402

DEMO_DATA = Path(__file__).resolve().parents[1] / "datasets" / "demo" / "articaps"


def paintings(count: int, seed: int = 0) -> list:
    """Synthetic 512x384 'paintings' (colour fields and noise), enough to exercise the encoders."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    images = []
    for _ in range(count):
        base = rng.integers(0, 255, size=3)
        pixels = np.clip(base + rng.normal(0, 40, size=(384, 512, 3)), 0, 255).astype(np.uint8)
        images.append(Image.fromarray(pixels))
    return images


def snr_db(reference: np.ndarray, other: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(reference ** 2) / max(np.sum((reference - other) ** 2), 1e-20)))


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.nn.functional.cosine_similarity(a, b).min())


def _best(seconds: list[float]) -> float:
    return round(min(seconds), 4)


def demo_comparison(images: int, rounds: int, data: Path = DEMO_DATA) -> dict:
    """The shipped demo pipeline in float32 and in the default precision, rendering ``images`` paintings."""
    exact = Art2Music.from_pretrained("demo", precision="float32")
    fast = Art2Music.from_pretrained("demo", precision="auto")
    pictures, comments = paintings(images), ["a calm evening by the sea"] * images
    batches = [(pictures[i:i + 8], comments[i:i + 8]) for i in range(0, images, 8)]
    times: dict[str, list[float]] = {"float32": [], "default": []}
    for _ in range(rounds + 1):  # the first round warms oneDNN's kernels up and is not counted
        for name, pipe in (("float32", exact), ("default", fast)):
            start = time.perf_counter()
            for batch_images, batch_comments in batches:
                pipe.mel_to_audio(pipe.embeddings_to_mel(*pipe.embed(batch_images, batch_comments)))
            times[name].append(time.perf_counter() - start)
    times = {name: values[1:] for name, values in times.items()}
    text32, image32 = exact.embed(pictures[:8], comments[:8])
    text16, image16 = fast.embed(pictures[:8], comments[:8])
    mel32, mel16 = exact.embeddings_to_mel(text32, image32), fast.embeddings_to_mel(text16, image16)
    audio32, audio16 = exact.mel_to_audio(mel32), fast.mel_to_audio(mel32)
    result = {"precisions": fast.precisions, "images": images, "batch_size": 8,
              "seconds_float32": _best(times["float32"]), "seconds_default": _best(times["default"]),
              "speedup": round(min(times["float32"]) / min(times["default"]), 2),
              "images_per_minute_default": round(60 * images / min(times["default"]), 1),
              "x_real_time_default": round(images * exact.duration_seconds / min(times["default"]), 1),
              "text_embedding_cosine_min": round(cosine(text32, text16), 6),
              "image_embedding_cosine_min": round(cosine(image32, image16), 6),
              "mel_l1_change": round(float((mel32 - mel16).abs().mean()), 5),
              "vocoder_signal_to_error_db": round(snr_db(audio32, audio16), 1)}
    result.update(_share_of_model_error(exact, fast, data))
    return result


def model_fidelity(folder: str, data: Path) -> dict:
    """A pipeline folder's precisions under ``auto`` and its bf16 mel change as a share of its own error."""
    exact = Art2Music.from_pretrained(folder, precision="float32")
    fast = Art2Music.from_pretrained(folder, precision="auto")
    return {"model": folder, "decoder": fast.decoder, "precisions": fast.precisions,
            **_share_of_model_error(exact, fast, data)}


def _share_of_model_error(exact: Art2Music, fast: Art2Music, data: Path) -> dict:
    """The bf16 mel change as a share of the model's own mel L1 against the true clips (demo test split)."""
    if not (data / "manifest.csv").is_file():
        return {"model_error_note": f"{data} not built (make demo-data): no share of the model's error"}
    from art2music.articaps.feature_cache import FeatureCache
    from art2music.articaps.manifest import read_manifest

    manifest = read_manifest(data / "manifest.csv")
    rows = manifest.split_indices("test")[:32]
    cache = FeatureCache.open(data / "cache", ids=manifest.ids)
    images = [manifest.resolve(manifest[row].image_path) for row in rows]
    comments = [manifest[row].comment for row in rows]
    truth = torch.from_numpy(cache.mel_batch(rows))
    mel32 = exact.embeddings_to_mel(*exact.embed(images, comments))[..., :truth.shape[-1]]
    mel16 = fast.embeddings_to_mel(*fast.embed(images, comments))[..., :truth.shape[-1]]
    error = float((mel32 - truth).abs().mean())
    change = float((mel32 - mel16).abs().mean())
    return {"test_pairs": len(rows), "model_mel_l1_to_truth": round(error, 4),
            "mel_l1_change_share_of_model_error": round(change / error, 5)}


def paper_comparison(rounds: int) -> dict:
    """Seconds per stage for one image and a 10-s clip at the paper's sizes (random weights)."""
    torch.manual_seed(0)
    encoder = ClipEncoder("ViT-H-14", None)
    stage1 = Stage1Model(Stage1Config(embed_dim=encoder.embed_dim)).eval()
    vocoder = Generator(PRESETS["v1"], MelConfig()).remove_weight_norm().eval()
    fast_dtype = resolve_precision("auto")
    picture = paintings(1)
    pipes = {"float32": Art2Music(encoder, stage1, vocoder, MelConfig(), precision=torch.float32),
             "default": Art2Music(encoder, stage1, vocoder, MelConfig(), precision=fast_dtype)}
    stages = {name: {"image": [], "text": [], "stage1": [], "vocoder": []} for name in pipes}
    outputs, precisions = {}, {}
    for _ in range(rounds + 1):
        for name, pipe in pipes.items():
            vocoder.set_inference_dtype(torch.float32 if name == "float32" else fast_dtype)
            encoder.set_inference_dtype(pipe.precision)  # the weights' conversion (once per pipeline) is not timed
            if name == "default":
                precisions = pipe.precisions  # read while the shared vocoder holds the default dtype
            pixels = encoder.preprocess(picture)
            tokens = encoder.tokenize(["a stormy sea under a dark sky"])
            with torch.inference_mode(), pipe._autocast():
                start = time.perf_counter()
                image_embedding = encoder.encode_images(pixels)
                stages[name]["image"].append(time.perf_counter() - start)
                start = time.perf_counter()
                text_embedding = encoder.encode_texts(tokens)
                stages[name]["text"].append(time.perf_counter() - start)
            start = time.perf_counter()
            mel = pipe.embeddings_to_mel(text_embedding, image_embedding)
            stages[name]["stage1"].append(time.perf_counter() - start)
            start = time.perf_counter()
            audio = pipe.mel_to_audio(mel)
            stages[name]["vocoder"].append(time.perf_counter() - start)
            outputs[name] = (image_embedding.float(), text_embedding.float(), audio)
    vocoder.set_inference_dtype(torch.float32)
    encoder.set_inference_dtype(torch.float32)
    clip_seconds = MelConfig().frames_to_seconds(stage1.config.frames)
    result = {"clip_seconds": round(clip_seconds, 2), "default_dtype": str(fast_dtype).removeprefix("torch."),
              "precisions": precisions}
    for name, per_stage in stages.items():
        best = {stage: _best(values[1:]) for stage, values in per_stage.items()}
        total = sum(best.values())
        result[name] = {"seconds": best, "total_seconds": round(total, 3),
                        "x_real_time": round(clip_seconds / total, 2)}
    result["speedup"] = round(result["float32"]["total_seconds"] / result["default"]["total_seconds"], 2)
    image32, text32, audio32 = outputs["float32"]
    image16, text16, _ = outputs["default"]
    result["image_embedding_cosine"] = round(cosine(image32, image16), 6)
    result["text_embedding_cosine"] = round(cosine(text32, text16), 6)
    vocoder.set_inference_dtype(fast_dtype)
    with torch.inference_mode():
        mel = pipes["float32"].embeddings_to_mel(text32, image32)
        fast_mel = pipes["default"].embeddings_to_mel(text32, image32)
        # random weights, so no error against a truth to compare with: the change relative to the mel's own size
        result["stage1_mel_relative_change"] = round(float((mel - fast_mel).abs().mean() / mel.abs().mean()), 5)
        result["vocoder_signal_to_error_db"] = round(snr_db(audio32, pipes["default"].mel_to_audio(mel)), 1)
    vocoder.set_inference_dtype(torch.float32)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--demo-images", type=int, default=16)
    parser.add_argument("--skip-paper", action="store_true")
    parser.add_argument("--data", type=Path, default=DEMO_DATA,
                        help="the demo corpus's ArtiCaps folder, for the share of the model's error (default %(default)s)")
    parser.add_argument("--quick", action="store_true", help="1 round, 8 demo images, no paper sizes")
    parser.add_argument("--fidelity", nargs="+", default=[], metavar="DIR",
                        help="more pipeline folders whose bf16 mel change to measure against their own error")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rounds = 1 if args.quick else args.rounds
    support = bf16_support("cpu")
    flags = sorted(flag for flag in cpu_flags() if any(flag.startswith(name) for name in NATIVE_BF16_FLAGS)
                   or flag in ("avx2", "avx512f", "amx_tile", "bf16"))
    result = {"description": "bf16 (the default, precision=auto) against forced float32, interleaved in one run.",
              "bf16_native": support.native, "bf16_reason": support.reason, "cpu_flags": flags,
              "auto_resolves_to": str(resolve_precision("auto")).removeprefix("torch."),
              "load_average": os.getloadavg()[0], "threads": args.threads,
              "demo": demo_comparison(8 if args.quick else args.demo_images, rounds, args.data)}
    if args.fidelity:
        result["fidelity"] = [model_fidelity(folder, args.data) for folder in args.fidelity]
    if not (args.quick or args.skip_paper):
        result["paper"] = paper_comparison(rounds)
    print(write_result("precision", result))


if __name__ == "__main__":
    main()
