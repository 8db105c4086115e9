"""Fusion, decoder, loss and the stage-1 network: shapes, equations, gradients, learning."""

from __future__ import annotations

import pytest
import torch

from art2music.audio_engine.fusion import GatedResidualFusion
from art2music.audio_engine.loss import FrequencyWeightedL1, frequency_weights
from art2music.audio_engine.stage1 import Stage1Config, Stage1Model


def tiny_config(**overrides) -> Stage1Config:
    values = dict(embed_dim=8, fusion_dim=16, decoder_input_dim=12, lstm_hidden=10, lstm_layers=2, frames=40)
    values.update(overrides)
    return Stage1Config(**values)


@pytest.mark.parametrize("seed", range(4))
def test_shapes_over_random_batches_and_lengths(seed):
    generator = torch.Generator().manual_seed(seed)
    batch = int(torch.randint(1, 6, (1,), generator=generator))
    frames = int(torch.randint(1, 41, (1,), generator=generator))
    model = Stage1Model(tiny_config())
    text, image = torch.randn(batch, 8), torch.randn(batch, 8)
    assert model(text, image, frames).shape == (batch, 80, frames)
    assert model(text, image).shape == (batch, 80, 40)


def test_too_many_frames_and_wrong_embedding_size_are_refused():
    model = Stage1Model(tiny_config())
    with pytest.raises(ValueError, match="frames must be in 1..40"):
        model(torch.randn(1, 8), torch.randn(1, 8), 41)
    with pytest.raises(ValueError, match="expected 8-d embeddings"):
        model(torch.randn(1, 9), torch.randn(1, 9))


def test_gate_equation():
    torch.manual_seed(0)
    fusion = GatedResidualFusion(embed_dim=6, hidden_dim=5)
    text, image = torch.randn(3, 6), torch.randn(3, 6)
    h = fusion.mlp[2](torch.relu(fusion.mlp[0](torch.cat([text, image], -1))))
    g = torch.sigmoid(h @ fusion.gate.weight.T + fusion.gate.bias)
    expected = g * h + (1 - g) * (text @ fusion.text_projection.weight.T + fusion.text_projection.bias)
    assert torch.allclose(fusion(text, image), expected, atol=1e-6)
    # Saturate the gate: fully open gives h, fully closed gives W_t t.
    with torch.no_grad():
        fusion.gate.weight.zero_()
        fusion.gate.bias.fill_(50.0)
    assert torch.allclose(fusion(text, image), h, atol=1e-5)
    with torch.no_grad():
        fusion.gate.bias.fill_(-50.0)
    assert torch.allclose(fusion(text, image), fusion.text_projection(text), atol=1e-5)


def test_weighting_curve():
    weights = frequency_weights(80)
    assert weights[0] == pytest.approx(1.0) and weights[-1] == pytest.approx(1.5)
    assert torch.allclose(weights[1:] - weights[:-1], torch.full((79,), 0.5 / 79), atol=1e-6)
    loss = FrequencyWeightedL1()
    target = torch.zeros(2, 80, 7)
    # An error of 1 only in bin k costs weights[k] / 80 per frame on average.
    for k in (0, 40, 79):
        prediction = target.clone()
        prediction[:, k, :] = 1.0
        assert float(loss(prediction, target)) == pytest.approx(float(weights[k]) / 80, rel=1e-5)
    with pytest.raises(ValueError, match="differ in shape"):
        loss(torch.zeros(1, 80, 3), torch.zeros(1, 80, 4))


def test_every_trained_parameter_gets_a_gradient():
    """The official code left the fusion out of the optimizer; here every parameter must learn."""
    torch.manual_seed(0)
    model = Stage1Model(tiny_config())
    prediction = model(torch.randn(4, 8), torch.randn(4, 8), 20)
    FrequencyWeightedL1()(prediction, torch.randn(4, 80, 20)).backward()
    names = [name for name, p in model.named_parameters()]
    assert any(name.startswith("fusion.") for name in names) and any(name.startswith("decoder.") for name in names)
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None, f"{name} received no gradient"
        if name.startswith("decoder.positional_embedding"):
            assert parameter.grad[:20].abs().sum() > 0 and parameter.grad[20:].abs().sum() == 0
        else:
            assert parameter.grad.abs().sum() > 0, f"{name} has an all-zero gradient"


def test_tiny_model_overfits_a_handful_of_samples():
    torch.manual_seed(0)
    model = Stage1Model(tiny_config(fusion_dim=32, decoder_input_dim=32, lstm_hidden=32, lstm_layers=1, frames=16))
    text, image = torch.randn(4, 8), torch.randn(4, 8)
    # Mel-like targets: a different smooth spectral envelope per sample, varying slowly over time.
    bins = torch.linspace(0, 1, 80)[None, :, None]
    centres = torch.tensor([0.1, 0.35, 0.6, 0.85])[:, None, None]
    time = torch.linspace(0, 1, 16)[None, None, :]
    target = -9 + 6 * torch.exp(-((bins - centres) ** 2) / 0.02) + torch.sin(4 * time + 10 * centres)
    model.decoder.init_output_level(target.mean(dim=(0, 2)))
    loss_fn = FrequencyWeightedL1()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = None
    for _ in range(300):
        optimizer.zero_grad()
        loss = loss_fn(model(text, image, 16), target)
        loss.backward()
        optimizer.step()
        first = float(loss.detach()) if first is None else first
    assert float(loss) < first / 10, (first, float(loss))


def test_paper_sizes():
    model = Stage1Model(Stage1Config())
    lstm = model.decoder.lstm
    assert (lstm.num_layers, lstm.hidden_size, lstm.bidirectional) == (4, 512, True)
    assert model.decoder.positional_embedding.shape == (862, 512)
    assert model.fusion.mlp[0].in_features == 2048
