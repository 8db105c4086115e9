"""Slideshow soundtracks: one continuous piece for a sequence of images, each section following its image's mood.

``art2music soundtrack IMAGES… | FOLDER | CSV --seconds-per-image S --out track.wav`` (:mod:`.cli`) writes
``track.wav``, a cue sheet ``track.json`` (:mod:`.cue_sheet`), an HTML player ``track.html`` (:mod:`.player`) with
thumbnails in ``track_images/``, and with the midi engine ``track.mid``.

- the audio engine (:mod:`.audio_track`): with the flow stage 1 each section is sampled under its own image's
  condition, blending into the next within one jointly sampled piece (``"transitions": "continued"``); with the BiLSTM stage 1 each
  image's clip fills its section and sections meet in equal-power crossfades (``"crossfade"``, :mod:`.crossfade`);
- the midi engine (:mod:`.midi_track`): one section per image at one shared tempo, each moved to a key closely
  related to the previous section's (:mod:`.keys`), joined into one MIDI file and played by FluidSynth.
"""
