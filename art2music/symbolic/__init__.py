"""The emotion-guided symbolic (MIDI) engine (after Kundu, Singh & Iwahori 2024); see docs/ARCHITECTURE.md.

The notebook entry is :class:`art2music.symbolic.pipeline.Art2Midi` (also ``from art2music import Art2Midi``).
Nothing is imported here, so importing a submodule stays cheap.
"""
