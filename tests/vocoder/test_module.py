"""The Lightning training module: GAN steps lower the mel error, LR decay, resume, official discriminators."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader

from tests.vocoder.conftest import TINY_GENERATOR, make_tiny_corpus
from vocoder.audio import load_audio
from vocoder.checkpoint import CheckpointError, load_official_discriminators
from vocoder.datamodule import VocoderDataModule
from vocoder.discriminators import MultiPeriodDiscriminator, MultiScaleDiscriminator
from vocoder.generator import count_parameters
from vocoder.mel import mel_spectrogram
from vocoder.module import VocoderModule
from vocoder.state_keys import parametrized_to_official


def tiny_module(**overrides) -> VocoderModule:
    return VocoderModule(generator=TINY_GENERATOR.to_dict(), discriminator_width=0.125, **overrides)


def quiet_trainer(tmp_path: Path, **kwargs) -> L.Trainer:
    return L.Trainer(accelerator="cpu", devices=1, logger=False, enable_progress_bar=False,
                     enable_model_summary=False, enable_checkpointing=False, default_root_dir=tmp_path,
                     num_sanity_val_steps=0, **kwargs)


def test_a_few_training_steps_lower_the_mel_error_on_a_short_clip(tmp_path: Path) -> None:
    make_tiny_corpus(tmp_path / "corpus")
    audio = torch.from_numpy(load_audio(tmp_path / "corpus" / "audio" / "a.wav")[:4096]).reshape(1, 1, -1)
    mel = mel_spectrogram(audio[:, 0])
    torch.manual_seed(0)
    module = tiny_module(learning_rate=2e-3)

    def mel_error() -> float:
        with torch.no_grad():
            return torch.nn.functional.l1_loss(module._loss_mel(module.generator(mel)), module._loss_mel(audio)).item()

    before = mel_error()
    batches = DataLoader([(mel[0], audio[0])] * 16, batch_size=1)
    quiet_trainer(tmp_path, max_epochs=1).fit(module, train_dataloaders=batches)
    assert module.trainer.global_step == 32  # manual optimization: D step + G step per batch
    assert mel_error() < 0.7 * before  # 3.23 -> 1.92 when written


def test_learning_rate_decays_once_per_epoch(tmp_path: Path) -> None:
    module = tiny_module(learning_rate=1e-3, lr_decay=0.5)
    sample = (torch.zeros(80, 8) - 11.5, torch.zeros(1, 2048))
    quiet_trainer(tmp_path, max_epochs=3).fit(module, train_dataloaders=DataLoader([sample], batch_size=1))
    for optimizer in module.optimizers():
        assert optimizer.param_groups[0]["lr"] == pytest.approx(1e-3 * 0.5 ** 3)


def test_resume_continues_from_the_saved_step(tmp_path: Path) -> None:
    data = VocoderDataModule(manifest=str(make_tiny_corpus(tmp_path / "corpus")), segment_size=2048,
                             val_segment_size=2048, batch_size=2, num_workers=0, max_val_clips=1)

    def trainer(max_steps: int, *callbacks: L.Callback) -> L.Trainer:
        checkpoints = L.pytorch.callbacks.ModelCheckpoint(dirpath=tmp_path / "ckpt", save_last=True,
                                                          every_n_train_steps=2)
        return L.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False,
                         callbacks=[checkpoints, *callbacks], max_steps=max_steps, num_sanity_val_steps=0,
                         default_root_dir=tmp_path)

    trainer(4).fit(tiny_module(), datamodule=data)
    saved = torch.load(tmp_path / "ckpt" / "last.ckpt", weights_only=True)
    assert saved["global_step"] == 4
    weights = saved["state_dict"]["generator.conv_post.bias"]

    starts = []

    class RecordStart(L.Callback):
        def on_train_start(self, trainer, module):
            starts.append(trainer.global_step)
            torch.testing.assert_close(module.generator.conv_post.bias.detach(), weights)

    resumed = trainer(8, RecordStart())
    resumed.fit(tiny_module(), datamodule=data, ckpt_path="last")
    assert starts == [4]
    assert resumed.global_step == 8


def test_official_discriminator_file_loads_strictly(tmp_path: Path) -> None:
    mpd, msd = MultiPeriodDiscriminator(width=0.125), MultiScaleDiscriminator(width=0.125)
    official = {"mpd": parametrized_to_official(mpd.state_dict()), "msd": parametrized_to_official(msd.state_dict()),
                "optim_g": {}, "optim_d": {}, "steps": 2500000, "epoch": 3000}
    # the official MSD's first scale is spectral-normed: legacy names weight_orig / weight_u / weight_v
    assert {"discriminators.0.convs.0.weight_orig", "discriminators.0.convs.0.weight_u",
            "discriminators.1.convs.0.weight_g"} <= set(official["msd"])
    torch.save(official, tmp_path / "do_02500000")
    fresh_mpd, fresh_msd = MultiPeriodDiscriminator(width=0.125), MultiScaleDiscriminator(width=0.125)
    load_official_discriminators(fresh_mpd, fresh_msd, tmp_path / "do_02500000")
    audio = torch.randn(1, 1, 2048)
    fresh_msd.eval(), msd.eval()
    with torch.no_grad():
        torch.testing.assert_close(fresh_msd(audio, audio)[0], msd(audio, audio)[0])
        torch.testing.assert_close(fresh_mpd(audio, audio)[0], mpd(audio, audio)[0])
    with pytest.raises(CheckpointError, match=r"shape mismatches: discriminators.0.convs.0.bias: expected shape "
                                              r"\(32,\), got \(4,\)"):
        load_official_discriminators(MultiPeriodDiscriminator(), MultiScaleDiscriminator(width=0.125),
                                     tmp_path / "do_02500000")


def test_official_discriminator_sizes() -> None:
    # jik876/hifi-gan MPD and MSD with weight norm: 41.1 M and 29.6 M parameters
    assert round(count_parameters(MultiPeriodDiscriminator()) / 1e6, 1) == 41.1
    assert round(count_parameters(MultiScaleDiscriminator()) / 1e6, 1) == 29.6
    with pytest.raises(ValueError, match="discriminator width 0.01"):
        MultiScaleDiscriminator(width=0.01)


def test_fine_tuning_starts_from_an_official_checkpoint_and_its_architecture(tmp_path: Path) -> None:
    from tests.vocoder.test_checkpoint import write_official
    from vocoder import Generator
    from vocoder.module import _discriminator_file

    torch.manual_seed(1)
    source = Generator(TINY_GENERATOR).eval()
    path = write_official(tmp_path / "UNIVERSAL_V1", source, "g_02500000")
    module = VocoderModule(generator=None, init_generator=str(path), init_discriminator=None, discriminator_width=0.125)
    assert module.generator.config == TINY_GENERATOR  # architecture read from the config.json beside it
    mel = torch.randn(1, 80, 4)
    with torch.no_grad():
        torch.testing.assert_close(module.generator.eval()(mel), source(mel), rtol=1e-5, atol=1e-6)
    with pytest.warns(UserWarning, match="no do_02500000 beside"):
        assert _discriminator_file("auto", str(path)) is None
    (tmp_path / "UNIVERSAL_V1" / "do_02500000").write_bytes(b"")
    assert _discriminator_file("auto", str(path)) == str(tmp_path / "UNIVERSAL_V1" / "do_02500000")
    with pytest.raises(ValueError, match="set model.discriminator_width to 1.0"):
        VocoderModule(init_generator=str(path), init_discriminator="auto", discriminator_width=0.125)


@pytest.mark.parametrize("config", ["configs/vocoder.yaml", "configs/demo/vocoder.yaml"])
def test_shipped_configs_parse(config: str, capsys) -> None:
    from vocoder.cli import main

    root = Path(__file__).resolve().parents[2]
    assert main(["fit", "--config", str(root / config), "--print_config"]) == 0
    printed = capsys.readouterr().out
    assert "init_generator" in printed and "segment_size: 8192" in printed


def test_adversarial_start_trains_the_generator_alone_first(tmp_path: Path) -> None:
    data = VocoderDataModule(manifest=str(make_tiny_corpus(tmp_path / "corpus")), segment_size=2048,
                             batch_size=2, num_workers=0)
    torch.manual_seed(0)
    module = tiny_module(adversarial_start=2)
    discriminator = {k: v.clone() for k, v in module.mpd.state_dict().items()}
    generator = {k: v.clone() for k, v in module.generator.state_dict().items()}
    quiet_trainer(tmp_path, max_steps=2, limit_val_batches=0).fit(module, datamodule=data)
    # Two warm-up batches: one optimizer step each, the generator moved, the discriminators did not.
    assert int(module.batches_seen) == 2
    assert all(torch.equal(v, module.mpd.state_dict()[k]) for k, v in discriminator.items())
    assert any(not torch.equal(v, module.generator.state_dict()[k]) for k, v in generator.items())
    quiet_trainer(tmp_path, max_steps=2, limit_val_batches=0).fit(module, datamodule=data)
    # A fresh trainer counts optimizer steps from 0: the third batch is adversarial, a discriminator and a
    # generator step, which reach max_steps=2 at once.
    assert int(module.batches_seen) == 3
    assert any(not torch.equal(v, module.mpd.state_dict()[k]) for k, v in discriminator.items())
