"""Viewer comments (ArtEmis style) and music captions (MusicCaps style) written from templates.

Comments name what a viewer sees (the painting's colours and shapes) and how it makes them feel;
captions describe instrumentation, tempo and mood as MusicCaps' musicians do. Both draw their feeling
and mood words from the same :class:`EmotionProfile`, which is what lets sentence-embedding matching
pair a comment with music of the same emotion.
"""

from __future__ import annotations

import re

import numpy as np

from art2music.demo_corpus.profiles import EmotionProfile

SHAPE_WORDS: dict[str, tuple[str, ...]] = {
    "dots": ("bouncing dots", "round spots", "bubbles"), "confetti": ("confetti", "little flecks", "sprinkles"),
    "glow": ("glowing circles", "radiant light", "halo"), "rays": ("beams of light", "rays", "bursting light"),
    "bands": ("soft stripes", "horizontal bands", "layers"), "hills": ("rolling hills", "gentle waves", "soft curves"),
    "bursts": ("explosive lines", "bursts", "streaks"), "zigzags": ("zigzags", "jagged waves", "electric lines"),
    "shards": ("sharp shards", "broken triangles", "jagged shapes"), "slashes": ("slashes", "violent strokes", "gashes"),
    "blobs": ("blobs", "splotches", "stains"), "smears": ("smears", "smudges", "oozing shapes"),
    "scratches": ("scratches", "thin nervous lines", "tangled lines"), "eyes": ("staring specks", "small pale eyes", "glints"),
    "drips": ("drips", "running streaks", "falling lines"), "rain": ("rain", "thin falling lines", "drizzle"),
    "grid": ("rectangles", "blocks", "a grid"),
}

_COMMENT_TEMPLATES = (
    "The {colour} {shape} make me feel {feeling}.",
    "I feel {feeling} looking at the {colour} and the {shape}.",
    "This painting feels {feeling} to me because of the {colour} colours.",
    "The {shape} against the {colour} background leave me {feeling}.",
    "So much {colour}! It makes me {feeling}, like {scene}.",
    "It reminds me of {scene}, and that makes me feel {feeling}.",
    "{Feeling} is what I feel: the {shape} and the {colour} tones.",
    "The way the {shape} are painted in {colour} makes me {feeling}.",
)

_SECOND_FEELING = ("I feel so {feeling}.", "Very {feeling}.", "It leaves me {feeling}.", "Honestly, {feeling}.")

_SCENES: dict[str, tuple[str, ...]] = {
    "amusement": ("a birthday party", "a circus", "a clown's balloons", "candy at a fair"),
    "awe": ("sunrise over the mountains", "the golden dome of a cathedral", "a vast ocean horizon", "a sacred temple"),
    "contentment": ("a quiet afternoon by a lake", "a meadow in spring", "a lazy sunday", "a garden at rest"),
    "excitement": ("fireworks at a party", "a summer festival", "a race car", "a dance party"),
    "anger": ("a fight", "a burning city", "broken glass", "a violent storm"),
    "disgust": ("rotting food", "a swamp", "mould on a wall", "spoiled milk"),
    "fear": ("a dark forest at night", "something watching from the shadows", "a haunted house", "a nightmare"),
    "sadness": ("a funeral", "a rainy window", "saying goodbye", "an empty room"),
    "something else": ("a city map", "a puzzle", "a kitchen floor", "a building plan"),
}

_CAPTION_TEMPLATES = (
    "This is a {genre} piece. The {instrument} plays a {melody} melody {accompaniment}. The tempo is {tempo}. "
    "The mood is {mood1} and {mood2}.",
    "A {mood1} {genre} track with {instrument} {accompaniment}. The rhythm is {tempo} and the atmosphere feels {mood2}.",
    "A {mood1} and {mood2} song: a {melody} {instrument} melody {accompaniment}, {tempo}.",
    "This {tempo} {genre} song is played on {instrument} {accompaniment}. It has a {mood1}, {mood2} feel and could "
    "be used in {context}.",
)

_LISTENER = ("It makes the listener feel {feeling}.", "Listening to it, you feel {feeling}.",
             "This music would make anyone feel {feeling}.")

