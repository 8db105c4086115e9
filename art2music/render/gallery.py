"""``index.html``: a self-contained gallery of a render folder that works opened straight from disk.

One card per rendered item (thumbnail, id, comment, audio player, spectrogram, and, where known, the target and
judged feeling as points on a small inline-SVG valence-arousal plane), then a table of the
failed items with their reasons. Every link is relative and percent-encoded; every piece of user text
(ids, comments, paths, reasons) is HTML-escaped. No scripts, no external resources (the plane is inline SVG).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any
from urllib.parse import quote

from art2music.render.results import ItemResult, summarize
from art2music.render.outputs import write_text

GALLERY_NAME = "index.html"
COMMENT_PREVIEW = 400

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; background: #faf9f7; color: #222; }
h1 { font-size: 1.4rem; margin-bottom: .2rem; }
.meta { color: #666; font-size: .85rem; margin-bottom: 1.2rem; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 1rem; }
.card { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .7rem; }
.card img.thumb { display: block; max-width: 100%; max-height: 220px; margin: 0 auto .5rem; }
.card img.mel { display: block; width: 100%; height: 90px; image-rendering: pixelated; margin-top: .4rem; }
.card audio { width: 100%; }
.id { font-weight: 600; word-break: break-all; }
.comment { font-style: italic; color: #444; white-space: pre-wrap; word-wrap: break-word; }
.skipped { color: #888; font-size: .8rem; }
.feeling { display: flex; gap: .5rem; align-items: center; margin-top: .4rem; font-size: .75rem; }
table { border-collapse: collapse; margin-top: .5rem; }
td, th { border: 1px solid #ccc; padding: .25rem .5rem; text-align: left; vertical-align: top; font-size: .9rem; }
"""


def _href(relative_path: str) -> str:
    """A relative path → an escaped, percent-encoded ``href``/``src`` value."""
    return html.escape(quote(relative_path, safe="/"), quote=True)


