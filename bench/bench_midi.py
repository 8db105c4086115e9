"""The midi engine's composing speed: whole pieces of 30 s and 3 min, tokens per second, demo and paper sizes.

``pieces``: the shipped demo model composes a piece of 30 s and of 3 minutes for images of the bundled example
collection (one per round, seed = round; windowed continuation, the model's sampling defaults, guidance 2) after a
warm-up; wall time, length reached, bars and tokens written.
``cases``: one window (KV cache, top-p 0.95) of a fixed number of tokens for one image, on the CPU threads sampling
uses, converted to music time with the tokens-per-second-of-music of the demo model's own pieces. The paper size
(d_model 512, 8 heads, FFN 2048, ResNet-50 at 224 px) runs with random weights: speed does not depend on the values.
The load average is recorded: on the shared 2-core machine other jobs slow every figure.

Usage: python bench/bench_midi.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from common import write_result


def _time_pieces(pipe, seconds: float, rounds: int) -> dict:
    images = _example_images()
    pipe(images[0], seconds=4.0, seed=99)  # warm-up
    walls, pieces = [], []
    for round_ in range(rounds):
        started = time.perf_counter()
        pieces.append(pipe(images[round_ % len(images)], seconds=seconds, seed=round_))
        walls.append(time.perf_counter() - started)
    return {"requested_seconds": seconds, "images": [images[k % len(images)].name for k in range(rounds)],
            "wall_seconds": [round(w, 3) for w in walls],
            "wall_seconds_median": statistics.median(walls),
            "piece_seconds": [round(p.seconds, 2) for p in pieces], "bar_seconds": [round(p.bar_seconds, 2) for p in pieces],
            "bars": [p.bars for p in pieces], "tokens": [len(p.tokens) for p in pieces],
            "notes_per_second_by_30s_section": [_density_by_section(p, 30.0) for p in pieces],
            "music_seconds_per_wall_second": seconds / statistics.median(walls)}


def _density_by_section(piece, section: float) -> list[float]:
    """Notes starting per second in each ``section``-second stretch of the piece (a long piece must not fade out)."""
    starts = [note.start for note in piece.notes]
    count = max(1, int(piece.bar_seconds // section))
    return [round(sum(k * section <= t < (k + 1) * section for t in starts) / section, 2) for k in range(count)]


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

    from art2music.symbolic.grammar import grammar_tables
    from art2music.symbolic.model import SymbolicConfig, SymbolicModel
    from art2music.symbolic.pipeline import Art2Midi
    from art2music.symbolic.sampling import SMALL_MODEL_WIDTH
    from art2music.symbolic.tokenizer import base_tokens

    pipe = Art2Midi.from_pretrained("demo-midi")
    rounds = 1 if args.quick else 3
    load_before = os.getloadavg()[0]
    pieces = {"30s": _time_pieces(pipe, 30.0, 1 if args.quick else 8), "3min": _time_pieces(pipe, 180.0, 1 if args.quick else 2)}
    for name, figures in pieces.items():
        print(name, figures)
    # music time per token, from the demo model's own pieces
    seconds_per_token = pieces["3min"]["bar_seconds"][0] / pieces["3min"]["tokens"][0]
    never_stop = replace(pipe.facts, eos=-1, bars=np.zeros_like(pipe.facts.bars))
    results = {"compose_seconds_per_image_30s_request": pieces["30s"]["wall_seconds_median"],
               "compose_seconds_per_image_3min_request": pieces["3min"]["wall_seconds_median"],
               "pieces": pieces, "guidance": pipe.default_guidance(),
               "music_seconds_per_token": seconds_per_token, "load_average_before": load_before, "cases": {}}
    paper = SymbolicConfig(vocab_size=5000, d_model=512, heads=8, ffn_dim=2048, max_tokens=1024, image_size=224,
                           image_encoder="resnet50")
    for name, model, tokens in (("demo", pipe.model, pipe.model.config.max_tokens - 1),
                                ("paper", SymbolicModel(paper).eval(), 128 if args.quick else 256)):
        facts = never_stop if name == "demo" else replace(
            never_stop, bars=np.zeros(5000, dtype=np.int64), tempo_bpm=np.full(5000, np.nan),
            grammar=grammar_tables(base_tokens(pipe.tokenizer) + [[]] * (5000 - len(pipe.tokenizer))))
        model.config.max_tokens, original = tokens + 1, model.config.max_tokens
        elapsed = _time_sampling(model, facts, tokens, rounds)
        model.config.max_tokens = original
        results["cases"][name] = {"tokens": tokens, "seconds": elapsed, "tokens_per_second": tokens / elapsed,
                                  "music_seconds_per_second": tokens / elapsed * seconds_per_token,
                                  "parameters": sum(p.numel() for p in model.parameters()),
                                  "threads": 1 if model.config.d_model <= SMALL_MODEL_WIDTH else torch.get_num_threads()}
        print(name, results["cases"][name])
    results["load_average_after"] = os.getloadavg()[0]
    write_result("midi", results)


def _example_images() -> list:
    """The bundled example collection's images (pictures, so the pieces have the density of real use; a noise image
    got music twice as dense as a painting)."""
    from pathlib import Path

    from art2music.render.inputs import read_collection

    return [item.image for item in read_collection(Path(__file__).resolve().parents[1] / "examples" / "collection").items]


if __name__ == "__main__":
    main()
