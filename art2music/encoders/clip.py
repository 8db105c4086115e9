"""OpenCLIP image and comment encoder.

Wraps any OpenCLIP architecture (the paper's ``ViT-H-14`` with ``laion2b_s32b_b79k``, 1024-d; lighter
ones such as ``ViT-B-32``; or the project's ``art2music-tiny`` used by tests and the demo) with weights
from a pretrained tag (resolved in the Hugging Face cache), a local weights file, or none (random init).

Weights are never fetched silently: before open_clip is asked for a tag, the cache is searched; if
the weights are absent and the hub is unreachable (or ``HF_HUB_OFFLINE=1``), :class:`EncoderWeightsNotFound`
is raised at once with the file name and the places to put it.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import nn

TINY_ARCH = "art2music-tiny"
"""A 2-layer, 64-wide CLIP registered with open_clip, for tests and the demo weights."""

_CONFIG_DIR = Path(__file__).with_name("clip_configs")
_registered = False


TEXT_PLACEHOLDERS = ("comment", "emotion")
"""The names a text template may use (``{comment}``, ``{emotion}``): what :func:`comment_text` fills in."""

DEFAULT_TEXT_TEMPLATE = "{comment}"
"""The comment text as written: the template of the builder, the feature cache and the pipeline by default."""


def comment_text(template: str, comment: str | None, emotion: str = "") -> str:
    """The text the encoder embeds for a comment: ``template`` with ``{comment}`` and ``{emotion}`` filled in.

    The one definition used by the feature cache, training and inference, so they embed the same text.
    """
    return template.format(comment=(comment or "").strip(), emotion=emotion).strip()


def check_text_template(template: Any) -> None:
    """Raise ``ValueError`` unless ``template`` is a string that :func:`comment_text` can fill in.

    Only the placeholders of :data:`TEXT_PLACEHOLDERS` are allowed (write ``{{`` and ``}}`` for braces), and
    ``{comment}`` must be one of them. Checked once, where a template is configured or loaded, not per item.
    """
    from art2music.placeholders import check_placeholders

    check_placeholders(template, TEXT_PLACEHOLDERS, "comment", "text template")
    allowed = ", ".join("{" + name + "}" for name in TEXT_PLACEHOLDERS)
    try:
        comment_text(template, "a comment", "joy")
    except (ValueError, KeyError, IndexError, AttributeError, TypeError) as error:
        raise ValueError(f"text template {template!r} cannot be filled in: {error}; allowed: {allowed}") from error


def weights_identity(pretrained: str | None) -> str | None:
    """How encoder weights are named in specs and caches: a file by its base name, a tag as it is."""
    if pretrained is not None and Path(pretrained).expanduser().is_file():
        return Path(pretrained).name
    return pretrained


class EncoderWeightsNotFound(FileNotFoundError):
    """Pretrained encoder weights are not on this machine and cannot be downloaded."""


def register_architectures() -> None:
    """Register art2music's extra OpenCLIP architectures (``art2music-tiny``) with open_clip. Idempotent."""
    global _registered
    if not _registered:
        import open_clip

        open_clip.add_model_config(_CONFIG_DIR)
        _registered = True


def _hub_reachable(timeout_s: float = 3.0) -> bool:
    """True unless the user asked for offline mode or huggingface.co cannot be reached within ``timeout_s``."""
    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in {"1", "true", "yes", "on"}:
        return False
    try:
        with socket.create_connection(("huggingface.co", 443), timeout=timeout_s):
            return True
    except OSError:
        return False


