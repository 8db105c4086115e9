"""Batch rendering of art collections: WAVs, spectrogram PNGs, a results file and an HTML gallery.

Notebook use::

    from art2music import Art2Music
    from art2music.render import read_collection, render_collection, RenderSettings

    pipe = Art2Music.from_pretrained("demo")
    report = render_collection(pipe, read_collection("paintings/"), "out/", RenderSettings(batch_size=8))
    report.summary  # {"ok": ..., "skipped": ..., "failed": ..., "total": ...}

Command line: ``art2music render INPUT --out DIR`` (:mod:`art2music.render.cli`).
"""

from art2music.render.inputs import BadItem, Collection, CollectionError, RenderItem, read_collection
from art2music.render.results import ItemResult, read_results
from art2music.render.runner import RenderReport, RenderSettings, render_collection

__all__ = ["BadItem", "Collection", "CollectionError", "RenderItem", "read_collection", "ItemResult", "read_results",
           "RenderReport", "RenderSettings", "render_collection"]
