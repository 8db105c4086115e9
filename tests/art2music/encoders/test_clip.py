"""The OpenCLIP encoder: the tiny architecture, local weights, frozen by default, and the offline error."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from PIL import Image

from art2music.encoders.clip import TINY_ARCH, ClipEncoder, EncoderWeightsNotFound


@pytest.fixture(scope="module")
def tiny_encoder():
    torch.manual_seed(0)
    return ClipEncoder(TINY_ARCH, None)


def test_tiny_encoder_embeds_images_and_comments(tiny_encoder):
    images = [Image.new("RGB", (120, 80), (200, 30, 30)), Image.new("L", (50, 60), 128)]
    text_embedding, image_embedding = tiny_encoder.embed(images, ["a stormy sea makes me afraid", ""])
    assert image_embedding.shape == text_embedding.shape == (2, 64)
    assert torch.allclose(image_embedding.norm(dim=-1), torch.ones(2), atol=1e-5)
    assert not torch.allclose(image_embedding[0], image_embedding[1])
    assert tiny_encoder.spec() == {"arch": TINY_ARCH, "pretrained": None, "normalize": True, "embed_dim": 64}


def test_frozen_by_default(tiny_encoder):
    assert not any(p.requires_grad for p in tiny_encoder.parameters())
    tiny_encoder.train()
    assert not tiny_encoder.clip.training  # stays in eval mode inside a training parent


def test_bf16_weights_are_converted_once_and_the_float32_ones_kept():
    torch.manual_seed(0)
    encoder = ClipEncoder(TINY_ARCH, None)
    images = [Image.new("RGB", (120, 80), (200, 30, 30)), Image.new("RGB", (90, 90), (20, 90, 160))]
    comments = ["a stormy sea makes me afraid", "quiet morning light"]
    exact = encoder.embed(images, comments)
    original = {name: tensor.clone() for name, tensor in encoder.clip.state_dict().items()}
    assert encoder.set_inference_dtype(torch.bfloat16) is encoder
    assert encoder.inference_dtype == torch.bfloat16
    assert all(p.dtype == torch.bfloat16 for p in encoder.clip.parameters())
    fast = encoder.embed(images, comments)
    for exact_part, fast_part in zip(exact, fast):
        assert fast_part.dtype == torch.float32 and not torch.equal(exact_part, fast_part)
        assert float(torch.nn.functional.cosine_similarity(exact_part, fast_part).min()) > 0.99
    saved = encoder.float32_state_dict()  # what an export stores: the float32 originals, exactly
    assert saved.keys() == original.keys() and all(torch.equal(saved[k], original[k]) for k in original)
    encoder.set_inference_dtype(torch.float32)
    assert all(p.dtype == torch.float32 for p in encoder.clip.parameters())
    assert all(torch.equal(a, b) for a, b in zip(encoder.embed(images, comments), exact))
    with pytest.raises(ValueError, match="float32 or bfloat16"):
        encoder.set_inference_dtype(torch.float16)
    with pytest.raises(RuntimeError, match="trainable"):
        ClipEncoder(TINY_ARCH, None, trainable=True).set_inference_dtype(torch.bfloat16)


def test_local_weights_file_is_loaded_exactly(tmp_path, tiny_encoder):
    from safetensors.torch import save_file

    weights = tmp_path / "open_clip_model.safetensors"
    save_file({k: v.contiguous() for k, v in tiny_encoder.clip.state_dict().items()}, str(weights))
    loaded = ClipEncoder(TINY_ARCH, str(weights))
    tokens = loaded.tokenize(["calm blue water"])
    assert torch.equal(loaded.encode_texts(tokens), tiny_encoder.encode_texts(tokens))
    assert loaded.spec()["pretrained"] == "open_clip_model.safetensors"


def test_bad_names_and_paths_are_explained(tmp_path):
    with pytest.raises(ValueError, match="unknown OpenCLIP architecture 'ViT-Q-99'"):
        ClipEncoder("ViT-Q-99", None)
    with pytest.raises(EncoderWeightsNotFound, match="does not exist"):
        ClipEncoder(TINY_ARCH, str(tmp_path / "missing.safetensors"))
    with pytest.raises(ValueError, match="known tags: .*laion2b_s34b_b79k"):
        ClipEncoder("ViT-B-32", "no_such_tag")


def test_missing_pretrained_weights_fail_fast_with_instructions(tmp_path):
    """The paper's encoder with no network and an empty cache: a clear error within 10 seconds.

    Timed from the call (after the imports, whose duration depends on the machine's load), in a fresh
    process with an empty Hugging Face cache.
    """
    code = ("import sys, time\n"
            "import open_clip\n"
            "from art2music.encoders.clip import ClipEncoder\n"
            "start = time.monotonic()\n"
            "try:\n"
            "    ClipEncoder('ViT-H-14', 'laion2b_s32b_b79k')\n"
            "finally:\n"
            "    print(f'ELAPSED {time.monotonic() - start:.3f}', file=sys.stderr)\n")
    env = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode != 0
    message = result.stderr
    assert "EncoderWeightsNotFound" in message
    assert "open_clip_pytorch_model.bin" in message  # which file
    assert "laion/CLIP-ViT-H-14-laion2B-s32B-b79K" in message  # from where
    assert str(tmp_path / "hf" / "hub") in message  # where to put it
    elapsed = float(message.rsplit("ELAPSED ", 1)[1].split()[0])
    assert elapsed < 10, f"took {elapsed:.1f} s"
