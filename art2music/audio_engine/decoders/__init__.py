"""Mel decoders: a fused conditioning vector → a ``(B, n_mels, frames)`` log-mel."""
