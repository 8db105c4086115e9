from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from art2music.symbolic.model import SymbolicConfig, SymbolicModel, token_loss
from art2music.symbolic.sampling import SamplingSettings, draw_token, sample_tokens
from art2music.symbolic.tokenizer import token_facts


def _model(vocab: int, comment_dim: int = 0, seed: int = 0) -> SymbolicModel:
    torch.manual_seed(seed)
    config = SymbolicConfig(vocab_size=vocab, d_model=32, heads=4, ffn_dim=64, max_tokens=48, image_size=32,
                            comment_dim=comment_dim, dropout=0.0)
    return SymbolicModel(config).eval()


def test_shapes_and_loss():
    model = _model(50, comment_dim=8)
    pixels, va = torch.rand(3, 3, 32, 32), torch.rand(3, 2) * 2 - 1
    tokens = torch.randint(3, 50, (3, 10))
    logits = model(pixels, va, tokens, torch.randn(3, 8))
    assert logits.shape == (3, 10, 50)
    grid = model.image_grid(pixels)
    assert grid.shape == (3, 4, 32) and model.predict_va(grid).shape == (3, 2)
    assert model.encode(grid, va).shape == (3, 1 + 1 + 4, 32)  # VA token, comment token, 2x2 cells
    loss = token_loss(logits, tokens, pad_id=0)
    assert torch.isfinite(loss) and loss > 0
    with pytest.raises(ValueError, match="max_tokens"):
        model(pixels, va, torch.randint(3, 50, (3, 49)))
    with pytest.raises(ValueError, match="multiple of 16"):
        SymbolicConfig(vocab_size=10, image_size=40)


def test_the_image_and_va_change_the_logits():
    model = _model(50)
    tokens = torch.randint(3, 50, (2, 6))
    pixels = torch.rand(2, 3, 32, 32)
    va = torch.tensor([[0.8, 0.5], [0.8, 0.5]])
    base = model(pixels, va, tokens)
    assert not torch.allclose(base, model(pixels.flip(0), va, tokens), atol=1e-5)
    assert not torch.allclose(base, model(pixels, -va, tokens), atol=1e-5)


def test_decoder_is_causal():
    model = _model(50)
    pixels, va = torch.rand(2, 3, 32, 32), torch.zeros(2, 2)
    tokens = torch.randint(3, 50, (2, 12))
    changed = tokens.clone()
    changed[:, 7:] = torch.randint(3, 50, (2, 5))
    first, second = model(pixels, va, tokens), model(pixels, va, changed)
    torch.testing.assert_close(first[:, :7], second[:, :7], atol=1e-5, rtol=1e-5)
    assert not torch.allclose(first[:, 7:], second[:, 7:], atol=1e-4)


def test_kv_cache_gives_the_same_logits_and_samples(tokenizer):
    facts = token_facts(tokenizer)
    model = _model(len(tokenizer))
    pixels, va = torch.rand(2, 3, 32, 32), torch.tensor([[0.5, 0.5], [-0.5, -0.5]])
    memory = model.encode(model.image_grid(pixels), va)
    tokens = torch.randint(3, len(tokenizer), (2, 9))
    full = model.decode(tokens, memory)
    cache: dict = {}
    stepwise = torch.cat([model.decode(tokens[:, k:k + 1], memory, cache, start=k) for k in range(9)], dim=1)
    torch.testing.assert_close(stepwise, full, atol=1e-5, rtol=1e-4)
    settings = SamplingSettings(temperature=1.0, top_k=20, seed=3)
    with_cache = sample_tokens(model, memory, facts, settings)
    without = sample_tokens(model, memory, facts, SamplingSettings(temperature=1.0, top_k=20, seed=3, use_cache=False))
    assert with_cache == without and len(with_cache[0]) > 5


def test_seeded_sampling_is_reproducible_and_respects_bars(tokenizer):
    facts = token_facts(tokenizer)
    assert facts.bars[facts.bos] == 0 and facts.bars.max() >= 1
    model = _model(len(tokenizer))
    memory = model.encode(model.image_grid(torch.rand(1, 3, 32, 32)), torch.zeros(1, 2))
    hot = 4.0  # an untrained tied-embedding model is peaky; a high temperature makes its samples vary
    first = sample_tokens(model, memory, facts, SamplingSettings(temperature=hot, seed=1))
    assert first == sample_tokens(model, memory, facts, SamplingSettings(temperature=hot, seed=1))
    assert first != sample_tokens(model, memory, facts, SamplingSettings(temperature=hot, seed=2))
    # every fifth token opens a bar (a random model meets the real tokenizer's few Bar tokens too rarely to test)
    bars = np.zeros_like(facts.bars)
    bars[3::5] = 1
    facts = replace(facts, bars=bars)
    stopped_by_bars = 0
    for seed in range(4):
        short = sample_tokens(model, memory, facts, SamplingSettings(temperature=hot, seed=seed, bars=1))[0]
        assert sum(int(facts.bars[t]) for t in short) <= 1
        unlimited = sample_tokens(model, memory, facts, SamplingSettings(temperature=hot, seed=seed))[0]
        assert short == unlimited[:len(short)]  # the same sequence, cut where bar 2 would start
        stopped_by_bars += len(short) < len(unlimited)
    assert stopped_by_bars


