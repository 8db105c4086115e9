"""The flow-matching decoder: loss, guidance, seeded sampling, lengths, config checks."""

from __future__ import annotations

import pytest
import torch

from art2music.audio_engine.decoders.flow import FlowConfig, FlowMelDecoder
from art2music.audio_engine.decoders.flow_network import FlowVelocityNetwork
from art2music.audio_engine.stage1 import Stage1Config, Stage1Model

TINY = FlowConfig(channels=16, levels=2, blocks_per_level=1, attention_blocks=1, heads=2, steps=3, guidance=2.0)


def _decoder(seed: int = 0, config: FlowConfig = TINY) -> FlowMelDecoder:
    torch.manual_seed(seed)
    decoder = FlowMelDecoder(condition_dim=12, n_mels=8, frames=20, config=config)
    # The output layer starts at zero (velocity 0); give it weights so sampling depends on x, t and c.
    with torch.no_grad():
        for parameter in decoder.parameters():
            if parameter.abs().sum() == 0:
                parameter.normal_(0, 0.1)
    return decoder.eval()


def test_loss_is_a_scalar_with_gradients_for_every_parameter():
    decoder = _decoder().train()
    mel = torch.randn(4, 8, 20) - 6.0
    condition = torch.randn(4, 12, requires_grad=True)
    loss = decoder.loss(mel, condition, weights=torch.linspace(1.0, 1.5, 8), generator=torch.Generator().manual_seed(0))
    assert loss.shape == () and torch.isfinite(loss) and loss > 0
    loss.backward()
    assert condition.grad is not None and condition.grad.abs().sum() > 0
    # null_condition only gets gradient from dropped rows; with dropout 0.1 and 4 rows it may not: check the rest
    missing = [name for name, p in decoder.named_parameters() if name != "null_condition" and
               (p.grad is None or p.grad.abs().sum() == 0)]
    assert not missing


def test_loss_regresses_the_straight_path_velocity():
    """With a network that returns the exact target velocity, the loss is ~0; with zeros, it is E|u|^2."""
    decoder = _decoder(config=FlowConfig(channels=16, heads=2, condition_dropout=0.0, sigma_min=0.0))
    mel = torch.randn(3, 8, 20)
    generator = torch.Generator().manual_seed(5)
    captured = {}

    class Oracle(torch.nn.Module):
        def forward(self, x_t, t, condition):
            captured["t"] = t
            x1 = decoder.normalise(mel)
            x0 = (x_t - t[:, None, None] * x1) / (1 - t[:, None, None])   # σ_min = 0: x_t = (1 - t) x0 + t x1
            return x1 - x0

    decoder.network = Oracle()
    assert decoder.loss(mel, torch.randn(3, 12), generator=generator) < 1e-6


def test_guidance_one_is_the_conditional_velocity_and_zero_the_unconditional():
    decoder = _decoder()
    x, t, condition = torch.randn(2, 8, 20), torch.rand(2), torch.randn(2, 12)
    with torch.no_grad():
        conditional = decoder.network(x, t, condition)
        unconditional = decoder.network(x, t, decoder.null_condition.expand_as(condition))
        torch.testing.assert_close(decoder.velocity(x, t, condition, 1.0), conditional)
        torch.testing.assert_close(decoder.velocity(x, t, condition, 0.0), unconditional, atol=1e-5, rtol=1e-5)
        guided = decoder.velocity(x, t, condition, 3.0)
        torch.testing.assert_close(guided, unconditional + 3.0 * (conditional - unconditional), atol=1e-5, rtol=1e-5)
    assert not torch.allclose(conditional, unconditional)


def test_guidance_until_guides_the_early_steps_only():
    from dataclasses import replace

    decoder = _decoder(config=replace(TINY, guidance_until=0.5, steps=4))
    x, condition = torch.randn(2, 8, 20), torch.randn(2, 12)
    with torch.no_grad():
        late, early = torch.full((2,), 0.5), torch.full((2,), 0.25)
        torch.testing.assert_close(decoder.velocity(x, late, condition, 3.0), decoder.network(x, late, condition))
        conditional = decoder.network(x, early, condition)
        unconditional = decoder.network(x, early, decoder.null_condition.expand_as(condition))
        torch.testing.assert_close(decoder.velocity(x, early, condition, 3.0),
                                   unconditional + 3.0 * (conditional - unconditional), atol=1e-5, rtol=1e-5)
        rows = []
        hook = decoder.network.register_forward_hook(lambda module, args, output: rows.append(output.shape[0]))
        decoder(condition, steps=4, guidance=2.0, generator=torch.Generator().manual_seed(0))
        hook.remove()
    assert rows == [4, 4, 2, 2]  # t = 0, 0.25 guided (both halves of the batch); t = 0.5, 0.75 conditional only
    for bad in (0.0, 1.5, True):
        with pytest.raises(ValueError, match="guidance_until"):
            replace(TINY, guidance_until=bad)

