"""The ``symbolic/`` stage of a midi-engine pipeline folder, written and read with strict checks::

    pipeline.json   {"format": "art2music-pipeline", "version": 1, "engine": "midi", "text_template": "{comment}"}
    symbolic/config.json     {"symbolic": SymbolicConfig, "tokenizer": "tokenizer.json"}
    symbolic/model.safetensors
    symbolic/tokenizer.json  the trained REMI+BPE tokenizer; its size and special ids must match the model

Nothing is unpickled; a file or value that does not fit raises :class:`ModelLoadError` naming it.
"""

from __future__ import annotations

import os
from pathlib import Path

from art2music.export.stage_folder import (CONFIG_NAME, ModelLoadError, check_safetensors_file, load_module_weights,
                                           read_json_object, save_module)
from art2music.symbolic.model import SymbolicConfig, SymbolicModel
from art2music.symbolic.tokenizer import TOKENIZER_FILE, load_tokenizer, save_tokenizer, token_facts

SYMBOLIC_DIR = "symbolic"


def save_symbolic(model: SymbolicModel, tokenizer, folder: str | os.PathLike) -> Path:
    """Write ``config.json``, ``model.safetensors`` and ``tokenizer.json`` into ``folder``."""
    folder = Path(folder)
    save_module(model, folder, {"symbolic": model.config.to_dict(), "tokenizer": TOKENIZER_FILE})
    save_tokenizer(tokenizer, folder / TOKENIZER_FILE)
    return folder


def load_symbolic(folder: str | os.PathLike) -> tuple[SymbolicModel, object]:
    """Rebuild ``symbolic/``: the model (eval mode) and its tokenizer, checked against each other.

    Raises:
        ModelLoadError: a missing or damaged file, unknown settings, or a tokenizer that does not fit the model.
    """
    folder = Path(folder)
    path = folder / CONFIG_NAME
    values = read_json_object(path)
    sizes = values.get("symbolic")
    if not isinstance(sizes, dict):
        raise ModelLoadError(path, "missing or not an object", "symbolic")
    try:
        config = SymbolicConfig.from_dict(sizes)
    except (TypeError, ValueError) as error:
        raise ModelLoadError(path, str(error), "symbolic") from error
    tokenizer_path = folder / TOKENIZER_FILE
    try:
        tokenizer = load_tokenizer(tokenizer_path, config.vocab_size)
        facts = token_facts(tokenizer)
    except (FileNotFoundError, ValueError) as error:
        raise ModelLoadError(tokenizer_path, str(error)) from error
    if (facts.pad, facts.bos, facts.eos) != (config.pad_id, config.bos_id, config.eos_id):
        raise ModelLoadError(tokenizer_path, f"special ids {facts.pad, facts.bos, facts.eos} differ from the model's "
                             f"{config.pad_id, config.bos_id, config.eos_id}")
    check_safetensors_file(folder / "model.safetensors") if (folder / "model.safetensors").is_file() else None
    model = SymbolicModel(config)
    load_module_weights(model, folder)
    return model.eval(), tokenizer
