"""``make demo-train`` runs the real commands in order with the documented time boxes (commands recorded, not run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from art2music.training import demo_train


@pytest.fixture
def recorded(monkeypatch, tmp_path):
    calls: list[tuple[str, list[str]]] = []
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(demo_train, "_run", lambda step, args, timings: calls.append((step, args)))
    monkeypatch.setattr(demo_train, "_export", lambda *a, **k: calls.append(("export", [])))
    return calls


def test_defaults_train_the_flow_decoder_the_adversarial_vocoder_and_the_midi_engine(recorded, tmp_path):
    assert demo_train.main(["--out", str(tmp_path / "demo"), "--midi-out", str(tmp_path / "demo-midi")]) == 0
    steps = [step for step, _ in recorded]
    assert steps == ["corpus", "encoder", "re-embed", "stage1", "vocoder", "export", "midi", "midi-export"]
    commands = dict(recorded)
    assert "configs/demo/stage1_flow.yaml" in commands["stage1"]
    assert commands["stage1"][commands["stage1"].index("--trainer.max_time") + 1] == "00:00:35:00"
    vocoder = commands["vocoder"]
    assert vocoder[vocoder.index("--trainer.max_time") + 1] == "00:00:30:00"
    assert vocoder[vocoder.index("--trainer.max_steps") + 1] == "-1"  # the time box, not the config's step count
    assert commands["midi-export"][-1] == str(tmp_path / "demo-midi")
    assert (tmp_path / "demo" / "training.json").is_file()


def test_bilstm_steps_and_skip_midi(recorded, tmp_path):
    demo_train.main(["--out", str(tmp_path / "demo"), "--decoder", "bilstm", "--vocoder-steps", "40",
                     "--skip-midi"])
    commands = dict(recorded)
    assert "configs/demo/stage1.yaml" in commands["stage1"] and "midi" not in commands
    assert commands["vocoder"][commands["vocoder"].index("--trainer.max_steps") + 1] == "40"
    assert "--trainer.max_time" not in commands["vocoder"]


def test_stale_runs_are_removed_before_a_fresh_run(recorded, tmp_path):
    stale = Path("runs/vocoder-demo/checkpoints")
    stale.mkdir(parents=True)
    (stale / "best.ckpt").write_text("old")
    demo_train.main(["--out", str(tmp_path / "demo"), "--skip-midi"])
    assert not stale.exists()
