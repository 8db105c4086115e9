"""Stage-1 training throughput (samples/s): demo and paper decoder sizes, cached vs on-the-fly embeddings.

Each case runs real training steps (data loader with workers → Stage1Module.training_step → backward →
Adam) on a synthetic ArtiCaps folder of the right shapes, after warm-up steps, and reports samples/s.

- cached: embeddings read from the feature cache (the encoder is not run, nor even built);
- on-the-fly (frozen): images decoded, preprocessed and encoded every step, encoder frozen;
- on-the-fly (trained): the same with the encoder trained too (only where it fits in time on a CPU).

Usage: python bench/bench_stage1.py [--quick]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
import tempfile

import numpy as np
import torch

from common import write_result


def synthetic_articaps(directory: Path, count: int, frames: int, embed_dim: int, arch: str) -> Path:
    """An ArtiCaps folder with random 256x256 JPEG paintings, random embeddings and random mels."""
    from PIL import Image

    from art2music.articaps.feature_cache import FeatureCache
    from art2music.articaps.manifest import Manifest, ManifestRow
    from art2music.encoders.clip import DEFAULT_TEXT_TEMPLATE
    from vocoder.mel import MelConfig

    rng = np.random.default_rng(0)
    (directory / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    for index in range(count):
        Image.fromarray(rng.integers(0, 255, (256, 256, 3), dtype=np.uint8)).save(directory / "images" / f"{index}.jpg")
        rows.append(ManifestRow(f"p{index}", f"images/{index}.jpg", "a quiet evening by the sea makes me calm",
                                "contentment", f"audio/{index}.wav", "soft piano", 0.5, "train"))
    Manifest(rows, directory).write(directory / "manifest.csv")
    spec = {"arch": arch, "pretrained": None, "normalize": True, "embed_dim": embed_dim,
            "text_template": DEFAULT_TEXT_TEMPLATE}
    cache = FeatureCache.create(directory / "cache", [r.id for r in rows], frames, MelConfig(), spec, embed_dim)
    for index in range(count):
        cache.write_mel(index, rng.normal(-6, 2, (80, frames)).astype(np.float32))
    cache.write_embeddings(list(range(count)), rng.normal(size=(count, embed_dim)), rng.normal(size=(count, embed_dim)))
    cache.flush()
    return directory


def measure(case: dict, data_dir: Path, steps: int, warmup: int) -> dict:
    from art2music.training.stage1_data import Stage1DataModule
    from art2music.training.stage1_module import Stage1Module

    on_the_fly = case["mode"] != "cached"
    module = Stage1Module(embed_dim=case["embed_dim"], encoder_arch=case["arch"], encoder_pretrained=None,
                          train_encoder=on_the_fly, frames=case["frames"], **case["sizes"])
    if case["mode"] == "on_the_fly_frozen":
        module.encoder.trainable = False
        module.encoder.clip.requires_grad_(False)
        module.encoder.clip.eval()
    data = Stage1DataModule(str(data_dir), batch_size=case["batch_size"], num_workers=2, on_the_fly=on_the_fly)
    data.setup("fit")
    if on_the_fly:
        data.attach_encoder(module.encoder.image_transform, module.encoder.tokenizer)
    optimizer = module.configure_optimizers()
    module.train()
    loader = iter(data.train_dataloader())
    samples, start = 0, None
    for step in range(warmup + steps):
        if step == warmup:
            start = time.perf_counter()
        try:
            batch = next(loader)
        except StopIteration:
            loader = iter(data.train_dataloader())
            batch = next(loader)
        optimizer.zero_grad()
        module.training_step(batch, step).backward()
        optimizer.step()
        if step >= warmup:
            samples += len(batch["mel"])
    elapsed = time.perf_counter() - start
    return {**case, "steps": steps, "seconds": round(elapsed, 2), "samples_per_second": round(samples / elapsed, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer steps (for a smoke run)")
    args = parser.parse_args()
    torch.manual_seed(0)
    demo_sizes = dict(fusion_dim=128, decoder_input_dim=128, lstm_hidden=128, lstm_layers=2)
    paper_sizes = dict(fusion_dim=512, decoder_input_dim=512, lstm_hidden=512, lstm_layers=4)
    cases = [
        dict(name="demo, cached", mode="cached", arch="art2music-tiny", embed_dim=64, frames=345, batch_size=16,
             sizes=demo_sizes),
        dict(name="demo, on-the-fly (frozen tiny encoder)", mode="on_the_fly_frozen", arch="art2music-tiny",
             embed_dim=64, frames=345, batch_size=16, sizes=demo_sizes),
        dict(name="demo, on-the-fly (tiny encoder trained)", mode="on_the_fly_trained", arch="art2music-tiny",
             embed_dim=64, frames=345, batch_size=16, sizes=demo_sizes),
        dict(name="paper decoder, cached", mode="cached", arch="ViT-H-14", embed_dim=1024, frames=862, batch_size=32,
             sizes=paper_sizes),
        dict(name="paper decoder, on-the-fly (frozen ViT-H-14)", mode="on_the_fly_frozen", arch="ViT-H-14",
             embed_dim=1024, frames=862, batch_size=8, sizes=paper_sizes),
    ]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            steps, warmup = (2, 1) if args.quick or case["arch"] == "ViT-H-14" else (10, 2)
            data_dir = Path(tmp) / f"{case['arch']}-{case['frames']}"
            if not data_dir.exists():
                synthetic_articaps(data_dir, 64, case["frames"], case["embed_dim"], case["arch"])
            result = measure(case, data_dir, steps, warmup)
            print(f"{result['name']:<48} {result['samples_per_second']:8.2f} samples/s "
                  f"(batch {case['batch_size']}, {case['frames']} frames)", flush=True)
            results.append(result)
    print(write_result("stage1_training", {"unit": "samples/s", "results": results}))


if __name__ == "__main__":
    main()
