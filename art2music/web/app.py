"""The page: drop or pick an image (or click one of the bundled examples), optionally type a comment, choose the
engine and the controls it can use, Generate; then listen, see the spectrogram, download the WAV (and MIDI).

Every message the page shows is one sentence in the status box (``#status``): refused uploads (the checks of
:mod:`art2music.web.uploads`), values out of range, an engine that is not available. An unexpected failure is
logged on the server with its traceback and shown on the page as one line, never as a stack trace.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before Gradio reads it: no usage reports, no version check

import gradio as gr  # noqa: E402

from art2music.emotions import EMOTIONS  # noqa: E402
from art2music.render.inputs import RenderItem  # noqa: E402
from art2music.web.generate import (MAX_PAGE_SECONDS, Capabilities, OutputFolder, Request, capabilities,  # noqa: E402
                                    decoder_name, generate)
from art2music.web.uploads import UploadError, check_upload  # noqa: E402

log = logging.getLogger(__name__)

FROM_PICTURE = "from the picture"
BY_NUMBERS = "valence and arousal (sliders)"
"""The emotion menu's choices: the feeling read from the picture, the two sliders, or one of the emotion names."""
CSS = ("#spectrogram .image-frame { width: 100% !important; height: auto !important; } "
       "#spectrogram img { width: 100% !important; height: 240px !important; max-height: none !important; "
       "object-fit: fill !important; image-rendering: pixelated; }")
"""The log-mel PNG has one pixel per frame and mel bin (80 high): stretch it to the column, pixels kept sharp."""
CONTROLS = ("emotion", "valence", "arousal", "seed", "steps", "guidance", "seconds")


@dataclass(frozen=True)
class Engine:
    """An engine offered on the page: its loaded pipeline, or why it is not available (``unavailable``)."""

    name: str
    pipeline: object | None = None
    unavailable: str | None = None

    @property
    def capabilities(self) -> Capabilities | None:
        return capabilities(self.pipeline) if self.pipeline is not None else None


def _engine_notes(engine: Engine) -> str:
    """The markdown under the controls: what the chosen engine is, and each control it cannot use."""
    if engine.pipeline is None:
        return f"**The {engine.name} engine is not available:** {engine.unavailable}"
    caps = engine.capabilities
    lines = [f"**{engine.name} engine, {decoder_name(engine.pipeline)}**: {caps.seconds:.1f} s by default."]
    return "\n".join([lines[0], *(f"- {note}" for note in caps.notes)])


def _control_updates(engine: Engine) -> list:
    """Enable the controls the engine's pipeline accepts; disable (and clear) the others."""
    options = engine.capabilities.options if engine.pipeline is not None else frozenset()
    updates = []
    for name in CONTROLS:
        usable = name in options
        if name == "emotion":
            choices = [FROM_PICTURE, *([BY_NUMBERS] if {"valence", "arousal"} <= options else []), *EMOTIONS]
            updates.append(gr.update(interactive=usable, value=FROM_PICTURE, choices=choices))
        elif name in ("valence", "arousal"):
            updates.append(gr.update(interactive=usable, value=0.0))
        else:
            updates.append(gr.update(interactive=usable, value=None))
    return updates


def _number(value: float | None, whole: bool) -> float | int | None:
    if value is None or value == "":
        return None
    return int(value) if whole else float(value)


