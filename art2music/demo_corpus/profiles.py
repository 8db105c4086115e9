"""How each emotion looks, sounds and is talked about in the demo corpus.

One :class:`EmotionProfile` per ArtEmis emotion drives all four generators (painting, comment, music,
caption), so the emotion is the shared cause of everything and a model can learn to map one to the
other. Choices follow the music-emotion literature in broad strokes (Gabrielsson & Lindström 2010;
Juslin & Laukka 2004): major mode, fast tempo, high register and staccato for happy music; minor mode,
slow tempo, low register, legato and soft dynamics for sad music; loud, fast, low, dissonant for anger;
irregular, sparse, tremolo and extreme registers for fear. Colour follows the common colour-emotion
associations (Valdez & Mehrabian 1994: brightness and saturation raise pleasure; dark and saturated
red raises arousal/dominance). Each profile lists several options per attribute so items vary within
an emotion while staying clearly apart from other emotions.
"""

from __future__ import annotations

from dataclasses import dataclass

from art2music.emotions import EMOTIONS

SCALES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11), "lydian": (0, 2, 4, 6, 7, 9, 11), "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "major_pentatonic": (0, 2, 4, 7, 9), "minor": (0, 2, 3, 5, 7, 8, 10), "harmonic_minor": (0, 2, 3, 5, 7, 8, 11),
    "phrygian": (0, 1, 3, 5, 7, 8, 10), "locrian": (0, 1, 3, 5, 6, 8, 10), "diminished": (0, 2, 3, 5, 6, 8, 9, 11),
    "whole_tone": (0, 2, 4, 6, 8, 10), "chromatic": tuple(range(12)),
}


@dataclass(frozen=True)
class EmotionProfile:
    """Everything emotion-specific the demo generators use.

    Visual (hues in degrees 0-360, other values in [0, 1]):
        hues, saturation, brightness: ranges the palette is drawn from.
        contrast: spread of brightness between shapes.
        shapes: drawing styles (see :mod:`.paintings`).
        colour_words: how viewers name the colours.
    Musical:
        scales: scale names (:data:`SCALES`); tempo: beats per minute range.
        melody_register: MIDI note range of the melody; bass_register: of the bass.
        note_beats: note lengths in beats the melody picks from; gate: sounding fraction of a note.
        melody_programs, bass_programs: General MIDI programs (0-based); pad_program: sustained chords or -1.
        velocity: MIDI velocity range; drums: pattern name (see :mod:`.composition`) or "".
        dissonance: probability of a chromatic/cluster note; bend: pitch-bend wobble depth (0-1).
    Words:
        feelings: words viewers use; moods, genres, tempo_words: MusicCaps-style caption vocabulary.
    """

    emotion: str
    hues: tuple[tuple[float, float], ...]
    saturation: tuple[float, float]
    brightness: tuple[float, float]
    contrast: float
    shapes: tuple[str, ...]
    colour_words: tuple[str, ...]
    scales: tuple[str, ...]
    tempo: tuple[int, int]
    melody_register: tuple[int, int]
    bass_register: tuple[int, int]
    note_beats: tuple[float, ...]
    gate: float
    melody_programs: tuple[int, ...]
    bass_programs: tuple[int, ...]
    pad_program: tuple[int, ...]
    velocity: tuple[int, int]
    drums: tuple[str, ...]
    dissonance: float
    bend: float
    feelings: tuple[str, ...]
    moods: tuple[str, ...]
    genres: tuple[str, ...]
    tempo_words: tuple[str, ...]


