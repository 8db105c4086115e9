"""``art2music predict-mels``: run a trained stage-1 model over an ArtiCaps folder and store its mels.

Writes HiFi-GAN's fine-tuning data (the vocoder's ``predicted`` data mode): ``OUT/mels/<id>.npy`` (float32
``(n_mels, frames)`` log-mel, frame ``k`` aligned with samples ``k*hop...`` of the clip, as the cache's
target mels are) and ``OUT/index.csv`` with columns ``id,audio_path,mel_path,split`` (audio paths absolute,
mel paths relative to OUT). Uses the cached embeddings, so the encoder never runs. Reruns skip ids whose
``.npy`` already exists unless ``--overwrite``.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

import numpy as np
import torch

from vocoder.files import atomic_open, atomic_write_text


def load_stage1(model: Path) -> tuple[torch.nn.Module, dict]:
    """A stage-1 network from an export folder, a pipeline folder (its ``stage1/``) or a Lightning ``.ckpt``."""
    from art2music.export.format import load_stage1 as load_stage1_folder

    if model.is_dir():
        folder = model / "stage1" if (model / "stage1" / "config.json").is_file() else model
        network, mel_config, _ = load_stage1_folder(folder)
        return network, {"mel": mel_config.to_dict()}
    if model.suffix == ".ckpt" and model.is_file():
        from art2music.training.stage1_module import Stage1Module

        module = Stage1Module.load_from_checkpoint(str(model), map_location="cpu", weights_only=True)
        return module.model.eval(), {"mel": module.mel_config.to_dict()}
    raise FileNotFoundError(f"--model {model}: expected a stage-1 export folder, a pipeline folder or a .ckpt file")


def predict_mels(model: Path, data_dir: Path, out: Path, splits: list[str], batch_size: int = 32,
                 overwrite: bool = False) -> int:
    """Write predicted mels for the rows of ``splits``; returns how many were computed now."""
    from tqdm import tqdm

    from art2music.articaps.feature_cache import FeatureCache
    from art2music.articaps.manifest import read_manifest
    from vocoder.mel import MelConfig

    network, config = load_stage1(model)
    manifest = read_manifest(data_dir / "manifest.csv")
    cache = FeatureCache.open(data_dir / "cache", mel_config=MelConfig.from_dict(config["mel"]), ids=manifest.ids)
    if cache.embed_dim != network.config.embed_dim:
        raise ValueError(f"the cache holds {cache.embed_dim}-d embeddings, the model expects "
                         f"{network.config.embed_dim}-d: they come from different encoders")
    rows = [index for split in splits for index in manifest.split_indices(split)]
    (out / "mels").mkdir(parents=True, exist_ok=True)
    todo = [i for i in rows if overwrite or not (out / "mels" / f"{manifest[i].id}.npy").is_file()]
    with torch.inference_mode():
        for start in tqdm(range(0, len(todo), batch_size), desc="predict-mels", unit="batch", file=sys.stderr):
            batch = todo[start:start + batch_size]
            text = torch.from_numpy(np.asarray(cache.text_embeddings[batch], dtype=np.float32))
            image = torch.from_numpy(np.asarray(cache.image_embeddings[batch], dtype=np.float32))
            mels = network(text, image, cache.frames).numpy().astype(np.float32)
            for index, mel in zip(batch, mels):
                target = out / "mels" / f"{manifest[index].id}.npy"
                with atomic_open(target, "wb") as handle:
                    np.save(handle, mel)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", "audio_path", "mel_path", "split"])
    for index in rows:
        record = manifest[index]
        writer.writerow([record.id, str(manifest.resolve(record.audio_path).resolve()), f"mels/{record.id}.npy",
                         record.split])
    atomic_write_text(out / "index.csv", buffer.getvalue())
    return len(todo)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="art2music predict-mels", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, type=Path, help="stage-1 export/pipeline folder or .ckpt")
    parser.add_argument("--data", required=True, type=Path, help="ArtiCaps folder (manifest.csv + cache/)")
    parser.add_argument("--out", required=True, type=Path, help="output folder (index.csv + mels/)")
    parser.add_argument("--splits", default="train,val", help="comma-separated splits to predict (default train,val)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--overwrite", action="store_true", help="recompute mels that already exist")
    args = parser.parse_args(argv)
    splits = [s.strip() for s in args.splits.split(",") if s.strip()]
    try:
        count = predict_mels(args.model, args.data, args.out, splits, args.batch_size, args.overwrite)
    except (FileNotFoundError, ValueError) as error:
        print(f"predict-mels: {error}", file=sys.stderr)
        return 2
    print(f"predicted {count} mels into {args.out / 'mels'}; index: {args.out / 'index.csv'}")
    return 0
