"""Train a (tiny) OpenCLIP encoder contrastively on an ArtiCaps manifest's paintings and comments.

This is how the demo's ``art2music-tiny`` encoder learns: CLIP's symmetric InfoNCE objective (Radford et
al., 2021) over (painting, comment) pairs, so that paintings and comments that share a feeling land near
each other. Pretrained encoders (ViT-H-14) are not trained here.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torch.nn import functional as F


def _load_pairs(manifest_path: Path, encoder, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    from art2music.io.images import load_image
    from art2music.articaps.manifest import read_manifest
    from art2music.encoders.clip import DEFAULT_TEXT_TEMPLATE, comment_text

    manifest = read_manifest(manifest_path)
    rows = [manifest[i] for i in manifest.split_indices(split)]
    if len(rows) < 2:
        raise ValueError(f"{manifest_path} has {len(rows)} '{split}' rows; contrastive training needs at least 2")
    images, seen = [], {}
    for row in rows:  # a painting appears in several pairs: decode it once
        path = manifest.resolve(row.image_path)
        if path not in seen:
            seen[path] = encoder.preprocess([load_image(path)])[0]
        images.append(seen[path])
    tokens = encoder.tokenize([comment_text(DEFAULT_TEXT_TEMPLATE, row.comment) for row in rows])
    return torch.stack(images), tokens


def train_contrastive_encoder(manifest_path: str | Path, out_file: str | Path, arch: str = "art2music-tiny",
                              epochs: int = 40, batch_size: int = 64, lr: float = 2e-3, seed: int = 0) -> dict:
    """Train ``arch`` from scratch on the manifest's train pairs; write its weights (safetensors) to ``out_file``.

    Returns:
        ``{"first_loss": ..., "last_loss": ..., "steps": ...}`` (mean InfoNCE loss of the first and last epoch).
    """
    from art2music.encoders.clip import ClipEncoder
    from art2music.export.stage_folder import save_state

    torch.manual_seed(seed)
    encoder = ClipEncoder(arch, None, trainable=True)
    pixels, tokens = _load_pairs(Path(manifest_path), encoder, "train")
    clip = encoder.clip.train()
    clip.logit_scale.requires_grad_(True)
    optimizer = torch.optim.AdamW([p for p in clip.parameters() if p.requires_grad], lr=lr, weight_decay=0.1)
    steps_per_epoch = max(1, (len(pixels) + batch_size - 1) // batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=epochs * steps_per_epoch,
                                                   pct_start=0.1)
    generator = torch.Generator().manual_seed(seed)
    history = []
    for _ in range(epochs):
        order = torch.randperm(len(pixels), generator=generator)
        losses = []
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            if len(batch) < 2:
                continue
            image = F.normalize(clip.encode_image(pixels[batch]), dim=-1)
            text = F.normalize(clip.encode_text(tokens[batch]), dim=-1)
            logits = clip.logit_scale.exp().clamp(max=100) * image @ text.T
            labels = torch.arange(len(batch))
            loss = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(float(loss.detach()))
        history.append(sum(losses) / max(1, len(losses)))
    save_state(clip.eval(), Path(out_file))
    return {"first_loss": history[0], "last_loss": history[-1], "steps": epochs * steps_per_epoch}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="art2music train-encoder", description=__doc__)
    parser.add_argument("--manifest", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path, help="weights file to write (.safetensors)")
    parser.add_argument("--arch", default="art2music-tiny")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not args.manifest.is_file():
        print(f"train-encoder: manifest {args.manifest} does not exist", file=sys.stderr)
        return 2
    if args.out.suffix != ".safetensors":
        print("train-encoder: --out must end in .safetensors", file=sys.stderr)
        return 2
    try:
        result = train_contrastive_encoder(args.manifest, args.out, args.arch, args.epochs, args.batch_size, args.lr,
                                           args.seed)
    except (FileNotFoundError, ValueError) as error:
        print(f"train-encoder: {error}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}: InfoNCE loss {result['first_loss']:.3f} -> {result['last_loss']:.3f} "
          f"over {result['steps']} steps")
    return 0
