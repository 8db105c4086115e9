"""Audio loading and vocoder datasets: ground-truth and predicted-mel modes, splits, alignment, errors."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from tests.vocoder.conftest import write_tone
from vocoder.audio import PEAK, AudioError, load_audio
from vocoder.datamodule import VocoderDataModule
from vocoder.dataset import VocoderDataset, read_manifest_items, read_predicted_items
from vocoder.mel import MelConfig, mel_spectrogram


def test_load_audio_downmixes_resamples_and_normalises(tmp_path: Path) -> None:
    write_tone(tmp_path / "stereo.flac", 0.5, 16000, (440.0,), channels=2)
    audio = load_audio(tmp_path / "stereo.flac")
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(len(audio) - 11025) <= 1  # 0.5 s at 22.05 kHz
    assert np.max(np.abs(audio)) == pytest.approx(PEAK, abs=1e-4)
    spectrum = np.abs(np.fft.rfft(audio))
    assert abs(np.argmax(spectrum) * 22050 / len(audio) - 440.0) < 3.0  # pitch survives resampling


def test_bad_audio_gets_specific_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="audio file not found"):
        load_audio(tmp_path / "none.wav")
    (tmp_path / "junk.wav").write_bytes(b"RIFF not really")
    with pytest.raises(AudioError, match="junk.wav: corrupt audio: libsndfile cannot decode it"):
        load_audio(tmp_path / "junk.wav")
    soundfile.write(str(tmp_path / "silent.wav"), np.zeros(2048, dtype=np.float32), 22050)
    with pytest.raises(AudioError, match="silent"):
        load_audio(tmp_path / "silent.wav")


def test_manifest_items_deduplicate_shared_clips(tiny_corpus: Path) -> None:
    items = read_manifest_items(tiny_corpus)
    assert [i.audio_path.name for i in items] == ["a.wav", "b.flac", "c.wav", "d.wav"]
    assert [i.split for i in items] == ["train", "train", "train", "val"]
    assert items[0].audio_path == tiny_corpus.parent / "audio" / "a.wav"


def test_ground_truth_segments_are_mel_of_the_audio(tiny_corpus: Path) -> None:
    items = read_manifest_items(tiny_corpus)
    dataset = VocoderDataset(items, "ground_truth", segment_size=4096)
    mel, audio = dataset[0]
    assert mel.shape == (80, 16) and audio.shape == (1, 4096)
    torch.testing.assert_close(mel, mel_spectrogram(audio)[0])
    short_mel, short_audio = dataset[2]  # 0.2 s clip < segment: zero-padded at the end
    assert short_audio.shape == (1, 4096) and torch.all(short_audio[0, 4410:] == 0)


def write_predicted(folder: Path, audio_file: Path, mel: np.ndarray, split: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "clip.npy", mel)
    columns = ["id", "audio_path", "mel_path"] + (["split"] if split else [])
    with open(folder / "index.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerow(["p1", str(audio_file), "clip.npy"] + ([split] if split else []))
    return folder


def test_predicted_mode_pairs_mel_frames_with_their_samples(tmp_path: Path) -> None:
    write_tone(tmp_path / "a.wav", 1.0, 22050, (300.0,))
    audio = load_audio(tmp_path / "a.wav")
    frames = len(audio) // 256
    # a "prediction" whose value encodes the frame index, so the crop position can be read back
    mel = np.tile(np.arange(frames, dtype=np.float32), (80, 1))
    items = read_predicted_items(write_predicted(tmp_path / "pred", tmp_path / "a.wav", mel, split="train"))
    assert items[0].split == "train" and items[0].mel_path == tmp_path / "pred" / "clip.npy"
    dataset = VocoderDataset(items, "predicted", segment_size=2048)
    for _ in range(5):
        mel_segment, audio_segment = dataset[0]
        start = int(mel_segment[0, 0])
        assert mel_segment.shape == (80, 8)
        torch.testing.assert_close(mel_segment[0], torch.arange(start, start + 8, dtype=torch.float32))
        torch.testing.assert_close(audio_segment[0], torch.from_numpy(audio[start * 256:start * 256 + 2048]))


def test_predicted_mode_rejects_misaligned_or_malformed_mels(tmp_path: Path) -> None:
    write_tone(tmp_path / "a.wav", 1.0, 22050, (300.0,))
    folder = write_predicted(tmp_path / "p", tmp_path / "a.wav", np.zeros((80, 40), np.float32))
    with pytest.raises(ValueError, match="has 40 frames .* not aligned"):
        VocoderDataset(read_predicted_items(folder), "predicted", 2048)[0]
    folder = write_predicted(tmp_path / "q", tmp_path / "a.wav", np.zeros((64, 86), np.float32))
    with pytest.raises(ValueError, match=r"shape \(64, 86\).*expected float \(80, frames\)"):
        VocoderDataset(read_predicted_items(folder), "predicted", 2048)[0]


def test_datamodule_batches_and_config_errors(tiny_corpus: Path) -> None:
    data = VocoderDataModule(manifest=str(tiny_corpus), segment_size=2048, val_segment_size=4096, batch_size=2,
                             num_workers=0)
    data.setup("fit")
    mel, audio = next(iter(data.train_dataloader()))
    assert mel.shape == (2, 80, 8) and audio.shape == (2, 1, 2048)
    val_mel, val_audio = next(iter(data.val_dataloader()))
    assert val_mel.shape == (1, 80, 16) and val_audio.shape == (1, 1, 4096)
    with pytest.raises(ValueError, match="needs data.manifest"):
        VocoderDataModule(mode="ground_truth")
    with pytest.raises(ValueError, match="segment_size 1000 must be a positive multiple"):
        VocoderDataset([], "ground_truth", 1000, MelConfig())
    missing = VocoderDataModule(manifest=str(tiny_corpus), num_workers=0)
    (tiny_corpus.parent / "audio" / "b.flac").unlink()
    with pytest.raises(FileNotFoundError, match="1 file\\(s\\) listed in .*manifest.csv do not exist.*b.flac"):
        missing.setup("fit")


def test_bad_clips_stop_by_default_or_are_skipped_with_a_warning(tiny_corpus: Path) -> None:
    soundfile.write(str(tiny_corpus.parent / "audio" / "a.wav"), np.zeros(4096, dtype=np.float32), 22050)
    items = read_manifest_items(tiny_corpus)
    with pytest.raises(AudioError, match="a.wav: silent audio"):
        VocoderDataset(items, "ground_truth", 2048)[0]
    with pytest.warns(UserWarning, match="skipping clip p1: .*a.wav: silent audio"):
        mel, audio = VocoderDataset(items, "ground_truth", 2048, skip_bad_audio=True)[0]
    assert audio.abs().max() > 0.05  # the next clip (b.flac) instead of silence
    silent_only = [items[0]]
    with pytest.warns(UserWarning), pytest.raises(AudioError, match="none of the 1 clips"):
        VocoderDataset(silent_only, "ground_truth", 2048, skip_bad_audio=True)[0]
