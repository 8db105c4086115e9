"""``art2music serve [--model demo|DIR] [--host 127.0.0.1] [--port 7860]``: the web page on this machine.

The models load once, at start, and make one warm-up piece (so the page's first Generate answers as fast as the
next); the server binds to 127.0.0.1 unless told otherwise. Nothing is fetched from the internet: Gradio's
analytics and version check are off (``GRADIO_ANALYTICS_ENABLED=False``), no share link, no server-side
rendering, and the page's fonts are Gradio's bundled ones. Uploads and results live in a per-process temporary
folder, removed at exit.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
import time
from pathlib import Path

from art2music.cli import parse_arguments, usage_error

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 7860
EXAMPLES_CSV = Path(__file__).resolve().parents[2] / "examples" / "collection" / "collection.csv"
MIDI_PIPELINE = "art2music.symbolic.pipeline"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="art2music serve", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="demo", help="the audio pipeline: 'demo' (shipped) or a pipeline folder")
    parser.add_argument("--midi-model", default="demo-midi",
                        help="the midi engine's pipeline, where that engine is installed (default: demo-midi)")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help="address to bind (default 127.0.0.1: this machine only; 0.0.0.0 opens it to the network)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default 7860)")
    parser.add_argument("--device", default="cpu", help="torch device for the models (default cpu)")
    parser.add_argument("--examples", default=str(EXAMPLES_CSV),
                        help="collection CSV or folder for the examples gallery ('' for none)")
    return parser


def load_engines(model: str, midi_model: str, device: str) -> dict:
    """The page's engines: ``audio`` (``model``, must load) and ``midi`` (where :mod:`art2music.symbolic` is
    installed and ``midi_model`` loads; otherwise listed with the reason it is not available)."""
    from art2music.pipeline import Art2Music
    from art2music.web.app import Engine

    engines = {"audio": Engine("audio", Art2Music.from_pretrained(model, device=device))}
    try:
        module = importlib.import_module(MIDI_PIPELINE)
    except ModuleNotFoundError:
        engines["midi"] = Engine("midi", unavailable="the symbolic MIDI engine is not in this version of art2music "
                                 "(it lands soon).")
        return engines
    try:
        engines["midi"] = Engine("midi", module.Art2Midi.from_pretrained(midi_model, device=device))
    except (OSError, ValueError, RuntimeError) as error:
        engines["midi"] = Engine("midi", unavailable=f"its pipeline {midi_model!r} did not load ({error}).")
    return engines


def warm_up(engines: dict) -> float:
    """Make one piece with each loaded engine from a plain test picture; returns the seconds it took."""
    from PIL import Image

    from art2music.web.generate import Request, generate

    started = time.perf_counter()
    for engine in engines.values():
        if engine.pipeline is not None:
            generate(engine.pipeline, Request(Image.new("RGB", (64, 64), (128, 96, 64))))
    return time.perf_counter() - started


def example_items(source: str) -> list:
    """The gallery's items: the collection's readable rows (none when ``source`` is empty or missing)."""
    if not source or not Path(source).exists():
        return []
    from art2music.render.inputs import read_collection

    return [item for item in read_collection(source).items if item.image.is_file()]


def _interrupt(signal_number: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(build_parser(), argv)
    if isinstance(args, int):
        return args
    if not 0 < args.port < 65536:
        return usage_error("serve", f"--port must be 1-65535, got {args.port}")
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from art2music.web.generate import OutputFolder

    outputs = OutputFolder()
    # Gradio copies uploads and results into its own cache: keep that inside our folder, removed at exit
    os.environ["GRADIO_TEMP_DIR"] = str(outputs.root / "gradio")
    from art2music.export.format import ModelLoadError
    from art2music.web.app import CSS, build_app
    from art2music.web.uploads import MAX_UPLOAD_BYTES

    started = time.perf_counter()
    try:
        engines = load_engines(args.model, args.midi_model, args.device)
    except (ModelLoadError, FileNotFoundError) as error:
        return usage_error("serve", str(error))
    loaded = time.perf_counter() - started
    warm = warm_up(engines)
    print(f"models loaded in {loaded:.1f} s, warm-up piece in {warm:.1f} s; files in {outputs.root}", file=sys.stderr)
    examples = example_items(args.examples)
    app = build_app(engines, outputs, examples)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: serving on {args.host}: other machines can reach this page", file=sys.stderr)
    # SIGTERM (a service manager, a test) stops the server as Ctrl-C does, so the folder is removed at exit
    signal.signal(signal.SIGTERM, _interrupt)
    app.queue(default_concurrency_limit=1).launch(
        server_name=args.host, server_port=args.port, share=False, inbrowser=False, show_error=False,
        max_file_size=MAX_UPLOAD_BYTES, allowed_paths=[str(item.image.parent) for item in examples[:1]],
        ssr_mode=False, mcp_server=False, quiet=False, css=CSS)
    outputs.cleanup()
    return 0
