"""Training code (Lightning). Never imported by the inference path (``art2music.pipeline``)."""
