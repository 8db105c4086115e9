"""Fingerprints that decide whether an item must be (re)rendered.

An item's fingerprint is a SHA-256 over the image file's bytes, the comment, the model's identity and
the output settings. A rerun skips an item only when its stored fingerprint equals the new one, so a
changed image, comment, model or WAV format re-renders exactly the items it affects. The model's identity
comes from :mod:`art2music.export.identity`.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Mapping


def item_fingerprint(image_sha256: str, comment: str, model_identity: str, settings: Mapping[str, Any]) -> str:
    """The fingerprint of one rendered item (see module docstring)."""
    payload = json.dumps({"image": image_sha256, "comment": comment, "model": model_identity,
                          "settings": dict(settings)}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
