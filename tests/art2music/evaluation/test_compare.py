"""Joining evaluate runs of two decoders into one table."""

from __future__ import annotations

import json

from art2music.evaluation.compare import main


def _run(folder, model: str, model_lsd: float, copy_lsd: float = 17.0, split: str = "test"):
    entry = lambda description, lsd: {"description": description, "mcd": 1.0, "mcd_dtw": None, "lsd": lsd,  # noqa: E731
                                      "mel_l1": 1.0, "fad": {}, "cosine": {}, "emotion_accuracy": 0.5,
                                      "temporal_variation": 0.5, "ratio_to_reference": {"temporal_variation": 0.5}}
    folder.mkdir()
    metrics = {"model": model, "manifest": "m.csv", "split": split, "embeddings": [],
               "systems": {"reference": entry("true clip", 0.0), "model": entry("stage 1 → vocoder", model_lsd),
                           "model-griffin-lim": entry("stage 1 → GL", 30.0), "copy-vocoder": entry("copy", copy_lsd)}}
    (folder / "metrics.json").write_text(json.dumps(metrics))
    return folder


def test_both_decoders_get_rows_and_baselines_appear_once(tmp_path, capsys):
    flow, bilstm = _run(tmp_path / "flow", "flow-dir", 21.5), _run(tmp_path / "bilstm", "demo", 34.7)
    assert main([f"flow={flow}", f"bilstm={bilstm}", "--out", str(tmp_path / "out")]) == 0
    joined = json.loads((tmp_path / "out" / "comparison.json").read_text())
    assert list(joined["systems"]) == ["flow", "flow-griffin-lim", "bilstm", "bilstm-griffin-lim", "reference",
                                       "copy-vocoder"]
    assert joined["systems"]["flow"]["lsd"] == 21.5 and joined["systems"]["bilstm"]["lsd"] == 34.7
    table = (tmp_path / "out" / "comparison.md").read_text()
    assert "| flow (flow: stage 1 → vocoder)" in table and "21.50" in table and "34.70" in table


def test_runs_with_other_vocoders_or_splits_are_refused(tmp_path, capsys):
    a = _run(tmp_path / "a", "x", 20.0)
    b = _run(tmp_path / "b", "y", 20.0, copy_lsd=25.0)
    c = _run(tmp_path / "c", "z", 20.0, split="val")
    assert main([f"a={a}", f"b={b}", "--out", str(tmp_path / "o1")]) == 2
    assert "different vocoders" in capsys.readouterr().err
    assert main([f"a={a}", f"c={c}", "--out", str(tmp_path / "o2")]) == 2
    assert "differ in split" in capsys.readouterr().err
    assert main(["nolabel", "--out", str(tmp_path / "o3")]) == 2
    assert main([f"a={tmp_path / 'missing'}", "--out", str(tmp_path / "o4")]) == 2
    assert not (tmp_path / "o1").exists()
