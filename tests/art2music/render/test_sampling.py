"""Sampling as a user control: seeds, steps, guidance and length through the API, the render runner and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from art2music.io.hashing import file_sha256
from art2music.pipeline import item_seed
from art2music.render.cli import main as render_main
from art2music.render.inputs import read_collection
from art2music.render.results import read_results
from art2music.render.runner import RenderSettings, render_collection

from tests.art2music.render.conftest import FRAMES, HOP


@pytest.fixture
def paintings(tmp_path):
    folder = tmp_path / "paintings"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a", "b", "c"):
        Image.fromarray(rng.integers(0, 255, (40, 56, 3), dtype=np.uint8)).save(folder / f"{name}.png")
    return folder


def test_same_seed_same_audio_other_seeds_other_pieces(tiny_flow_pipe, paintings):
    image = paintings / "a.png"
    first, again = tiny_flow_pipe(image, "calm", seed=7), tiny_flow_pipe(image, "calm", seed=7)
    other = tiny_flow_pipe(image, "calm", seed=8)
    np.testing.assert_allclose(first, again, atol=1e-5)
    assert np.abs(first - other).mean() > 10 * np.abs(first - again).mean() + 1e-4
    # The default seed is derived from the image file and the comment, so a rerun gives the same piece.
    default = tiny_flow_pipe(image, "calm")
    np.testing.assert_allclose(default, tiny_flow_pipe(image, "calm", seed=item_seed(file_sha256(image), "calm")),
                               atol=1e-5)
    assert np.abs(default - tiny_flow_pipe(image, "sad")).mean() > 1e-4


def test_an_items_piece_does_not_depend_on_its_batch(tiny_flow_pipe, paintings):
    images = [paintings / "a.png", paintings / "b.png"]
    batch = tiny_flow_pipe(images, ["x", "y"], seed=[3, 4])
    np.testing.assert_allclose(batch[1], tiny_flow_pipe(images[1], "y", seed=4), atol=1e-4)


def test_steps_guidance_and_seconds(tiny_flow_pipe, paintings):
    image = paintings / "a.png"
    base = tiny_flow_pipe(image, seed=1)
    assert base.shape == (FRAMES * HOP,)
    assert np.abs(base - tiny_flow_pipe(image, seed=1, steps=4)).mean() > 1e-5
    assert np.abs(base - tiny_flow_pipe(image, seed=1, guidance=1.0)).mean() > 1e-5
    longer = tiny_flow_pipe(image, seed=1, seconds=1.0)
    assert longer.shape == (tiny_flow_pipe.mel_config.seconds_to_frames(1.0) * HOP,)
    with pytest.raises(ValueError, match="steps"):
        tiny_flow_pipe(image, steps=0)
    with pytest.raises(ValueError, match="seconds"):
        tiny_flow_pipe(image, seconds=-1)


def test_the_bilstm_refuses_sampling_options_naming_its_decoder(tiny_pipe, paintings):
    image = paintings / "a.png"
    for options in ({"seed": 1}, {"steps": 4}, {"guidance": 2.0}):
        with pytest.raises(ValueError, match=f"{next(iter(options))}.*'bilstm'"):
            tiny_pipe(image, **options)
    assert tiny_pipe(image, seconds=0.1).shape == (tiny_pipe.mel_config.seconds_to_frames(0.1) * HOP,)
    with pytest.raises(ValueError, match="at most"):
        tiny_pipe(image, seconds=60)


def test_render_records_seeds_and_rerenders_when_settings_change(tiny_flow_pipe, paintings, tmp_path):
    collection = read_collection(paintings)
    out = tmp_path / "out"
    render_collection(tiny_flow_pipe, collection, out, RenderSettings(progress=False, batch_size=2))
    results = {r.id: r for r in read_results(out)}
    assert all(r.status == "ok" for r in results.values())
    expected = item_seed(file_sha256(paintings / "a.png"), results["a"].comment)
    assert results["a"].seed == expected and results["a"].sampling == "steps=2 guidance=2.0 solver=euler"
    assert "seed " + str(expected) in (out / "index.html").read_text()
    # The rendered piece is the API's piece for that seed.
    import soundfile

    audio, _ = soundfile.read(out / results["a"].wav, dtype="float32")
    np.testing.assert_allclose(audio, tiny_flow_pipe(paintings / "a.png", results["a"].comment, seed=expected),
                               atol=2e-4)
    render_collection(tiny_flow_pipe, collection, out, RenderSettings(progress=False))
    assert {r.status for r in read_results(out)} == {"skipped"}
    render_collection(tiny_flow_pipe, collection, out, RenderSettings(progress=False, steps=3, seed=11))
    rerendered = read_results(out)
    assert {r.status for r in rerendered} == {"ok"} and {r.seed for r in rerendered} == {11}
    assert rerendered[0].sampling == "steps=3 guidance=2.0 solver=euler"


def test_render_cli_sampling_options(tiny_flow_model_dir, tiny_model_dir, paintings, tmp_path, capsys):
    out = tmp_path / "out"
    code = render_main([str(paintings), "--out", str(out), "--model", str(tiny_flow_model_dir), "--seed", "5",
                        "--steps", "1", "--guidance", "1.5", "--seconds", "0.5", "--no-progress",
                        "--vocoder-precision", "float32"])
    assert code == 0
    items = json.loads((out / "results.json").read_text())["items"]
    assert {item["seed"] for item in items} == {5} and items[0]["sampling"] == "steps=1 guidance=1.5 solver=euler"
    assert {item["seconds"] for item in items} == {round(43 * HOP / 22050, 4)}  # 0.5 s = 43 frames
    capsys.readouterr()
    code = render_main([str(paintings), "--out", str(tmp_path / "bilstm"), "--model", str(tiny_model_dir),
                        "--seed", "5", "--no-progress"])
    assert code == 2
    error = capsys.readouterr().err
    assert "seed only apply" in error and "'bilstm'" in error and len(error.strip().splitlines()) == 1


def test_a_flow_stage1_follows_the_pipeline_precision(tiny_flow_model_dir, paintings):
    import torch

    from art2music.pipeline import Art2Music

    exact = Art2Music.from_pretrained(tiny_flow_model_dir, precision="float32")
    fast = Art2Music.from_pretrained(tiny_flow_model_dir, precision="bfloat16", vocoder_precision="float32")
    assert fast.precisions == {"encoder": "bfloat16", "stage1": "bfloat16", "vocoder": "float32"}
    assert exact.precisions["stage1"] == "float32"
    text, image = exact.embed([paintings / "a.png"], ["calm"])
    mel32 = exact.embeddings_to_mel(text, image, seeds=[5])
    mel16 = fast.embeddings_to_mel(text, image, seeds=[5])
    assert mel16.dtype == torch.float32 and not torch.equal(mel16, mel32)  # it really ran in bf16
    assert (mel16 - mel32).abs().mean() < 0.02 * mel32.abs().mean()


def test_loops_through_the_api_and_the_cli(tiny_flow_pipe, tiny_flow_model_dir, tiny_model_dir, tiny_pipe, paintings,
                                           tmp_path, capsys):
    image = paintings / "a.png"
    plain = tiny_flow_pipe(image, "calm", seed=3, seconds=2.0)
    loop = tiny_flow_pipe(image, "calm", seed=3, seconds=2.0, loop=True)
    assert loop.shape == plain.shape and not np.allclose(loop, plain)
    # Vocoded as a cycle: the end runs into the start, so the jump across the wrap is an ordinary step.
    steps = np.abs(np.diff(loop))
    assert abs(loop[0] - loop[-1]) <= np.percentile(steps, 99.9) + 1e-6
    with pytest.raises(ValueError, match="loop only applies to a generative stage 1"):
        tiny_pipe(image, "calm", loop=True)
    out = tmp_path / "loops"
    assert render_main([str(paintings), "--out", str(out), "--model", str(tiny_flow_model_dir), "--loop",
                        "--seconds", "1.5", "--no-progress"]) == 0
    first = read_results(out)
    assert all(r.status == "ok" for r in first)
    # --loop is part of each item's fingerprint: without it the items are rendered again.
    assert render_main([str(paintings), "--out", str(out), "--model", str(tiny_flow_model_dir), "--seconds", "1.5",
                        "--no-progress"]) == 0
    assert all(r.status == "ok" for r in read_results(out))
    assert render_main([str(paintings), "--out", str(tmp_path / "bilstm"), "--model", str(tiny_model_dir), "--loop",
                        "--no-progress"]) == 2
    assert "--loop needs a generative stage 1" in capsys.readouterr().err
