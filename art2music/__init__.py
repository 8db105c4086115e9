"""art2music: turn an artwork's image (and a viewer's comment) into music whose feeling matches it.

The public API, for notebooks::

    from art2music import Art2Music, Art2Midi, load_image, read_collection, render_collection, RenderSettings

    pipe = Art2Music.from_pretrained("demo")
    audio = pipe("painting.jpg", comment="it feels like a calm summer morning")

These names are imported lazily (PEP 562), on first use: ``import art2music`` alone never imports torch,
so ``art2music --help`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> the module that defines it
_LAZY_EXPORTS: dict[str, str] = {
    "Art2Music": "art2music.pipeline",
    "Art2Midi": "art2music.symbolic.pipeline",
    "load_image": "art2music.io.images",
    "read_collection": "art2music.render",
    "render_collection": "art2music.render",
    "RenderSettings": "art2music.render",
}

__all__ = ["__version__", *_LAZY_EXPORTS]


def __getattr__(name: str) -> Any:
    """Import a public name's module on first access and cache the name in this package."""
    module_name = _LAZY_EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'art2music' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The module's attributes plus the lazy public names, so ``dir(art2music)`` lists what ``__all__`` does."""
    return sorted(set(globals()) | set(_LAZY_EXPORTS))
