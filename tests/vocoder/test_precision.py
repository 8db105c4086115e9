"""The precision probe: bf16 where the processor runs it natively, a cached measurement where it is unsure."""

from __future__ import annotations

import json

import pytest
import torch

from vocoder import precision
from vocoder.precision import Bf16Support, bf16_support, measured_bf16_speedup, resolve_precision


@pytest.fixture
def cpu(monkeypatch):
    """Mock the CPU: ``cpu(flags=..., amx=..., torch_bf16=..., machine=...)``."""
    def configure(flags=(), amx=False, torch_bf16=False, machine="x86_64"):
        monkeypatch.setattr(precision, "cpu_flags", lambda: set(flags))
        monkeypatch.setattr(precision, "has_amx", lambda: amx)
        monkeypatch.setattr(precision, "_torch_says_avx512_bf16", lambda: torch_bf16)
        monkeypatch.setattr(precision.platform, "machine", lambda: machine)
    return configure


@pytest.mark.parametrize("setup, native, reason", [
    (dict(flags={"avx2", "avx512f", "amx_tile", "amx_bf16", "avx512_bf16"}, amx=True), True, "AMX"),
    (dict(flags={"avx2", "avx512f", "avx512_bf16"}), True, "AVX512-BF16"),     # AMD Zen 4/5, Cooper Lake
    (dict(flags={"avx2"}, torch_bf16=True), True, "AVX512-BF16"),              # torch's own probe says so
    (dict(flags={"avx2", "avx10_1"}), True, "AVX10"),
    (dict(flags={"avx2", "avx512f"}), False, "without bf16"),                  # Skylake, Zen 3
    (dict(flags={"fp", "asimd", "bf16"}, machine="aarch64"), None, "advertising bf16"),
    (dict(flags=set(), machine="x86_64"), None, "unreadable flags"),
])
def test_the_probe_decides_by_capability(cpu, setup, native, reason):
    cpu(**setup)
    support = bf16_support("cpu")
    assert support.native is native and reason in support.reason


def test_auto_picks_bf16_only_where_it_is_native(cpu, monkeypatch):
    monkeypatch.setattr(precision, "measured_bf16_speedup", lambda refresh=False: pytest.fail("must not measure"))
    cpu(flags={"avx512_bf16"})
    assert resolve_precision("auto", "cpu") == torch.bfloat16
    cpu(flags={"avx2", "avx512f"})
    assert resolve_precision("auto", "cpu") == torch.float32
    assert resolve_precision("float32", "cpu") == torch.float32  # an explicit choice is never second-guessed


@pytest.mark.parametrize("speedup, expected", [(2.5, torch.bfloat16), (1.05, torch.float32), (0.4, torch.float32)])
def test_an_unsure_probe_is_settled_by_the_measurement(cpu, monkeypatch, speedup, expected):
    cpu(flags={"bf16"}, machine="aarch64")
    monkeypatch.setattr(precision, "measured_bf16_speedup", lambda refresh=False: speedup)
    assert resolve_precision("auto", "cpu") == expected


def test_the_measurement_runs_once_per_machine_and_is_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("ART2MUSIC_CACHE_DIR", str(tmp_path))
    calls = []

    def fake_time(dtype, repeats=3):
        calls.append(dtype)
        return 0.2 if dtype == torch.float32 else 0.1

    monkeypatch.setattr(precision, "_time_convolution", fake_time)
    assert measured_bf16_speedup() == pytest.approx(2.0)
    assert measured_bf16_speedup() == pytest.approx(2.0) and len(calls) == 2  # the second call read the cache
    cached = json.loads((tmp_path / "precision.json").read_text())
    assert list(cached.values()) == [2.0] and "torch" in next(iter(cached))
    assert measured_bf16_speedup(refresh=True) == pytest.approx(2.0) and len(calls) == 4


def test_a_corrupt_cache_is_measured_again(tmp_path, monkeypatch):
    monkeypatch.setenv("ART2MUSIC_CACHE_DIR", str(tmp_path))
    (tmp_path / "precision.json").write_text("[not json")
    monkeypatch.setattr(precision, "_time_convolution", lambda dtype, repeats=3: 1.0)
    assert measured_bf16_speedup() == pytest.approx(1.0)
    assert json.loads((tmp_path / "precision.json").read_text())


def test_cuda_follows_the_device(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: True)
    assert bf16_support("cuda") == Bf16Support(True, "CUDA bf16")
    assert resolve_precision("auto", "cuda") == torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: False)
    assert resolve_precision("auto", "cuda") == torch.float32


@pytest.mark.parametrize("setup, recurrent", [
    (dict(flags={"avx2", "avx512f", "amx_tile", "amx_bf16", "avx512_bf16"}, amx=True), True),  # measured 2.5x
    (dict(flags={"avx2", "avx512f", "avx512_bf16"}), False),  # Zen 4: oneDNN's bf16 LSTM measured slower
    (dict(flags={"avx2", "avx512f"}), False),
])
def test_recurrent_layers_follow_bf16_only_where_it_measured_faster(cpu, setup, recurrent):
    cpu(**setup)
    assert precision.bf16_recurrent_pays("cpu") is recurrent
    assert precision.bf16_recurrent_pays("meta") is False


def test_recurrent_layers_on_cuda_follow_its_bf16_support(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: True)
    assert precision.bf16_recurrent_pays("cuda") is True
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: False)
    assert precision.bf16_recurrent_pays("cuda") is False


def test_the_real_micro_benchmark_measures_both_dtypes():
    assert precision._time_convolution(torch.float32, repeats=1) > 0
    assert precision._time_convolution(torch.bfloat16, repeats=1) > 0
