"""Format strings a user configures (the comment template, the audio file pattern), checked once, up front.

A template may use only its known ``{placeholders}`` and must use the required ones; ``{{`` and ``}}``
write literal braces. Checking when the template is configured or loaded, not when the first item is
written, turns a typo into one clear error instead of a crash midway through a job.
"""

from __future__ import annotations

import string
from typing import Any, Sequence


def check_placeholders(template: Any, allowed: Sequence[str], required: str, what: str) -> None:
    """Raise ``ValueError`` naming ``what`` unless ``template`` is a format string using only ``allowed``
    placeholders, ``required`` among them."""
    names = ", ".join("{" + name + "}" for name in allowed)
    if not isinstance(template, str):
        raise ValueError(f"the {what} must be a string, got {type(template).__name__} {template!r}")
    try:
        fields = [field for _, field, _, _ in string.Formatter().parse(template) if field is not None]
    except ValueError as error:
        raise ValueError(f"{what} {template!r} is malformed ({error}); write {{{{ and }}}} for braces") from error
    for field in fields:
        if field not in allowed:
            raise ValueError(f"{what} {template!r} has the unknown placeholder {{{field}}}; allowed: {names}")
    if required not in fields:
        raise ValueError(f"{what} {template!r} must contain {{{required}}}; allowed: {names}")