def _text(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _comment_html(comment: str) -> str:
    if not comment:
        return '<div class="comment">(no comment)</div>'
    if len(comment) <= COMMENT_PREVIEW:
        return f'<div class="comment">{_text(comment)}</div>'
    return (f'<details class="comment"><summary>{_text(comment[:COMMENT_PREVIEW])}…</summary>'
            f"{_text(comment)}</details>")


def _sampling_text(result: ItemResult) -> str:
    """`` · seed 123 · steps=16 guidance=2.0`` for a sampled piece, nothing for a deterministic one."""
    if result.seed is None:
        return ""
    return f" · seed {result.seed}" + (f" · {_text(result.sampling)}" if result.sampling else "")


VA_PLANE_PIXELS = 96
"""Side of the valence-arousal plane drawn on each card, in CSS pixels."""


def _va_point(valence: float, arousal: float) -> tuple[float, float]:
    """(valence, arousal) in [-1, 1]² → SVG coordinates on the plane (valence to the right, arousal up)."""
    half = VA_PLANE_PIXELS / 2
    valence, arousal = (max(-1.0, min(1.0, float(value))) for value in (valence, arousal))
    return round(half + valence * (half - 6), 1), round(half - arousal * (half - 6), 1)


def va_plane_svg(result: ItemResult) -> str:
    """A small inline-SVG valence-arousal plane with the item's target (open ring) and judged (filled dot) feeling;
    empty when the item has neither."""
    has_target = result.target_valence is not None and result.target_arousal is not None
    has_judged = result.judged_valence is not None and result.judged_arousal is not None
    if not (has_target or has_judged):
        return ""
    size, half = VA_PLANE_PIXELS, VA_PLANE_PIXELS / 2
    parts = [f'<svg class="va" width="{size}" height="{size}" viewBox="0 0 {size} {size}" role="img" '
             f'aria-label="valence-arousal plane">',
             f'<rect x="0.5" y="0.5" width="{size - 1}" height="{size - 1}" fill="#fff" stroke="#ccc"/>',
             f'<line x1="{half}" y1="0" x2="{half}" y2="{size}" stroke="#ddd"/>',
             f'<line x1="0" y1="{half}" x2="{size}" y2="{half}" stroke="#ddd"/>',
             f'<text x="{size - 3}" y="{half - 3}" font-size="8" text-anchor="end" fill="#999">valence</text>',
             f'<text x="{half + 3}" y="9" font-size="8" fill="#999">arousal</text>']
    words = []
    if has_target:
        x, y = _va_point(result.target_valence, result.target_arousal)
        name = f" {result.emotion}" if result.emotion else ""
        parts.append(f'<circle class="target" cx="{x}" cy="{y}" r="5" fill="none" stroke="#2a6fdb" stroke-width="2">'
                     f'<title>target{_text(name)}: valence {result.target_valence:+.2f}, arousal '
                     f'{result.target_arousal:+.2f}</title></circle>')
        words.append(f'<span style="color:#2a6fdb">○ target{_text(name)} ({result.target_valence:+.2f}, '
                     f'{result.target_arousal:+.2f})</span>')
    if has_judged:
        x, y = _va_point(result.judged_valence, result.judged_arousal)
        parts.append(f'<circle class="judged" cx="{x}" cy="{y}" r="3.5" fill="#d9480f"><title>judged: valence '
                     f'{result.judged_valence:+.2f}, arousal {result.judged_arousal:+.2f}</title></circle>')
        words.append(f'<span style="color:#d9480f">● judged ({result.judged_valence:+.2f}, '
                     f'{result.judged_arousal:+.2f})</span>')
    parts.append("</svg>")
    return f'<div class="feeling">{"".join(parts)}<div class="va-words">{"<br>".join(words)}</div></div>'


def _card(result: ItemResult) -> str:
    note = '<div class="skipped">kept from an earlier run</div>' if result.status == "skipped" else ""
    return "\n".join([
        '<div class="card">',
        f'<img class="thumb" src="{_href(result.thumbnail)}" alt="{_text(result.id)}" loading="lazy">',
        f'<div class="id">{_text(result.id)}</div>',
        _comment_html(result.comment),
        f'<audio controls preload="none" src="{_href(result.wav)}"></audio>',
        f'<img class="mel" src="{_href(result.png)}" alt="{"piano roll" if result.midi else "log-mel spectrogram"} of '
        f'{_text(result.id)}" loading="lazy">',
        f'<a class="midi" href="{_href(result.midi)}" download>MIDI</a>' if result.midi else "",
        va_plane_svg(result),
        f'<div class="skipped">{result.seconds:.1f} s{_sampling_text(result)}</div>{note}',
        "</div>",
    ])


def gallery_html(results: list[ItemResult], run_info: dict[str, Any]) -> str:
    """The gallery page for ``results`` (paths in them are relative to the page's folder)."""
    counts = summarize(results)
    rendered = [r for r in results if r.status in ("ok", "skipped")]
    failed = [r for r in results if r.status == "failed"]
    precision = ", ".join(f"{stage} {dtype}" for stage, dtype in (run_info.get("precision") or {}).items())
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             "<title>art2music gallery</title>", f"<style>{_STYLE}</style></head><body>",
             "<h1>art2music gallery</h1>",
             f'<div class="meta">model {_text(run_info.get("model", ""))} · {counts["ok"]} rendered, '
             f'{counts["skipped"]} kept, {counts["failed"]} failed · {_text(run_info.get("finished", ""))}'
             + (f' · arithmetic: {_text(precision)}' if precision else "") + '</div>',
             '<div class="grid">', *(_card(result) for result in rendered), "</div>"]
    if failed:
        parts += [f"<h2>Failed ({len(failed)})</h2>", "<table><tr><th>item</th><th>image</th><th>reason</th>"
                                                       "<th>detail</th></tr>"]
        parts += [f"<tr><td>{_text(r.id or r.source)}</td><td>{_text(r.image)}</td><td>{_text(r.reason)}</td>"
                  f"<td>{_text(r.detail)}</td></tr>" for r in failed]
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_gallery(out_dir: Path, results: list[ItemResult], run_info: dict[str, Any]) -> Path:
    """Write ``out_dir/index.html`` atomically and return its path."""
    path = Path(out_dir) / GALLERY_NAME
    write_text(path, gallery_html(results, run_info))
    return path
