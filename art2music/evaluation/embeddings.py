"""Audio embeddings for FAD and cosine similarity: VGGish (weights supplied by the user) and ``mel-stats``.

Both turn one waveform into ``(windows, D)`` embeddings, one per ~0.96 s window: FAD pools the windows of
all clips of a set; the cosine similarity compares clip embeddings (the mean over a clip's windows).

- :class:`VGGishEmbedding` (Hershey et al. 2017, "CNN Architectures for Large-Scale Audio
  Classification"; the embedding FAD was defined with, Kilgour et al. 2019): needs the torchvggish-format
  weights file (``vggish-10086976.pth``, a ``state_dict`` of ``features.*`` / ``embeddings.*``). The
  network and its log-mel front end are implemented here from the published description; **they could not
  be checked against the real weights on this machine** (no download), only for shapes and loading.
- :class:`MelStatsEmbedding` (``mel-stats``): the per-bin mean and standard deviation of the HiFi-GAN
  log-mel over each window (160 numbers). It works offline and needs no weights, but it is NOT VGGish:
  a FAD on it is labelled "FAD (mel-stats, not VGGish)" and is not comparable with published FADs.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from vocoder.mel import MelConfig, mel_spectrogram


class AudioEmbedding:
    """Interface: ``name`` (short id), ``label`` (for tables), ``dim``, and :meth:`embed_windows`."""

    name: str
    label: str
    dim: int

    def embed_windows(self, waveform: np.ndarray, sample_rate: int) -> np.ndarray:
        """``(samples,)`` float waveform → ``(windows, dim)`` float32 embeddings."""
        raise NotImplementedError

    def embed_clip(self, waveform: np.ndarray, sample_rate: int) -> np.ndarray:
        """``(samples,)`` waveform → ``(dim,)``: the mean of its window embeddings."""
        return self.embed_windows(waveform, sample_rate).mean(axis=0)


# ----------------------------------------------------------------------------------------------- mel-stats
class MelStatsEmbedding(AudioEmbedding):
    """Per-bin mean and std of the 80-bin HiFi-GAN log-mel over windows of ``window_frames`` frames.

    ``window_frames`` defaults to VGGish's 0.96 s window in mel frames (83 at 22050 Hz / hop 256). A clip
    shorter than one window gives one embedding over all its frames.
    """

    name = "mel-stats"
    label = "mel-stats, not VGGish"

    def __init__(self, mel_config: MelConfig = MelConfig(), window_frames: int | None = None):
        if window_frames is None:
            window_frames = mel_config.seconds_to_frames(VGGISH_PATCH_SECONDS)
        if window_frames < 2:
            raise ValueError(f"window_frames must be at least 2 (a std needs two frames), got {window_frames}")
        self.mel_config = mel_config
        self.window_frames = window_frames
        self.dim = 2 * mel_config.n_mels

    def embed_windows(self, waveform: np.ndarray, sample_rate: int) -> np.ndarray:
        if sample_rate != self.mel_config.sample_rate:
            raise ValueError(f"mel-stats expects {self.mel_config.sample_rate} Hz audio, got {sample_rate} Hz")
        waveform = torch.as_tensor(np.ascontiguousarray(waveform, dtype=np.float32))
        with torch.no_grad():
            log_mel = mel_spectrogram(waveform, self.mel_config).numpy()
        return self.embed_mel(log_mel)

    def embed_mel(self, log_mel: np.ndarray) -> np.ndarray:
        """``(n_mels, frames)`` log-mel → ``(windows, 2 n_mels)`` (mean ‖ std per window)."""
        frames = log_mel.shape[1]
        count = max(1, frames // self.window_frames)
        width = self.window_frames if frames >= self.window_frames else frames
        windows = log_mel[:, :count * width].reshape(log_mel.shape[0], count, width)
        return np.concatenate([windows.mean(axis=2), windows.std(axis=2)], axis=0).T.astype(np.float32)


# ----------------------------------------------------------------------------------------------- VGGish
VGGISH_SAMPLE_RATE = 16000
VGGISH_WINDOW, VGGISH_HOP, VGGISH_FFT = 400, 160, 512  # 25 ms Hann window, 10 ms hop, next power of two
VGGISH_MEL_BINS, VGGISH_FMIN, VGGISH_FMAX = 64, 125.0, 7500.0
VGGISH_LOG_OFFSET = 0.01
VGGISH_PATCH_FRAMES = 96  # 0.96 s examples, no overlap
VGGISH_PATCH_SECONDS = VGGISH_PATCH_FRAMES * VGGISH_HOP / VGGISH_SAMPLE_RATE
VGGISH_MIN_SECONDS = (VGGISH_WINDOW + (VGGISH_PATCH_FRAMES - 1) * VGGISH_HOP) / VGGISH_SAMPLE_RATE
"""Shortest audio that gives one VGGish example (0.975 s)."""


def _hz_to_htk_mel(frequency: np.ndarray) -> np.ndarray:
    return 1127.0 * np.log1p(np.asarray(frequency, dtype=np.float64) / 700.0)


def vggish_mel_matrix() -> np.ndarray:
    """``(257, 64)`` triangular HTK-mel weights from 125 to 7500 Hz over the 512-point FFT bins (the DC bin
    gets no weight), as in VGGish's ``mel_features.spectrogram_to_mel_matrix``."""
    bins_mel = _hz_to_htk_mel(np.linspace(0.0, VGGISH_SAMPLE_RATE / 2, VGGISH_FFT // 2 + 1))
    edges = np.linspace(_hz_to_htk_mel(VGGISH_FMIN), _hz_to_htk_mel(VGGISH_FMAX), VGGISH_MEL_BINS + 2)
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bins_mel[:, None] - lower) / (centre - lower)
    falling = (upper - bins_mel[:, None]) / (upper - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights[0] = 0.0
    return weights


def vggish_examples(waveform: np.ndarray, sample_rate: int) -> np.ndarray:
    """``(samples,)`` waveform → ``(examples, 96, 64)`` float32 log-mel patches (VGGish's input).

    Resampled to 16 kHz (soxr), periodic-Hann STFT of 400 samples, hop 160, 512-point FFT magnitude,
    64 HTK mel bands 125-7500 Hz, ``log(mel + 0.01)``, cut into non-overlapping 96-frame (0.96 s) patches.
    """
    import soxr

    waveform = np.asarray(waveform, dtype=np.float64)
    if sample_rate != VGGISH_SAMPLE_RATE:
        waveform = soxr.resample(waveform, sample_rate, VGGISH_SAMPLE_RATE, quality="HQ")
    if waveform.shape[0] < VGGISH_WINDOW:
        raise ValueError(f"{waveform.shape[0]} samples at 16 kHz is shorter than one VGGish STFT window")
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(VGGISH_WINDOW) / VGGISH_WINDOW)
    frames = np.lib.stride_tricks.sliding_window_view(waveform, VGGISH_WINDOW)[::VGGISH_HOP]
    magnitude = np.abs(np.fft.rfft(frames * window, n=VGGISH_FFT, axis=-1))
    log_mel = np.log(magnitude @ vggish_mel_matrix() + VGGISH_LOG_OFFSET)
    count = log_mel.shape[0] // VGGISH_PATCH_FRAMES
    if count == 0:
        raise ValueError(f"audio of {waveform.shape[0] / VGGISH_SAMPLE_RATE:.2f} s is shorter than one 0.96 s "
                         f"VGGish example")
    return log_mel[:count * VGGISH_PATCH_FRAMES].reshape(count, VGGISH_PATCH_FRAMES, VGGISH_MEL_BINS).astype(np.float32)


class VGGishNetwork(nn.Module):
    """VGGish: ``(B, 1, 96, 64)`` log-mel patches → ``(B, 128)`` embeddings.

    Conv 3x3 64 → pool → 128 → pool → 256, 256 → pool → 512, 512 → pool (2x2 max-pools, ReLU after every
    conv), then fully connected 12288 → 4096 → 4096 → 128 with ReLUs (torchvggish's port keeps the last
    one). The conv output ``(B, 512, 6, 4)`` is flattened in TensorFlow's channels-last order
    ``(B, 6, 4, 512)`` so the ported fully connected weights line up. Module names follow torchvggish
    (``features.0`` ... ``features.13``, ``embeddings.0/2/4``) so its state dict loads with strict keys.
    """

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 1
        for width in (64, "pool", 128, "pool", 256, 256, "pool", 512, 512, "pool"):
            if width == "pool":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += [nn.Conv2d(channels, int(width), kernel_size=3, padding=1), nn.ReLU(inplace=True)]
                channels = int(width)
        self.features = nn.Sequential(*layers)
        self.embeddings = nn.Sequential(nn.Linear(512 * 6 * 4, 4096), nn.ReLU(inplace=True),
                                        nn.Linear(4096, 4096), nn.ReLU(inplace=True),
                                        nn.Linear(4096, 128), nn.ReLU(inplace=True))

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        if patches.dim() != 4 or tuple(patches.shape[1:]) != (1, VGGISH_PATCH_FRAMES, VGGISH_MEL_BINS):
            raise ValueError(f"VGGish expects (batch, 1, 96, 64) log-mel patches, got {tuple(patches.shape)}")
        features = self.features(patches).permute(0, 2, 3, 1).contiguous()
        return self.embeddings(features.flatten(1))


def load_vggish_network(weights: str | os.PathLike) -> VGGishNetwork:
    """Build :class:`VGGishNetwork` and load a torchvggish-format state dict (``torch.load(weights_only=True)``,
    strict keys and shapes).

    Raises:
        FileNotFoundError: no file there. ValueError: not a VGGish state dict (the message lists the keys).
    """
    path = Path(weights).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"VGGish weights {path} do not exist; download torchvggish's "
                                f"vggish-10086976.pth on a connected machine and pass its path")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for a non-checkpoint or an unsafe pickle
        raise ValueError(f"{path} is not a loadable torch state dict ({type(error).__name__}: {error})") from error
    if not isinstance(state, dict):
        raise ValueError(f"{path} holds a {type(state).__name__}, expected a VGGish state dict")
    with torch.device("meta"):  # shapes only: no 290 MB random initialisation that the weights overwrite
        network = VGGishNetwork()
    expected = network.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise ValueError(f"{path} is not a torchvggish VGGish state dict: missing keys {missing[:6]}, "
                         f"unexpected keys {unexpected[:6]}")
    wrong = [f"{key} {tuple(state[key].shape)} != {tuple(value.shape)}" for key, value in expected.items()
             if state[key].shape != value.shape]
    if wrong:
        raise ValueError(f"{path}: tensors of the wrong shape: {wrong[:4]}")
    network.load_state_dict({k: v.float() for k, v in state.items()}, strict=True, assign=True)
    return network.eval()


class VGGishEmbedding(AudioEmbedding):
    """VGGish embeddings (128-d, one per 0.96 s, raw network output: no PCA/quantisation post-processing)."""

    name = "vggish"
    label = "VGGish"
    dim = 128

    def __init__(self, weights: str | os.PathLike, device: str = "cpu"):
        self.device = torch.device(device)
        self.network = load_vggish_network(weights).to(self.device)

    @torch.inference_mode()
    def embed_windows(self, waveform: np.ndarray, sample_rate: int) -> np.ndarray:
        patches = torch.from_numpy(vggish_examples(waveform, sample_rate)).unsqueeze(1).to(self.device)
        return self.network(patches).float().cpu().numpy()


def make_embeddings(vggish_weights: str | os.PathLike | None, mel_config: MelConfig = MelConfig()
                    ) -> list[AudioEmbedding]:
    """The embeddings an evaluation uses: always ``mel-stats``; VGGish too when its weights are given."""
    embeddings: list[AudioEmbedding] = [MelStatsEmbedding(mel_config)]
    if vggish_weights is not None:
        embeddings.append(VGGishEmbedding(vggish_weights))
    return embeddings
