"""HiFi-GAN inference speed on CPU: real-time factor of V1/V2/V3 on 10 s of audio, and achieved GFLOP/s.

For each version (random weights, weight norm removed, ``torch.inference_mode``) and each thread count:

- ``conv1d``: the official layout, every convolution a ``conv1d`` on ``(B, C, T)`` tensors (what
  jik876/hifi-gan's ``models.py`` runs; our generator with ``cpu_channels_last = False``);
- ``channels_last``: our CPU fast path (the default), the same convolutions as oneDNN 2-D convolutions on
  channels-last ``(B, C, 1, T)`` tensors, plus in-place activations and sums (outputs equal to ~1e-6);
- ``channels_last_bf16``: ``Generator.set_inference_dtype(torch.bfloat16)`` (AMX where available), which
  ``precision="auto"``, the inference default, picks on CPUs with AMX (``vocoder/precision.py``); not identical:
  its signal-to-error ratio against float32 is reported, and its GFLOP/s against the bf16 matmul peak.

``default`` names the layout that ``load_generator(path)`` runs on this machine.

Runs of the two layouts are interleaved and the fastest of ``--rounds`` is kept, which filters out most of
the noise of other jobs sharing the machine (the load average is recorded with the results).
Real-time factor = seconds of audio / wall-clock seconds (3.3 means 10 s of audio in 3 s). The CPU time of
the process is recorded too: with one thread, ``audio_seconds_per_cpu_second`` estimates the real-time factor
on an idle core when other jobs take the machine (wall time then includes time spent descheduled).
Conv FLOPs are counted analytically (2 x MACs of every Conv1d / ConvTranspose1d) and compared with the
machine's measured float32 matrix-multiply peak.

Usage: python bench/bench_vocoder.py [--versions v1 v2 v3] [--threads 1 2] [--rounds 3] [--seconds 10]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import time

import torch
from torch import nn

from common import RESULTS, write_result

from vocoder import Generator, GeneratorConfig  # noqa: E402  (common puts the repository on sys.path)
from vocoder.precision import has_amx, resolve_precision  # noqa: E402

# Official implementation on a 2-core machine of this kind (figures given with the task), x real time.
OFFICIAL_RTF = {"v1": 3.3, "v2": 35.0, "v3": 23.0}


def conv_flops(generator: Generator, frames: int) -> int:
    """Floating-point operations of every convolution for a ``(1, 80, frames)`` input (2 per multiply-add)."""
    total = 0
    length = frames
    config = generator.config
    total += 2 * config.num_mels * config.upsample_initial_channel * 7 * length  # conv_pre
    channels = config.upsample_initial_channel
    for rate, kernel in zip(config.upsample_rates, config.upsample_kernel_sizes):
        total += 2 * channels * (channels // 2) * kernel * length  # transposed conv: every input x every tap
        length *= rate
        channels //= 2
        per_step = 2 if config.resblock == "1" else 1
        for kernel_size, dilations in zip(config.resblock_kernel_sizes, config.resblock_dilation_sizes):
            steps = len(dilations[: 3 if config.resblock == "1" else 2])
            total += steps * per_step * 2 * channels * channels * kernel_size * length
    total += 2 * channels * 1 * 7 * length  # conv_post
    return total


def check_flop_count(generator: Generator, frames: int) -> None:
    """Cross-check :func:`conv_flops` against forward hooks on the real modules."""
    counted = 0

    def hook(module: nn.Module, inputs: tuple[torch.Tensor], output: torch.Tensor) -> None:
        nonlocal counted
        if isinstance(module, nn.ConvTranspose1d):
            counted += 2 * module.in_channels * module.out_channels * module.kernel_size[0] * inputs[0].shape[-1]
        else:
            counted += 2 * module.in_channels * module.out_channels * module.kernel_size[0] * output.shape[-1]

    handles = [m.register_forward_hook(hook) for m in generator.modules() if isinstance(m, (nn.Conv1d, nn.ConvTranspose1d))]
    layout = generator.cpu_channels_last
    generator.cpu_channels_last = False  # hooks see the modules' own calls only on the conv1d path
    with torch.inference_mode():
        generator(torch.zeros(1, generator.config.num_mels, frames))
    generator.cpu_channels_last = layout
    for handle in handles:
        handle.remove()
    assert counted == conv_flops(generator, frames), (counted, conv_flops(generator, frames))


def matmul_peak(threads: int, size: int = 4096, repeats: int = 4, dtype: torch.dtype = torch.float32) -> float:
    """Best GFLOP/s of a ``size x size`` matrix product in ``dtype`` with ``threads`` threads."""
    torch.set_num_threads(threads)
    left, right = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    left @ right
    best = min(_timed(lambda: left @ right) for _ in range(repeats))
    return 2 * size ** 3 / best / 1e9


def _timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def _timed_with_cpu(function) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process, all threads)."""
    wall, cpu = time.perf_counter(), time.process_time()
    function()
    return time.perf_counter() - wall, time.process_time() - cpu


