"""The symbolic decoder for sampling on a CPU: the same numbers as :meth:`SymbolicModel.decode` with a KV cache, in
NumPy.

A demo step is tiny (3 layers of width 64, two rows under guidance): its time is the fixed cost of each call, not the
arithmetic. A torch call costs 5-20 µs on a 2-core AMD EPYC (``linear`` 8 µs, ``scaled_dot_product_attention`` 16 µs,
``gelu`` 12 µs on a ``(2, 1, 128)`` tensor) and a step through the modules took 1.2-2 ms; a NumPy call on arrays this
small costs 1-5 µs. :class:`StepDecoder` prepares the weights once so that a step makes few calls:

- every layer norm's gain and bias are folded into the linear map after it (``(n·g + β) W + b = n (g W) + (β W + b)``),
  so a norm is only the normalisation;
- the attention scale ``1/√head_dim`` is folded into the query weights, and the self-attention's query and key/value
  projections are one matrix;
- the cross-attention keys and values of the memory, and the VA token's projection, are computed once per piece;
- the self-attention keys and values go into preallocated ``(B, heads, max_tokens, head_dim)`` buffers.

Inference only (no dropout). Used for models up to :data:`SMALL_MODEL_WIDTH` on the CPU; larger models, or a GPU,
decode through the torch modules, where the arithmetic dominates.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.special import erf

from art2music.symbolic.model import SymbolicModel

SMALL_MODEL_WIDTH = 256
"""Models up to this ``d_model`` sample on one CPU thread (:func:`art2music.symbolic.sampling.sampling_threads`) and in
NumPy: one token's matrices (64-256 wide) are far too small for intra-op parallelism to pay (on a busy 2-core machine
two threads made a demo step 10x slower: 13 ms against 1.3 ms, measured), or for torch's per-call cost."""

Linear = tuple[np.ndarray, np.ndarray]
"""``(in, out)`` weight and ``(out,)`` bias, float32: ``x @ weight + bias``."""