def resolve_weights(arch: str, pretrained: str | None, cache_dir: str | None = None) -> str | None:
    """Turn ``pretrained`` (a tag, a file path, or ``None``) into something open_clip loads without surprises.

    Returns:
        ``None`` (random init), a local file path, or the tag itself when it must be downloaded and the
        hub is reachable.

    Raises:
        EncoderWeightsNotFound: a file path that does not exist, or a tag whose weights are not cached
            while the hub is unreachable. The message says which file to put where.
        ValueError: ``pretrained`` is neither a file nor a tag open_clip knows for ``arch``.
    """
    if pretrained in (None, "", "none", "None"):
        return None
    import open_clip

    tag_cfg = open_clip.get_pretrained_cfg(arch, pretrained)
    if not tag_cfg:
        path = Path(pretrained).expanduser()
        if path.is_file():
            return str(path)
        looks_like_path = os.sep in pretrained or path.suffix in {".bin", ".pt", ".pth", ".safetensors"}
        if looks_like_path:
            raise EncoderWeightsNotFound(f"encoder weights file {path} does not exist")
        tags = open_clip.list_pretrained_tags_by_model(arch)
        raise ValueError(f"pretrained={pretrained!r} is neither a file nor a known tag for {arch}; "
                         f"known tags: {', '.join(tags) or 'none'}")
    if tag_cfg.get("file"):
        return tag_cfg["file"]
    hub = tag_cfg.get("hf_hub", "")
    if hub:
        repo_id, filename = os.path.split(hub.rstrip("/") + ("/" if hub.endswith("/") else ""))
        repo_id = repo_id if filename else hub.rstrip("/")
        candidates = [filename] if filename else ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]
        from huggingface_hub import try_to_load_from_cache

        for candidate in candidates:
            cached = try_to_load_from_cache(repo_id, candidate, cache_dir=cache_dir)
            if isinstance(cached, str) and Path(cached).is_file():
                return cached
        if _hub_reachable():
            return pretrained
        hf_home = os.environ.get("HF_HUB_CACHE") or os.path.join(
            os.environ.get("HF_HOME", os.path.expanduser("~/.cache/huggingface")), "hub")
        raise EncoderWeightsNotFound(
            f"OpenCLIP weights for {arch} / {pretrained} are not on this machine and the Hugging Face hub "
            f"is unreachable (or HF_HUB_OFFLINE=1). Either (a) on a machine with network run "
            f"`huggingface-cli download {repo_id} {candidates[-1]}` and copy its cache folder "
            f"models--{repo_id.replace('/', '--')} into {cache_dir or hf_home}, or (b) download "
            f"{candidates[-1]} from https://huggingface.co/{repo_id} and set the encoder's pretrained "
            f"option to that file's path (e.g. --model.encoder.pretrained /path/to/{candidates[-1]}).")
    url = tag_cfg.get("url", "")
    raise EncoderWeightsNotFound(f"OpenCLIP weights for {arch} / {pretrained} come from {url}; download that "
                                 f"file and pass its path as the encoder's pretrained option")


