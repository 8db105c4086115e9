"""Optional (valence, arousal) conditioning of stage 1."""

import pytest
import torch

from art2music.audio_engine.emotion_condition import EmotionConditioning, drop_targets
from art2music.audio_engine.stage1 import Stage1Config, Stage1Model


def _tiny(emotion: bool, decoder: str = "bilstm") -> Stage1Model:
    torch.manual_seed(0)
    return Stage1Model(Stage1Config(embed_dim=8, fusion_dim=8, decoder_input_dim=8, lstm_hidden=8, lstm_layers=1,
                                    frames=16, n_mels=8, decoder=decoder, emotion_conditioning=emotion)).eval()


def test_missing_rows_get_the_not_given_vector():
    conditioning = EmotionConditioning(4)
    with torch.no_grad():
        conditioning.not_given.fill_(3.0)
    out = conditioning(torch.tensor([[0.5, -0.5], [float("nan"), float("nan")]]), batch=2)
    assert torch.equal(out[1], torch.full((4,), 3.0))
    assert not torch.equal(out[0], out[1])
    assert torch.equal(conditioning(None, batch=3), torch.full((3, 4), 3.0))


def test_the_target_changes_the_output_of_a_conditioned_model():
    model = _tiny(emotion=True)
    with torch.no_grad():  # a trained model's emotion MLP is not zero; make sure this one is not degenerate
        for parameter in model.emotion.parameters():
            parameter.normal_()
    text, image = torch.randn(1, 8), torch.randn(1, 8)
    with torch.no_grad():
        happy = model(text, image, va=torch.tensor([[0.9, 0.5]]))
        sad = model(text, image, va=torch.tensor([[-0.9, -0.4]]))
        inferred = model(text, image)
    assert (happy - sad).abs().max() > 1e-4
    assert (happy - inferred).abs().max() > 1e-4


def test_a_model_without_emotion_conditioning_refuses_a_target():
    with pytest.raises(ValueError, match="trained without emotion conditioning"):
        _tiny(emotion=False)(torch.randn(1, 8), torch.randn(1, 8), va=torch.zeros(1, 2))


def test_targets_outside_the_plane_are_refused():
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        _tiny(emotion=True)(torch.randn(1, 8), torch.randn(1, 8), va=torch.tensor([[1.5, 0.0]]))


def test_config_round_trip_keeps_old_configs_unchanged():
    assert "emotion_conditioning" not in Stage1Config().to_dict()
    stored = Stage1Config(emotion_conditioning=True).to_dict()
    assert Stage1Config.from_dict(stored).emotion_conditioning is True
    with pytest.raises(ValueError, match="true or false"):
        Stage1Config.from_dict({**stored, "emotion_conditioning": 1})


def test_dropout_blanks_whole_rows():
    va = torch.ones(1000, 2)
    dropped = drop_targets(va, 0.3, torch.Generator().manual_seed(0))
    blank = torch.isnan(dropped)
    assert torch.equal(blank[:, 0], blank[:, 1])
    assert 0.25 < blank[:, 0].float().mean() < 0.35
    assert torch.equal(drop_targets(va, 0.0), va)
