"""The package's public API: lazy exports that keep ``import art2music`` free of torch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import art2music

CHECKOUT = Path(__file__).resolve().parents[2]


def _run_python(code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter that imports this checkout's art2music."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(CHECKOUT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)


def test_importing_the_package_or_its_command_line_does_not_import_torch():
    result = _run_python("import sys, art2music, art2music.cli\n"
                         "print(sorted(name for name in ('torch', 'lightning', 'open_clip') if name in sys.modules))")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_from_art2music_import_art2music_gives_the_pipeline_class():
    result = _run_python("from art2music import Art2Music\nprint(Art2Music.__module__, Art2Music.__name__)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["art2music.pipeline", "Art2Music"]


def test_every_name_in_all_resolves_and_dir_lists_it():
    from art2music.io.images import load_image
    from art2music.pipeline import Art2Music
    from art2music.render import RenderSettings, read_collection, render_collection
    from art2music.symbolic.pipeline import Art2Midi

    expected = {"Art2Music": Art2Music, "Art2Midi": Art2Midi, "load_image": load_image, "read_collection": read_collection,
                "render_collection": render_collection, "RenderSettings": RenderSettings}
    assert set(art2music.__all__) == set(expected) | {"__version__"}
    for name, value in expected.items():
        assert getattr(art2music, name) is value
    assert set(art2music.__all__) <= set(dir(art2music))


def test_star_import_gives_exactly_all():
    namespace: dict = {}
    exec("from art2music import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(art2music.__all__)


def test_an_unknown_name_is_an_attribute_error_naming_it():
    with pytest.raises(AttributeError, match="no attribute 'Art2Musik'"):
        art2music.Art2Musik  # noqa: B018
    with pytest.raises(ImportError):
        exec("from art2music import Art2Musik", {})
