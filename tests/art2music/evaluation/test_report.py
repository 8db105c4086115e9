"""metrics.md from a fixture metrics document: the table's columns and cells, the findings' verdicts."""

from __future__ import annotations

import copy
import json

from art2music.evaluation.report import findings, markdown_table, write_report
from art2music.evaluation.systems import DESCRIPTIONS, SYSTEMS


def system_entry(name: str, lsd: float, mel: float | None, accuracy: float) -> dict:
    return {"description": DESCRIPTIONS[name], "mcd": 10.0 + lsd, "mcd_dtw": 9.0 + lsd, "lsd": lsd, "mel_l1": mel,
            "fad": {"mel-stats": {"value": 2 * lsd, "n_reference": 96, "n_generated": 96, "dim": 160},
                    "vggish": {"value": 3 * lsd, "n_reference": 96, "n_generated": 96, "dim": 128}},
            "cosine": {"mel-stats": 0.9, "vggish": 0.8}, "emotion_accuracy": accuracy, "unclassifiable_clips": 0}


METRICS = {
    "model": "demo", "split": "test", "manifest": "m.csv", "embeddings_source": "feature cache", "date": "today",
    "items": {"scored": 48, "failed": 0}, "failures": [],
    "embeddings": [{"name": "mel-stats", "label": "mel-stats, not VGGish", "dim": 160},
                   {"name": "vggish", "label": "VGGish", "dim": 128}],
    "emotion_probe": {"classes": ["a", "b", "c", "d"], "chance": 0.25, "seconds": 4.0},
    "definitions": {"mcd": "mel-cepstral distortion"},
    "systems": {"reference": system_entry("reference", 0.0, 0.001, 0.9),
                "model": system_entry("model", 5.0, 0.8, 0.6),
                "model-griffin-lim": system_entry("model-griffin-lim", 7.0, 0.8, 0.5),
                "mean-mel": system_entry("mean-mel", 6.0, 1.1, 0.25),
                "nearest-neighbour": system_entry("nearest-neighbour", 9.0, 1.5, 0.7),
                "copy-vocoder": system_entry("copy-vocoder", 3.0, None, 0.85),
                "copy-griffin-lim": system_entry("copy-griffin-lim", 4.0, None, 0.8)},
}


def test_table_has_a_row_per_system_and_labelled_embedding_columns():
    table = markdown_table(METRICS).splitlines()
    assert len(table) == 2 + len(SYSTEMS)
    header = table[0]
    assert "FAD (mel-stats, not VGGish) ↓" in header and "FAD (VGGish) ↓" in header
    assert "cosine (VGGish) ↑" in header and "emotion acc. ↑" in header
    model_row = table[3]
    assert model_row == ("| model (stage 1 → model vocoder) | 15.00 | 14.00 | 5.00 | 0.800 | 10.00 | 0.900 | 15.00 "
                         "| 0.800 | 0.600 |")
    assert "| — |" in table[-1]  # copy-synthesis has no mel L1


def test_findings_state_the_verdicts_both_ways():
    lines = findings(METRICS)
    assert "vocoder beats Griffin-Lim in log-spectral distance (3.00 dB vs 4.00 dB)" in lines[0]
    assert "mel L1 is below the mean-mel baseline's (0.800 vs 1.100)" in lines[1]
    assert lines[2] == ("Best of model and baselines (model, model-griffin-lim, mean-mel, nearest-neighbour) per "
                        "metric: MCD model; LSD model; mel L1 model; FAD (mel-stats, not VGGish) model; "
                        "FAD (VGGish) model; emotion accuracy nearest-neighbour.")
    assert "chance 0.250 = 1/4" in lines[3] and "model 0.600" in lines[3]
    worse = copy.deepcopy(METRICS)
    worse["systems"]["copy-vocoder"]["lsd"] = 4.5
    worse["systems"]["model"]["mel_l1"] = 1.2
    lines = findings(worse)
    assert "does NOT beat" in lines[0] and "NOT below" in lines[1]


def test_write_report_writes_json_and_markdown(tmp_path):
    write_report(tmp_path, METRICS)
    assert json.loads((tmp_path / "metrics.json").read_text()) == METRICS
    text = (tmp_path / "metrics.md").read_text()
    assert text.startswith("# Evaluation of `demo` on the test split")
    assert "96 reference vs 96 generated windows of 160 dimensions" in text
    assert not list(tmp_path.glob(".*tmp*"))  # no temporary files left behind
