"""art2music: turn an artwork's image (and a viewer's comment) into music whose feeling matches it."""

__version__ = "0.1.0"
