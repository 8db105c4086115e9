"""``make demo-train``: rebuild the shipped demo weights from scratch, on a CPU, in one command.

Steps (each a real art2music command, run as a subprocess so its memory is freed):

1. generate the demo corpus and its ArtiCaps folder (``art2music demo-corpus``, random-init encoder);
2. train the tiny CLIP encoder contrastively on the corpus's paintings and comments;
3. re-embed the corpus with that encoder (the ArtiCaps builder, mels reused from step 1's audio);
4. train stage 1 (``--decoder flow``, the default: ``configs/demo/stage1_flow.yaml`` for ``--stage1-minutes``;
   ``--decoder bilstm``: the paper's ``configs/demo/stage1.yaml`` for ``--stage1-epochs``);
5. train the vocoder from scratch (``configs/demo/vocoder.yaml``) for ``--vocoder-minutes``: the mel-loss
   warm-up (``model.adversarial_start`` batches), then the adversarial phase until the time is up (or for
   ``--vocoder-steps`` optimizer steps); its last checkpoint is exported (the "best" one by mel error would
   pick a warm-up checkpoint: the adversarial phase trades a little mel error for sharper audio);
6. export everything as a pipeline folder into ``art2music/assets/demo/`` (or ``--out``);
7. train the symbolic (MIDI) engine (``configs/demo/midi.yaml``, at most ``--midi-minutes``) and export it into
   ``art2music/assets/demo-midi/`` (or ``--midi-out``); ``--skip-midi`` leaves it as it is.

The defaults fit in about 90 minutes on 2 CPU cores. Timings go to ``OUT/training.json``. Intermediate runs live
in ``runs/``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from art2music.pipeline import DEMO_DIR
from vocoder.files import atomic_write_text

RUNS = Path("runs/demo-train")
STAGE1_CONFIGS = {"bilstm": "configs/demo/stage1.yaml", "flow": "configs/demo/stage1_flow.yaml"}
STAGE1_RUNS = {"bilstm": Path("runs/stage1-demo"), "flow": Path("runs/stage1-flow-demo")}  # as in those configs
DEFAULT_DECODER = "flow"
VOCODER_RUN = Path("runs/vocoder-demo")  # as in configs/demo/vocoder.yaml
MIDI_RUN = Path("runs/midi-demo")  # as in configs/demo/midi.yaml
MIDI_DEMO_DIR = DEMO_DIR.parent / "demo-midi"


def _run(step: str, args: list[str], timings: dict) -> None:
    print(f"\n=== {step}: art2music {' '.join(args)}", flush=True)
    start = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "art2music", *args])
    timings[step] = round(time.monotonic() - start, 1)
    if result.returncode != 0:
        raise SystemExit(f"demo-train: step '{step}' failed with exit code {result.returncode}")
    print(f"=== {step}: {timings[step]:.0f} s", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="art2music demo-train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("datasets/demo"), help="demo corpus folder")
    parser.add_argument("--out", type=Path, default=DEMO_DIR, help="where the pipeline is exported")
    parser.add_argument("--encoder-epochs", type=int, default=60)
    parser.add_argument("--decoder", choices=sorted(STAGE1_CONFIGS), default=DEFAULT_DECODER,
                        help=f"stage-1 decoder (default {DEFAULT_DECODER})")
    parser.add_argument("--stage1-epochs", type=int, default=40, help="BiLSTM epochs")
    parser.add_argument("--stage1-minutes", type=float, default=35.0,
                        help="flow decoder training time (it trains by time; an EMA of its weights is exported)")
    parser.add_argument("--vocoder-minutes", type=float, default=30.0,
                        help="vocoder training time: the mel-loss warm-up, then the adversarial phase")
    parser.add_argument("--vocoder-steps", type=int, default=None,
                        help="instead of a time, optimizer steps: 1 per batch during the mel-loss warm-up "
                             "(model.adversarial_start), 2 per batch after it")
    parser.add_argument("--midi-minutes", type=float, default=22.0,
                        help="symbolic engine training time (at most; its 2600 steps took 22 min on one thread)")
    parser.add_argument("--midi-out", type=Path, default=MIDI_DEMO_DIR, help="where the MIDI engine is exported")
    parser.add_argument("--skip-midi", action="store_true", help="do not retrain the symbolic (MIDI) engine")
    parser.add_argument("--reuse-encoder", action="store_true",
                        help="keep the corpus and runs/demo-train/encoder of an earlier run; retrain the rest")
    parser.add_argument("--only-vocoder", action="store_true",
                        help="keep everything of an earlier run but the vocoder; retrain it and export")
    args = parser.parse_args(argv)
    stage1_run = STAGE1_RUNS[args.decoder]
    articaps = args.data / "articaps"
    encoder_file = RUNS / "encoder" / "open_clip_model.safetensors"
    reuse = ((args.reuse_encoder or args.only_vocoder) and encoder_file.is_file()
             and (articaps / "manifest.csv").is_file())
    only_vocoder = args.only_vocoder and reuse and (stage1_run / "checkpoints").is_dir()
    if args.only_vocoder and not only_vocoder:
        parser.error("--only-vocoder needs an earlier run's encoder, corpus and stage-1 checkpoints")
    # From scratch: no stale best/last checkpoints may survive into this run.
    stale = (VOCODER_RUN,) if only_vocoder else (stage1_run, VOCODER_RUN) if reuse else (RUNS, stage1_run, VOCODER_RUN)
    if not args.skip_midi:
        stale += (MIDI_RUN,)
    for earlier in stale:
        if earlier.exists():
            shutil.rmtree(earlier)
    RUNS.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    start = time.monotonic()
    if not reuse:
        _run("corpus", ["demo-corpus", "--out", str(args.data), "--encoder-pretrained", "none", "--rebuild"], timings)
        _run("encoder", ["train-encoder", "--manifest", str(articaps / "manifest.csv"), "--out", str(encoder_file),
                         "--epochs", str(args.encoder_epochs)], timings)
    if not only_vocoder:
        _run("re-embed", ["demo-corpus", "--out", str(args.data), "--encoder-pretrained", str(encoder_file),
                          "--rebuild"], timings)
        length = (["--trainer.max_epochs", str(args.stage1_epochs)] if args.decoder == "bilstm" else
                  ["--trainer.max_epochs", "100000", "--trainer.max_time", _minutes(args.stage1_minutes)])
        _run("stage1", ["train-stage1", "fit", "--config", STAGE1_CONFIGS[args.decoder],
                        "--model.encoder_pretrained", str(encoder_file), *length,
                        "--trainer.enable_progress_bar", "false"], timings)
    vocoder_length = (["--trainer.max_steps", str(args.vocoder_steps)] if args.vocoder_steps is not None else
                      ["--trainer.max_steps", "-1", "--trainer.max_time", _minutes(args.vocoder_minutes)])
    _run("vocoder", ["train-vocoder", "fit", "--config", "configs/demo/vocoder.yaml", *vocoder_length,
                     "--trainer.enable_progress_bar", "false"], timings)
    _export(args, encoder_file, stage1_run, timings)
    if not args.skip_midi:
        _run("midi", ["train-midi", "fit", "--config", "configs/demo/midi.yaml",
                      "--trainer.max_time", _minutes(args.midi_minutes), "--trainer.enable_progress_bar", "false"],
             timings)
        _run("midi-export", ["export-midi", "--checkpoint", str(MIDI_RUN / "checkpoints" / "last.ckpt"),
                             "--tokenizer", str(MIDI_RUN / "data" / "tokenizer.json"),
                             "--sampling", "configs/demo/midi-sampling.yaml", "--out", str(args.midi_out)],
             timings)
    timings["total"] = round(time.monotonic() - start, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "training.json", json.dumps({"seconds": timings}, indent=2) + "\n")
    print(f"\ndemo weights written to {args.out} in {timings['total'] / 60:.1f} min: {timings}")
    return 0


def _minutes(minutes: float) -> str:
    """Lightning's ``max_time`` ``DD:HH:MM:SS`` for ``minutes``."""
    seconds = int(round(minutes * 60))
    return f"00:{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _export(args, encoder_file: Path, stage1_run: Path, timings: dict) -> None:
    """Assemble the pipeline folder from the encoder file and the two runs' best checkpoints."""
    from art2music.training.export import main as export_main

    start = time.monotonic()
    # The flow decoder has no "best" (its validation loss is a noisy CFM loss): its last EMA is exported. The
    # vocoder's last checkpoint is too: "best" (lowest mel error) would be one from before the adversarial phase.
    stage1_best = stage1_run / "checkpoints" / "best.ckpt"
    code = export_main(["--stage1", str(stage1_best if stage1_best.is_file() else stage1_best.with_name("last.ckpt")),
                        "--vocoder", str(VOCODER_RUN / "checkpoints" / "last.ckpt"),
                        "--encoder-weights", str(encoder_file), "--out", str(args.out)])
    if code != 0:
        raise SystemExit(code)
    timings["export"] = round(time.monotonic() - start, 1)


if __name__ == "__main__":
    sys.exit(main())
