"""Conditional flow-matching mel decoder: noise → log-mel along a learned velocity field, conditioned on ``z``.

Optimal-transport conditional flow matching (Lipman et al. 2023, "Flow Matching for Generative Modeling"; as
in Matcha-TTS, Mehta et al. 2024). In a normalised mel space (log-mel minus the training data's per-bin mean,
divided by its per-bin std, both stored with the weights) a path runs from noise ``x0 ~ N(0, I)`` to a mel
``x1``::

    x_t = (1 − (1 − σ_min) t) · x0 + t · x1,        target velocity  u = x1 − (1 − σ_min) · x0

and the network regresses ``u`` from ``(x_t, t, c)`` (a per-bin weighted MSE). With ``prediction="data"`` the
network instead outputs the clean mel ``x̂1`` and the velocity is derived from it
(``v = x̂1 − (1 − σ_min) x̂0`` with ``x̂0 = (x_t − t x̂1) / (1 − (1 − σ_min) t)``); the loss is still the
velocity error, which is ``|x̂1 − x1|² / (1 − (1 − σ_min) t)²``, with the denominator floored at 0.05 (Li & He
2025, "Back to Basics: Let Denoising Generative Models Denoise": predicting the data, not the noise-laden
velocity, leaves no residual noise in the last step of an under-trained model). Flow times are drawn uniformly
or from a logit-normal (Esser et al. 2024, Stable Diffusion 3: more training near the middle of the path). Sampling integrates
``dx/dt = v_θ(x, t, c)`` from ``t = 0`` to 1 with Euler or midpoint steps. Classifier-free guidance (Ho &
Salimans 2022): during training the condition is replaced by a learned null vector with probability
``condition_dropout``; at sampling ``v = v_null + w · (v_cond − v_null)`` (``w = 1``: the conditional field).

A deterministic regression learns the conditional *mean* mel, which for music is a static drone; sampling
draws *a* piece instead, and different noise gives different pieces.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping

import torch
from torch import nn

from art2music.config_dict import strict_from_dict
from art2music.audio_engine.decoders.flow_network import FlowVelocityNetwork

SOLVERS = ("euler", "midpoint")
PREDICTIONS = ("velocity", "data")
TIME_SAMPLINGS = ("uniform", "logit-normal")
DATA_PREDICTION_FLOOR = 0.05  # floor of 1 − (1 − σ_min) t in the data-prediction loss and velocity


@dataclass(frozen=True)
class FlowConfig:
    """Sizes and sampling defaults of the flow decoder (stored with the weights in ``stage1/config.json``).

    Args:
        channels, levels, blocks_per_level, attention_blocks, heads, kernel_size: the velocity network's sizes
            (see :class:`FlowVelocityNetwork`).
        sigma_min: σ_min of the OT path (Lipman et al. 2023 use 1e-4 to 1e-5; Matcha-TTS 1e-4).
        condition_dropout: probability of training with the null condition (for classifier-free guidance).
        crop_frames: training crop length in frames (0: whole clips); shorter crops are faster and teach the
            network that nothing depends on length.
        steps: default number of ODE steps at sampling.
        guidance: default classifier-free guidance scale (1: none).
        guidance_until: guidance is applied only at flow times ``t < guidance_until``; later steps use the
            conditional velocity alone, one network pass instead of two (1.0: every step). Guidance in a limited
            interval follows Kynkäänniemi et al. 2024; on the demo model guiding only the first half of the path
            was 21 % faster with equal or better FAD and inter-item distance (README, flow steps).
        solver: default ODE solver, ``"euler"`` or ``"midpoint"``.
        prediction: what the network outputs: ``"velocity"`` (Lipman et al.) or ``"data"`` (the clean mel).
        time_sampling: the training distribution of flow times, ``"uniform"`` or ``"logit-normal"`` (m=0, s=1).
    """


    channels: int = 128
    levels: int = 2
    blocks_per_level: int = 2
    attention_blocks: int = 2
    heads: int = 4
    kernel_size: int = 5
    sigma_min: float = 1e-4
    condition_dropout: float = 0.1
    crop_frames: int = 128
    steps: int = 16
    guidance: float = 2.0
    guidance_until: float = 1.0
    solver: str = "euler"
    prediction: str = "velocity"
    time_sampling: str = "uniform"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "FlowConfig":
        return strict_from_dict(cls, values, "flow config")

    def __post_init__(self) -> None:
        for name in ("channels", "levels", "blocks_per_level", "heads", "kernel_size", "steps"):
            _check_int(name, getattr(self, name), minimum=1)
        _check_int("attention_blocks", self.attention_blocks, minimum=0)
        _check_int("crop_frames", self.crop_frames, minimum=0)
        for name, low, high in (("sigma_min", 0.0, 1.0), ("condition_dropout", 0.0, 1.0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value < high:
                raise ValueError(f"flow field {name!r} must be a number in [{low}, {high}), got {value!r}")
        check_guidance(self.guidance)
        until = self.guidance_until
        if isinstance(until, bool) or not isinstance(until, (int, float)) or not 0.0 < until <= 1.0:
            raise ValueError(f"flow field 'guidance_until' must be a number in (0, 1], got {until!r}")
        check_solver(self.solver)
        for name, allowed in (("prediction", PREDICTIONS), ("time_sampling", TIME_SAMPLINGS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"flow field {name!r} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        if (2 * self.channels) % self.heads:
            raise ValueError(f"flow field 'heads' ({self.heads}) must divide 2 × channels ({2 * self.channels})")



@dataclass
class CleanEstimate:
    """The flow network's estimate of the clean log-mel at a training step.

    Attributes:
        mel: ``(B, n_mels, T)`` log-mel (denormalised), differentiable in the network's weights.
        time: ``(B,)`` flow times it was estimated from (near 0 it is a blur of the condition's mean).
        conditioned: ``(B,)`` bool, False where the condition was dropped (classifier-free guidance).
    """
    mel: torch.Tensor
    time: torch.Tensor
    conditioned: torch.Tensor


torch.serialization.add_safe_globals([FlowConfig])  # it travels in Lightning checkpoints' hyper-parameters


def _check_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"flow field {name!r} must be an integer >= {minimum}, got {value!r}")


def check_steps(steps: Any) -> int:
    """ODE steps must be a positive integer (one-line error otherwise)."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    return steps


def check_guidance(guidance: Any) -> float:
    """A guidance scale is a finite number >= 0 (0: unconditional, 1: conditional, > 1: guided)."""
    if isinstance(guidance, bool) or not isinstance(guidance, (int, float)) or not 0.0 <= guidance < float("inf"):
        raise ValueError(f"guidance must be a finite number >= 0, got {guidance!r}")
    return float(guidance)


def check_solver(solver: Any) -> str:
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {', '.join(SOLVERS)}, got {solver!r}")
    return solver


class FlowMelDecoder(nn.Module):
    """Decode ``(B, condition_dim)`` → ``(B, n_mels, frames)`` log-mel by sampling a conditional flow.

    Buffers ``mel_mean`` and ``mel_std`` ``(n_mels,)`` define the normalised space; set them from the training
    data with :meth:`set_normalisation` (they are saved with the weights).
    """

    def __init__(self, condition_dim: int, n_mels: int, frames: int, config: FlowConfig = FlowConfig()):
        super().__init__()
        self.config = config
        self.n_mels = n_mels
        self.frames = frames
        self.network = FlowVelocityNetwork(n_mels, condition_dim, config.channels, config.levels,
                                           config.blocks_per_level, config.attention_blocks, config.heads,
                                           config.kernel_size)
        self.null_condition = nn.Parameter(torch.zeros(condition_dim))
        self.register_buffer("mel_mean", torch.zeros(n_mels))
        self.register_buffer("mel_std", torch.ones(n_mels))

    # ------------------------------------------------------------------ the normalised space
    @torch.no_grad()
    def set_normalisation(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Per-bin mean and std ``(n_mels,)`` of the training log-mels (std floored at 1e-3)."""
        if mean.shape != (self.n_mels,) or std.shape != (self.n_mels,):
            raise ValueError(f"mean and std must have shape ({self.n_mels},), got {tuple(mean.shape)}, "
                             f"{tuple(std.shape)}")
        self.mel_mean.copy_(mean)
        self.mel_std.copy_(std.clamp_min(1e-3))

    def normalise(self, mel: torch.Tensor) -> torch.Tensor:
        return (mel - self.mel_mean[:, None]) / self.mel_std[:, None]

    def denormalise(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.mel_std[:, None] + self.mel_mean[:, None]

    # ------------------------------------------------------------------ training
    def loss(self, mel: torch.Tensor, condition: torch.Tensor, weights: torch.Tensor | None = None,
             generator: torch.Generator | None = None, return_estimate: bool = False
             ) -> torch.Tensor | tuple[torch.Tensor, "CleanEstimate"]:
        """The CFM loss for target log-mels ``(B, n_mels, T)`` and conditions ``(B, condition_dim)``.

        ``weights`` ``(n_mels,)`` weight each bin's squared error (the paper's 1.0 → 1.5 ramp); the mean is over
        batch, bins and frames. ``return_estimate``: also return the network's one-step estimate of the clean
        log-mel (:class:`CleanEstimate`, differentiable), for losses on what the decoder is about to write.
        """
        if mel.ndim != 3 or mel.shape[1] != self.n_mels:
            raise ValueError(f"mel must be (B, {self.n_mels}, frames), got {tuple(mel.shape)}")
        batch = mel.shape[0]
        x1 = self.normalise(mel)
        x0 = torch.randn(x1.shape, generator=generator, device=x1.device, dtype=x1.dtype)
        t = self._training_times(batch, generator, x1)
        drop = torch.rand(batch, generator=generator, device=x1.device) < self.config.condition_dropout
        condition = torch.where(drop[:, None], self.null_condition.expand_as(condition), condition)
        sigma = self.config.sigma_min
        x_t = (1 - (1 - sigma) * t[:, None, None]) * x0 + t[:, None, None] * x1
        output = self.network(x_t, t, condition)
        if self.config.prediction == "data":
            remaining = (1 - (1 - sigma) * t).clamp_min(DATA_PREDICTION_FLOOR)[:, None, None]
            error = ((output - x1) / remaining) ** 2
        else:
            error = (output - (x1 - (1 - sigma) * x0)) ** 2
        if weights is not None:
            error = error * weights.to(error)[:, None]
        if not return_estimate:
            return error.mean()
        if self.config.prediction == "data":
            clean = output
        else:  # x_t + (1 − t) v = x1 + σ_min x0 on the straight path
            clean = x_t + (1 - t[:, None, None]) * output
        return error.mean(), CleanEstimate(self.denormalise(clean), t, ~drop)

    def _training_times(self, batch: int, generator: torch.Generator | None, like: torch.Tensor) -> torch.Tensor:
        """Flow times ``(batch,)`` in (0, 1): uniform, or the sigmoid of a standard normal (logit-normal)."""
        if self.config.time_sampling == "logit-normal":
            return torch.sigmoid(torch.randn(batch, generator=generator, device=like.device, dtype=like.dtype))
        return torch.rand(batch, generator=generator, device=like.device, dtype=like.dtype)

    # ------------------------------------------------------------------ sampling
    def _network_velocity(self, x: torch.Tensor, t: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        """The network's velocity at ``x`` ``(B, n_mels, T)``, ``t`` ``(B,)`` (derived from ``x̂1`` for data prediction)."""
        output = self.network(x, t, condition)
        if self.config.prediction == "velocity":
            return output
        sigma = self.config.sigma_min
        # Sampling never reaches t = 1 (the last step starts at 1 − 1/steps), so no floor is needed here: the last
        # Euler step lands exactly on x̂1.
        remaining = (1 - (1 - sigma) * t).clamp_min(1e-6)[:, None, None]
        x0 = (x - t[:, None, None] * output) / remaining
        return output - (1 - sigma) * x0

    def velocity(self, x: torch.Tensor, t: torch.Tensor, condition: torch.Tensor, guidance: float) -> torch.Tensor:
        """Guided velocity ``v_null + w (v_cond − v_null)`` at ``x`` ``(B, n_mels, T)``, time ``t`` ``(B,)`` (one time
        for the batch); from ``t >= config.guidance_until`` on, the conditional velocity alone."""
        if guidance == 1.0 or float(t[0]) >= self.config.guidance_until:
            return self._network_velocity(x, t, condition)
        null = self.null_condition.expand_as(condition)
        both = self._network_velocity(torch.cat([x, x]), torch.cat([t, t]), torch.cat([condition, null]))
        conditional, unconditional = both.chunk(2)
        return unconditional + guidance * (conditional - unconditional)

    def forward(self, condition: torch.Tensor, frames: int | None = None, noise: torch.Tensor | None = None,
                generator: torch.Generator | None = None, steps: int | None = None, guidance: float | None = None,
                solver: str | None = None, loop: bool = False,
                sections: list[tuple[int, torch.Tensor]] | None = None) -> torch.Tensor:
        """Sample log-mels ``(B, n_mels, frames)`` for conditions ``(B, condition_dim)``.

        Args:
            frames: length to generate (default: the training clips' length). Longer pieces are covered by overlapping
                windows of the training clip length, all integrated together as one piece (:mod:`.flow_windows`).
            noise: the starting point ``x0`` ``(B, n_mels, frames)``; default: drawn from ``generator``.
            generator: random source for ``x0`` (seeded sampling); ignored when ``noise`` is given.
            steps, guidance, solver: ODE steps, guidance scale and solver (defaults: the config's).
            loop: make the end lead into the start (a seamless loop).
            sections: ``[(first_frame, condition (B, condition_dim)), ...]``: a piece whose condition changes at
                those frames, blending over a quarter window at each boundary (``condition`` is then only used for its shape).
        """
        from art2music.audio_engine.decoders.flow_windows import integrate, sample_long

        steps = check_steps(self.config.steps if steps is None else steps)
        guidance = check_guidance(self.config.guidance if guidance is None else guidance)
        solver = check_solver(self.config.solver if solver is None else solver)
        frames = self.frames if frames is None else int(frames)
        if frames < 1:
            raise ValueError(f"frames must be positive, got {frames}")
        shape = (condition.shape[0], self.n_mels, frames)
        if noise is None:
            noise = torch.randn(shape, generator=generator, device=condition.device, dtype=condition.dtype)
        elif tuple(noise.shape) != shape:
            raise ValueError(f"noise must have shape {shape}, got {tuple(noise.shape)}")
        noise = noise.to(condition)
        if frames <= self.frames and not loop and not sections:
            return self.denormalise(integrate(self, noise, condition, steps, guidance, solver))
        return self.denormalise(sample_long(self, noise, condition, steps, guidance, solver, self.frames, loop,
                                            sections))
