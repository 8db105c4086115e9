"""The embedded demo corpus: procedural paintings, comments, MIDI music and captions, shaped by emotion.

``art2music demo-corpus --out DIR`` (:func:`main`) writes them in the real ArtEmis / WikiArt / MusicCaps
formats and runs the ArtiCaps builder on them. Modules: :mod:`.profiles` (what each emotion looks and
sounds like), :mod:`.paintings`, :mod:`.texts`, :mod:`.composition`, :mod:`.generate` (FluidSynth lives in :mod:`art2music.io.synthesis`).
"""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``art2music demo-corpus`` (see :mod:`art2music.demo_corpus.generate`)."""
    from art2music.demo_corpus.generate import main as generate_main

    return generate_main(argv)


__all__ = ["main"]