def test_same_seed_same_sample_and_different_seeds_differ():
    decoder = _decoder()
    condition = torch.randn(2, 12)
    with torch.no_grad():
        first = decoder(condition, generator=torch.Generator().manual_seed(1))
        again = decoder(condition, generator=torch.Generator().manual_seed(1))
        other = decoder(condition, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(first, again)
    assert (first - other).abs().mean() > 0.1


def test_other_frame_counts_and_solvers():
    decoder = _decoder()
    condition = torch.randn(3, 12)
    with torch.no_grad():
        for frames in (1, 7, 20, 33, 64):
            for solver in ("euler", "midpoint"):
                mel = decoder(condition, frames=frames, steps=2, solver=solver)
                assert mel.shape == (3, 8, frames) and torch.isfinite(mel).all()
    network = FlowVelocityNetwork(n_mels=8, condition_dim=12, channels=16, levels=3, heads=2)
    assert network(torch.randn(2, 8, 13), torch.rand(2), torch.randn(2, 12)).shape == (2, 8, 13)


def test_euler_steps_follow_the_velocity_field():
    """One Euler step from noise x0 lands at x0 + v(x0, 0, c), denormalised."""
    decoder = _decoder()
    condition, noise = torch.randn(2, 12), torch.randn(2, 8, 20)
    with torch.no_grad():
        mel = decoder(condition, noise=noise, steps=1, guidance=1.0)
        expected = decoder.denormalise(noise + decoder.network(noise, torch.zeros(2), condition))
    torch.testing.assert_close(mel, expected)


def test_normalisation_round_trips_and_bad_inputs_are_refused():
    decoder = _decoder()
    decoder.set_normalisation(torch.linspace(-8, -4, 8), torch.linspace(0.5, 2.0, 8))
    mel = torch.randn(2, 8, 5)
    torch.testing.assert_close(decoder.denormalise(decoder.normalise(mel)), mel)
    with pytest.raises(ValueError, match="steps"):
        decoder(torch.randn(1, 12), steps=0)
    with pytest.raises(ValueError, match="guidance"):
        decoder(torch.randn(1, 12), guidance=-1.0)
    with pytest.raises(ValueError, match="solver"):
        decoder(torch.randn(1, 12), solver="rk45")
    with pytest.raises(ValueError, match="noise"):
        decoder(torch.randn(1, 12), noise=torch.randn(1, 8, 3))
    with pytest.raises(ValueError, match="heads"):
        FlowConfig(channels=10, heads=3)
    with pytest.raises(ValueError, match="unknown flow config"):
        FlowConfig.from_dict({"chanels": 4})


def test_stage1_config_chooses_the_decoder_and_old_configs_are_bilstm():
    old = Stage1Config.from_dict({"embed_dim": 8, "fusion_dim": 12, "decoder_input_dim": 8, "lstm_hidden": 8,
                                  "lstm_layers": 1, "frames": 20, "n_mels": 8, "dropout": 0.0})
    assert old.decoder == "bilstm" and "flow" not in old.to_dict()
    flow = Stage1Config(embed_dim=8, fusion_dim=12, frames=20, n_mels=8, decoder="flow", flow=TINY)
    assert Stage1Config.from_dict(flow.to_dict()) == flow
    with pytest.raises(ValueError, match="decoder"):
        Stage1Config(decoder="transformer")
    with pytest.raises(ValueError, match="flow"):
        Stage1Config.from_dict({"decoder": "flow", "flow": {"channels": -1}})


def test_stage1_model_samples_with_flow_and_bilstm_refuses_sampling_options():
    torch.manual_seed(0)
    flow = Stage1Model(Stage1Config(embed_dim=8, fusion_dim=12, frames=20, n_mels=8, decoder="flow", flow=TINY)).eval()
    text, image = torch.randn(2, 8), torch.randn(2, 8)
    with torch.no_grad():
        assert flow(text, image, frames=11, steps=2, guidance=1.5).shape == (2, 8, 11)
    bilstm = Stage1Model(Stage1Config(embed_dim=8, fusion_dim=12, decoder_input_dim=8, lstm_hidden=8, lstm_layers=1,
                                      frames=20, n_mels=8)).eval()
    assert bilstm(text, image).shape == (2, 8, 20)
    with pytest.raises(ValueError, match="guidance, steps.*'bilstm'"):
        bilstm(text, image, steps=4, guidance=2.0)


def test_data_prediction_lands_on_the_networks_clean_mel():
    """With prediction="data" the last Euler step returns the network's x̂1 exactly (no residual noise)."""
    from art2music.audio_engine.decoders.flow import FlowConfig, FlowMelDecoder

    torch.manual_seed(0)
    decoder = FlowMelDecoder(6, 8, 16, FlowConfig(channels=8, levels=1, blocks_per_level=1, attention_blocks=0,
                                                  heads=2, prediction="data")).eval()
    seen = []
    original = decoder.network.forward

    def recording(x, t, condition):
        out = original(x, t, condition)
        seen.append(out)
        return out

    decoder.network.forward = recording
    with torch.no_grad():
        for parameter in decoder.network.parameters():
            parameter.normal_(0, 0.1)
        mel = decoder(torch.randn(2, 6), steps=4, guidance=1.0, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(decoder.normalise(mel), seen[-1], atol=1e-3)  # σ_min = 1e-4 of the noise remains


def test_data_prediction_loss_is_the_velocity_error():
    """Predicting x̂1 = x1 exactly gives zero loss; a wrong x̂1 gives a positive one, larger near t = 1."""
    from art2music.audio_engine.decoders.flow import FlowConfig, FlowMelDecoder

    config = FlowConfig(channels=8, levels=1, blocks_per_level=1, attention_blocks=0, heads=2, prediction="data",
                        time_sampling="logit-normal", condition_dropout=0.0)
    decoder = FlowMelDecoder(6, 8, 16, config)
    mel = torch.randn(3, 8, 16)
    decoder.network.forward = lambda x, t, c: decoder.normalise(mel)
    assert decoder.loss(mel, torch.randn(3, 6)).item() < 1e-10
    decoder.network.forward = lambda x, t, c: decoder.normalise(mel) + 1.0
    assert decoder.loss(mel, torch.randn(3, 6)).item() >= 1.0


def test_unknown_prediction_is_refused():
    from art2music.audio_engine.decoders.flow import FlowConfig

    with pytest.raises(ValueError, match="prediction"):
        FlowConfig(prediction="noise")
