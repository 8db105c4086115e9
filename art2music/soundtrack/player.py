"""``track.html``: a page that plays the soundtrack and shows the image of the section being heard.

Self-contained and offline: an ``<audio>`` element playing the WAV beside it, the thumbnails in ``track_images/``
(relative, percent-encoded links), and a small inline script holding the cue times that swaps the picture (and its
caption) on every ``timeupdate``. A list of the slides below seeks to each one. Every piece of user text is
HTML-escaped as in the render gallery; the cue data is embedded as JSON with ``<``, ``>`` and ``&`` escaped, so no
comment can close the script.
"""

from __future__ import annotations

import json

from art2music.render.gallery import _href, _text
from art2music.soundtrack.cue_sheet import Soundtrack

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem auto; max-width: 860px; background: #111; color: #eee; }
h1 { font-size: 1.2rem; font-weight: 600; }
#stage { background: #000; display: flex; align-items: center; justify-content: center; height: 60vh; }
#stage img { max-width: 100%; max-height: 100%; }
#caption { min-height: 2.6em; margin: .5rem 0; font-style: italic; color: #ccc; white-space: pre-wrap; }
audio { width: 100%; }
ol { padding-left: 1.4rem; font-size: .9rem; color: #bbb; }
li a { color: #9cf; cursor: pointer; }
li.now a { color: #fff; font-weight: 600; }
.meta { color: #888; font-size: .8rem; }
"""

_SCRIPT = """
const cues = JSON.parse(document.getElementById("cues").textContent);
const audio = document.getElementById("track"), picture = document.getElementById("picture");
const caption = document.getElementById("caption"), items = document.querySelectorAll("#slides li");
const SLACK = 0.02;  // seconds: a seek to a cue's start may land a few samples before it
let shown = -1;
function cueAt(time) {
  for (let i = cues.length - 1; i >= 0; i--) { if (time >= cues[i].start - SLACK) return i; }
  return 0;
}
function show(index) {
  if (index === shown) return;
  shown = index;
  picture.src = cues[index].src;
  picture.alt = cues[index].id;
  caption.textContent = cues[index].comment;
  items.forEach((item, i) => item.classList.toggle("now", i === index));
}
audio.addEventListener("timeupdate", () => show(cueAt(audio.currentTime)));
audio.addEventListener("seeked", () => show(cueAt(audio.currentTime)));
items.forEach((item, i) => item.querySelector("a").addEventListener("click", () => {
  audio.currentTime = cues[i].start; show(i); audio.play();
}));
show(0);
"""


def _script_json(value: object) -> str:
    """JSON safe inside ``<script>``: ``<``, ``>`` and ``&`` written as ``\\u003c`` ... (still the same JSON)."""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def player_html(track: Soundtrack, wav_name: str, title: str = "art2music soundtrack") -> str:
    """The page for ``track`` (cue thumbnails and ``wav_name`` relative to the page's folder)."""
    cues = [{"id": cue.id, "src": _href(cue.thumbnail), "comment": cue.comment, "start": round(cue.start, 6),
             "end": round(cue.end, 6)} for cue in track.cues]
    slides = "\n".join(f'<li><a>{_text(cue.id)}</a> <span class="meta">{cue.start:.1f}–{cue.end:.1f} s</span></li>'
                       for cue in track.cues)
    first = track.cues[0]
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_text(title)}</title>", f"<style>{_STYLE}</style></head><body>",
        f"<h1>{_text(title)}</h1>",
        f'<div id="stage"><img id="picture" src="{_href(first.thumbnail)}" alt="{_text(first.id)}"></div>',
        f'<div id="caption">{_text(first.comment)}</div>',
        f'<audio id="track" controls preload="metadata" src="{_href(wav_name)}"></audio>',
        f'<div class="meta">{len(track.cues)} images · {track.seconds:.1f} s · transitions: '
        f'{_text(track.transitions)}</div>',
        f'<ol id="slides">{slides}</ol>',
        f'<script type="application/json" id="cues">{_script_json(cues)}</script>',
        f"<script>{_SCRIPT}</script>", "</body></html>"]) + "\n"
