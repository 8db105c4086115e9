"""Files in and out: images, audio clips, hashing and weight files. No model code.

Atomic writes, audio decoding, the silence threshold and WAV writing live in the standalone vocoder
(:mod:`vocoder.files`, :mod:`vocoder.audio`), which cannot import ``art2music``; this package builds on them.
"""