def _array(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().to("cpu", torch.float32).numpy().astype(np.float64)


def _after_norm(norm: torch.nn.LayerNorm, *maps: tuple[torch.Tensor, torch.Tensor | None], scale: float = 1.0
                ) -> Linear:
    """The linear maps ``(weight (out, in), bias (out,) or None)`` that follow ``norm`` (outputs side by side), with
    the norm's gain and bias folded in and the first map's output scaled by ``scale``. Folded in float64, stored as
    float32."""
    weight = np.concatenate([_array(w).T for w, _ in maps], axis=1)  # (in, out)
    bias = np.concatenate([np.zeros(w.shape[0]) if b is None else _array(b) for w, b in maps])
    first = maps[0][0].shape[0]
    weight[:, :first] *= scale
    bias[:first] *= scale
    gain, shift = _array(norm.weight), _array(norm.bias)
    return ((gain[:, None] * weight).astype(np.float32), (shift @ weight + bias).astype(np.float32))


def _weights(linear: torch.nn.Linear) -> tuple[torch.Tensor, torch.Tensor | None]:
    return linear.weight, linear.bias


def _plain(linear: torch.nn.Linear) -> Linear:
    return np.ascontiguousarray(_array(linear.weight).T, dtype=np.float32), _array(linear.bias).astype(np.float32)


def normalize(x: np.ndarray, eps: float) -> np.ndarray:
    """A layer norm without gain and bias, over the last axis (biased variance, as ``torch.nn.LayerNorm``)."""
    inverse_width = np.float32(1.0 / x.shape[-1])
    centred = x - np.add.reduce(x, -1, keepdims=True) * inverse_width
    return centred / np.sqrt(np.add.reduce(centred * centred, -1, keepdims=True) * inverse_width + np.float32(eps))


def gelu(x: np.ndarray) -> np.ndarray:
    """The exact GELU, ``x · Φ(x)`` (torch's default)."""
    return np.float32(0.5) * x * (np.float32(1.0) + erf(x * np.float32(1 / math.sqrt(2))))


def attention(query: np.ndarray, keys: np.ndarray, values: np.ndarray, causal: bool = False) -> np.ndarray:
    """Scaled ``(B, H, T, e)`` queries over ``(B, H, S, e)`` keys/values → ``(B, H, T, e)``; ``causal``: query ``t``
    sees keys up to ``S - T + t``."""
    scores = query @ keys.swapaxes(-1, -2)
    count, total = scores.shape[-2:]
    if causal and count > 1:
        scores = np.where(np.tri(count, total, total - count, dtype=bool), scores, np.float32(-np.inf))
    weights = np.exp(scores - np.maximum.reduce(scores, -1, keepdims=True))
    return (weights @ values) / np.add.reduce(weights, -1, keepdims=True)


class StepDecoder:
    """Next-token logits for one memory, one window: :meth:`prefill` the prompt, then :meth:`step` token by token.

    Args:
        model: a :class:`SymbolicModel` (its weights are copied once).
        memory: ``(B, M, d)`` from :meth:`SymbolicModel.encode` (B = 2 for guidance: conditioned, unconditioned).
    """

    def __init__(self, model: SymbolicModel, memory: torch.Tensor):
        config = model.config
        self.heads, self.max_tokens, self.width = config.heads, config.max_tokens, config.d_model
        rows, head_width = memory.shape[0], config.d_model // config.heads
        scale = 1.0 / math.sqrt(head_width)
        positions = _array(model.token_position.weight)
        with torch.inference_mode():
            if model.va_to_positions is not None:  # the VA token's projection joins every position
                positions = positions[None] + _array(model.va_to_positions(memory[:, :1]))  # (B, max_tokens, d)
            cross = [layer.cross_attention.key_value(memory) for layer in model.decoder]
        self.embedding = _array(model.token_embedding.weight).astype(np.float32)  # (V, d)
        self.positions = positions.astype(np.float32)
        self.output = _after_norm(model.final_norm, (model.token_embedding.weight, None))  # tied output
        self.final_eps = float(model.final_norm.eps)
        self.length = 0
        self.layers = []
        for layer, keys_values in zip(model.decoder, cross):
            keys, values = (self._split(_array(part).astype(np.float32)) for part in keys_values.chunk(2, -1))
            own, other = layer.self_attention, layer.cross_attention
            self.layers.append({
                "qkv": _after_norm(layer.self_norm, _weights(own.query), _weights(own.key_value), scale=scale),
                "self_out": _plain(own.out),
                "cross_query": _after_norm(layer.cross_norm, _weights(other.query), scale=scale),
                "cross_keys": keys, "cross_values": values, "cross_out": _plain(other.out),
                "ffn_in": _after_norm(layer.ffn_norm, _weights(layer.ffn[0])), "ffn_out": _plain(layer.ffn[3]),
                "eps": [float(norm.eps) for norm in (layer.self_norm, layer.cross_norm, layer.ffn_norm)],
                "keys": np.zeros((rows, self.heads, self.max_tokens, head_width), np.float32),
                "values": np.zeros((rows, self.heads, self.max_tokens, head_width), np.float32),
            })

    def _split(self, x: np.ndarray) -> np.ndarray:
        """``(B, T, heads · e)`` → ``(B, heads, T, e)``."""
        return x.reshape(x.shape[0], x.shape[1], self.heads, -1).swapaxes(1, 2)

    @staticmethod
    def _merge(x: np.ndarray) -> np.ndarray:
        """``(B, heads, T, e)`` → ``(B, T, heads · e)``."""
        return x.swapaxes(1, 2).reshape(x.shape[0], x.shape[2], -1)

    def _forward(self, tokens: np.ndarray) -> np.ndarray:
        """``tokens`` ``(B, T)`` at positions ``length .. length + T - 1`` → last position's logits ``(B, V)``."""
        start, count = self.length, tokens.shape[1]
        end, width = start + count, self.width
        if end > self.max_tokens:
            raise ValueError(f"sequence of {end} tokens exceeds max_tokens {self.max_tokens}")
        x = self.embedding[tokens] + self.positions[..., start:end, :]
        for layer in self.layers:
            self_eps, cross_eps, ffn_eps = layer["eps"]
            weight, bias = layer["qkv"]
            projected = normalize(x, self_eps) @ weight + bias
            layer["keys"][:, :, start:end] = self._split(projected[..., width:2 * width])
            layer["values"][:, :, start:end] = self._split(projected[..., 2 * width:])
            attended = attention(self._split(projected[..., :width]), layer["keys"][:, :, :end],
                                 layer["values"][:, :, :end], causal=True)
            weight, bias = layer["self_out"]
            x = x + self._merge(attended) @ weight + bias
            weight, bias = layer["cross_query"]
            attended = attention(self._split(normalize(x, cross_eps) @ weight + bias), layer["cross_keys"],
                                 layer["cross_values"])
            weight, bias = layer["cross_out"]
            x = x + self._merge(attended) @ weight + bias
            (weight_in, bias_in), (weight_out, bias_out) = layer["ffn_in"], layer["ffn_out"]
            x = x + gelu(normalize(x, ffn_eps) @ weight_in + bias_in) @ weight_out + bias_out
        self.length = end
        weight, bias = self.output
        return normalize(x[:, -1], self.final_eps) @ weight + bias

    def prefill(self, tokens: np.ndarray) -> np.ndarray:
        """The prompt ``(B, T)`` (BOS first) from position 0 → the logits after it ``(B, V)``."""
        self.length = 0
        return self._forward(np.asarray(tokens))

    def step(self, token: int) -> np.ndarray:
        """One more token (the same in every row) → the logits after it ``(B, V)``."""
        return self._forward(np.full((self.layers[0]["keys"].shape[0], 1), token))


class ModuleDecoder:
    """The same interface through the torch modules (:meth:`SymbolicModel.decode`): for large models or a GPU, where
    the arithmetic dominates, and with ``use_cache=False`` (the whole window recomputed each step, a check on the
    cache).

    Args:
        model, memory: as :class:`StepDecoder`.  use_cache: keep the keys/values of earlier steps.
    """

    def __init__(self, model: SymbolicModel, memory: torch.Tensor, use_cache: bool = True):
        self.model, self.memory, self.use_cache = model, memory, use_cache
        self.tokens = torch.zeros(memory.shape[0], 0, dtype=torch.long, device=memory.device)
        self.cache: dict[str, torch.Tensor] | None = None

    def _logits(self, logits: torch.Tensor) -> np.ndarray:
        return logits[:, -1].detach().float().cpu().numpy()

    def prefill(self, tokens: np.ndarray) -> np.ndarray:
        self.tokens = torch.as_tensor(np.asarray(tokens), dtype=torch.long, device=self.memory.device)
        self.cache = {} if self.use_cache else None
        return self._logits(self.model.decode(self.tokens, self.memory, self.cache, start=0))

    def step(self, token: int) -> np.ndarray:
        chosen = torch.full((self.memory.shape[0], 1), token, dtype=torch.long, device=self.memory.device)
        self.tokens = torch.cat([self.tokens, chosen], dim=1)
        if self.cache is None:
            return self._logits(self.model.decode(self.tokens, self.memory))
        return self._logits(self.model.decode(chosen, self.memory, self.cache, start=self.tokens.shape[1] - 1))


def window_decoder(model: SymbolicModel, memory: torch.Tensor, use_cache: bool = True) -> "StepDecoder | ModuleDecoder":
    """:class:`StepDecoder` for a model up to :data:`SMALL_MODEL_WIDTH` wide on the CPU with the cache on, else
    :class:`ModuleDecoder`."""
    if use_cache and model.config.d_model <= SMALL_MODEL_WIDTH and memory.device.type == "cpu":
        return StepDecoder(model, memory)
    return ModuleDecoder(model, memory, use_cache)
