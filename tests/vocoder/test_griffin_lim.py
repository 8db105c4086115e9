"""Griffin-Lim: selectable by name, same signature as the generator, and actually reconstructs the mel."""

from __future__ import annotations

import numpy as np
import torch

from vocoder import GriffinLim, load_vocoder, mel_spectrogram


def chord(samples: int) -> torch.Tensor:
    time = torch.arange(samples) / 22050
    return 0.3 * (torch.sin(2 * torch.pi * 220 * time) + torch.sin(2 * torch.pi * 554 * time)) * torch.exp(-2 * time)


def test_selectable_by_name_with_generator_signature() -> None:
    vocoder = load_vocoder("griffin-lim")
    assert isinstance(vocoder, GriffinLim) and not vocoder.training
    audio = vocoder(torch.full((2, 80, 10), -11.5))
    assert audio.shape == (2, 1, 10 * 256)
    assert audio.abs().max() <= 1.0


def test_reconstruction_has_the_input_mel() -> None:
    waveform = chord(22050)
    mel = mel_spectrogram(waveform.unsqueeze(0))
    audio = GriffinLim(n_iter=32)(mel)
    assert audio.shape == (1, 1, mel.shape[-1] * 256)
    rebuilt = mel_spectrogram(audio[:, 0, : waveform.shape[0]])
    error = (rebuilt - mel).abs().mean().item()
    noise_error = (mel_spectrogram(0.1 * torch.randn(1, 22050)) - mel).abs().mean().item()
    assert error < 0.25 * noise_error
    # the loudest mel bin over time is the same (pitch and timing preserved)
    assert np.mean((rebuilt.argmax(1) == mel.argmax(1)).numpy()) > 0.9


def test_same_seed_same_audio() -> None:
    mel = mel_spectrogram(chord(4096).unsqueeze(0))
    torch.testing.assert_close(GriffinLim(n_iter=4)(mel), GriffinLim(n_iter=4)(mel))
