"""The page builds from the engines it is given, and says why an engine is not available (no browser needed)."""

from __future__ import annotations

from art2music.web.app import Engine, _engine_notes, build_app
from art2music.web.cli import example_items
from art2music.web.generate import OutputFolder


class Unused:
    sample_rate, duration_seconds, decoder, is_generative = 22050, 4.0, "flow", True

    def __call__(self, image, comment=None, seed=None, steps=None, guidance=None, seconds=None):
        raise AssertionError("building the page must not generate")


def test_the_page_builds_with_an_unavailable_engine(tmp_path):
    examples = example_items(str(example_csv()))
    assert len(examples) >= 6 and all(item.image.is_file() for item in examples)
    engines = {"audio": Engine("audio", Unused()), "midi": Engine("midi", unavailable="it lands soon.")}
    app = build_app(engines, OutputFolder(tmp_path), examples)
    ids = {block.elem_id for block in app.blocks.values()}
    assert {"upload", "comment", "engine", "emotion", "valence", "arousal", "seed", "steps", "guidance", "seconds", "generate", "status", "audio",
            "spectrogram", "downloads", "examples"} <= ids
    assert _engine_notes(engines["midi"]) == "**The midi engine is not available:** it lands soon."
    assert "flow decoder" in _engine_notes(engines["audio"])


def example_csv():
    from art2music.web.cli import EXAMPLES_CSV

    return EXAMPLES_CSV


def test_engines_load_once_and_a_missing_midi_engine_is_listed_with_its_reason(monkeypatch):
    from art2music.web import cli

    monkeypatch.setattr(cli, "MIDI_PIPELINE", "art2music.no_such_engine")
    engines = cli.load_engines("demo", "demo-midi", "cpu")
    assert list(engines) == ["audio", "midi"]
    assert type(engines["audio"].pipeline).__name__ == "Art2Music" and engines["midi"].pipeline is None
    assert "lands soon" in engines["midi"].unavailable
    assert cli.warm_up(engines) > 0
    assert cli.example_items("") == [] and cli.example_items("/no/such/collection.csv") == []