_MELODY: dict[str, tuple[str, ...]] = {
    "amusement": ("bouncy", "staccato", "playful"), "awe": ("soaring", "sustained", "majestic"),
    "contentment": ("gentle", "flowing", "soft"), "excitement": ("fast", "punchy", "energetic"),
    "anger": ("distorted", "aggressive", "pounding"), "disgust": ("wobbly", "dissonant", "sluggish"),
    "fear": ("trembling", "eerie", "high pitched"), "sadness": ("slow", "mournful", "legato"),
    "something else": ("plain", "repetitive", "simple"),
}
_CONTEXT: dict[str, tuple[str, ...]] = {
    "amusement": ("a cartoon", "a kids show"), "awe": ("an epic movie trailer", "a documentary about space"),
    "contentment": ("a relaxing video", "a coffee shop"), "excitement": ("a sports highlight reel", "a dance club"),
    "anger": ("an action movie fight scene", "a video game boss battle"), "disgust": ("a creepy comedy", "a grotesque scene"),
    "fear": ("a horror movie", "a thriller"), "sadness": ("a sad movie scene", "a memorial video"),
    "something else": ("an art installation", "a puzzle game"),
}

INSTRUMENT_NAMES: dict[int, str] = {
    0: "piano", 8: "celesta", 11: "vibraphone", 12: "marimba", 13: "xylophone", 19: "church organ",
    24: "acoustic guitar", 29: "overdriven electric guitar", 30: "distorted electric guitar", 32: "acoustic bass",
    33: "electric bass", 38: "synth bass", 40: "violin", 42: "cello", 43: "double bass", 44: "tremolo strings",
    45: "pizzicato strings", 46: "harp", 47: "timpani", 48: "string ensemble", 49: "strings", 52: "choir",
    56: "trumpet", 57: "trombone", 58: "tuba", 60: "french horn", 61: "brass section", 68: "oboe", 70: "bassoon",
    71: "clarinet", 73: "flute", 81: "sawtooth synth lead", 89: "warm synth pad", 99: "atmospheric synth pad",
    101: "eerie synth", 112: "tinkling bells",
}

_ACCOMPANIMENT_BY_DRUMS = {
    "": "with no percussion", "bouncy": "over a light, bouncy percussion", "timpani": "with rolling timpani",
    "driving": "over driving drums and a pumping bass", "heavy": "over heavy, pounding drums",
    "lurching": "over an uneven, lurching beat", "stabs": "with sudden percussive stabs",
}


def _pick(rng: np.random.Generator, options) -> str:
    return options[int(rng.integers(len(options)))]


def write_comment(profile: EmotionProfile, rng: np.random.Generator, shape_style: str) -> str:
    """An ArtEmis-style viewer comment on a painting drawn in ``shape_style`` for ``profile``."""
    feelings = rng.choice(len(profile.feelings), size=2, replace=False)
    feeling, second = profile.feelings[feelings[0]], profile.feelings[feelings[1]]
    text = _pick(rng, _COMMENT_TEMPLATES).format(
        colour=_pick(rng, profile.colour_words), shape=_pick(rng, SHAPE_WORDS[shape_style]), feeling=feeling,
        Feeling=feeling[:1].upper() + feeling[1:], scene=_pick(rng, _SCENES[profile.emotion]))
    text += " " + _pick(rng, _SECOND_FEELING).format(feeling=second)
    return _articles(text[:1].upper() + text[1:])


def write_caption(profile: EmotionProfile, rng: np.random.Generator, melody_program: int, drums: str,
                  tempo_bpm: int) -> str:
    """A MusicCaps-style caption for a clip composed from ``profile``."""
    moods = rng.choice(len(profile.moods), size=2, replace=False)
    text = _pick(rng, _CAPTION_TEMPLATES).format(
        genre=_pick(rng, profile.genres), instrument=INSTRUMENT_NAMES.get(melody_program, "synthesizer"),
        melody=_pick(rng, _MELODY[profile.emotion]), accompaniment=_ACCOMPANIMENT_BY_DRUMS.get(drums, ""),
        tempo=f"{_pick(rng, profile.tempo_words)} at about {tempo_bpm} bpm", mood1=profile.moods[moods[0]],
        mood2=profile.moods[moods[1]], context=_pick(rng, _CONTEXT[profile.emotion]))
    text += " " + _pick(rng, _LISTENER).format(feeling=_pick(rng, profile.feelings))
    return _articles(" ".join(text.split()))


def _articles(text: str) -> str:
    """Fix "a" before a vowel sound ("a energetic" → "an energetic")."""
    return re.sub(r"\b([Aa]) (?=[aeiouAEIOU])(?!eu|uni|use)", r"\1n ", text)