def test_drawing_keeps_the_top_tokens_and_follows_the_uniform_number():
    logits = np.log(np.array([0.5, 0.25, 0.15, 0.1], dtype=np.float32))
    # no filter: the uniform number walks the cumulative probabilities .5, .75, .9, 1
    assert [draw_token(logits, 0, 1.0, u) for u in (0.0, 0.49, 0.51, 0.74, 0.76, 0.89, 0.91, 0.999)] == \
        [0, 0, 1, 1, 2, 2, 3, 3]
    assert [draw_token(logits, 2, 1.0, u) for u in (0.1, 0.6, 0.7, 0.999)] == [0, 0, 1, 1]  # top-2: 2/3, 1/3
    assert {draw_token(logits, 0, 0.5, u) for u in np.linspace(0, 0.999, 20)} == {0}  # the first holds .5 already
    assert {draw_token(logits, 0, 0.6, u) for u in np.linspace(0, 0.999, 20)} == {0, 1}
    blocked = logits.copy()
    blocked[0] = -np.inf
    assert {draw_token(blocked, 0, 0.95, u) for u in np.linspace(0, 0.999, 50)} == {1, 2, 3}
    assert draw_token(np.array([2.0, -np.inf, 1.0], dtype=np.float32), 1, 0.5, 0.9) == 0
    with pytest.raises(ValueError, match="not both"):
        SamplingSettings(bars=2, seconds=3.0)


def test_the_numpy_step_decoder_gives_the_modules_logits():
    """The sampler's NumPy decoder (folded norms, merged projections, preallocated cache) against the modules, with
    the VA at every position and two memory rows (guidance)."""
    from art2music.symbolic.step_decoder import ModuleDecoder, StepDecoder, window_decoder

    model = _conditioned_model(50)
    torch.nn.init.normal_(model.va_to_positions.weight, std=0.1)
    for module in model.modules():  # non-trivial norms, so that folding them is tested
        if isinstance(module, torch.nn.LayerNorm):
            torch.nn.init.normal_(module.weight, 1.0, 0.3)
            torch.nn.init.normal_(module.bias, 0.0, 0.3)
    grid = model.image_grid(torch.rand(1, 3, 32, 32))
    memory = torch.cat([model.encode(grid, torch.tensor([[0.8, -0.3]])), model.encode(grid, None)])
    tokens = torch.randint(3, 50, (1, 20)).repeat(2, 1)
    with torch.no_grad():
        full = model.decode(tokens, memory).numpy()  # (2, 20, V)
    decoders = [StepDecoder(model, memory), ModuleDecoder(model, memory, use_cache=True),
                ModuleDecoder(model, memory, use_cache=False)]  # NumPy; the modules with their cache (large models,
    # GPUs); the modules recomputing the window each step
    assert isinstance(window_decoder(model, memory), StepDecoder)
    assert isinstance(window_decoder(model, memory, use_cache=False), ModuleDecoder)
    wide = SymbolicModel(SymbolicConfig(vocab_size=50, d_model=288, heads=4, ffn_dim=64, max_tokens=8,
                                        image_size=32)).eval()
    with torch.no_grad():
        wide_memory = wide.encode(wide.image_grid(torch.rand(1, 3, 32, 32)), torch.zeros(1, 2))
    assert isinstance(window_decoder(wide, wide_memory), ModuleDecoder)  # arithmetic dominates: torch's kernels
    for decoder in decoders:
        np.testing.assert_allclose(decoder.prefill(tokens[:, :6].numpy()), full[:, 5], atol=2e-5, rtol=1e-4)
    for position in range(6, 20):
        for decoder in decoders:
            np.testing.assert_allclose(decoder.step(int(tokens[0, position])), full[:, position], atol=2e-5, rtol=1e-4)
    fast = decoders[0]
    assert not np.allclose(full[0], full[1], atol=1e-3)  # the rows differ, so a mixed-up row would be seen
    fast.prefill(np.full((2, 28), 3))
    with pytest.raises(ValueError, match="exceeds max_tokens"):
        for _ in range(21):
            fast.step(3)


