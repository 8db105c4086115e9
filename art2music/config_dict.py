"""Configs that travel with the weights as JSON: a dataclass whose ``from_dict`` refuses keys it does not know.

A stored config with an unknown key was written by another version or another model; loading it silently
would build the wrong network, so :meth:`ConfigDict.from_dict` names the unknown keys and the known ones.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any, Mapping, TypeVar

Config = TypeVar("Config", bound="ConfigDict")


class ConfigDict:
    """Mixin for a dataclass config: ``to_dict()`` and a strict ``from_dict()``; ``CONFIG_NAME`` names it in errors."""

    CONFIG_NAME = "config"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]  (a dataclass instance)

    @classmethod
    def check_keys(cls, values: Mapping[str, Any]) -> None:
        """Raise ``ValueError`` naming any key of ``values`` that is not a field of ``cls``."""
        names = {field.name for field in fields(cls)}  # type: ignore[arg-type]
        unknown = set(values) - names
        if unknown:
            raise ValueError(f"unknown {cls.CONFIG_NAME} keys {sorted(unknown)}; expected some of {sorted(names)}")

    @classmethod
    def from_dict(cls: type[Config], values: Mapping[str, Any]) -> Config:
        cls.check_keys(values)
        return cls(**values)
