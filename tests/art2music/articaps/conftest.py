"""Tiny ArtEmis / WikiArt / MusicCaps fixture corpora in the real file formats (generated, not stored)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile
from PIL import Image

from art2music.articaps.artemis import ARTEMIS_COLUMNS
from art2music.articaps.musiccaps import MUSICCAPS_COLUMNS


@dataclass
class RawCorpus:
    root: Path
    artemis: Path
    wikiart: Path
    musiccaps: Path
    audio: Path

    def builder_args(self, out: Path, *extra: str) -> list[str]:
        return ["--artemis", str(self.artemis), "--wikiart", str(self.wikiart), "--musiccaps", str(self.musiccaps),
                "--audio", str(self.audio), "--out", str(out), "--encoder-arch", "art2music-tiny",
                "--encoder-pretrained", "none", "--seconds", "1.0", "--min-seconds", "0.5", "--workers", "1",
                "--quiet", *extra]


def _write_csv(path: Path, header, rows) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def make_raw_corpus(root: Path, paintings_per_emotion: int = 3, clips_per_emotion: int = 3,
                    broken: bool = True) -> RawCorpus:
    """Two emotions (amusement: bright images, high fast tones; sadness: dark images, low tones).

    With ``broken``, adds one of each failure the builder must report: malformed CSV rows, a missing
    image, a corrupt image, a missing clip, a corrupt clip, a silent clip, a too-short clip.
    """
    rng = np.random.default_rng(0)
    wikiart, audio = root / "wikiart", root / "audio"
    (wikiart / "Abstract").mkdir(parents=True)
    audio.mkdir(parents=True)
    artemis_rows, musiccaps_rows = [], []
    words = {"amusement": ("funny", "cheerful", "happy"), "sadness": ("sad", "gloomy", "lonely")}
    for emotion, brightness, pitch in (("amusement", 220, 880.0), ("sadness", 30, 110.0)):
        for p in range(paintings_per_emotion):
            name = f"{emotion}-painting-{p}"
            pixels = np.clip(rng.normal(brightness, 20, (48, 48, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(wikiart / "Abstract" / f"{name}.jpg", quality=90)
            for c, word in enumerate(words[emotion]):
                artemis_rows.append(["Abstract", name, emotion, f"It looks {word} to me, painting {p} comment {c}", 1])
        for k in range(clips_per_emotion):
            ytid = f"{emotion[:3]}Clip{k}"
            t = np.arange(int(16000 * 1.2)) / 16000
            tone = 0.3 * np.sin(2 * np.pi * pitch * (1 + 0.1 * k) * t)
            soundfile.write(audio / f"{ytid}.wav", np.stack([tone, tone], axis=1), 16000)  # stereo, 16 kHz
            caption = (f"A {'happy cheerful upbeat' if emotion == 'amusement' else 'sad gloomy slow'} song number {k}.")
            musiccaps_rows.append([ytid, 30, 40, "/m/04rlf", "['music']", caption, 1, "False", "False"])
    if broken:
        artemis_rows += [["Abstract", "too-few-fields"],                                   # wrong column count
                         ["Abstract", "amusement-painting-0", "joyfulness", "an unknown emotion", 1],
                         ["Abstract", "amusement-painting-0", "amusement", "", 1],         # empty utterance
                         ["Abstract", "not-there", "amusement", "its image is missing", 1],
                         ["Abstract", "broken", "sadness", "a sad broken image, so sad", 1]]
        (wikiart / "Abstract" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
        musiccaps_rows += [["badStart", "thirty", 40, "", "[]", "a happy song", 1, "False", "False"],
                           ["missingClip", 0, 10, "", "[]", "a happy cheerful song", 1, "False", "False"],
                           ["corruptClip", 0, 10, "", "[]", "a sad gloomy song", 1, "False", "False"],
                           ["silentClip", 0, 10, "", "[]", "a happy cheerful tune", 1, "False", "False"],
                           ["shortClip", 0, 10, "", "[]", "a sad gloomy tune", 1, "False", "False"]]
        (audio / "corruptClip.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really audio")
        soundfile.write(audio / "silentClip.wav", np.zeros(22050 * 2, dtype=np.float32), 22050)
        soundfile.write(audio / "shortClip.wav", 0.3 * np.sin(np.arange(2205) / 5.0), 22050)
    artemis = root / "artemis_dataset_release_v0.csv"
    musiccaps = root / "musiccaps-public.csv"
    _write_csv(artemis, ARTEMIS_COLUMNS, artemis_rows)
    _write_csv(musiccaps, MUSICCAPS_COLUMNS, musiccaps_rows)
    if broken:
        with open(artemis, "ab") as handle:  # a row with Latin-1 bytes that are not UTF-8
            handle.write(b"Abstract,sadness-painting-0,sadness,tr\xe8s triste \xe9\xe9,1\n")
    return RawCorpus(root, artemis, wikiart, musiccaps, audio)


@pytest.fixture
def raw_corpus(tmp_path) -> RawCorpus:
    return make_raw_corpus(tmp_path / "raw")


@pytest.fixture(scope="session")
def sentence_embedder():
    from art2music.articaps.text_embedding import SentenceEmbedder

    return SentenceEmbedder()
