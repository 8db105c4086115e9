from __future__ import annotations

import torch

from art2music.symbolic.model import SymbolicConfig, SymbolicModel
from art2music.symbolic.va_regressor import pretrain_regressor, soft_tokens


def _toy_sequences(count: int, seed: int) -> tuple[list[list[int]], torch.Tensor]:
    """Pieces whose VA is readable from their tokens: positive pieces use tokens 3-9, negative ones 10-16."""
    generator = torch.Generator().manual_seed(seed)
    sequences, va = [], []
    for k in range(count):
        positive = k % 2 == 0
        low = 3 if positive else 10
        sequences.append(torch.randint(low, low + 7, (int(torch.randint(8, 20, (1,), generator=generator)),),
                                       generator=generator).tolist())
        va.append([0.7, 0.5] if positive else [-0.7, -0.5])
    return sequences, torch.tensor(va)


def test_regressor_learns_known_va_and_is_frozen():
    sequences, va = _toy_sequences(40, 0)
    regressor = pretrain_regressor(sequences, va, vocab_size=20, steps=80, batch_size=16, seed=0)
    assert not any(parameter.requires_grad for parameter in regressor.parameters())
    held_out, held_va = _toy_sequences(10, 1)
    tokens = torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in held_out], batch_first=True)
    predicted = regressor(tokens, tokens != 0)
    assert ((predicted[:, 0] > 0) == (held_va[:, 0] > 0)).all()
    # one-hot distributions give the same answer as ids
    one_hot = torch.nn.functional.one_hot(tokens, 20).float()
    torch.testing.assert_close(regressor(one_hot, tokens != 0), predicted, atol=1e-5, rtol=1e-4)


def test_va_loss_gradient_reaches_the_decoder():
    sequences, va = _toy_sequences(20, 0)
    regressor = pretrain_regressor(sequences, va, vocab_size=20, steps=5, batch_size=8)
    torch.manual_seed(0)
    model = SymbolicModel(SymbolicConfig(vocab_size=20, d_model=32, heads=4, ffn_dim=64, max_tokens=32,
                                         image_size=32, dropout=0.0))
    tokens = torch.randint(3, 20, (2, 12))
    logits = model(torch.rand(2, 3, 32, 32), torch.zeros(2, 2), tokens)
    loss = torch.nn.functional.mse_loss(regressor(soft_tokens(logits)), torch.tensor([[0.8, 0.5], [-0.8, -0.6]]))
    loss.backward()
    for name in ("decoder.0.self_attention.query.weight", "decoder.2.ffn.0.weight", "token_embedding.weight",
                 "encoder.layers.0.linear1.weight"):
        gradient = dict(model.named_parameters())[name].grad
        assert gradient is not None and gradient.abs().sum() > 0, name
    assert all(parameter.grad is None for parameter in regressor.parameters())
