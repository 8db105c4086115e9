"""Data: the ArtiCaps manifest, the feature cache, dataset builders and the demo corpus."""
