"""Run every benchmark (``bench/bench_*.py``, each in its own process) and summarise them in bench/RESULTS.md.

Each benchmark writes ``bench/results/<name>.json`` (via ``bench/common.py``: its figures plus a ``machine``
block). This script runs them one after the other (never in parallel: they time things), then reads every
JSON in ``bench/results/`` and writes ``bench/RESULTS.md``: the machine, versions and date of each result,
and the key figures (stage-1 training throughput, builder throughput, vocoder real-time factors,
end-to-end rendering). A benchmark that fails is reported and the others still run; the exit code is 1
if any failed, 2 for a usage error.

Usage: python bench/run_all.py [--quick] [--only NAME ...] [--skip NAME ...] [--report-only] [--timeout S]

``--quick`` passes ``--quick`` to benchmarks that accept it and small-size options to those that do not
(:data:`QUICK_FALLBACK`): a smoke run whose figures are noisier than a full run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))

from vocoder.files import atomic_write_text  # noqa: E402  (needs the repository on the path)

QUICK_FALLBACK: dict[str, list[str]] = {
    "vocoder": ["--versions", "v2", "--rounds", "1", "--seconds", "3"],
    "render": ["--skip-paper", "--rounds", "1", "--demo-images", "4", "--batch-sizes", "1", "4"],
}
"""Options giving a short run of benchmarks that have no ``--quick`` flag, by benchmark name."""


@dataclass
class BenchmarkRun:
    """One benchmark process: its name (``bench_<name>.py``), exit code and wall time in seconds."""

    name: str
    returncode: int
    seconds: float
    arguments: list[str]

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def discover(bench_dir: Path = BENCH_DIR) -> dict[str, Path]:
    """``{name: path}`` of every ``bench_<name>.py`` in ``bench_dir``, sorted by name."""
    return {path.stem[len("bench_"):]: path for path in sorted(bench_dir.glob("bench_*.py"))}


def quick_arguments(name: str, script: Path) -> list[str]:
    """The options that make ``script`` a quick run: ``--quick`` if it has one, else :data:`QUICK_FALLBACK`."""
    if "--quick" in script.read_text(encoding="utf-8"):
        return ["--quick"]
    return list(QUICK_FALLBACK.get(name, []))


def run_benchmark(name: str, script: Path, arguments: list[str], timeout: float | None) -> BenchmarkRun:
    """Run one benchmark script with this Python, from the repository root, output streamed through."""
    print(f"\n=== bench {name}: {script.name} {' '.join(arguments)}", flush=True)
    start = time.monotonic()
    try:
        code = subprocess.run([sys.executable, str(script), *arguments], cwd=script.parent.parent,
                              timeout=timeout).returncode
    except subprocess.TimeoutExpired:
        print(f"=== bench {name}: timed out after {timeout:.0f} s", flush=True)
        code = 124
    run = BenchmarkRun(name, code, round(time.monotonic() - start, 1), arguments)
    print(f"=== bench {name}: {'ok' if run.ok else f'FAILED (exit {code})'} in {run.seconds:.0f} s", flush=True)
    return run


def load_results(results_dir: Path) -> dict[str, dict[str, Any]]:
    """``{benchmark name: result JSON}`` of every ``*.json`` in ``results_dir`` (unreadable files are named
    in the result as ``{"error": ...}`` rather than dropped)."""
    results = {}
    for path in sorted(results_dir.glob("*.json")):
        try:
            results[path.stem] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            results[path.stem] = {"error": f"{path.name} is unreadable: {error}"}
    return results


# ----------------------------------------------------------------------------------------------- key figures
def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    return lines + ["| " + " | ".join("—" if cell is None else str(cell) for cell in row) + " |" for row in rows]


def _stage1(result: dict) -> list[str]:
    rows = [[case["name"], case["samples_per_second"], case.get("batch_size"), case.get("frames"), case.get("steps")]
            for case in result["results"]]
    return ["Stage-1 training throughput (optimizer steps with data loading, samples/s):", "",
            *_table(["case", "samples/s", "batch", "frames", "timed steps"], rows)]


def _builder(result: dict) -> list[str]:
    rows = [[f"clip mels, {run['workers']} worker process(es)", run["clips_per_s"], run.get("steady_clips_per_s"),
             "clips/s"] for run in result["mel_extraction"]]
    in_process = result.get("mel_extraction_in_process")
    if in_process:
        rows.append(["clip mels, in process", in_process["clips_per_s"], in_process.get("steady_clips_per_s"),
                     "clips/s"])
    rows += [[f"image embeddings, {run['arch']}", run["images_per_s"], None, "images/s"]
             for run in result["image_embedding"]]
    sentences = result.get("sentence_embedding")
    if sentences:
        rows.append([f"sentence embeddings, {sentences['model']}", sentences["sentences_per_s"], None, "sentences/s"])
    return ["ArtiCaps builder throughput:", "", *_table(["step", "rate", "steady rate", "unit"], rows)]


def _vocoder(result: dict) -> list[str]:
    rows = []
    for run in result["results"]:
        bf16 = run.get("channels_last_bf16", {})
        default = run.get("default", "channels_last")
        rows.append([run["version"], run["threads"], run["conv1d"]["real_time_factor"],
                     run["channels_last"]["real_time_factor"], bf16.get("real_time_factor"),
                     run.get("bf16_signal_to_error_db"), run[default]["real_time_factor"],
                     run.get("official_reference_rtf"), run["channels_last"].get("gflop_per_s"),
                     run.get("fraction_of_matmul_peak")])
    return ["HiFi-GAN vocoder on CPU, real-time factor (seconds of audio per second of compute; higher is faster). "
            "conv1d is the official code's layout run here; default is what `load_generator` runs on this machine "
            "(`precision=\"auto\"`); the official figure is the one quoted for the original implementation:", "",
            *_table(["version", "threads", "conv1d", "float32 channels-last", "bf16", "bf16 SNR dB", "default",
                     "official quoted", "float32 GFLOP/s", "of matmul peak"], rows)]


def _vocoder_precision(result: dict) -> list[str]:
    summary = result["summary"]
    rows = [["float32", summary["mel_l1_float32"], summary["lsd_float32_db"], None],
            ["bfloat16", summary["mel_l1_bf16"], summary["lsd_bf16_db"], summary["signal_to_error_db"]]]
    return [f"Copy-synthesis with the demo vocoder on {result['clips']} real clips (bf16 against float32: "
            f"worst clip {summary['signal_to_error_db_min']} dB SNR, LSD {summary['lsd_bf16_vs_float32_db']} dB):", "",
            *_table(["precision", "mel L1 to truth", "LSD to truth dB", "SNR vs float32 dB"], rows)]


def _render(result: dict) -> list[str]:
    rows = []
    for size, entry in result["results"].items():
        for run in entry["runs"]:
            rows.append([size, entry.get("vocoder_precision", "float32"), run["batch_size"], run["images"],
                         run["images_per_minute"], run["x_real_time"], run.get("audio_seconds_per_image")])
    return ["End-to-end rendering (decode, encode, stage 1, vocoder, write files):", "",
            *_table(["model sizes", "vocoder", "batch", "images", "images/min", "x real time", "audio s/image"], rows)]


def _precision(result: dict) -> list[str]:
    demo = result["demo"]
    lines = [f"CPU bf16 capability: {result['bf16_reason']} (flags {', '.join(result['cpu_flags'])}); precision=auto "
             f"resolves to {result['auto_resolves_to']}; load average {result['load_average']:.1f}.", "",
             *_table(["demo pipeline (batch 8)", "float32 s", "default s", "speedup", "x real time", "embedding cosine",
                      "mel L1 change", "share of model error", "vocoder SNR dB"],
                     [[demo["images"], demo["seconds_float32"], demo["seconds_default"], demo["speedup"],
                       demo["x_real_time_default"],
                       min(demo["text_embedding_cosine_min"], demo["image_embedding_cosine_min"]),
                       demo["mel_l1_change"], demo.get("mel_l1_change_share_of_model_error"),
                       demo["vocoder_signal_to_error_db"]]])]
    if "paper" in result:
        paper = result["paper"]
        rows = [[name, *paper[name]["seconds"].values(), paper[name]["total_seconds"], paper[name]["x_real_time"]]
                for name in ("float32", "default")]
        lines += ["", f"Paper sizes, one image, {paper['clip_seconds']} s clip (speedup {paper['speedup']}x; "
                      f"embedding cosine {min(paper['image_embedding_cosine'], paper['text_embedding_cosine'])}, "
                      f"vocoder {paper['vocoder_signal_to_error_db']} dB):", "",
                  *_table(["precision", "image s", "text s", "stage 1 s", "vocoder s", "total s", "x real time"], rows)]
        if "precisions" in paper:
            stages = ", ".join(f"{stage} {dtype}" for stage, dtype in paper["precisions"].items())
            lines += ["", f"Default precisions at paper sizes: {stages}; stage-1 mel change "
                          f"{paper.get('stage1_mel_relative_change')} of its magnitude (random weights)."]
    if result.get("fidelity"):
        rows = [[entry["model"], entry["decoder"], ", ".join(f"{k} {v}" for k, v in entry["precisions"].items()),
                 entry.get("model_mel_l1_to_truth"), entry.get("mel_l1_change_share_of_model_error")]
                for entry in result["fidelity"]]
        lines += ["", "Other pipeline folders (`--fidelity`), bf16 mel change against their own error:", "",
                  *_table(["model", "decoder", "precisions", "mel L1 to truth", "share of model error"], rows)]
    return lines


KEY_FIGURES: dict[str, Callable[[dict], list[str]]] = {
    "stage1_training": _stage1, "builder": _builder, "vocoder": _vocoder, "render": _render,
    "vocoder_precision": _vocoder_precision, "precision": _precision}
"""Key-figure tables by result name; other results get :func:`_generic`."""


def _generic(result: dict) -> list[str]:
    scalars = [[key, value] for key, value in result.items()
               if key not in ("benchmark", "machine") and isinstance(value, (int, float, str)) and len(str(value)) < 80]
    return ["Top-level figures:", "", *_table(["field", "value"], scalars)] if scalars else ["(no scalar figures)"]


def results_markdown(results: dict[str, dict[str, Any]], runs: list[BenchmarkRun] | None = None) -> str:
    """The RESULTS.md text for loaded ``results`` (and, if given, the runs that just produced them)."""
    lines = ["# Benchmark results", "",
             "Generated by `bench/run_all.py` from `bench/results/*.json`; rerun `make bench` to refresh. The machines "
             "these run on are often shared: each benchmark records its load average, and figures from a loaded "
             "machine understate an idle one.", ""]
    if runs:
        lines += ["Last run:", "", *_table(["benchmark", "status", "wall s", "options"],
                                          [[run.name, "ok" if run.ok else f"FAILED (exit {run.returncode})",
                                            run.seconds, " ".join(run.arguments) or "(full)"] for run in runs]), ""]
    machines = []
    for name, result in results.items():
        machine = result.get("machine", {})
        machines.append([name, machine.get("date"), machine.get("commit"), machine.get("cpu"), machine.get("cores"),
                         machine.get("memory_gb"), machine.get("cuda") or "none", machine.get("python"),
                         machine.get("torch"), machine.get("torch_threads")])
    lines += ["## Machines and versions", "",
              *_table(["result", "date", "commit", "CPU", "cores", "memory GB", "GPU", "Python", "torch",
                       "torch threads"], machines), ""]
    for name, result in results.items():
        lines += [f"## {name}", ""]
        if "error" in result:
            lines += [f"**{result['error']}**", ""]
            continue
        description = result.get("description") or result.get("what")
        if description:
            lines += [description, ""]
        extractor = KEY_FIGURES.get(name, _generic)
        try:
            lines += extractor(result)
        except (KeyError, TypeError, AttributeError) as error:
            lines += [f"(the layout of {name}.json is not the one this summary knows: missing {error}; its "
                      f"top-level figures follow)", "", *_generic(result)]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None, bench_dir: Path = BENCH_DIR) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs (passed through to each benchmark)")
    parser.add_argument("--only", nargs="+", default=None, metavar="NAME", help="run only these (e.g. vocoder render)")
    parser.add_argument("--skip", nargs="+", default=[], metavar="NAME", help="do not run these")
    parser.add_argument("--report-only", action="store_true", help="run nothing; rewrite RESULTS.md from the JSONs")
    parser.add_argument("--timeout", type=float, default=None, help="seconds allowed per benchmark (default none)")
    args = parser.parse_args(argv)
    scripts = discover(bench_dir)
    unknown = sorted(set(args.only or []) | set(args.skip) - set(scripts))
    if unknown:
        print(f"run_all: unknown benchmark(s) {unknown}; available: {sorted(scripts)}", file=sys.stderr)
        return 2
    runs: list[BenchmarkRun] = []
    if not args.report_only:
        for name, script in scripts.items():
            if (args.only and name not in args.only) or name in args.skip:
                continue
            runs.append(run_benchmark(name, script, quick_arguments(name, script) if args.quick else [], args.timeout))
    results = load_results(bench_dir / "results")
    atomic_write_text(bench_dir / "RESULTS.md", results_markdown(results, runs))
    failed = [run.name for run in runs if not run.ok]
    print(f"\nwrote {bench_dir / 'RESULTS.md'} ({len(results)} results)"
          + (f"; FAILED: {', '.join(failed)}" if failed else ""), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
