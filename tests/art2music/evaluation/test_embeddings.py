"""Audio embeddings: the offline mel-stats embedding, and VGGish's front end, architecture and weight loading
(with random weights saved in torchvggish's format: the real weights cannot be downloaded here)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from art2music.evaluation.embeddings import (VGGISH_MEL_BINS, MelStatsEmbedding, VGGishEmbedding, VGGishNetwork,
                                             load_vggish_network, make_embeddings, vggish_examples,
                                             vggish_mel_matrix)
from art2music.io.audio import waveform_to_mel
from tests.art2music.evaluation.conftest import tone

# torchvggish's state-dict keys (conv layers at these Sequential positions, fully connected at 0/2/4)
TORCHVGGISH_KEYS = {f"features.{i}.{p}" for i in (0, 3, 6, 8, 11, 13) for p in ("weight", "bias")} | \
    {f"embeddings.{i}.{p}" for i in (0, 2, 4) for p in ("weight", "bias")}


@pytest.fixture(scope="module")
def random_vggish():
    torch.manual_seed(0)
    return VGGishNetwork().eval()


@pytest.fixture(scope="module")
def vggish_weights(random_vggish, tmp_path_factory):
    """Random VGGish weights saved the way torchvggish's vggish-10086976.pth is (a plain state dict)."""
    path = tmp_path_factory.mktemp("vggish") / "vggish-random.pth"
    torch.save(random_vggish.state_dict(), path)
    return path


def test_mel_stats_are_per_window_means_and_stds_of_the_log_mel():
    embedding = MelStatsEmbedding(window_frames=10)
    waveform = tone(440.0, 256 * 35)
    windows = embedding.embed_windows(waveform, 22050)
    log_mel = waveform_to_mel(waveform)  # 35 frames -> 3 whole windows of 10
    assert windows.shape == (3, 160) and embedding.dim == 160
    assert np.allclose(windows[1, :80], log_mel[:, 10:20].mean(axis=1), atol=1e-5)
    assert np.allclose(windows[2, 80:], log_mel[:, 20:30].std(axis=1), atol=1e-5)
    assert np.allclose(embedding.embed_clip(waveform, 22050), windows.mean(axis=0))
    short = embedding.embed_windows(tone(440.0, 256 * 6), 22050)  # shorter than a window: one embedding
    assert short.shape == (1, 160)
    with pytest.raises(ValueError, match="22050 Hz"):
        embedding.embed_windows(waveform, 16000)


def test_mel_stats_is_labelled_as_not_vggish():
    assert "not VGGish" in MelStatsEmbedding().label
    assert [e.name for e in make_embeddings(None)] == ["mel-stats"]


def test_vggish_front_end_gives_96x64_patches_with_the_tone_in_the_right_band():
    waveform = tone(1000.0, 22050 * 2)  # 2 s at 22.05 kHz -> 2 whole 0.96 s examples at 16 kHz
    patches = vggish_examples(waveform, 22050)
    assert patches.shape == (2, 96, VGGISH_MEL_BINS) and patches.dtype == np.float32
    weights = vggish_mel_matrix()
    assert weights.shape == (257, 64) and weights[0].sum() == 0.0  # no DC weight
    band_of_1khz = int(weights[1000 * 512 // 16000].argmax())
    assert int(patches.mean(axis=(0, 1)).argmax()) == band_of_1khz
    with pytest.raises(ValueError, match="shorter than one 0.96 s"):
        vggish_examples(tone(1000.0, 16000 // 2), 16000)


def test_vggish_network_shapes_and_torchvggish_key_names(random_vggish):
    network = random_vggish
    assert set(network.state_dict()) == TORCHVGGISH_KEYS
    assert network.embeddings[0].in_features == 512 * 6 * 4
    with torch.no_grad():
        out = network(torch.randn(3, 1, 96, 64))
    assert out.shape == (3, 128) and (out >= 0).all()  # ReLU on the embedding layer, as in torchvggish
    with pytest.raises(ValueError, match=r"\(batch, 1, 96, 64\)"):
        network(torch.randn(1, 1, 64, 96))


def test_vggish_loads_a_torchvggish_state_dict_strictly(vggish_weights, tmp_path):
    loaded = load_vggish_network(vggish_weights)
    original = torch.load(vggish_weights, weights_only=True)
    assert all(torch.equal(loaded.state_dict()[k], original[k]) for k in original)
    embedding = VGGishEmbedding(vggish_weights)
    windows = embedding.embed_windows(tone(300.0, 22050 * 2), 22050)
    assert windows.shape == (2, 128) and np.isfinite(windows).all()
    with torch.no_grad():  # the same as running the network on the front end's patches
        direct = loaded(torch.from_numpy(vggish_examples(tone(300.0, 22050 * 2), 22050)).unsqueeze(1)).numpy()
    assert np.allclose(windows, direct, atol=1e-6)

    # (small tensors: the key and shape checks come before any weight is used)
    torch.save({k.replace("embeddings", "fc"): torch.zeros(1) for k in original}, tmp_path / "renamed.pth")
    with pytest.raises(ValueError, match="missing keys.*embeddings.0.bias"):
        load_vggish_network(tmp_path / "renamed.pth")
    torch.save({k: torch.zeros(2) for k in original}, tmp_path / "wrong.pth")
    with pytest.raises(ValueError, match="wrong shape"):
        load_vggish_network(tmp_path / "wrong.pth")
    with pytest.raises(FileNotFoundError, match="vggish-10086976.pth"):
        load_vggish_network(tmp_path / "absent.pth")


class NotAStateDict:
    pass


def test_vggish_loading_never_unpickles_arbitrary_objects(tmp_path):
    torch.save({"features.0.weight": NotAStateDict()}, tmp_path / "evil.pth")
    with pytest.raises(ValueError, match="not a loadable torch state dict"):
        load_vggish_network(tmp_path / "evil.pth")
    (tmp_path / "text.pth").write_text("not a checkpoint")
    with pytest.raises(ValueError, match="not a loadable"):
        load_vggish_network(tmp_path / "text.pth")
