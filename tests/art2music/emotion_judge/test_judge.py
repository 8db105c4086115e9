"""The VA judge: a frozen, differentiable loss, any length, strict save/load, agreement figures, training."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile
import torch

from art2music.emotion_judge import VAJudge, VAJudgeConfig, load_va_judge, save_va_judge, va_agreement
from art2music.emotion_judge.agreement import spearman_rho
from art2music.export.format import DEMO_DIR, ModelLoadError
from vocoder.mel import MelConfig

SMALL = VAJudgeConfig(channels=(4, 8), hidden=8)


def test_loss_moves_the_mel_not_the_frozen_judge():
    torch.manual_seed(0)
    judge = VAJudge(SMALL).frozen()
    mel = torch.randn(3, 80, 40, requires_grad=True)
    target = torch.tensor([[0.5, -0.5], [float("nan"), float("nan")], [-1.0, 1.0]])
    loss = judge.loss(mel, target)
    loss.backward()
    assert loss.dim() == 0 and loss.item() > 0
    assert mel.grad[0].abs().sum() > 0 and mel.grad[2].abs().sum() > 0
    assert mel.grad[1].abs().sum() == 0  # a row without a target contributes nothing
    assert all(parameter.grad is None for parameter in judge.parameters())
    judge.train()  # a parent module's .train() must not turn dropout back on
    assert not judge.training
    expected = ((judge(mel[[0, 2]]) - target[[0, 2]]) ** 2).sum(dim=1).mean()
    assert torch.allclose(loss, expected)
    assert judge.loss(mel, torch.full((3, 2), float("nan"))).item() == 0.0


def test_judge_reads_any_length_and_refuses_wrong_shapes():
    judge = VAJudge(SMALL).eval()
    for frames in (3, 16, 345):
        va = judge.judge(torch.randn(2, 80, frames))
        assert va.shape == (2, 2) and (va.abs() <= 1).all()
    with pytest.raises(ValueError, match=r"\(batch, 80, frames\)"):
        judge(torch.randn(2, 40, 30))
    with pytest.raises(ValueError, match="target_va must be"):
        judge.loss(torch.randn(2, 80, 30), torch.zeros(3, 2))


def test_save_and_load_round_trip_and_strict_errors(tmp_path):
    torch.manual_seed(1)
    judge = VAJudge(SMALL)
    judge.set_normalization(torch.randn(80), torch.rand(80) + 0.5)
    folder = save_va_judge(judge, tmp_path / "va_judge")
    loaded = load_va_judge(folder)
    mel = torch.randn(2, 80, 50)
    assert torch.allclose(loaded.judge(mel), judge.judge(mel), atol=1e-6)
    assert loaded.is_frozen
    config = json.loads((folder / "config.json").read_text())
    config["judge"]["channels"] = [4, 16]
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match="model.safetensors"):
        load_va_judge(folder)
    config["judge"]["wings"] = 2
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match="unknown VA judge config keys"):
        load_va_judge(folder)


def test_agreement_figures_on_hand_made_points():
    target = np.array([[0.5, 0.5], [-0.5, 0.5], [0.5, -0.5], [-0.5, -0.5]])
    judged = np.array([[0.5, 0.5], [0.5, 0.5], [0.5, 0.5], [-0.5, -0.1]])
    figures = va_agreement(judged, target)
    assert figures["valence_sign"] == 0.75 and figures["arousal_sign"] == 0.75 and figures["quadrant"] == 0.5
    assert figures["distance"] == pytest.approx((0 + 1 + 1 + 0.4) / 4)
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        va_agreement(judged[:, :1], target[:, :1])
    assert spearman_rho([1, 2, 3, 4], [10, 20, 15, 40]) == pytest.approx(0.8)
    assert spearman_rho([1, 2, 3], [5, 5, 5]) is None


def test_the_shipped_demo_judge_loads_and_reports_held_out_figures():
    judge = load_va_judge(DEMO_DIR / "va_judge")
    assert judge.mel_config == MelConfig()
    metrics = json.loads((DEMO_DIR / "va_judge" / "metrics.json").read_text())
    held_out = metrics["agreement"]["held_out"]
    assert held_out["count"] >= 20 and held_out["quadrant"] > 0.5  # well above chance (0.25)
    assert sum(path.stat().st_size for path in (DEMO_DIR / "va_judge").iterdir()) < 1 << 20


def _tone_corpus(root, count_per_kind: int = 6):
    """Clips whose feeling is audible: fast loud high notes (excitement) vs slow quiet low ones (sadness)."""
    (root / "audio").mkdir(parents=True)
    rows = ["kind,key,emotion"]
    rate = 22050
    t = np.arange(rate) / rate
    rng = np.random.default_rng(0)
    for index in range(count_per_kind):
        for emotion, pitch, rate_hz, level in (("excitement", 1200.0, 8.0, 0.8), ("sadness", 150.0, 1.0, 0.1)):
            pulse = (np.sin(2 * np.pi * rate_hz * t) > 0).astype(np.float32)
            wave = level * pulse * np.sin(2 * np.pi * (pitch + 30 * index) * t) + 0.001 * rng.standard_normal(rate)
            key = f"{emotion}{index}"
            soundfile.write(root / "audio" / f"{key}.wav", wave.astype(np.float32), rate)
            rows.append(f"clip,{key},{emotion}")
    rows.append("painting,some/painting,sadness")
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    for key in ("extra0", "extra1", "extra2"):  # unlabelled clips that only a MusicCaps-style caption describes
        soundfile.write(root / "audio" / f"{key}.wav", (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate)
    (root / "musiccaps.csv").write_text(
        "ytid,caption\nextra0,A mournful and somber piano piece.\nextra1,\"Energetic, upbeat dance music.\"\n"
        "extra2,A piano plays scales.\nexcitement0,A sad song (labelled: the label wins).\n"
        "missing,A happy song whose audio is absent.\n")


def test_training_learns_audible_feelings_and_writes_a_loadable_folder(tmp_path):
    from art2music.training.va_judge import main

    _tone_corpus(tmp_path)
    out = tmp_path / "judge"
    code = main(["--labels", str(tmp_path / "labels.csv"), "--audio", str(tmp_path / "audio"), "--corpus",
                 str(tmp_path), "--musiccaps", str(tmp_path / "musiccaps.csv"), "--out", str(out), "--epochs", "15", "--batch-size", "6", "--lr", "1e-2", "--crop-frames", "32",
                 "--threads", "1"])
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["last_loss"] < metrics["first_loss"]
    assert sum(metrics["clips"].values()) == 14 and metrics["split"] == "by clip name hash"
    assert metrics["clips_from_caption_mood_words"] == 2  # extra0 and extra1; not the labelled or silent-caption ones
    assert metrics["agreement"]["train"]["valence_sign"] == 1.0  # excitement is positive, sadness negative
    assert load_va_judge(out).config == VAJudgeConfig()


def test_training_command_refuses_missing_inputs(tmp_path, capsys):
    from art2music.training.va_judge import main

    assert main(["--corpus", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")]) == 2
    assert "does not exist" in capsys.readouterr().err
