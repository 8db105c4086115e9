"""Configs that travel with the weights as JSON: dataclasses whose ``from_dict`` refuses keys they do not know.

A stored config with an unknown key was written by another version or another model; loading it silently
would build the wrong network, so :func:`check_keys` names the unknown keys and the known ones. (Plain
functions, not a base class: LightningCLI treats a dataclass with a base class as a subclass-type option.)
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Mapping, TypeVar

Config = TypeVar("Config")


def check_keys(cls: type, values: Mapping[str, Any], what: str) -> None:
    """Raise ``ValueError`` naming any key of ``values`` that is not a field of the dataclass ``cls``."""
    names = {field.name for field in fields(cls)}
    unknown = set(values) - names
    if unknown:
        raise ValueError(f"unknown {what} keys {sorted(unknown)}; expected some of {sorted(names)}")


def strict_from_dict(cls: type[Config], values: Mapping[str, Any], what: str) -> Config:
    """``cls(**values)`` after :func:`check_keys`."""
    check_keys(cls, values, what)
    return cls(**values)
