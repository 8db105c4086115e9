"""Slideshow soundtracks: are the transitions between images smooth, and does each section follow its image?

For the images of ``--images`` (default: the bundled collection) a soundtrack of ``--seconds-per-image`` per image is
composed as ``art2music soundtrack`` does (:mod:`art2music.soundtrack.audio_track`), on any pipeline folder:

- **transitions**: spectral flux (mean |m[:, t+1] − m[:, t]| over mel bins, as in bench_long) at the steps inside
  each transition (``--transition-seconds`` centred on every boundary, at least a window overlap for the flow) against the
  flux everywhere else. The bar: transition flux no larger than within-section flux by more than ``--margin``
  (default 10 %). Measured on the mel of the audio one hears (``mel_spectrogram`` of the WAV) for every decoder, and
  for the flow stage 1 also on its own log-mel;
- **a hard cut for comparison** (flow): the same sections sampled separately under the same conditions and noise,
  then butted together: what the continuation saves;
- **following the images**: the distance between consecutive sections' mean spectra (dB-like log-mel units), against
  the same distance inside sections (first half vs second half); a soundtrack that ignored its images would show
  ratios near 1;
- **speed**: compose and vocode wall seconds.

Usage: python bench/bench_soundtrack.py [--model demo|PIPELINE] [--images examples/collection/collection.csv]
       [--seconds-per-image 8] [--steps N] [--seed 0] [--threads 2] [--quick]
Writes bench/results/soundtrack.json.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch

from common import write_result
from bench_long import flux_per_frame

REPOSITORY = Path(__file__).resolve().parents[1]


def transition_steps(boundaries: list[int], frames: int, half_width: int) -> np.ndarray:
    """Indices ``t`` of the flux steps ``t → t + 1`` within ``half_width`` frames of an inner section boundary."""
    steps = {t for boundary in boundaries for t in range(boundary - half_width - 1, boundary + half_width)}
    return np.asarray(sorted(t for t in steps if 0 <= t < frames - 1), dtype=int)


def flux_figures(mel: np.ndarray, steps: np.ndarray) -> dict[str, float]:
    """Mean flux at the transition ``steps`` and elsewhere, and their ratio."""
    flux = flux_per_frame(mel)
    within = np.setdiff1d(np.arange(flux.size), steps)
    figures = {"transition_flux": float(flux[steps].mean()), "within_flux": float(flux[within].mean())}
    figures["transition_over_within"] = figures["transition_flux"] / figures["within_flux"]
    return figures


def section_contrast(mel: np.ndarray, frames: int, count: int) -> dict[str, float]:
    """Mean |Δ| of consecutive sections' mean spectra, against first-half-vs-second-half inside sections."""
    sections = [mel[:, k * frames:(k + 1) * frames] for k in range(count)]
    between = [np.abs(a.mean(1) - b.mean(1)).mean() for a, b in zip(sections, sections[1:])]
    inside = [np.abs(s[:, :frames // 2].mean(1) - s[:, frames // 2:].mean(1)).mean() for s in sections]
    return {"between_sections": float(np.mean(between)), "inside_sections": float(np.mean(inside)),
            "between_over_inside": float(np.mean(between) / max(np.mean(inside), 1e-9))}


@torch.inference_mode()
def hard_cut_mel(pipe, text: torch.Tensor, image: torch.Tensor, frames: int, seed: int, steps: int,
                 guidance: float) -> torch.Tensor:
    """``(n_mels, slides · frames)``: each section sampled alone under its condition from the noise frames the
    continued piece uses there, then butted together (what the soundtrack would be without continuation)."""
    count = text.shape[0]
    noise = torch.randn((1, pipe.mel_config.n_mels, count * frames), generator=torch.Generator().manual_seed(seed))
    with pipe._autocast():
        conditions = pipe.stage1.condition(text.to(pipe.device), image.to(pipe.device))
        sections = [pipe.stage1.decoder(conditions[k:k + 1], frames=frames, steps=steps, guidance=guidance,
                                        noise=noise[..., k * frames:(k + 1) * frames].to(pipe.device))
                    for k in range(count)]
    return torch.cat(sections, dim=-1)[0].float().cpu()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="demo")
    parser.add_argument("--images", nargs="+", default=[str(REPOSITORY / "examples/collection/collection.csv")])
    parser.add_argument("--seconds-per-image", type=float, default=8.0)
    parser.add_argument("--transition-seconds", type=float, default=1.0)
    parser.add_argument("--margin", type=float, default=0.10)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="4 images, 4 s each")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.set_num_threads(args.threads)
    from art2music.audio_engine.decoders.flow_windows import window_plan
    from art2music.pipeline import Art2Music
    from art2music.soundtrack.audio_track import compose_audio_track, embed_slides, frames_per_slide
    from art2music.soundtrack.slides import read_slides
    from vocoder.mel import mel_spectrogram

    pipe = Art2Music.from_pretrained(args.model)
    slides = read_slides(args.images)
    seconds = args.seconds_per_image
    if args.quick:
        slides, seconds = slides[:4], min(seconds, 4.0)
    frames = frames_per_slide(pipe, seconds)
    count = len(slides)
    boundaries = [k * frames for k in range(1, count)]
    half = max(1, pipe.mel_config.seconds_to_frames(args.transition_seconds) // 2)
    started = time.perf_counter()
    seed = args.seed if pipe.is_generative else None
    track = compose_audio_track(pipe, slides, seconds, seed=seed, steps=args.steps)
    compose_seconds = time.perf_counter() - started
    heard = mel_spectrogram(torch.from_numpy(track.waveform)[None], pipe.mel_config)[0].numpy()
    heard = heard[:, :count * frames]
    result = {"what": "slideshow soundtrack transitions: spectral flux at section boundaries vs within sections "
                      "(log-mel), a hard-cut comparison (flow), section contrast, wall seconds",
              "model": args.model, "decoder": pipe.decoder, "transitions": track.transitions, "images": count,
              "seconds_per_image": seconds, "frames_per_image": frames, "settings": track.settings,
              "compose_and_vocode_seconds": round(compose_seconds, 2), "margin": args.margin}
    steps = transition_steps(boundaries, heard.shape[1], half)
    result["audio_mel"] = {**flux_figures(heard, steps), **section_contrast(heard, frames, count)}
    if pipe.is_generative:
        overlap = window_plan(count * frames, pipe.stage1.decoder.frames)[1]
        text, image = embed_slides(pipe, slides)
        sampling, mel = track.settings, track.mel
        steps = transition_steps(boundaries, mel.shape[1], max(half, overlap))
        result["stage1_mel"] = {**flux_figures(mel.numpy(), steps), **section_contrast(mel.numpy(), frames, count)}
        cut = hard_cut_mel(pipe, text, image, frames, sampling["seed"], sampling["steps"], sampling["guidance"])
        result["stage1_mel_hard_cut"] = flux_figures(cut.numpy(), transition_steps(boundaries, cut.shape[1], 1))
    key = "stage1_mel" if pipe.is_generative else "audio_mel"
    result["passes"] = bool(result[key]["transition_over_within"] <= 1 + args.margin)
    path = write_result("soundtrack", result)
    print({name: result[name] for name in ("decoder", "transitions", "audio_mel", "passes")}, f"\nwrote {path}")


if __name__ == "__main__":
    main()
