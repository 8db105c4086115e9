"""Image → a spatial grid of features ``(B, cells, d_model)``: the symbolic engine's CNN.

Two encoders, chosen by :class:`art2music.symbolic.model.SymbolicConfig.image_encoder`:
  - ``"small-cnn"`` (the demo): four stride-2 conv blocks (conv 3x3, GroupNorm, GELU) trained with the rest of the
    model; a 64 x 64 image gives a 4 x 4 grid of 16 cells.
  - ``"resnet18"`` / ``"resnet50"`` (the paper's pretrained CNN; Kundu et al. 2024 use an ImageNet CNN): torchvision's
    network up to ``layer4`` (stride 32: a 224 x 224 image gives 7 x 7 = 49 cells), weights from a *local* file
    (``weights_path``, safetensors or a state dict read with ``weights_only=True``); nothing is ever downloaded.
    Frozen by default.
Both keep the grid: the Transformer encoder attends over cells, not one pooled vector.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class SmallGridCNN(nn.Module):
    """``(B, 3, S, S)`` pixels in [0, 1] → ``(B, (S/16)^2, d_model)`` cell features."""

    def __init__(self, d_model: int, width: int = 32):
        super().__init__()
        channels = (3, width, 2 * width, 4 * width, 4 * width)
        blocks = []
        for c_in, c_out in zip(channels[:-1], channels[1:]):
            blocks += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.GroupNorm(8, c_out), nn.GELU()]
        self.body = nn.Sequential(*blocks)
        self.project = nn.Conv2d(channels[-1], d_model, 1)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        grid = self.project(self.body(pixels * 2.0 - 1.0))  # (B, d, S/16, S/16)
        return grid.flatten(2).transpose(1, 2)


class ResNetGrid(nn.Module):
    """A torchvision ResNet's ``layer4`` grid, projected: ``(B, 3, S, S)`` in [0, 1] → ``(B, (S/32)^2, d_model)``.

    Args:
        arch: ``resnet18`` (512 channels) or ``resnet50`` (2048).
        weights_path: a local file of the torchvision state dict (``.safetensors`` or ``.pth``); ``None`` for a
            random init (tests). Never downloaded.
        freeze: keep the CNN's weights fixed (only the projection trains).
    """

    def __init__(self, d_model: int, arch: str = "resnet18", weights_path: str | os.PathLike | None = None,
                 freeze: bool = True):
        super().__init__()
        import torchvision

        if arch not in ("resnet18", "resnet50"):
            raise ValueError(f"image encoder {arch!r} is not resnet18 or resnet50")
        network = getattr(torchvision.models, arch)(weights=None)
        if weights_path is not None:
            network.load_state_dict(_read_state_dict(Path(weights_path)))
        self.body = nn.Sequential(*list(network.children())[:-2])  # drop avgpool and fc: keep the grid
        self.body.requires_grad_(not freeze)
        self.frozen = freeze
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.project = nn.Conv2d(network.fc.in_features, d_model, 1)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        normalized = (pixels - self.mean) / self.std
        if self.frozen:
            self.body.eval()
            with torch.no_grad():
                grid = self.body(normalized)
        else:
            grid = self.body(normalized)
        return self.project(grid).flatten(2).transpose(1, 2)


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise FileNotFoundError(f"CNN weights {path} not found: put a torchvision state dict there (this machine "
                                f"downloads nothing)")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    return torch.load(path, map_location="cpu", weights_only=True)


def build_image_encoder(kind: str, d_model: int, weights_path: str | None = None, freeze: bool = True) -> nn.Module:
    """The encoder named ``kind`` (``small-cnn``, ``resnet18``, ``resnet50``)."""
    if kind == "small-cnn":
        return SmallGridCNN(d_model)
    return ResNetGrid(d_model, kind, weights_path, freeze)


def grid_cells(kind: str, image_size: int) -> int:
    """How many grid cells ``kind`` gives for an ``image_size`` square image."""
    stride = 16 if kind == "small-cnn" else 32
    if image_size % stride:
        raise ValueError(f"image_size {image_size} must be a multiple of {stride} for {kind}")
    return (image_size // stride) ** 2


def image_pixels(images, size: int) -> torch.Tensor:
    """Upright RGB PIL images → ``(B, 3, size, size)`` float pixels in [0, 1] (resized, aspect ratio not kept: the
    CNN sees the whole picture)."""
    import numpy as np
    from PIL import Image

    arrays = [np.asarray(image.convert("RGB").resize((size, size), Image.BICUBIC), dtype=np.float32) / 255.0
              for image in images]
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()