PROFILES: dict[str, EmotionProfile] = {p.emotion: p for p in (
    EmotionProfile(
        "amusement", hues=((35, 60), (320, 350), (15, 35)), saturation=(0.65, 0.95), brightness=(0.8, 1.0), contrast=0.35,
        shapes=("dots", "confetti"), colour_words=("sunny yellow", "candy pink", "bright orange", "lemon", "tangerine"),
        scales=("major", "major_pentatonic"), tempo=(126, 148), melody_register=(72, 88), bass_register=(48, 60),
        note_beats=(0.25, 0.5, 0.5), gate=0.45, melody_programs=(12, 13, 45, 71), bass_programs=(32, 45),
        pad_program=(-1,), velocity=(80, 100), drums=("bouncy",), dissonance=0.0, bend=0.0,
        feelings=("amused", "cheerful", "playful", "giggly", "happy", "silly"),
        moods=("playful", "funny", "cheerful", "bouncy", "whimsical", "lighthearted"),
        genres=("children's music", "novelty pop", "cartoon soundtrack"), tempo_words=("fast", "quick", "lively")),
    EmotionProfile(
        "awe", hues=((215, 250), (40, 55)), saturation=(0.5, 0.8), brightness=(0.45, 0.7), contrast=0.8,
        shapes=("glow", "rays"), colour_words=("deep blue", "gold", "luminous white", "indigo", "golden"),
        scales=("lydian", "major"), tempo=(54, 68), melody_register=(72, 86), bass_register=(33, 45),
        note_beats=(2.0, 3.0, 4.0), gate=1.0, melody_programs=(52, 48, 60), bass_programs=(43, 19),
        pad_program=(19, 48, 52), velocity=(70, 110), drums=("timpani",), dissonance=0.0, bend=0.0,
        feelings=("in awe", "awestruck", "amazed by its grandeur", "full of wonder", "humbled", "uplifted"),
        moods=("majestic", "grand", "awe-inspiring", "sublime", "glorious", "uplifting"),
        genres=("orchestral film score", "choral music", "cinematic music"), tempo_words=("slow", "broad", "stately")),
    EmotionProfile(
        "contentment", hues=((90, 150), (170, 200)), saturation=(0.25, 0.45), brightness=(0.7, 0.88), contrast=0.15,
        shapes=("bands", "hills"), colour_words=("soft green", "pale teal", "sage", "light blue", "mint"),
        scales=("major_pentatonic", "major"), tempo=(72, 90), melody_register=(64, 79), bass_register=(43, 55),
        note_beats=(0.5, 1.0, 1.0), gate=0.95, melody_programs=(24, 73, 46, 0), bass_programs=(24, 32),
        pad_program=(89, -1), velocity=(50, 68), drums=("",), dissonance=0.0, bend=0.0,
        feelings=("calm", "peaceful", "content", "relaxed", "at ease", "serene"),
        moods=("calm", "peaceful", "relaxing", "gentle", "soothing", "serene"),
        genres=("acoustic folk", "ambient", "easy listening"), tempo_words=("moderate", "easygoing", "relaxed")),
    EmotionProfile(
        "excitement", hues=((0, 20), (300, 330), (180, 200), (25, 45)), saturation=(0.85, 1.0), brightness=(0.75, 1.0),
        contrast=0.9, shapes=("bursts", "zigzags"),
        colour_words=("vibrant magenta", "vivid red", "flashy turquoise", "blazing orange", "hot pink"),
        scales=("mixolydian", "major"), tempo=(150, 174), melody_register=(67, 84), bass_register=(36, 48),
        note_beats=(0.25, 0.25, 0.5), gate=0.7, melody_programs=(81, 56, 61, 29), bass_programs=(38, 33),
        pad_program=(-1,), velocity=(100, 122), drums=("driving",), dissonance=0.0, bend=0.0,
        feelings=("excited", "thrilled", "full of energy", "eager to dance", "joyfully excited", "hyped"),
        moods=("energetic", "exciting", "euphoric", "upbeat", "thrilling", "party-like"),
        genres=("dance pop", "electronic dance music", "rock anthem"), tempo_words=("very fast", "driving", "racing")),
    EmotionProfile(
        "anger", hues=((350, 360), (0, 12)), saturation=(0.8, 1.0), brightness=(0.25, 0.5), contrast=1.0,
        shapes=("shards", "slashes"), colour_words=("blood red", "black", "crimson", "charred", "scarlet"),
        scales=("phrygian", "minor"), tempo=(132, 156), melody_register=(45, 60), bass_register=(28, 40),
        note_beats=(0.25, 0.5), gate=0.8, melody_programs=(30, 61, 57), bass_programs=(38, 30),
        pad_program=(-1,), velocity=(112, 127), drums=("heavy",), dissonance=0.25, bend=0.0,
        feelings=("angry", "furious", "enraged", "irritated", "hostile", "mad"),
        moods=("aggressive", "angry", "furious", "violent", "intense", "rebellious"),
        genres=("heavy metal", "hard rock", "industrial"), tempo_words=("fast", "pounding", "relentless")),
    EmotionProfile(
        "disgust", hues=((55, 85), (25, 40)), saturation=(0.35, 0.6), brightness=(0.3, 0.5), contrast=0.45,
        shapes=("blobs", "smears"), colour_words=("olive", "muddy brown", "sickly green", "mustard", "bile yellow"),
        scales=("locrian", "chromatic"), tempo=(84, 100), melody_register=(48, 62), bass_register=(28, 40),
        note_beats=(0.5, 0.75, 1.5), gate=0.9, melody_programs=(70, 58, 68), bass_programs=(58, 70),
        pad_program=(101, -1), velocity=(70, 92), drums=("lurching",), dissonance=0.5, bend=0.8,
        feelings=("disgusted", "repulsed", "nauseated", "sickened", "grossed out", "revolted"),
        moods=("grotesque", "queasy", "unsettling", "sleazy", "sickly", "repulsive"),
        genres=("experimental music", "dark cabaret", "avant-garde"), tempo_words=("lurching", "sluggish", "uneven")),
    EmotionProfile(
        "fear", hues=((255, 290), (200, 230)), saturation=(0.35, 0.6), brightness=(0.05, 0.22), contrast=0.7,
        shapes=("scratches", "eyes"), colour_words=("pitch black", "deep purple", "ghostly white", "midnight blue"),
        scales=("diminished", "harmonic_minor"), tempo=(60, 76), melody_register=(79, 96), bass_register=(24, 36),
        note_beats=(0.125, 0.125, 1.5, 3.0), gate=0.9, melody_programs=(44, 40, 99), bass_programs=(43, 47),
        pad_program=(99, -1), velocity=(35, 60), drums=("stabs",), dissonance=0.6, bend=0.3,
        feelings=("scared", "afraid", "terrified", "anxious", "uneasy", "frightened"),
        moods=("scary", "suspenseful", "eerie", "tense", "ominous", "creepy"),
        genres=("horror film score", "dark ambient", "thriller soundtrack"), tempo_words=("slow", "creeping", "halting")),
    EmotionProfile(
        "sadness", hues=((200, 235),), saturation=(0.1, 0.3), brightness=(0.25, 0.45), contrast=0.2,
        shapes=("drips", "rain"), colour_words=("grey", "dull blue", "slate", "ashen", "washed-out blue"),
        scales=("minor",), tempo=(50, 64), melody_register=(55, 70), bass_register=(36, 48),
        note_beats=(1.0, 2.0, 2.0), gate=1.0, melody_programs=(42, 0, 68, 40), bass_programs=(42, 0),
        pad_program=(49, -1), velocity=(42, 62), drums=("",), dissonance=0.0, bend=0.0,
        feelings=("sad", "melancholic", "heartbroken", "lonely", "sorrowful", "depressed"),
        moods=("sad", "melancholic", "mournful", "sorrowful", "somber", "emotional"),
        genres=("classical ballad", "slow piano piece", "requiem"), tempo_words=("slow", "very slow", "dragging")),
    EmotionProfile(
        "something else", hues=((0, 360),), saturation=(0.3, 0.7), brightness=(0.5, 0.8), contrast=0.5,
        shapes=("grid",), colour_words=("primary colours", "mixed colours", "beige", "turquoise"),
        scales=("whole_tone",), tempo=(92, 108), melody_register=(70, 84), bass_register=(45, 57),
        note_beats=(0.5, 1.0), gate=0.6, melody_programs=(8, 11, 112), bass_programs=(11,),
        pad_program=(-1,), velocity=(60, 80), drums=("",), dissonance=0.1, bend=0.0,
        feelings=("curious", "puzzled", "indifferent", "intrigued", "confused", "neutral"),
        moods=("curious", "quirky", "neutral", "mysterious", "odd", "abstract"),
        genres=("minimalist music", "experimental electronic", "music box"), tempo_words=("medium", "steady", "even")),
)}

DEFAULT_EMOTIONS: tuple[str, ...] = EMOTIONS[:8]
"""The demo's emotions: the eight ArtEmis emotions with a clear affect ("something else" has none)."""


def profile(emotion: str) -> EmotionProfile:
    """The profile of ``emotion`` (any spelling :func:`art2music.emotions.normalize_emotion` accepts)."""
    from art2music.emotions import normalize_emotion

    return PROFILES[normalize_emotion(emotion)]
