"""The symbolic engine's datamodule: (painting pixels, target VA, REMI+BPE tokens) pairs, split apart.

On construction it gathers the corpus: the paintings (``image_path``) and pieces (``midi_path``) of an ArtiCaps
manifest with the manifest's splits (:func:`read_manifest_corpus`), more pieces composed on the spot
(:mod:`art2music.symbolic.corpus`), EMOPIA if given; skips bad MIDI files (each named on stderr, then a count), trains
the BPE tokenizer on the *train* pieces (or reuses ``work_dir/tokenizer.json``), tokenizes every piece and loads every
painting, so ``vocab_size`` and the special ids can be linked into the model by the CLI. Using the manifest's splits
means the held-out paintings and pieces are the ones ``art2music evaluate`` scores on.
"""

from __future__ import annotations

import os
import sys
from functools import partial
from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset

from art2music.symbolic.corpus import (Painting, Piece, compose_pieces, emotion_va, pair_by_va, pair_other_emotion,
                                       pair_same_emotion)
from art2music.symbolic.tokenizer import (TOKENIZER_FILE, load_tokenizer, read_scores, save_tokenizer, score_to_ids,
                                          skipped_lines, token_facts, train_tokenizer)


def read_manifest_corpus(manifest_path: str | os.PathLike) -> tuple[list[Painting], list[Piece]]:
    """The distinct paintings (``image_path``) and MIDI pieces (``midi_path``) of an ArtiCaps manifest, each with the
    most frequent emotion of its rows (its VA that emotion's) and the manifest's split (the builder keeps a painting,
    and a clip, in one split).

    Raises:
        FileNotFoundError: no manifest there.  ValueError: a malformed manifest, or one without any ``midi_path``.
    """
    from art2music.articaps.manifest import read_manifest
    from art2music.articaps.splits import majority_labels

    manifest = read_manifest(manifest_path)
    found: dict[str, list] = {"image_path": [], "midi_path": []}
    for column, kind in (("image_path", Painting), ("midi_path", Piece)):
        values = [(getattr(row, column), row) for row in manifest if getattr(row, column)]
        emotions = majority_labels((value, row.emotion) for value, row in values)
        splits = {value: row.split for value, row in values}
        found[column] = [kind(manifest.resolve(value), emotions[value], *emotion_va(emotions[value]), splits[value])
                         for value in dict.fromkeys(value for value, _ in values)]
    if not found["midi_path"]:
        raise ValueError(f"{manifest_path} names no MIDI (its midi_path column is empty or absent): rebuild it with "
                         f"`art2music build-articaps --midi DIR` (the demo corpus: `make demo-data ARGS=--rebuild`)")
    return found["image_path"], found["midi_path"]

NO_PAINTING = -1
"""The painting index of a pre-training piece's pair (music without a feeling: no painting)."""


class PairDataset(Dataset):
    """Pairs as ``(pixels (3, S, S) float, va (2,), tokens (T,) long: BOS … [EOS], painting_va (2,))``; long pieces
    are cut to ``max_tokens`` (then without EOS, since the piece goes on). ``pairs`` are (painting index, piece index)
    and ``va`` ``(len(pairs), 2)`` is each pair's VA condition (the painting's, or the piece's for a mismatched pair);
    ``painting_va`` ``(paintings, 2)`` is what each painting feels (the target of the model's VA head). A pair whose
    painting index is :data:`NO_PAINTING` is a pre-training piece: a blank (black) image and both VAs ``nan`` (the
    module feeds it the "no VA" token)."""

    def __init__(self, pixels: torch.Tensor, pairs: list[tuple[int, int]], sequences: list[list[int]],
                 va: torch.Tensor, max_tokens: int, bos: int, eos: int, flip: bool,
                 painting_va: torch.Tensor | None = None):
        if va.shape != (len(pairs), 2):
            raise ValueError(f"va must be one (valence, arousal) row per pair: {len(pairs)} pairs, va {tuple(va.shape)}")
        self.pixels, self.pairs, self.sequences, self.va = pixels, pairs, sequences, va
        self.painting_va = painting_va
        self.max_tokens, self.bos, self.eos, self.flip = max_tokens, bos, eos, flip

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int):
        painting, piece = self.pairs[index]
        sequence = [self.bos] + self.sequences[piece]
        sequence = sequence[:self.max_tokens] if len(sequence) >= self.max_tokens else sequence + [self.eos]
        if painting == NO_PAINTING:
            nan = torch.full((2,), float("nan"))
            return torch.zeros(self.pixels.shape[1:]), nan, torch.tensor(sequence, dtype=torch.long), nan
        pixels = self.pixels[painting].float() / 255.0
        if self.flip and torch.rand(()) < 0.5:
            pixels = pixels.flip(-1)
        felt = self.painting_va[painting] if self.painting_va is not None else self.va[index]
        return pixels, self.va[index], torch.tensor(sequence, dtype=torch.long), felt


