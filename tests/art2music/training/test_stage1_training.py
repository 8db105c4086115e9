"""Stage-1 training through the real CLI: configs parse, a tiny run learns, resumes after SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from art2music.training.stage1_data import Stage1DataModule
from art2music.training.cli import main as stage1_main
from art2music.training.stage1_module import Stage1Module

REPO = Path(__file__).resolve().parents[3]
TINY = ["--model.encoder_arch", "art2music-tiny", "--model.encoder_pretrained", "null", "--model.fusion_dim", "16", "--model.decoder_input_dim", "16",
        "--model.lstm_hidden", "16", "--model.lstm_layers", "1", "--data.num_workers", "0",
        "--data.batch_size", "4", "--trainer.enable_progress_bar", "false", "--trainer.accelerator", "cpu"]


def run_args(data_dir: Path, run_dir: Path, *extra: str, checkpoint_every: int = 25) -> list[str]:
    """CLI arguments for the demo config with every output under ``run_dir`` and tiny model sizes."""
    config = yaml.safe_load((REPO / "configs/demo/stage1.yaml").read_text())
    config["trainer"]["default_root_dir"] = str(run_dir)
    config["trainer"]["logger"]["init_args"]["save_dir"] = str(run_dir)
    for callback in config["trainer"]["callbacks"]:
        callback["init_args"]["dirpath"] = str(run_dir / "checkpoints")
    config["trainer"]["callbacks"][0]["init_args"]["every_n_train_steps"] = checkpoint_every
    config["data"]["data_dir"] = str(data_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir.parent / "config.yaml").write_text(yaml.safe_dump(config))
    return ["fit", "--config", str(run_dir.parent / "config.yaml"), *TINY, *extra]


@pytest.mark.parametrize("name", ["configs/stage1.yaml", "configs/demo/stage1.yaml"])
def test_config_files_parse(name):
    config = yaml.safe_load((REPO / name).read_text())
    assert {"trainer", "model", "data"} <= set(config)
    # --print_config parses and validates every key and type without needing the dataset.
    result = subprocess.run([sys.executable, "-m", "art2music", "train-stage1", "fit", "--config", str(REPO / name),
                             "--print_config"], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    printed = yaml.safe_load(result.stdout)
    assert printed["model"]["encoder_arch"] == config["model"]["encoder_arch"]
    assert printed["data"]["batch_size"] == config["data"]["batch_size"]


def test_paper_config_holds_the_paper_setting():
    config = yaml.safe_load((REPO / "configs/stage1.yaml").read_text())["model"]
    assert (config["encoder_arch"], config["encoder_pretrained"]) == ("ViT-H-14", "laion2b_s32b_b79k")
    assert (config["lstm_layers"], config["lstm_hidden"], config["lr"]) == (4, 512, 1e-4)
    assert yaml.safe_load((REPO / "configs/stage1.yaml").read_text())["data"]["batch_size"] == 32


def test_tiny_fit_learns_and_logs(tiny_articaps, tmp_path):
    run_dir = tmp_path / "run"
    stage1_main(run_args(tiny_articaps, run_dir, "--trainer.max_epochs", "15", "--model.lr", "5e-3"))
    checkpoints = sorted(path.name for path in (run_dir / "checkpoints").iterdir())
    assert checkpoints == ["best.ckpt", "last.ckpt", "step-step=25.ckpt"], checkpoints
    # 8 train pairs / batch 4 = 2 steps per epoch; the rolling checkpoint is taken every 25 steps, and last.ckpt is
    # written once more when the run ends (vocoder.last_checkpoint.SaveLastAtStop), so it holds all 30 steps.
    assert torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)["global_step"] == 30
    events = list((run_dir / "tensorboard").rglob("events.out.tfevents.*"))
    assert events, "no TensorBoard log written"
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(events[0].parent), size_guidance={"images": 0}).Reload()
    tags = accumulator.Tags()
    assert {"train/loss", "val/loss", "val/mel_l1"} <= set(tags["scalars"])
    assert "val/mel_prediction_vs_target" in tags["images"]
    val = [event.value for event in accumulator.Scalars("val/loss")]
    assert val[-1] < val[0] / 2, val


def test_fit_refuses_data_from_another_encoder(tiny_articaps, tmp_path, capsys):
    code = stage1_main(run_args(tiny_articaps, tmp_path / "run", "--trainer.max_epochs", "1",
                                "--model.encoder_arch", "ViT-B-32", "--model.encoder_pretrained", "null"))
    assert code == 2
    assert ("encoded with art2music-tiny / None, but the model is configured for ViT-B-32"
            in capsys.readouterr().err)


def test_missing_data_is_a_one_line_error(tmp_path, capsys):
    assert stage1_main(run_args(tmp_path / "absent", tmp_path / "run", "--trainer.max_epochs", "1")) == 2
    assert "no feature cache at" in capsys.readouterr().err


def test_training_step_does_not_run_the_encoder(tiny_articaps):
    module = Stage1Module(embed_dim=8, encoder_arch="art2music-tiny", encoder_pretrained=None, fusion_dim=8,
                          decoder_input_dim=8, lstm_hidden=8, lstm_layers=1, frames=16)
    assert module.encoder is None
    data = Stage1DataModule(str(tiny_articaps), batch_size=4, num_workers=0)
    data.setup("fit")
    batch = next(iter(data.train_dataloader()))
    assert set(batch) == {"text_embedding", "image_embedding", "mel", "va", "index"}
    assert torch.isfinite(module.training_step(batch, 0))


def test_on_the_fly_mode_trains_the_encoder(tiny_articaps):
    module = Stage1Module(embed_dim=64, encoder_arch="art2music-tiny", encoder_pretrained=None, train_encoder=True,
                          fusion_dim=8, decoder_input_dim=8, lstm_hidden=8, lstm_layers=1, frames=16)
    data = Stage1DataModule(str(tiny_articaps), batch_size=4, num_workers=0, on_the_fly=True)
    data.setup("fit")
    data.attach_encoder(module.encoder.image_transform, module.encoder.tokenizer)
    batch = next(iter(data.train_dataloader()))
    assert batch["pixels"].shape == (4, 3, 64, 64) and batch["tokens"].shape == (4, 77)
    module.training_step(batch, 0).backward()
    assert module.encoder.clip.visual.conv1.weight.grad.abs().sum() > 0
    assert module.encoder.clip.token_embedding.weight.grad.abs().sum() > 0


def test_resume_after_sigkill_continues_from_the_saved_step(tiny_articaps, tmp_path):
    """A run killed with SIGKILL and restarted with --ckpt_path last continues, not from zero."""
    run_dir = tmp_path / "run"
    args = run_args(tiny_articaps, run_dir, "--trainer.max_epochs", "400", "--trainer.check_val_every_n_epoch", "50",
                    checkpoint_every=5)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen([sys.executable, "-m", "art2music", "train-stage1", *args, "--ckpt_path", "last"],
                               cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    last = run_dir / "checkpoints" / "last.ckpt"
    deadline = time.time() + 120
    try:
        while time.time() < deadline:
            if last.exists():
                time.sleep(3)  # let it run past the first checkpoint
                if torch.load(last, map_location="cpu", weights_only=True)["global_step"] >= 15:
                    break
            time.sleep(0.5)
        assert process.poll() is None, "training ended before it could be killed"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    saved_step = torch.load(last, map_location="cpu", weights_only=True)["global_step"]
    assert saved_step >= 15 and saved_step % 5 == 0
    target_steps = saved_step + 10
    stage1_main([*args, "--ckpt_path", "last", "--trainer.max_steps", str(target_steps),
                 "--trainer.log_every_n_steps", "1"])
    assert torch.load(last, map_location="cpu", weights_only=True)["global_step"] == target_steps
    # The restarted run (a new TensorBoard version) logged only the remaining steps: it went on from the
    # saved step instead of starting over from zero.
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    versions = sorted((run_dir / "tensorboard").iterdir(), key=lambda p: p.stat().st_mtime)
    steps = [event.step for event in EventAccumulator(str(versions[-1])).Reload().Scalars("train/loss")]
    assert len(steps) == 10 and min(steps) >= saved_step - 1, (saved_step, steps)


FLOW = ["--model.decoder", "flow", "--model.flow.channels", "16", "--model.flow.heads", "2",
        "--model.flow.blocks_per_level", "1", "--model.flow.crop_frames", "8", "--model.flow.steps", "2"]


@pytest.mark.parametrize("name", ["configs/stage1_flow.yaml", "configs/demo/stage1_flow.yaml"])
def test_flow_configs_choose_the_flow_decoder(name):
    result = subprocess.run([sys.executable, "-m", "art2music", "train-stage1", "fit", "--config", str(REPO / name),
                             "--print_config"], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    model = yaml.safe_load(result.stdout)["model"]
    assert model["decoder"] == "flow" and model["flow"]["condition_dropout"] > 0 and model["ema_decay"] > 0.99


def test_flow_fit_keeps_an_ema_logs_samples_and_exports_it(tiny_articaps, tmp_path):
    from art2music.export.format import load_stage1

    run_dir = tmp_path / "run"
    stage1_main(run_args(tiny_articaps, run_dir, *FLOW, "--trainer.max_epochs", "5", "--model.lr", "3e-3",
                         "--trainer.check_val_every_n_epoch", "1"))
    state = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)["state_dict"]
    name = "decoder.network.output.weight"
    assert f"ema.{name}" in state and not torch.equal(state[f"ema.{name}"], state[f"model.{name}"])
    # The normalisation is the training data's, in the model and its EMA copy.
    assert state["model.decoder.mel_mean"].mean() < -1 and torch.equal(state["ema.decoder.mel_std"],
                                                                      state["model.decoder.mel_std"])
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = next((run_dir / "tensorboard").rglob("events.out.tfevents.*"))
    tags = EventAccumulator(str(events.parent), size_guidance={"images": 0}).Reload().Tags()
    assert {"train/loss", "val/loss"} <= set(tags["scalars"]) and "val/mel_sample_vs_target" in tags["images"]
    module = Stage1Module.load_from_checkpoint(str(run_dir / "checkpoints" / "last.ckpt"), map_location="cpu",
                                               weights_only=True)
    module.export(tmp_path / "stage1")
    model, _, _ = load_stage1(tmp_path / "stage1")
    assert model.config.decoder == "flow" and model.config.flow.steps == 2
    torch.testing.assert_close(model.decoder.network.output.weight, state[f"ema.{name}"])  # the EMA is exported
    text, image = torch.randn(2, model.config.embed_dim), torch.randn(2, model.config.embed_dim)
    with torch.no_grad():
        assert model(text, image, frames=10, generator=torch.Generator().manual_seed(0)).shape == (2, 80, 10)


def test_flow_resume_restores_the_ema(tiny_articaps, tmp_path):
    """Resuming continues the saved average: after one more step it is a blend of the saved EMA and the model."""
    run_dir = tmp_path / "run"
    args = run_args(tiny_articaps, run_dir, *FLOW, "--trainer.check_val_every_n_epoch", "50", checkpoint_every=6)
    stage1_main([*args, "--trainer.max_steps", "6"])
    last = run_dir / "checkpoints" / "last.ckpt"
    before = torch.load(last, map_location="cpu", weights_only=True)
    stage1_main([*args, "--ckpt_path", "last", "--trainer.max_steps", "7"])
    after = torch.load(last, map_location="cpu", weights_only=True)
    assert (before["global_step"], after["global_step"]) == (6, 7)
    decay = min(0.999, (1 + 7) / (10 + 7))  # the warm-up decay at the step the update ran
    name = "decoder.network.input.weight"
    expected = decay * before["state_dict"][f"ema.{name}"] + (1 - decay) * after["state_dict"][f"model.{name}"]
    torch.testing.assert_close(after["state_dict"][f"ema.{name}"], expected, atol=1e-6, rtol=1e-5)


@pytest.mark.slow
def test_flow_trains_with_ddp_on_two_processes(tiny_articaps, tmp_path):
    """trainer.devices 2 + strategy ddp (gloo on CPU): both ranks train the emotion-conditioned flow decoder, each on
    half of every epoch, and rank 0 writes one checkpoint with the EMA."""
    run_dir = tmp_path / "run"
    args = run_args(tiny_articaps, run_dir, *FLOW, "--model.emotion_conditioning", "true", "--trainer.max_epochs", "2",
                    "--trainer.devices", "2", "--trainer.strategy", "ddp", "--trainer.check_val_every_n_epoch", "1")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    finished = subprocess.run([sys.executable, "-m", "art2music", "train-stage1", *args], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr[-3000:]
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    from art2music.articaps.manifest import read_manifest

    train_rows = len(read_manifest(tiny_articaps / "manifest.csv").split_indices("train"))
    per_rank_batches = -(-(-(-train_rows // 2)) // 4)  # DistributedSampler pads to equal halves; batch size 4
    assert checkpoint["global_step"] == 2 * per_rank_batches
    assert "ema.emotion.not_given" in checkpoint["state_dict"]

