"""HiFi-GAN generator hyper-parameters, in the official ``config.json`` vocabulary.

The field names are those of jik876/hifi-gan's ``config_v1.json`` / ``config_v2.json`` / ``config_v3.json``,
so an official config file reads directly (its training keys such as ``batch_size`` or ``learning_rate`` are
ignored here; :class:`vocoder.mel.MelConfig` reads the mel keys). The V1/V2/V3 values are those published
with the HiFi-GAN paper (Kong, Kim, Bae, NeurIPS 2020, Table 1 and the released configs).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

__all__ = ["GeneratorConfig", "PRESETS", "read_official_config"]

#: Keys of an official HiFi-GAN ``config.json`` that are not generator hyper-parameters (training, data, DDP).
OFFICIAL_NON_GENERATOR_KEYS = frozenset({
    "batch_size", "learning_rate", "adam_b1", "adam_b2", "lr_decay", "seed", "segment_size", "num_gpus",
    "num_freq", "n_fft", "hop_size", "win_size", "sampling_rate", "fmin", "fmax", "fmax_for_loss",
    "num_workers", "dist_config",
})


@dataclass(frozen=True)
class GeneratorConfig:
    """Architecture of a HiFi-GAN generator.

    Attributes:
        resblock: ``"1"`` (two dilated convs per step, V1/V2) or ``"2"`` (one conv per step, V3).
        upsample_rates: stride of each transposed conv; their product is the hop size in samples.
        upsample_kernel_sizes: kernel size of each transposed conv (same length as ``upsample_rates``).
        upsample_initial_channel: channels after ``conv_pre``; halved by every upsampling layer.
        resblock_kernel_sizes: kernel size of each parallel residual block (the multi-receptive-field fusion).
        resblock_dilation_sizes: dilations of each residual block (3 per block for "1", 2 for "2").
        num_mels: mel bins of the input (80 for every released checkpoint).
    """

    resblock: str = "1"
    upsample_rates: tuple[int, ...] = (8, 8, 2, 2)
    upsample_kernel_sizes: tuple[int, ...] = (16, 16, 4, 4)
    upsample_initial_channel: int = 512
    resblock_kernel_sizes: tuple[int, ...] = (3, 7, 11)
    resblock_dilation_sizes: tuple[tuple[int, ...], ...] = field(default=((1, 3, 5), (1, 3, 5), (1, 3, 5)))
    num_mels: int = 80

    def __post_init__(self) -> None:
        # Normalise lists (from JSON / YAML) to tuples so configs compare and hash by value.
        object.__setattr__(self, "resblock", str(self.resblock))
        for name in ("upsample_rates", "upsample_kernel_sizes", "resblock_kernel_sizes"):
            object.__setattr__(self, name, tuple(int(v) for v in getattr(self, name)))
        object.__setattr__(self, "resblock_dilation_sizes",
                           tuple(tuple(int(d) for d in dilations) for dilations in self.resblock_dilation_sizes))
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` naming the offending value if the architecture cannot be built."""
        if self.resblock not in ("1", "2"):
            raise ValueError(f"resblock must be \"1\" or \"2\" (official HiFi-GAN names), got {self.resblock!r}")
        if len(self.upsample_rates) != len(self.upsample_kernel_sizes) or not self.upsample_rates:
            raise ValueError(f"upsample_rates {list(self.upsample_rates)} and upsample_kernel_sizes "
                             f"{list(self.upsample_kernel_sizes)} must be non-empty and of equal length")
        for rate, kernel in zip(self.upsample_rates, self.upsample_kernel_sizes):
            if rate <= 0 or kernel < rate or (kernel - rate) % 2:
                raise ValueError(f"upsample kernel {kernel} with rate {rate}: need kernel >= rate and an even "
                                 f"kernel - rate, so each layer outputs exactly rate x its input length")
        if len(self.resblock_kernel_sizes) != len(self.resblock_dilation_sizes) or not self.resblock_kernel_sizes:
            raise ValueError(f"resblock_kernel_sizes {list(self.resblock_kernel_sizes)} and resblock_dilation_sizes "
                             f"{[list(d) for d in self.resblock_dilation_sizes]} must be non-empty, equal length")
        steps = 3 if self.resblock == "1" else 2
        for dilations in self.resblock_dilation_sizes:
            if len(dilations) < steps:
                raise ValueError(f"resblock \"{self.resblock}\" needs {steps} dilations per block, got {list(dilations)}")
        if self.upsample_initial_channel % (2 ** len(self.upsample_rates)):
            raise ValueError(f"upsample_initial_channel {self.upsample_initial_channel} must be divisible by "
                             f"2**{len(self.upsample_rates)} (it is halved by each upsampling layer)")

    @property
    def hop_length(self) -> int:
        """Output samples per input mel frame (product of ``upsample_rates``)."""
        hop = 1
        for rate in self.upsample_rates:
            hop *= rate
        return hop

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with the official key names (lists, not tuples)."""
        values = asdict(self)
        return {k: ([list(v) for v in values[k]] if k == "resblock_dilation_sizes" else
                    list(values[k]) if isinstance(values[k], tuple) else values[k]) for k in values}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "GeneratorConfig":
        """Read the generator keys of an official ``config.json`` dict (other official keys are ignored).

        Unknown keys that are neither generator nor official training keys raise ``ValueError`` (typos).
        """
        names = set(cls.__dataclass_fields__)
        unknown = set(values) - names - OFFICIAL_NON_GENERATOR_KEYS
        if unknown:
            raise ValueError(f"unknown generator config keys {sorted(unknown)}; expected some of {sorted(names)}")
        kwargs = {k: v for k, v in values.items() if k in names}
        return cls(**kwargs)

    @classmethod
    def preset(cls, name: str) -> "GeneratorConfig":
        """One of the published architectures: ``"v1"``, ``"v2"`` or ``"v3"`` (case-insensitive)."""
        key = name.lower()
        if key not in PRESETS:
            raise ValueError(f"unknown HiFi-GAN version {name!r}; choose one of {sorted(PRESETS)} or give a path "
                             f"to an official config.json")
        return PRESETS[key]


PRESETS: dict[str, GeneratorConfig] = {
    # V1: the high-quality model, 13.93 M parameters.
    "v1": GeneratorConfig(),
    # V2: V1's layout with a 4x narrower first layer, 0.93 M parameters.
    "v2": GeneratorConfig(upsample_initial_channel=128),
    # V3: three upsampling layers and the lighter ResBlock2, 1.46 M parameters.
    "v3": GeneratorConfig(resblock="2", upsample_rates=(8, 8, 4), upsample_kernel_sizes=(16, 16, 8),
                          upsample_initial_channel=256, resblock_kernel_sizes=(3, 5, 7),
                          resblock_dilation_sizes=((1, 2), (2, 6), (3, 12))),
}


def read_official_config(path: str | Path) -> dict[str, Any]:
    """Read a HiFi-GAN ``config.json`` as a dict, with a clear error if it is missing or not JSON."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"HiFi-GAN config not found: {path} (an official checkpoint g_XXXXXXXX needs the "
                                f"config.json it was trained with in the same folder)")
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} is not a valid JSON config: {error}") from error
    if not isinstance(values, dict):
        raise ValueError(f"{path} must hold a JSON object, got {type(values).__name__}")
    return values