def build_app(engines: dict[str, Engine], outputs: OutputFolder, examples: list[RenderItem]) -> gr.Blocks:
    """The Gradio page for ``engines`` (the first is selected), writing into ``outputs``."""
    first = next(iter(engines.values()))

    def show_engine(name: str):
        engine = engines[name]
        return [_engine_notes(engine), *_control_updates(engine)]

    def preview(path: str | None):
        if not path:
            return None, ""
        try:
            image = check_upload(path)
        except UploadError as error:
            return None, f"**Cannot use this upload:** {error}"
        image.thumbnail((512, 512))
        return image, f"Image ready ({image.width}x{image.height} preview). Press **Generate**."

    def run(path, comment, engine_name, emotion, valence, arousal, seed, steps, guidance, seconds,
            progress=gr.Progress()):
        nothing = (None, None, None)
        engine = engines[engine_name]
        if engine.pipeline is None:
            return (f"**The {engine_name} engine is not available:** {engine.unavailable}", *nothing)
        progress(0.05, desc="checking the image")
        try:
            image = check_upload(path)
        except UploadError as error:
            return (f"**Cannot use this upload:** {error}", *nothing)
        by_numbers = emotion == BY_NUMBERS
        request = Request(image, (comment or "").strip() or None,
                          None if emotion in (None, FROM_PICTURE, BY_NUMBERS) else emotion,
                          _number(valence, False) if by_numbers else None, _number(arousal, False) if by_numbers else None,
                          _number(seed, True), _number(steps, True), _number(guidance, False), _number(seconds, False))
        try:
            generated = generate(engine.pipeline, request,
                                 progress=lambda fraction, text: progress(fraction, desc=text))
            progress(0.85, desc="writing the files")
            paths = outputs.write(generated, getattr(engine.pipeline, "mel_config", None))
        except ValueError as error:
            return (f"**Cannot generate:** {error}", *nothing)
        except Exception as error:  # noqa: BLE001 - the page shows one line; the traceback goes to the server log
            log.exception("generation failed")
            return (f"**Generation failed** ({type(error).__name__}); the server log has the details.", *nothing)
        seconds_made = generated.waveform.size / generated.sample_rate
        status = f"Made {seconds_made:.1f} s of music with the {decoder_name(engine.pipeline)}."
        if generated.ignored:
            status += f" Not used by this engine: {', '.join(generated.ignored)}."
        downloads = [str(paths[key]) for key in ("wav", "mid") if key in paths]
        return status, str(paths["wav"]), str(paths["png"]) if "png" in paths else None, downloads

    with gr.Blocks(title="art2music", analytics_enabled=False) as app:
        gr.Markdown("# art2music\nDrop a picture of an artwork, add what you feel about it if you like, and listen "
                    "to music whose feeling matches it. Everything runs on this machine.")
        with gr.Row():
            with gr.Column():
                upload = gr.File(label="Artwork image: drop it here or click to pick", type="filepath",
                                 elem_id="upload")
                picture = gr.Image(label="Preview", type="pil", interactive=False, height=220, buttons=[],
                                   elem_id="preview")
                comment = gr.Textbox(label="Comment (optional)", placeholder="it feels like a calm summer morning",
                                     elem_id="comment")
                button = gr.Button("Generate", variant="primary", elem_id="generate")
                with gr.Accordion("Engine and sampling", open=True):
                    engine = gr.Radio(list(engines), value=first.name, label="Engine", elem_id="engine")
                    notes = gr.Markdown(_engine_notes(first), elem_id="notes")
                    emotion = gr.Dropdown([FROM_PICTURE, BY_NUMBERS, *EMOTIONS], value=FROM_PICTURE,
                                          label="Feeling: from the picture, an emotion, or valence and arousal",
                                          elem_id="emotion")
                    with gr.Row():
                        valence = gr.Slider(-1.0, 1.0, value=0.0, step=0.05, label="Valence (unpleasant - pleasant)",
                                            elem_id="valence")
                        arousal = gr.Slider(-1.0, 1.0, value=0.0, step=0.05, label="Arousal (calm - excited)",
                                            elem_id="arousal")
                    with gr.Row():
                        seed = gr.Number(label="Seed (blank: from the picture)", precision=0, minimum=0, elem_id="seed")
                        steps = gr.Number(label="Steps (blank: the model's)", precision=0, minimum=1, elem_id="steps")
                        guidance = gr.Number(label="Guidance (blank: the model's)", minimum=0, elem_id="guidance")
                        seconds = gr.Number(label="Length in seconds", minimum=0.5, maximum=MAX_PAGE_SECONDS,
                                            elem_id="seconds")
            with gr.Column():
                status = gr.Markdown("", elem_id="status")
                # the browser's own <audio> player (a real media element, seekable, with its own download)
                audio = gr.Audio(label="Music", type="filepath", interactive=False, editable=False, elem_id="audio",
                                 buttons=["download"],
                                 waveform_options=gr.WaveformOptions(show_recording_waveform=False))
                spectrogram = gr.Image(label="Spectrogram (log-mel; low pitches at the bottom)", type="filepath",
                                       interactive=False, buttons=["download", "fullscreen"], elem_id="spectrogram")
                downloads = gr.File(label="Download", file_count="multiple", interactive=False, elem_id="downloads")
        if examples:
            gallery = gr.Gallery([(str(item.image), item.id) for item in examples], label="Examples: the bundled "
                                 "collection (click one)", columns=8, height=170, allow_preview=False,
                                 elem_id="examples")

            def pick(event: gr.SelectData):
                item = examples[event.index]
                return str(item.image), item.comment

            gallery.select(pick, None, [upload, comment])
        controls = [emotion, valence, arousal, seed, steps, guidance, seconds]
        engine.change(show_engine, engine, [notes, *controls])
        upload.change(preview, upload, [picture, status])
        button.click(run, [upload, comment, engine, *controls], [status, audio, spectrogram, downloads])
        app.load(show_engine, engine, [notes, *controls])
    return app
