"""``art2music evaluate`` on midi-engine models: a tiny fitted model, a tiny manifest with MIDI, audio and a bad file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from art2music.articaps.manifest import Manifest, ManifestRow
from art2music.evaluation import midi_scores
from art2music.evaluation.cli import main
from art2music.symbolic import metrics
from art2music.symbolic.piece import MidiPiece
from art2music.symbolic.tokenizer import read_score, score_to_ids
from tests.art2music.evaluation.conftest import tone
from tests.art2music.symbolic.conftest import demo_midis, tiny_midi_pipeline, tokenizer  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="FluidSynth is not installed")


@pytest.fixture(scope="module")
def midi_manifest(tmp_path_factory, demo_midis):  # noqa: F811
    """Train: 4 pairs (2 amusement, 2 sadness: their pieces, low/high tones) and a corrupt MIDI; test: 2 paintings
    with the third amusement and sadness pieces as references. demo_midis is [amusement ×3, sadness ×3, ...]."""
    import soundfile

    root = tmp_path_factory.mktemp("midi-articaps")
    for folder in ("images", "audio", "midi"):
        (root / folder).mkdir()
    (root / "midi" / "corrupt.mid").write_bytes(b"MThd\x00\x00\x00\x06 not a real MIDI file")
    rows = []
    for index, (emotion, piece, split) in enumerate([("amusement", 0, "train"), ("amusement", 1, "train"),
                                                     ("sadness", 3, "train"), ("sadness", 4, "train"),
                                                     ("amusement", 2, "test"), ("sadness", 5, "test")]):
        Image.new("RGB", (32, 32), (230, 180, 40) if emotion == "amusement" else (30, 40, 120)).save(
            root / "images" / f"p{index}.png")
        soundfile.write(root / "audio" / f"c{index}.wav",
                        tone(220.0 if emotion == "amusement" else 1760.0, 22050, seed=index), 22050)
        shutil.copy(demo_midis[piece], root / "midi" / f"c{index}.mid")
        rows.append(ManifestRow(id=f"pair{index}", image_path=f"images/p{index}.png", comment="a comment",
                                emotion=emotion, audio_path=f"audio/c{index}.wav", caption="a caption",
                                match_score=0.5, split=split, midi_path=f"midi/c{index}.mid"))
    rows.append(ManifestRow(id="pair9", image_path="images/p0.png", comment="again", emotion="amusement",
                            audio_path="audio/c0.wav", caption="a caption", match_score=0.5, split="train",
                            midi_path="midi/corrupt.mid"))
    Manifest(rows, root).write(root / "manifest.csv")
    return root / "manifest.csv"


def test_evaluate_scores_midi_models_against_the_held_out_pieces(midi_manifest, tiny_midi_pipeline, tmp_path,
                                                                  capsys):
    out = tmp_path / "out"
    code = main(["--model", f"fitted={tiny_midi_pipeline}", "--model", f"again={tiny_midi_pipeline}",
                 "--manifest", str(midi_manifest), "--out", str(out), "--pieces-per-painting", "2", "--seconds", "3",
                 "--no-progress"])
    assert code == 0, capsys.readouterr().err
    err = capsys.readouterr().err
    assert "corrupt.mid: corrupt" in err and "1 of 5 training MIDI files skipped" in err
    result = json.loads((out / "metrics.json").read_text())
    assert list(result["systems"]) == ["reference", "fitted", "again"]
    assert result["paintings"] == 2 and result["reference_pieces"] == 2 and result["training_pieces"] == 4
    assert [bad["reason"] for bad in result["skipped_midi"]] == ["corrupt"]

    # the reference row is the metrics of the two held-out files themselves
    references = [MidiPiece(read_score(midi_manifest.parent / "midi" / f"c{k}.mid")) for k in (4, 5)]
    reference = result["systems"]["reference"]
    for name in midi_scores.METRIC_NAMES:
        expected = np.mean([metrics.piece_metrics(p.notes, p.tempo_bpm)[name] for p in references])
        assert reference["metrics"][name] == pytest.approx(expected)
    assert reference["emotion_accuracy"] == 1.0  # the true test tones are told apart by the probe

    fitted = result["systems"]["fitted"]
    assert fitted["count"] == 4 and len(list((out / "fitted" / "midi").glob("*.mid"))) == 4
    assert len(list((out / "fitted" / "audio").glob("*.wav"))) == 4 - fitted["empty_pieces"]
    for name, ratio in fitted["ratio_to_reference"].items():
        if ratio is not None:
            assert ratio == pytest.approx(fitted["metrics"][name] / reference["metrics"][name])
    assert 0.0 <= fitted["emotion_accuracy"] <= 1.0 and fitted["judge_va_distance"] is not None
    from art2music.emotions import VALENCE_AROUSAL
    from art2music.symbolic.pipeline import Art2Midi

    images = [midi_manifest.parent / "images" / f"p{k}.png" for k in (4, 5)]
    predicted = Art2Midi.from_pretrained(tiny_midi_pipeline).predict_va(images).numpy()
    truth = np.array([VALENCE_AROUSAL["amusement"], VALENCE_AROUSAL["sadness"]])
    assert fitted["image_va_error"] == pytest.approx(np.linalg.norm(predicted - truth, axis=1).mean(), abs=1e-5)
    assert fitted["novelty"]["training_pieces"] == 4 and fitted["novelty"]["longest_shared_tokens_max"] >= 1
    assert result["systems"]["again"]["metrics"] == fitted["metrics"]  # same model, same seeds: same pieces
    assert fitted["sampling"] == {"temperature": 1.0, "top_k": 0, "top_p": 0.95, "key_prior": 0.0,
                                  "mode_prior": 0.0, "tempo_prior": 0.0, "guidance": 1.0}  # the model's own
    assert set(fitted["targets"]) >= {"metrics_within_25_percent", "at_most_4_bars_shared"}
    markdown = (out / "metrics.md").read_text()
    assert "| reference | 2 |" in markdown and "| fitted | 4 |" in markdown and "corrupt.mid" in markdown


def test_novelty_finds_a_copied_piece_and_its_bars(demo_midis, tokenizer):  # noqa: F811
    scores = [read_score(path) for path in demo_midis[:3]]
    corpus = midi_scores.TrainingCorpus([score_to_ids(tokenizer, s) for s in scores],
                                        [midi_scores.bar_signatures(s) for s in scores])
    copied = MidiPiece(scores[1])
    tokens = score_to_ids(tokenizer, scores[1])
    bars = midi_scores.bar_signatures(scores[1])
    assert corpus.longest_token_run(tokens) == (len(tokens), 0)
    assert corpus.longest_bar_run(bars) == len(bars) >= 2 and None not in bars
    fresh = MidiPiece(read_score(demo_midis[6]))  # another emotion's piece
    found = midi_scores.novelty([copied, fresh], [tokens, score_to_ids(tokenizer, fresh.score)], corpus)
    assert found["longest_shared_bars_max"] == len(bars) and found["longest_shared_tokens_max"] == len(tokens)
    assert corpus.longest_bar_run(midi_scores.bar_signatures(fresh.score)) < len(bars)
    # silent bars never count as shared
    assert corpus.longest_bar_run([None, None, None]) == 0


def test_midi_evaluation_usage_errors(midi_manifest, tiny_midi_pipeline, tmp_path, capsys):
    no_midi = tmp_path / "no-midi.csv"
    text = midi_manifest.read_text().replace("midi/c4.mid", "").replace("midi/c5.mid", "")
    no_midi.write_text(text)
    for folder in ("images", "audio", "midi"):
        (tmp_path / folder).symlink_to(midi_manifest.parent / folder)
    assert main(["--model", str(tiny_midi_pipeline), "--manifest", str(no_midi), "--out", str(tmp_path / "o")]) == 2
    assert "names no MIDI (midi_path)" in capsys.readouterr().err
    assert main(["--model", "demo", "--model", "demo", "--manifest", str(midi_manifest), "--out",
                 str(tmp_path / "o")]) == 2
    assert "given twice" in capsys.readouterr().err
    assert main(["--model", "demo", "--model", str(tiny_midi_pipeline), "--manifest", str(midi_manifest), "--out",
                 str(tmp_path / "o")]) == 2
    assert "one engine" in capsys.readouterr().err
    assert main(["--model", str(tiny_midi_pipeline), "--manifest", str(midi_manifest), "--out", str(tmp_path / "o"),
                 "--train-midi", str(tmp_path / "nowhere")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert main(["--model", str(tiny_midi_pipeline), "--manifest", str(midi_manifest), "--out", str(tmp_path / "o"),
                 "--top-p", "1.5"]) == 2
    assert "--top-p must be in (0, 1], got 1.5" in capsys.readouterr().err
    assert main(["--model", str(tiny_midi_pipeline), "--manifest", str(midi_manifest), "--out", str(tmp_path / "o"),
                 "--guidance", "3"]) == 2
    assert "was not trained for guidance" in capsys.readouterr().err  # no "no VA" token: refused, not ignored
    assert main(["--model", str(tiny_midi_pipeline), "--manifest", str(midi_manifest), "--out", str(tmp_path / "o"),
                 "--guidance", "25"]) == 2
    assert "--guidance must be in [0, 20], got 25" in capsys.readouterr().err
    assert main(["--model", str(tiny_midi_pipeline), "--manifest", str(midi_manifest), "--out", str(tmp_path / "o"),
                 "--steps", "4"]) == 2
    assert "--steps: a midi-engine model has no ODE steps" in capsys.readouterr().err


def test_midi_evaluation_composes_with_the_guidance_asked(midi_manifest, tmp_path):
    """``--guidance`` reaches a guided model's sampling (the shipped demo-midi model has a "no VA" token)."""
    written = {}
    for guidance in ("1", "3"):
        out = tmp_path / f"g{guidance}"
        assert main(["--model", "demo-midi", "--manifest", str(midi_manifest), "--out", str(out), "--no-audio",
                     "--no-progress", "--limit", "1", "--seconds", "4", "--guidance", guidance]) == 0
        result = json.loads((out / "metrics.json").read_text())
        assert result["systems"]["demo-midi"]["sampling"]["guidance"] == float(guidance)
        written[guidance] = [path.read_bytes() for path in sorted((out / "demo-midi" / "midi").glob("*.mid"))]
    assert written["1"] and written["1"] != written["3"]  # the same seeds, another guidance: other pieces
