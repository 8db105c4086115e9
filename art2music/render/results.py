"""Per-item results: the record written beside each item's outputs, and the run's results files.

``items/<id>.json`` is the item's *done marker*: it is written (atomically) after the WAV, PNG and
thumbnail, so a record with ``status: ok`` and the current fingerprint means every output is complete.
``results.json`` (run summary + one entry per item, input order) and ``results.csv`` (same columns) are
rewritten atomically at the end of a run.

Columns: ``id, image, comment, status, reason, detail, wav, png, thumbnail, seconds, render_seconds,
source, fingerprint, seed, sampling, midi, emotion, target_valence, target_arousal, judged_valence,
judged_arousal`` (``midi``: the midi engine's MIDI file). ``status`` is ``ok`` (rendered by this run), ``skipped`` (already rendered with the
same image, comment, model and settings: outputs kept) or ``failed`` (``reason`` is a short code such as
``truncated`` or ``duplicate_id``, ``detail`` says what to do). ``seconds`` is the audio's duration,
``render_seconds`` the wall time spent on the item (its share of its batch). Paths are relative to the
output folder. ``seed`` and ``sampling`` (e.g. ``steps=16 guidance=2.0 solver=euler``) say how a generative
stage 1 drew the item's piece (empty for the deterministic BiLSTM). ``emotion``, ``target_valence`` and
``target_arousal`` are the feeling the item was steered to (empty when none was given; for the midi engine
without one, the feeling the model read from the picture, with ``emotion`` ``(from the picture)``);
``judged_valence`` and ``judged_arousal`` are what the pipeline folder's VA judge hears in the rendered audio
(empty without a judge).

``results.csv`` is meant to be opened in a spreadsheet, so a text cell beginning with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return (a comment such as ``=HYPERLINK(...)``) is written with a leading ``'``,
which spreadsheets show as text instead of evaluating it (OWASP's advice against CSV injection), and a
carriage return inside a cell becomes a line feed (the csv module does not quote a lone ``\r`` when lines end
in ``\n``, which would split the row). ``results.json`` keeps every value as it is.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from art2music.render.outputs import output_paths, write_text

STATUSES = ("ok", "skipped", "failed")
RESULTS_JSON, RESULTS_CSV = "results.json", "results.csv"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ItemResult:
    """What happened to one item (see the module docstring for the fields)."""

    id: str
    image: str
    comment: str
    status: str
    reason: str = ""
    detail: str = ""
    wav: str = ""
    png: str = ""
    thumbnail: str = ""
    seconds: float = 0.0
    render_seconds: float = 0.0
    source: str = ""
    fingerprint: str = ""
    seed: int | None = None
    sampling: str = ""
    midi: str = ""
    emotion: str = ""
    target_valence: float | None = None
    target_arousal: float | None = None
    judged_valence: float | None = None
    judged_arousal: float | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")

    def as_skipped(self) -> "ItemResult":
        return replace(self, status="skipped", reason="already_rendered",
                       detail="same image, comment, model and settings as the stored outputs", render_seconds=0.0)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "ItemResult":
        names = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in names})


def write_record(out_dir: Path, result: ItemResult) -> None:
    """Write ``items/<id>.json`` atomically (the last step of rendering an item)."""
    write_text(output_paths(out_dir, result.id)["record"],
                      json.dumps(asdict(result), ensure_ascii=False, indent=1) + "\n")


def read_record(out_dir: Path, item_id: str) -> ItemResult | None:
    """The stored record of ``item_id``, or ``None`` if there is none or it is unreadable."""
    path = output_paths(out_dir, item_id)["record"]
    try:
        return ItemResult.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def summarize(results: list[ItemResult]) -> dict[str, int]:
    """Counts per status, plus ``total``."""
    counts = {status: sum(result.status == status for result in results) for status in STATUSES}
    counts["total"] = len(results)
    return counts


def write_results(out_dir: Path, results: list[ItemResult], run_info: dict[str, Any]) -> None:
    """Write ``results.json`` (``{"run": ..., "summary": ..., "items": [...]}``) and ``results.csv``."""
    document = {"run": run_info, "summary": summarize(results), "items": [asdict(result) for result in results]}
    write_text(out_dir / RESULTS_JSON, json.dumps(document, ensure_ascii=False, indent=1) + "\n")
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=[f.name for f in fields(ItemResult)], lineterminator="\n")
    writer.writeheader()
    for result in results:
        writer.writerow({name: spreadsheet_safe(value) for name, value in asdict(result).items()})
    write_text(out_dir / RESULTS_CSV, buffer.getvalue())


def spreadsheet_safe(value: Any) -> Any:
    """A CSV cell that a spreadsheet shows as text: ``'`` before text that would start a formula; ``\r`` → ``\n``."""
    if not isinstance(value, str):
        return value
    return ("'" + value if value.startswith(_FORMULA_STARTS) else value).replace("\r\n", "\n").replace("\r", "\n")


def read_results(out_dir: Path) -> list[ItemResult]:
    """The items of ``results.json`` (for tools and tests)."""
    document = json.loads((out_dir / RESULTS_JSON).read_text(encoding="utf-8"))
    return [ItemResult.from_dict(values) for values in document["items"]]
