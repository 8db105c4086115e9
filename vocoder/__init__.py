"""HiFi-GAN vocoder for art2music: the mel definition, generators, training and checkpoint I/O.

Standalone: nothing here imports ``art2music``.
"""

from vocoder.mel import MelConfig, mel_spectrogram, num_frames

__all__ = ["MelConfig", "mel_spectrogram", "num_frames"]
