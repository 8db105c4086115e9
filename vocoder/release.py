"""Turn a training checkpoint (Lightning ``.ckpt``) into release files.

- our export directory (``config.json`` + ``model.safetensors``, weight norm removed) for
  :func:`vocoder.load_generator` and the art2music pipeline;
- the official ``{'generator': state_dict}`` file (+ ``config.json``) that jik876/hifi-gan can load.

The ``.ckpt`` is read with ``torch.load(weights_only=True)``: tensors and plain containers only.
"""

from __future__ import annotations

from pathlib import Path

from vocoder.checkpoint import CheckpointError, load_official_state, load_strict, save_export, save_official
from vocoder.config import GeneratorConfig
from vocoder.generator import Generator
from vocoder.mel import MelConfig

__all__ = ["export", "generator_from_training_checkpoint"]


def generator_from_training_checkpoint(checkpoint: str | Path) -> Generator:
    """Rebuild the (weight-normed) generator saved in a :class:`vocoder.module.VocoderModule` checkpoint."""
    data = load_official_state(checkpoint)
    if "vocoder" not in data or "state_dict" not in data:
        raise CheckpointError(f"{checkpoint} is not a vocoder training checkpoint (keys {sorted(data)[:8]}); "
                              f"expected a Lightning .ckpt written by `train-vocoder fit`")
    configs = data["vocoder"]
    generator = Generator(GeneratorConfig.from_dict(configs["generator"]), MelConfig.from_dict(configs["mel"]))
    prefix = "generator."
    state = {key[len(prefix):]: value for key, value in data["state_dict"].items() if key.startswith(prefix)}
    load_strict(generator, state, f"generator weights in {checkpoint}")
    return generator.eval()


def export(checkpoint: str | Path, output_dir: str | Path | None = None,
           official: str | Path | None = None) -> Generator:
    """Export the generator of ``checkpoint``.

    Args:
        checkpoint: Lightning ``.ckpt`` of a vocoder run (e.g. ``runs/vocoder-demo/checkpoints/last.ckpt``).
        output_dir: write our export directory here (``config.json`` + ``model.safetensors``).
        official: write the official ``g_XXXXXXXX``-style file here (``config.json`` beside it).

    Returns:
        The generator (weight norm kept, eval mode).
    """
    if output_dir is None and official is None:
        raise ValueError("nothing to export: give output_dir and/or official")
    generator = generator_from_training_checkpoint(checkpoint)
    if official is not None:
        official = Path(official)
        if output_dir is not None and Path(output_dir).resolve() == official.parent.resolve():
            raise ValueError(f"the official file's config.json would overwrite the export's in {official.parent}; "
                             f"use separate folders")
        save_official(generator, official)
    if output_dir is not None:
        save_export(generator, output_dir)
    return generator