def bench_version(version: str, threads: int, rounds: int, seconds: float) -> dict:
    torch.manual_seed(0)
    generator = Generator(GeneratorConfig.preset(version)).remove_weight_norm().eval()
    frames = int(seconds * generator.mel_config.sample_rate) // generator.hop_length
    audio_seconds = frames * generator.hop_length / generator.mel_config.sample_rate
    mel = torch.randn(1, 80, frames) * 2 - 5
    flops = conv_flops(generator, frames)
    torch.set_num_threads(threads)
    bf16 = copy.deepcopy(generator).set_inference_dtype(torch.bfloat16)
    layouts = {"conv1d": (generator, False), "channels_last": (generator, True),
               "channels_last_bf16": (bf16, True)}
    times: dict[str, list[float]] = {name: [] for name in layouts}
    cpu_times: dict[str, list[float]] = {name: [] for name in layouts}
    outputs = {}
    with torch.inference_mode():
        for name, (model, channels_last) in layouts.items():  # warm-up: oneDNN builds primitives per shape
            model.cpu_channels_last = channels_last
            outputs[name] = model(mel)
        for _ in range(rounds):
            for name, (model, channels_last) in layouts.items():
                model.cpu_channels_last = channels_last
                wall, cpu = _timed_with_cpu(lambda: model(mel))
                times[name].append(wall)
                cpu_times[name].append(cpu)
    reference = outputs["conv1d"]
    result = {"version": version, "threads": threads, "audio_seconds": round(audio_seconds, 3),
              "conv_gflop": round(flops / 1e9, 2),
              "max_abs_difference_channels_last_vs_conv1d": (outputs["channels_last"] - reference).abs().max().item(),
              "bf16_signal_to_error_db": round(10 * torch.log10(reference.pow(2).sum() /
                                                                (outputs["channels_last_bf16"] - reference).pow(2).sum()).item(), 1)}
    for name, runs in times.items():
        best = min(runs)
        best_cpu = min(cpu_times[name])
        result[name] = {"best_s": round(best, 3), "runs_s": [round(t, 3) for t in runs],
                        "real_time_factor": round(audio_seconds / best, 2), "gflop_per_s": round(flops / best / 1e9, 1),
                        "best_cpu_s": round(best_cpu, 3),
                        "audio_seconds_per_cpu_second": round(audio_seconds / best_cpu, 2),
                        "gflop_per_cpu_second": round(flops / best_cpu / 1e9, 1)}
    result["speedup_channels_last_vs_conv1d"] = round(min(times["conv1d"]) / min(times["channels_last"]), 2)
    result["default"] = "channels_last_bf16" if resolve_precision("auto") == torch.bfloat16 else "channels_last"
    result["official_reference_rtf"] = OFFICIAL_RTF[version]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--versions", nargs="+", default=["v1", "v2", "v3"], choices=sorted(OFFICIAL_RTF))
    parser.add_argument("--threads", nargs="+", type=int, default=[os.cpu_count() or 1])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--append", action="store_true",
                        help="keep the (version, threads) results already in bench/results/vocoder.json that "
                             "this run does not measure")
    args = parser.parse_args()

    load_before = os.getloadavg()
    for version in args.versions:
        check_flop_count(Generator(GeneratorConfig.preset(version)).remove_weight_norm(), 16)
    peaks = {str(t): round(matmul_peak(t), 1) for t in args.threads}
    bf16_peaks = {str(t): round(matmul_peak(t, dtype=torch.bfloat16), 1) for t in args.threads}
    results = []
    for threads in args.threads:
        for version in args.versions:
            result = bench_version(version, threads, args.rounds, args.seconds)
            result["fraction_of_matmul_peak"] = round(result["channels_last"]["gflop_per_s"] / peaks[str(threads)], 3)
            result["bf16_fraction_of_bf16_matmul_peak"] = round(
                result["channels_last_bf16"]["gflop_per_s"] / bf16_peaks[str(threads)], 3)
            results.append(result)
            print(f"{version} threads={threads}: conv1d {result['conv1d']['real_time_factor']}x, channels_last "
                  f"{result['channels_last']['real_time_factor']}x ({result['channels_last']['gflop_per_s']} GFLOP/s), "
                  f"bf16 {result['channels_last_bf16']['real_time_factor']}x "
                  f"(SNR {result['bf16_signal_to_error_db']} dB) real time; official {OFFICIAL_RTF[version]}x; "
                  f"default here: {result['default']}",
                  flush=True)
    runs = [{"threads": args.threads, "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "(unset)"),
             "load_average_before": [round(v, 2) for v in load_before],
             "load_average_after": [round(v, 2) for v in os.getloadavg()], "matmul_peak_gflop_per_s": peaks,
             "bf16_matmul_peak_gflop_per_s": bf16_peaks, "cpu_has_amx": has_amx()}]
    previous_file = RESULTS / "vocoder.json"
    if args.append and previous_file.is_file():
        previous = json.loads(previous_file.read_text())
        measured = {(r["version"], r["threads"]) for r in results}
        results += [r for r in previous.get("results", []) if (r["version"], r["threads"]) not in measured]
        runs = previous.get("runs", []) + runs
    path = write_result("vocoder", {
        "description": "HiFi-GAN generator inference on CPU, 10 s of audio, random weights, weight norm removed, "
                       "torch.inference_mode; best of interleaved rounds",
        "runs": runs,
        "caveat": "the machine's 2 cores are shared with other jobs; a load average above the core count means "
                  "wall-clock figures understate an idle machine (best-of-rounds filters only part of it); with one "
                  "thread, audio_seconds_per_cpu_second is the better estimate of an idle core",
        "results": sorted(results, key=lambda r: (r["threads"], r["version"])),
    })
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