def collate_pairs(batch, pad_id: int):
    """``(pixels (B, 3, S, S), va (B, 2), tokens (B, T) padded with pad_id, painting_va (B, 2))``."""
    pixels, va, tokens, painting_va = zip(*batch)
    return (torch.stack(pixels), torch.stack(va),
            torch.nn.utils.rnn.pad_sequence(list(tokens), batch_first=True, padding_value=pad_id),
            torch.stack(painting_va))


class SymbolicDataModule(L.LightningDataModule):
    """Painting-piece pairs for the symbolic engine.

    Args:
        manifest: an ArtiCaps ``manifest.csv`` whose rows name MIDI pieces (``midi_path``; the demo corpus's does).
        work_dir: where the composed pieces and ``tokenizer.json`` are kept (reused by later runs).
        composed_per_emotion, composed_seconds: extra pieces composed per emotion, and their length.
        emopia_dir: an EMOPIA release folder, paired with paintings by VA distance (non-commercial license).
        music21_pieces: this many Bach chorales from the music21 corpus, for the decoder alone (unpaired: the
            "no VA" token and a blank image; needs ``model.null_va``); 0 = none.
        vocab_size: tokenizer size (base REMI tokens + BPE merges).
        pairs_per_painting: pieces drawn per training painting (pairs per epoch = paintings × this).
        mismatched_share: the share of each training painting's pairs (``round(pairs_per_painting × share)``) that
            join it with a labelled piece of *another* emotion, conditioned on the *piece's* VA: then the VA
            condition is the only reliable cue for what the music feels, and the model learns to follow a target that
            disagrees with the painting (a user's). 0 = all pairs same-emotion, conditioned on the painting's VA (as
            before). Validation and test pairs are never mismatched.
    """

    def __init__(self, manifest: str = "datasets/demo/articaps/manifest.csv", work_dir: str = "runs/midi-demo/data",
                 composed_per_emotion: int = 60, composed_seconds: float = 12.0, emopia_dir: str | None = None,
                 vocab_size: int = 1000, image_size: int = 64, max_tokens: int = 512, pairs_per_painting: int = 8,
                 batch_size: int = 16, num_workers: int = 0, seed: int = 0, music21_pieces: int = 0,
                 mismatched_share: float = 0.0):
        if not 0.0 <= mismatched_share <= 1.0:
            raise ValueError(f"data.mismatched_share must be in [0, 1], got {mismatched_share}")
        super().__init__()
        self.save_hyperparameters()
        self.work_dir = Path(work_dir)
        paintings, pieces = read_manifest_corpus(manifest)
        emotions = sorted({painting.emotion for painting in paintings})
        if composed_per_emotion:
            pieces += compose_pieces(self.work_dir / "composed", emotions, composed_per_emotion, composed_seconds, seed)
        if emopia_dir:
            from art2music.symbolic.emopia import read_emopia

            emopia, ignored = read_emopia(emopia_dir, seed)
            pieces += emopia
            for name in ignored:
                print(f"midi data: ignored {name}: not an EMOPIA name (Q{{1..4}}_<song>_<n>.mid)", file=sys.stderr)
            if ignored:
                print(f"midi data: {len(ignored)} files in {emopia_dir} ignored", file=sys.stderr)
        skipped_music21 = []
        if music21_pieces:
            from art2music.symbolic.music21_corpus import read_music21

            music21, skipped_music21 = read_music21(self.work_dir / "music21", music21_pieces, seed)
            pieces += music21
        scores, kept, skipped = read_scores(piece.path for piece in pieces)
        skipped += skipped_music21
        for line in skipped_lines(skipped, len(pieces) + len(skipped_music21)):
            print(f"midi data: {line}", file=sys.stderr)
        by_path = {piece.path: piece for piece in pieces}
        self.pieces: list[Piece] = [by_path[path] for path in kept]
        tokenizer_path = self.work_dir / TOKENIZER_FILE
        if tokenizer_path.is_file():
            self.tokenizer = load_tokenizer(tokenizer_path, vocab_size)
        else:
            self.tokenizer, _ = train_tokenizer([p.path for p in self.pieces if p.split == "train"], vocab_size)
            save_tokenizer(self.tokenizer, tokenizer_path)
        self.tokenizer_path = tokenizer_path
        self.facts = token_facts(self.tokenizer)
        self.sequences = [score_to_ids(self.tokenizer, score) for score in scores]
        self.paintings: list[Painting] = paintings
        self.pixels = self._load_pixels(paintings, image_size)
        self.painting_va = torch.tensor([(p.valence, p.arousal) for p in paintings], dtype=torch.float32)
        self.piece_va = torch.tensor([(p.valence, p.arousal) for p in self.pieces], dtype=torch.float32)

    @staticmethod
    def _load_pixels(paintings: list[Painting], size: int) -> torch.Tensor:
        from art2music.io.images import load_image
        from art2music.symbolic.image_encoder import image_pixels

        return torch.cat([(image_pixels([load_image(p.path)], size) * 255).round().to(torch.uint8)
                          for p in paintings])

    # linked into the model by the CLI
    @property
    def vocab_size(self) -> int:
        return len(self.tokenizer)

    @property
    def pad_id(self) -> int:
        return self.facts.pad

    @property
    def bos_id(self) -> int:
        return self.facts.bos

    @property
    def eos_id(self) -> int:
        return self.facts.eos

    def pairs(self, split: str) -> list[tuple[int, int]]:
        """(painting index, piece index) pairs of ``split``: same emotion for labelled pieces, VA distance for
        pieces with VA only (EMOPIA); for ``train``, also the mismatched pairs (see ``mismatched_share``)."""
        return [(painting, piece) for painting, piece, _ in self._pairs(split)]

    def pair_va(self, split: str) -> torch.Tensor:
        """The VA condition of each pair of :meth:`pairs` ``(N, 2)``: the painting's, the piece's for a mismatched
        pair, ``nan`` for a pre-training piece."""
        rows = [self.piece_va[piece] if from_piece else
                (self.painting_va[painting] if painting != NO_PAINTING else torch.full((2,), float("nan")))
                for painting, piece, from_piece in self._pairs(split)]
        return torch.stack(rows) if rows else torch.zeros(0, 2)

    def _pairs(self, split: str) -> list[tuple[int, int, bool]]:
        """(painting index, piece index, VA from the piece) for every pair of ``split``."""
        seed = self.hparams.seed + {"train": 0, "val": 1, "test": 2}[split]
        per = self.hparams.pairs_per_painting if split == "train" else 2
        other = int(round(per * self.hparams.mismatched_share)) if split == "train" else 0
        labelled = [piece for piece in self.pieces if piece.emotion]
        va_only = [piece for piece in self.pieces if not piece.emotion and not piece.pretraining]
        found = pair_same_emotion(self.paintings, labelled, split, per - other, seed)
        if va_only:
            found += pair_by_va(self.paintings, va_only, split, per - other, seed)
        mismatched = pair_other_emotion(self.paintings, labelled, split, other, seed + 1000) if other else []
        painting_index = {painting.path: k for k, painting in enumerate(self.paintings)}
        piece_index = {piece.path: k for k, piece in enumerate(self.pieces)}
        unpaired = [(NO_PAINTING, k, False) for k, piece in enumerate(self.pieces)
                    if piece.pretraining and piece.split == split]
        return ([(painting_index[painting.path], piece_index[piece.path], False) for painting, piece in found]
                + [(painting_index[painting.path], piece_index[piece.path], True) for painting, piece in mismatched]
                + unpaired)

    def dataset(self, split: str) -> PairDataset:
        return PairDataset(self.pixels, self.pairs(split), self.sequences, self.pair_va(split),
                           self.hparams.max_tokens, self.facts.bos, self.facts.eos, flip=split == "train",
                           painting_va=self.painting_va)

    def regressor_data(self, split: str = "train") -> tuple[list[list[int]], torch.Tensor]:
        """Token sequences and VA ``(N, 2)`` of the pieces of ``split`` (for the VA regressor)."""
        rows = [k for k, piece in enumerate(self.pieces) if piece.split == split and not piece.pretraining]
        return ([self.sequences[k] for k in rows],
                torch.tensor([(self.pieces[k].valence, self.pieces[k].arousal) for k in rows], dtype=torch.float32))

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        return DataLoader(self.dataset(split), batch_size=self.hparams.batch_size, shuffle=shuffle,
                          num_workers=self.hparams.num_workers, persistent_workers=self.hparams.num_workers > 0,
                          collate_fn=partial(collate_pairs, pad_id=self.facts.pad))

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", False)
