"""The key prior of the sampler: the piece's diatonic scale so far, and a logit penalty on out-of-scale pitches."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from art2music.symbolic.sampling import (DIATONIC, KEY_PRIOR_NOTES, KeyTracker, SamplingSettings, row_generator,
                                        sample_tokens)
from art2music.symbolic.tokenizer import token_facts


def _pitch_token(tokenizer, facts, pitch_class: int) -> int:
    """A token that carries exactly one pitched note, of ``pitch_class``."""
    rows = np.flatnonzero((facts.pitch_classes.sum(1) == 1) & (facts.pitch_classes[:, pitch_class] == 1))
    assert rows.size, f"no single-pitch token of class {pitch_class}"
    return int(rows[0])


def test_tracker_names_the_scale_and_penalises_notes_outside_it(tokenizer):
    facts = token_facts(tokenizer)
    assert facts.pitch_classes.shape == (len(tokenizer), 12) and facts.pitch_classes.sum() > 0
    tracker = KeyTracker(facts, strength=3.0)
    c_major = [_pitch_token(tokenizer, facts, pc) for pc in (0, 4, 7, 2, 5, 9, 11, 0)]
    for token in c_major[:KEY_PRIOR_NOTES - 1]:
        tracker.admit(token)
    assert tracker.scale() is None and not tracker.penalty().any()  # too few notes to name a key
    tracker.admit(c_major[-1])
    assert tracker.scale() == 0  # C major (the scale of A minor too)
    penalty = tracker.penalty()[0]
    f_sharp, g = _pitch_token(tokenizer, facts, 6), _pitch_token(tokenizer, facts, 7)
    assert penalty[f_sharp] == pytest.approx(-3.0) and penalty[g] == 0.0
    assert penalty[facts.bar] == 0.0  # tokens without pitches are never penalised
    assert (penalty == -3.0 * facts.pitch_classes[:, [1, 3, 6, 8, 10]].sum(1)).all()
    # a prompt (continuation) counts too: G major's F sharp moves the scale
    g_major = [_pitch_token(tokenizer, facts, pc) for pc in (7, 11, 2, 6, 7, 6, 9, 0, 4)]
    assert KeyTracker(facts, 1.0, g_major).scale() == 7


def _in_scale(tokens, facts) -> tuple[int, int]:
    """(pitches in the scale the tracker names just before each, pitches judged): those after the first
    KEY_PRIOR_NOTES."""
    tracker, inside, total = KeyTracker(facts, 1.0), 0, 0
    for token in tokens:
        scale = tracker.scale()
        pitches = facts.pitch_classes[token]
        if scale is not None and pitches.any():
            inside += int(pitches[[(scale + step) % 12 for step in DIATONIC]].sum())
            total += int(pitches.sum())
        tracker.admit(token)
    return inside, total


def _share(pieces, facts) -> float:
    inside, total = np.sum([_in_scale(tokens, facts) for tokens in pieces], axis=0)
    assert total >= 40, f"only {total} pitches to judge"
    return inside / total


def _untrained_model(tokenizer, facts, max_tokens: int = 256):
    """A small untrained model (seed 0) and its memory for one random image, without VA."""
    from art2music.symbolic.model import SymbolicConfig, SymbolicModel

    torch.manual_seed(0)
    model = SymbolicModel(SymbolicConfig(vocab_size=len(tokenizer), pad_id=facts.pad, bos_id=facts.bos,
                                         eos_id=facts.eos, d_model=32, heads=2, ffn_dim=64, max_tokens=max_tokens,
                                         image_size=32)).eval()
    return model, model.encode(model.image_grid(torch.rand(1, 3, 32, 32)), torch.zeros(1, 2))


def test_key_prior_keeps_sampled_notes_in_key(tokenizer):
    facts = token_facts(tokenizer)
    model, memory = _untrained_model(tokenizer, facts)
    hot = 4.0  # an untrained model's samples wander over the whole vocabulary at a high temperature
    free = [sample_tokens(model, memory, facts, SamplingSettings(temperature=hot, seed=seed))[0] for seed in range(8)]
    kept = [sample_tokens(model, memory, facts, SamplingSettings(temperature=hot, seed=seed, key_prior=50.0))[0]
            for seed in range(8)]
    free_share, kept_share = _share(free, facts), _share(kept, facts)
    assert free_share < 0.85 and kept_share > 0.99  # 7 of 12 classes by chance; the prior holds the tracked scale
    with pytest.raises(ValueError, match="key_prior must be"):
        SamplingSettings(key_prior=-1.0)


def test_mode_weights_are_zero_sum_on_the_scale_and_tell_the_two_tonics_apart():
    from art2music.symbolic.sampling import mode_weights

    major, minor = mode_weights(True), mode_weights(False)
    scale = list(DIATONIC)
    for weights in (major, minor):
        assert float(weights[scale].sum()) == pytest.approx(0.0, abs=1e-6)  # notes are moved, not added
        assert not weights[[1, 3, 6, 8, 10]].any()  # off-scale pitches are the key prior's business
    assert major[7] > 0 > minor[7] and minor[9] > 0 > major[9]  # G leans to C major, A to A minor
    assert major[0] == minor[0] > 0  # the shared tonic-triad notes lean the same way in both


def test_mode_prior_leans_the_tracked_scale_by_the_sign_and_size_of_the_valence(tokenizer):
    facts = token_facts(tokenizer)
    c_major = [_pitch_token(tokenizer, facts, pc) for pc in (0, 4, 7, 2, 5, 9, 11, 0)]
    g, a, f_sharp = (_pitch_token(tokenizer, facts, pc) for pc in (7, 9, 6))

    def bonus(valence: float) -> np.ndarray:
        tracker = KeyTracker(facts, 0.0, c_major, mode_strength=2.0, valence=valence)
        return tracker.penalty()[0]

    happy, sad, half, none = bonus(1.0), bonus(-1.0), bonus(0.5), bonus(0.0)
    assert happy[g] > 0 > happy[a] and sad[a] > 0 > sad[g]
    assert half[g] == pytest.approx(happy[g] / 2)  # in proportion to |valence|
    assert not none.any() and happy[facts.bar] == 0 and happy[f_sharp] == 0
    before = KeyTracker(facts, 0.0, c_major[:3], mode_strength=2.0, valence=1.0)
    assert not before.penalty().any()  # no scale named yet, so no mode to lean to
    with pytest.raises(ValueError, match="mode_prior must be"):
        SamplingSettings(mode_prior=-0.5)
    with pytest.raises(ValueError, match="target_valence must be"):
        SamplingSettings(target_valence=1.5)


def _degree_counts(tokens, facts) -> np.ndarray:
    """``(12,)`` pitches counted by their degree (semitones above the tracked scale's tonic), once a scale is named."""
    tracker, counts = KeyTracker(facts, 1.0), np.zeros(12)
    for token in tokens:
        scale = tracker.scale()
        if scale is not None:
            counts += np.roll(facts.pitch_classes[token], -scale)
        tracker.admit(token)
    return counts


def test_mode_prior_moves_sampled_notes_towards_the_target_tonic(tokenizer):
    facts = token_facts(tokenizer)
    model, memory = _untrained_model(tokenizer, facts)

    def degrees(valence: float) -> np.ndarray:
        return sum(_degree_counts(sample_tokens(model, memory, facts, SamplingSettings(
            temperature=4.0, seed=seed, key_prior=50.0, mode_prior=6.0, target_valence=valence))[0], facts)
            for seed in range(8))

    happy, sad = degrees(1.0), degrees(-1.0)
    assert happy.sum() >= 40 and sad.sum() >= 40
    # the fifth of the major key (G in C) against the minor tonic (A): each side favours its own key's note
    assert happy[7] > happy[9] and sad[9] > sad[7]
    assert happy[7] / happy.sum() > sad[7] / sad.sum()


def test_tempo_prior_leans_the_first_tempo_by_the_target_arousal(tokenizer):
    from art2music.symbolic.sampling import NEUTRAL_TEMPO_BPM, BarClock, sample_window, tempo_bonus

    facts = token_facts(tokenizer)
    sets_tempo = ~np.isnan(facts.tempo_bpm)
    assert sets_tempo.sum() >= 4
    bonus = tempo_bonus(facts, 2.0, 0.5)[0]
    assert not bonus[~sets_tempo].any()
    expected = 2.0 * 0.5 * np.log2(facts.tempo_bpm[sets_tempo] / NEUTRAL_TEMPO_BPM)
    assert np.allclose(bonus[sets_tempo], expected, atol=1e-6)  # faster tempi gain, slower ones lose
    assert np.allclose(tempo_bonus(facts, 2.0, -0.5)[0], -bonus)

    model, memory = _untrained_model(tokenizer, facts, max_tokens=64)

    def first_tempi(arousal: float) -> list[float]:
        tempi = []
        for seed in range(12):
            clock = BarClock()
            sample_window(model, memory, [facts.bos], facts, SamplingSettings(
                temperature=3.0, seed=seed, tempo_prior=6.0, target_arousal=arousal), row_generator(seed), clock)
            if clock.tempo_set:
                tempi.append(clock.tempo)
        assert len(tempi) >= 6, "too few pieces set a tempo to compare"
        return tempi

    calm, excited = first_tempi(-1.0), first_tempi(1.0)
    assert np.median(excited) > NEUTRAL_TEMPO_BPM > np.median(calm)
    with pytest.raises(ValueError, match="tempo_prior must be"):
        SamplingSettings(tempo_prior=float("inf"))
    with pytest.raises(ValueError, match="target_arousal must be"):
        SamplingSettings(target_arousal=-2.0)


def test_pitch_priors_choose_which_notes_not_how_many():
    from art2music.symbolic.sampling import with_note_mass_kept

    logits = np.log(np.array([0.4, 0.3, 0.2, 0.1], dtype=np.float32))  # two rests/positions, two notes
    pitched = np.array([False, False, True, True])
    prior = np.array([0.0, 0.0, 2.0, -1.0], dtype=np.float32)
    moved = with_note_mass_kept(logits, prior, pitched)
    before, after = np.exp(logits) / np.exp(logits).sum(), np.exp(moved) / np.exp(moved).sum()
    assert after[pitched].sum() == pytest.approx(before[pitched].sum(), rel=1e-5)  # as many notes as before
    assert after[:2] == pytest.approx(before[:2], rel=1e-5)  # the unpitched tokens keep their odds
    assert after[2] / after[3] == pytest.approx(2.0 * np.exp(3.0), rel=1e-4)  # the prior sets the notes' odds
    plain = logits + prior
    assert np.exp(plain[2:]).sum() / np.exp(plain).sum() > 0.5 > before[pitched].sum() + 0.1  # unkept: more notes