def _conditioned_model(vocab: int) -> SymbolicModel:
    torch.manual_seed(0)
    config = SymbolicConfig(vocab_size=vocab, d_model=32, heads=4, ffn_dim=64, max_tokens=48, image_size=32,
                            dropout=0.0, va_every_position=True, null_va=True)
    return SymbolicModel(config).eval()


def test_va_at_every_position_with_the_cache_and_the_no_va_token():
    model = _conditioned_model(50)
    pixels = torch.rand(2, 3, 32, 32)
    grid, va = model.image_grid(pixels), torch.tensor([[0.8, 0.5], [-0.8, -0.5]])
    memory = model.encode(grid, va)
    tokens = torch.randint(3, 50, (2, 9))
    full = model.decode(tokens, memory)
    cache: dict = {}
    stepwise = torch.cat([model.decode(tokens[:, k:k + 1], memory, cache, start=k) for k in range(9)], dim=1)
    torch.testing.assert_close(stepwise, full, atol=1e-5, rtol=1e-4)
    # the condition reaches every position directly: with cross-attention switched off, VA still moves the logits
    # (once the projection has learned something: it starts at zero, so as not to drown the token embeddings)
    assert not model.va_to_positions.weight.any()
    torch.nn.init.normal_(model.va_to_positions.weight, std=0.1)
    for layer in model.decoder:
        layer.cross_attention.out.weight.data.zero_()
        layer.cross_attention.out.bias.data.zero_()
    assert not torch.allclose(model.decode(tokens, model.encode(grid, va)), model.decode(tokens, model.encode(grid, -va)),
                              atol=1e-4)
    unconditioned = model.encode(grid, None)
    dropped = model.encode(grid, va, dropped=torch.tensor([[True], [False]]))
    torch.testing.assert_close(dropped[0], unconditioned[0])
    torch.testing.assert_close(dropped[1], memory[1])
    with pytest.raises(ValueError, match="not trained for guidance"):
        _model(50).encode(grid[:, :, :32], None)


def test_guidance_moves_sampling_towards_the_condition(tokenizer):
    facts = token_facts(tokenizer)
    model = _conditioned_model(len(tokenizer))
    grid = model.image_grid(torch.rand(1, 3, 32, 32))
    memory = torch.cat([model.encode(grid, torch.tensor([[0.9, 0.9]])), model.encode(grid, None)])
    from art2music.symbolic.sampling import BarClock, row_generator, sample_window

    def first_logits(guidance: float) -> np.ndarray:
        seen = []
        original = draw_token

        def spy(logits, top_k, top_p, uniform):
            seen.append(logits.copy())
            return original(logits, top_k, top_p, uniform)

        import art2music.symbolic.sampling as sampling

        sampling.draw_token = spy
        try:
            sample_window(model, memory, [facts.bos], facts, SamplingSettings(guidance=guidance, bars=1),
                          row_generator(0), BarClock())
        finally:
            sampling.draw_token = original
        return seen[0]

    with torch.no_grad():
        conditioned = model.decode(torch.tensor([[facts.bos]]), memory[:1])[0, -1].numpy()
        unconditioned = model.decode(torch.tensor([[facts.bos]]), memory[1:])[0, -1].numpy()
    allowed = np.isfinite(first_logits(1.0))
    np.testing.assert_allclose(first_logits(1.0)[allowed], conditioned[allowed], atol=1e-4, rtol=1e-4)
    expected = unconditioned + 3.0 * (conditioned - unconditioned)
    np.testing.assert_allclose(first_logits(3.0)[allowed], expected[allowed], atol=1e-4, rtol=1e-4)


def test_the_unconditioned_memory_blanks_the_image_when_trained_so():
    torch.manual_seed(0)
    sizes = dict(vocab_size=50, d_model=32, heads=4, ffn_dim=64, max_tokens=48, image_size=32, dropout=0.0,
                 null_va=True)
    with pytest.raises(ValueError, match="null_image needs null_va"):
        SymbolicConfig(**{**sizes, "null_va": False}, null_image=True)
    model = SymbolicModel(SymbolicConfig(**sizes, null_image=True)).eval()
    pixels = torch.rand(2, 3, 32, 32)
    blank = model.unconditioned_memory(pixels)
    torch.testing.assert_close(blank, model.encode(model.image_grid(torch.zeros_like(pixels)), None))
    torch.testing.assert_close(blank[0], blank[1])  # nothing of either painting is left
    keeps_image = SymbolicModel(SymbolicConfig(**sizes)).eval()
    unconditioned = keeps_image.unconditioned_memory(pixels)
    assert not torch.allclose(unconditioned[0], unconditioned[1], atol=1e-5)  # the painting stays
