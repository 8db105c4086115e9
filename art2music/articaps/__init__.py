"""ArtiCaps: the dataset of (painting comment, music clip) pairs and its builder.

Readers for ArtEmis and MusicCaps, semantic matching, splits, the manifest and feature-cache formats, sharded
feature extraction and the ``art2music build-articaps`` command."""
