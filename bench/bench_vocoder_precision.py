"""What bf16 vocoding costs in fidelity: the shipped demo vocoder, float32 against bfloat16, on real clips.

For each clip of a folder of WAVs (default: the demo corpus's audio, ``make demo-data``), copy-synthesis
(true mel -> HiFi-GAN) in both precisions, then:

- signal-to-error ratio of the bf16 waveform against the float32 one (dB; higher is closer);
- mel L1 of each output to the clip's true log-mel (the vocoder's own error, which bf16 should barely move);
- log-spectral distance (dB, 1024-point STFT power) of each output to the true audio, and bf16 to float32.

Speed is ``bench_vocoder.py``'s business; this one only answers "what do I lose with ``precision="auto"``".

Usage: python bench/bench_vocoder_precision.py [--audio DIR] [--clips 24] [--vocoder art2music/assets/demo/vocoder]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import soundfile
import torch

from common import write_result

from vocoder import load_generator, mel_spectrogram  # noqa: E402  (common puts the repository on sys.path)

REPO = Path(__file__).resolve().parents[1]


def log_power(waveform: torch.Tensor) -> torch.Tensor:
    """``(samples,)`` -> ``(513, frames)`` log10 STFT power (1024-point Hann, hop 256), floored at 1e-10."""
    spectrum = torch.stft(waveform, 1024, 256, window=torch.hann_window(1024), return_complex=True)
    return spectrum.abs().pow(2).clamp_min(1e-10).log10()


def log_spectral_distance(left: torch.Tensor, right: torch.Tensor) -> float:
    """Mean over frames of the RMS (over frequency) of the dB difference of two waveforms' power spectra."""
    count = min(left.shape[-1], right.shape[-1])
    difference = 10 * (log_power(left[:count]) - log_power(right[:count]))
    return difference.pow(2).mean(0).sqrt().mean().item()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--audio", type=Path, default=REPO / "datasets" / "demo" / "raw" / "audio")
    parser.add_argument("--clips", type=int, default=24)
    parser.add_argument("--vocoder", type=Path, default=REPO / "art2music" / "assets" / "demo" / "vocoder")
    parser.add_argument("--quick", action="store_true", help="4 clips")
    args = parser.parse_args()
    files = sorted(args.audio.glob("*.wav"))[: 4 if args.quick else args.clips]
    if not files:
        print(f"no WAV files in {args.audio}: run `make demo-data` first, or pass --audio DIR; nothing measured",
              file=sys.stderr)
        return 0
    exact = load_generator(args.vocoder, precision="float32")
    fast = load_generator(args.vocoder, precision="bfloat16")
    config = exact.mel_config
    rows = []
    with torch.inference_mode():
        for path in files:
            audio, rate = soundfile.read(path, dtype="float32", always_2d=True)
            if rate != config.sample_rate:
                print(f"skipping {path.name}: {rate} Hz, the vocoder expects {config.sample_rate} Hz", file=sys.stderr)
                continue
            truth = torch.from_numpy(audio.mean(1))
            mel = mel_spectrogram(truth[None], config)
            reference, approximate = exact(mel)[0, 0], fast(mel)[0, 0]
            frames = mel.shape[-1]
            rows.append({
                "clip": path.name,
                "signal_to_error_db": 10 * torch.log10(reference.pow(2).sum()
                                                       / (approximate - reference).pow(2).sum()).item(),
                "mel_l1_float32": (mel_spectrogram(reference[None], config)[..., :frames] - mel).abs().mean().item(),
                "mel_l1_bf16": (mel_spectrogram(approximate[None], config)[..., :frames] - mel).abs().mean().item(),
                "lsd_float32_db": log_spectral_distance(reference, truth),
                "lsd_bf16_db": log_spectral_distance(approximate, truth),
                "lsd_bf16_vs_float32_db": log_spectral_distance(approximate, reference)})
    if not rows:
        print("no clip at the vocoder's sample rate: nothing measured", file=sys.stderr)
        return 1
    summary = {key: round(float(np.mean([row[key] for row in rows])), 4) for key in rows[0] if key != "clip"}
    summary["signal_to_error_db_min"] = round(min(row["signal_to_error_db"] for row in rows), 2)
    summary["mel_l1_relative_change"] = round(summary["mel_l1_bf16"] / summary["mel_l1_float32"] - 1, 5)
    path = write_result("vocoder_precision", {
        "description": "copy-synthesis with the shipped demo vocoder in float32 and bfloat16 on real clips",
        "vocoder": str(args.vocoder.relative_to(REPO) if args.vocoder.is_relative_to(REPO) else args.vocoder),
        "clips": len(rows), "summary": summary, "per_clip": rows})
    print(f"{len(rows)} clips: bf16 vs float32 {summary['signal_to_error_db']:.1f} dB SNR "
          f"(min {summary['signal_to_error_db_min']:.1f}); mel L1 to the truth {summary['mel_l1_float32']:.4f} -> "
          f"{summary['mel_l1_bf16']:.4f}; wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
