"""The ``symbolic/`` stage of a midi-engine pipeline folder, written and read with strict checks::

    pipeline.json   {"format": "art2music-pipeline", "version": 1, "engine": "midi", "text_template": "{comment}"}
    symbolic/config.json     {"symbolic": SymbolicConfig, "tokenizer": "tokenizer.json",
                              "sampling": {"temperature", "top_k", "top_p"}}   (sampling optional: SamplingDefaults)
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
from art2music.symbolic.sampling import SamplingDefaults
from art2music.symbolic.tokenizer import TOKENIZER_FILE, load_tokenizer, save_tokenizer, token_facts

SYMBOLIC_DIR = "symbolic"


def save_symbolic(model: SymbolicModel, tokenizer, folder: str | os.PathLike,
                  sampling: SamplingDefaults = SamplingDefaults()) -> Path:
    """Write ``config.json`` (with the model's ``sampling`` defaults), ``model.safetensors`` and ``tokenizer.json``
    into ``folder``."""
    folder = Path(folder)
    save_module(model, folder, {"symbolic": model.config.to_dict(), "tokenizer": TOKENIZER_FILE,
                                "sampling": sampling.to_dict()})
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


def load_sampling_defaults(folder: str | os.PathLike) -> SamplingDefaults:
    """The ``sampling`` entry of ``folder/config.json`` (absent: :class:`SamplingDefaults`' own defaults).

    Raises:
        ModelLoadError: the entry is not an object, or holds an unknown key or a value out of range.
    """
    path = Path(folder) / CONFIG_NAME
    values = read_json_object(path).get("sampling", {})
    if not isinstance(values, dict):
        raise ModelLoadError(path, f"{values!r} is not an object", "sampling")
    try:
        return SamplingDefaults.from_dict(values)
    except (TypeError, ValueError) as error:
        raise ModelLoadError(path, str(error), "sampling") from error