class ClipEncoder(nn.Module):
    """OpenCLIP image + text encoder producing ``(B, D)`` embeddings.

    Args:
        arch: OpenCLIP architecture name (``ViT-H-14``, ``ViT-B-32``, ``art2music-tiny`` ...).
        pretrained: pretrained tag, local weights file (``.safetensors``/``.bin``/``.pt``), or ``None``.
        normalize: L2-normalise embeddings (CLIP's convention; the cached embeddings are normalised too).
        trainable: if ``False`` (default) the encoder is frozen: no gradients and always in eval mode.
        cache_dir: Hugging Face cache folder to search (default: the standard one).
    """

    def __init__(self, arch: str = "ViT-H-14", pretrained: str | None = "laion2b_s32b_b79k",
                 normalize: bool = True, trainable: bool = False, cache_dir: str | None = None):
        super().__init__()
        import open_clip

        register_architectures()
        if arch not in open_clip.list_models():
            raise ValueError(f"unknown OpenCLIP architecture {arch!r}; e.g. ViT-H-14, ViT-B-32, {TINY_ARCH}")
        weights = resolve_weights(arch, pretrained, cache_dir)
        model, _, preprocess = open_clip.create_model_and_transforms(arch, pretrained=weights, cache_dir=cache_dir)
        self.arch = arch
        self.pretrained = pretrained if pretrained not in ("", "none", "None") else None
        self.normalize = normalize
        self.trainable = trainable
        self.clip = model
        self.image_transform = preprocess
        self.tokenizer = open_clip.get_tokenizer(arch)
        self.embed_dim = int(model.text_projection.shape[1] if hasattr(model, "text_projection")
                             and model.text_projection is not None else model.visual.output_dim)
        if hasattr(self.clip, "logit_scale"):
            self.clip.logit_scale.requires_grad_(False)  # unused by art2music; keep it out of the optimizer
        if not trainable:
            self.clip.requires_grad_(False)
            self.clip.eval()
        #: float32 originals kept by set_inference_dtype (None while the weights are float32 themselves).
        self._float32_state: dict[str, torch.Tensor] | None = None

    def train(self, mode: bool = True) -> "ClipEncoder":
        """Frozen encoders stay in eval mode whatever the parent module does."""
        super().train(mode and self.trainable)
        return self

    @property
    def inference_dtype(self) -> torch.dtype:
        """The dtype the towers' weights are held in (float32 unless :meth:`set_inference_dtype` changed it)."""
        return torch.float32 if self._float32_state is None else torch.bfloat16

    def set_inference_dtype(self, dtype: torch.dtype) -> "ClipEncoder":
        """Hold the towers' weights in ``dtype`` for inference; returns self.

        ``torch.bfloat16`` converts the weights once, so a bf16 forward pass no longer re-rounds every float32
        weight as autocast does on each call: ViT-H-14 encodes an image in 0.36 s instead of 0.49 s under
        autocast (1.51 s in float32) on 2 AMX cores, embedding cosine 0.99993 against float32
        (``bench/results/precision.json``). The float32 weights are kept: :meth:`float32_state_dict` (what the
        exporters store) and ``set_inference_dtype(torch.float32)`` restore them exactly.

        Raises:
            RuntimeError: a trainable encoder (its optimizer needs the float32 weights).
            ValueError: a dtype other than float32 and bfloat16.
        """
        if dtype not in (torch.float32, torch.bfloat16):
            raise ValueError(f"an encoder runs in float32 or bfloat16, not {dtype}")
        if dtype == self.inference_dtype:
            return self
        if dtype == torch.float32:
            device = next(self.clip.parameters()).device
            self.clip.float()  # buffers outside the state dict (e.g. the text tower's causal mask) too
            self.clip.load_state_dict({k: v.to(device) for k, v in self._float32_state.items()}, assign=True)
            self._float32_state = None
            return self
        if self.trainable:
            raise RuntimeError("a trainable encoder keeps float32 weights; bf16 weights are for a frozen one")
        self._float32_state = {name: tensor.detach() for name, tensor in self.clip.state_dict().items()}
        self.clip.to(dtype)
        return self

    def float32_state_dict(self) -> dict[str, torch.Tensor]:
        """The OpenCLIP model's weights in float32, whatever :meth:`set_inference_dtype` chose."""
        return dict(self._float32_state) if self._float32_state is not None else self.clip.state_dict()

    def spec(self) -> dict[str, Any]:
        """What determines the embeddings: recorded in feature caches and checked on load."""
        return {"arch": self.arch, "pretrained": weights_identity(self.pretrained), "normalize": self.normalize, "embed_dim": self.embed_dim}

    def preprocess(self, images: Sequence[Any]) -> torch.Tensor:
        """PIL images (any mode) → ``(B, 3, H, W)`` float tensor normalised as the architecture expects."""
        return torch.stack([self.image_transform(image.convert("RGB")) for image in images])

    def tokenize(self, texts: Sequence[str]) -> torch.Tensor:
        """Comments → ``(B, context_length)`` token ids (long comments are truncated by the tokenizer)."""
        return self.tokenizer([str(text) for text in texts])

    def encode_images(self, pixels: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` preprocessed pixels → ``(B, D)`` image embeddings."""
        with torch.set_grad_enabled(self.trainable and torch.is_grad_enabled()):
            pixels = pixels.to(self.inference_dtype)
            embedding = self.clip.encode_image(pixels).float()  # float32 also when run in bf16
        return nn.functional.normalize(embedding, dim=-1) if self.normalize else embedding

    def encode_texts(self, tokens: torch.Tensor) -> torch.Tensor:
        """``(B, L)`` token ids → ``(B, D)`` text embeddings."""
        with torch.set_grad_enabled(self.trainable and torch.is_grad_enabled()):
            embedding = self.clip.encode_text(tokens).float()
        return nn.functional.normalize(embedding, dim=-1) if self.normalize else embedding

    @torch.no_grad()
    def embed(self, images: Sequence[Any], comments: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Convenience for inference: PIL images and comments → ``(text_embedding, image_embedding)``, each
        ``(B, D)`` (the order of ``Art2Music.embed`` and of the fusion's arguments)."""
        device = next(self.clip.parameters()).device
        return (self.encode_texts(self.tokenize(comments).to(device)),
                self.encode_images(self.preprocess(images).to(device)))
