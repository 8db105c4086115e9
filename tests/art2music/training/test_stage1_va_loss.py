"""Stage 1's VA loss: a frozen music VA judge scores what the decoder writes against the pair's target."""

from __future__ import annotations

import pytest
import torch

from art2music.audio_engine.decoders.flow import FlowConfig
from art2music.emotion_judge.folder import save_va_judge
from art2music.emotion_judge.model import VAJudge, VAJudgeConfig
from art2music.training.stage1_data import Stage1DataModule
from art2music.training.stage1_module import Stage1Module

SIZES = dict(embed_dim=8, encoder_arch="art2music-tiny", encoder_pretrained=None, fusion_dim=8, decoder_input_dim=8,
             lstm_hidden=8, lstm_layers=1, frames=16, emotion_conditioning=True)
FLOW = FlowConfig(channels=8, levels=1, blocks_per_level=1, attention_blocks=1, heads=2, crop_frames=0, steps=2,
                  prediction="data")


@pytest.fixture
def judge_folder(tmp_path):
    torch.manual_seed(0)
    judge = VAJudge(VAJudgeConfig(channels=(4, 4, 4, 4), hidden=8, dropout=0.0))  # random weights: any judge
    return save_va_judge(judge, tmp_path / "judge")


def _batch(tiny_articaps):
    data = Stage1DataModule(str(tiny_articaps), batch_size=4, num_workers=0)
    data.setup("fit")
    return next(iter(data.train_dataloader()))


def test_a_va_loss_weight_needs_a_judge_and_a_sane_number():
    with pytest.raises(ValueError, match="needs model.va_judge"):
        Stage1Module(**SIZES, va_loss_weight=0.5)
    with pytest.raises(ValueError, match="finite number >= 0"):
        Stage1Module(**SIZES, va_loss_weight=-1.0)
    assert Stage1Module(**SIZES).va_judge is None  # off by default: the paper's loss alone


def test_the_va_loss_leaves_out_rows_without_a_target_and_weights_rows(judge_folder):
    module = Stage1Module(**SIZES, va_judge=str(judge_folder), va_loss_weight=1.0)
    mel = torch.randn(3, 80, 16) - 5
    target = torch.tensor([[0.5, 0.5], [float("nan"), float("nan")], [-0.5, 0.2]])
    judged = module.va_judge(mel)
    expected = (((judged[[0, 2]] - target[[0, 2]]) ** 2).sum(1)).mean()
    torch.testing.assert_close(module.va_loss(mel, target), expected)
    only_last = module.va_loss(mel, target, row_weights=torch.tensor([0.0, 1.0, 2.0]))
    torch.testing.assert_close(only_last, ((judged[2] - target[2]) ** 2).sum())


@pytest.mark.parametrize("decoder", ["bilstm", "flow"])
def test_the_va_loss_carries_gradient_into_the_decoder_and_is_logged(tiny_articaps, judge_folder, decoder):
    extra = dict(decoder="flow", flow=FLOW) if decoder == "flow" else {}
    torch.manual_seed(1)
    with_loss = Stage1Module(**SIZES, **extra, va_judge=str(judge_folder), va_loss_weight=1.0)
    logged = {}
    with_loss.log = lambda name, value, **kwargs: logged.__setitem__(name, value)
    batch = _batch(tiny_articaps)
    if decoder == "flow":
        with_loss.model.decoder.network.output.weight.data.normal_(0, 0.1)  # not the zero start: a real estimate
    loss = with_loss.training_step(batch, 0)
    assert "train/va_loss" in logged and float(logged["train/va_loss"].detach()) > 0
    # The VA loss alone moves the decoder; the judge stays frozen.
    with_loss.zero_grad()
    logged["train/va_loss"].backward()
    decoder_grads = [p.grad for p in with_loss.model.decoder.parameters() if p.grad is not None]
    assert decoder_grads and any(float(g.abs().sum()) > 0 for g in decoder_grads)
    assert all(p.grad is None for p in with_loss.va_judge.parameters())
    assert torch.isfinite(loss)


def test_training_on_the_va_loss_brings_the_judged_feeling_to_the_target(tiny_articaps, judge_folder):
    torch.manual_seed(2)
    module = Stage1Module(**SIZES, va_judge=str(judge_folder), va_loss_weight=1.0, lr=1e-2)
    batch = _batch(tiny_articaps)
    batch["va"] = torch.tensor([[0.6, -0.4]]).expand(batch["va"].shape[0], 2).clone()
    optimiser = torch.optim.Adam(module.model.parameters(), lr=1e-2)

    def va_distance() -> float:
        with torch.no_grad():
            mel = module(batch["text_embedding"], batch["image_embedding"], va=batch["va"])
            return float(module.va_loss(mel, batch["va"]))

    before = va_distance()
    module.log = lambda *args, **kwargs: None
    for _ in range(40):
        optimiser.zero_grad()
        module.training_step(batch, 0).backward()
        optimiser.step()
    assert va_distance() < 0.5 * before


def test_init_stage1_starts_from_an_exported_stage1(tmp_path):
    source = Stage1Module(**SIZES, decoder="flow", flow=FLOW)
    source.export(tmp_path / "pipeline" / "stage1")
    copy = Stage1Module(**SIZES, decoder="flow", flow=FLOW, init_stage1=str(tmp_path / "pipeline"))
    for name, value in source.model.state_dict().items():
        torch.testing.assert_close(copy.model.state_dict()[name], value)
    with pytest.raises(ValueError, match="other sizes"):
        Stage1Module(**{**SIZES, "fusion_dim": 12}, decoder="flow", flow=FLOW, init_stage1=str(tmp_path / "pipeline"))
