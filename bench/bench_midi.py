"""The midi engine's composing speed: tokens per second and seconds of music per second, demo and paper sizes.

Each case samples (KV cache, top-p 0.95) a fixed number of tokens for one image after a warm-up, on the CPU threads
torch is given, and converts tokens to music time with the tokens-per-second-of-music of the shipped demo model's
own output (measured here on its pieces). The paper size (d_model 512, 8 heads, FFN 2048, ResNet-50 at 224 px) runs
with random weights: speed does not depend on the values.

Usage: python bench/bench_midi.py [--quick]
"""

from __future__ import annotations

import argparse
import time

import torch

from common import write_result


def _time_sampling(model, facts, tokens: int, rounds: int) -> float:
    from art2music.symbolic.sampling import SamplingSettings, sample_tokens

    pixels = torch.rand(1, 3, model.config.image_size, model.config.image_size)
    with torch.no_grad():
        memory = model.encode(model.image_grid(pixels), torch.zeros(1, 2))
    best = float("inf")
    for seed in range(rounds + 1):
        started = time.perf_counter()
        sample_tokens(model, memory, facts, SamplingSettings(top_p=0.95, seed=seed))
        elapsed = time.perf_counter() - started
        if seed:
            best = min(best, elapsed)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    from dataclasses import replace

    import numpy as np

    from art2music.symbolic.model import SymbolicConfig, SymbolicModel
    from art2music.symbolic.pipeline import Art2Midi

    pipe = Art2Midi.from_pretrained("demo-midi")
    rounds = 1 if args.quick else 3
    # music time per token, from the demo model's own pieces
    started = time.perf_counter()
    pieces = pipe([_sample_image()] * 4, seconds=30.0, seed=0)
    compose_30s = (time.perf_counter() - started) / 4
    seconds_per_token = sum(piece.seconds for piece in pieces) / max(1, sum(len(piece.tokens) for piece in pieces))
    never_stop = replace(pipe.facts, eos=-1, bars=np.zeros_like(pipe.facts.bars))
    # a 30 s request is cut by the demo model's max_tokens window (no windowed continuation yet): piece lengths say so
    results = {"compose_seconds_per_image_30s_request": compose_30s,
               "demo_piece_seconds": [round(piece.seconds, 2) for piece in pieces],
               "music_seconds_per_token": seconds_per_token, "cases": {}}
    paper = SymbolicConfig(vocab_size=5000, d_model=512, heads=8, ffn_dim=2048, max_tokens=1024, image_size=224,
                           image_encoder="resnet50")
    for name, model, tokens in (("demo", pipe.model, pipe.model.config.max_tokens - 1),
                                ("paper", SymbolicModel(paper).eval(), 128 if args.quick else 256)):
        facts = never_stop if name == "demo" else replace(never_stop, bars=np.zeros(5000, dtype=np.int64),
                                                          tempo_bpm=np.full(5000, np.nan))
        model.config.max_tokens, original = tokens + 1, model.config.max_tokens
        elapsed = _time_sampling(model, facts, tokens, rounds)
        model.config.max_tokens = original
        results["cases"][name] = {"tokens": tokens, "seconds": elapsed, "tokens_per_second": tokens / elapsed,
                                  "music_seconds_per_second": tokens / elapsed * seconds_per_token,
                                  "parameters": sum(p.numel() for p in model.parameters()),
                                  "threads": torch.get_num_threads()}
        print(name, results["cases"][name])
    write_result("midi", results)


def _sample_image():
    import numpy as np
    from PIL import Image

    return Image.fromarray((np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8))


if __name__ == "__main__":
    main()
