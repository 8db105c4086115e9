"""bench/run_all.py: the RESULTS.md summary from fixture result JSONs, and running benchmarks as processes."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
import textwrap
from pathlib import Path

import pytest

FIXTURES = Path(__file__).with_name("fixtures")
RUN_ALL = Path(__file__).resolve().parents[2] / "bench" / "run_all.py"


@pytest.fixture(scope="module")
def run_all():
    spec = importlib.util.spec_from_file_location("bench_run_all", RUN_ALL)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def test_summary_has_machines_and_the_key_figures_of_each_benchmark(run_all):
    results = run_all.load_results(FIXTURES)
    assert set(results) == {"stage1_training", "builder", "vocoder", "render", "evaluation"}
    text = run_all.results_markdown(results)
    machine_row = "| builder | 2026-11-22 02:23 UTC | abc1234 | Test CPU 9000 | 2 | 23.5 | none | 3.11.7 | 2.14.1 | 2 |"
    assert machine_row in text
    assert "| demo, cached | 51.61 | 16 | 345 | 10 |" in text  # stage-1 samples/s
    assert "| clip mels, 2 worker process(es) | 44.22 | 60.8 | clips/s |" in text
    assert "| sentence embeddings, all-MiniLM-L6-v2 | 240.3 | — | sentences/s |" in text
    # vocoder real-time factors: conv1d, float32, bf16, (SNR), default (float32 when not recorded), official
    assert "| v2 | 2 | 1.79 | 2.62 | 2.63 | — | 2.62 | 35.0 | — | — |" in text
    assert "| v1 | 2 | 1.8 | 3.07 | 7.77 | 41.4 | 7.77 | 3.3 | 162.4 | 0.835 |" in text  # default: bf16 here
    # rendering images/min and x real time (the vocoder precision defaults to float32 for older results)
    assert "| demo | float32 | 8 | 16 | 182.66 | 12.159 | 3.994 |" in text
    assert "| items | 48 |" in text and "nested" not in text  # unknown benchmark: its scalar figures


def test_an_unfamiliar_layout_or_unreadable_file_is_reported_not_fatal(run_all, tmp_path):
    shutil.copy(FIXTURES / "vocoder.json", tmp_path / "vocoder.json")
    render = json.loads((FIXTURES / "render.json").read_text())
    render["results"] = {"demo": {"build_seconds": 1.0}}  # no "runs"
    render["total_seconds"] = 12.5
    (tmp_path / "render.json").write_text(json.dumps(render))
    (tmp_path / "broken.json").write_text("{not json")
    text = run_all.results_markdown(run_all.load_results(tmp_path))
    assert "the layout of render.json is not the one this summary knows: missing 'runs'" in text
    assert "| total_seconds | 12.5 |" in text
    assert "broken.json is unreadable" in text
    assert "| v2 | 2 | 1.79 |" in text


def _write_bench(directory: Path, name: str, body: str) -> None:
    (directory / f"bench_{name}.py").write_text(textwrap.dedent(body))


def test_main_runs_each_benchmark_passes_quick_and_writes_results_md(run_all, tmp_path):
    bench = tmp_path / "bench"
    (bench / "results").mkdir(parents=True)
    _write_bench(bench, "alpha", """
        import json, sys
        from pathlib import Path
        assert "--quick" in sys.argv  # this one accepts --quick
        Path(__file__).with_name("results").joinpath("alpha.json").write_text(json.dumps(
            {"benchmark": "alpha", "machine": {"date": "today"}, "speed": 42.5}))
    """)
    _write_bench(bench, "vocoder", """
        import json, sys
        from pathlib import Path
        Path(__file__).with_name("results").joinpath("argv.json").write_text(json.dumps(
            {"benchmark": "argv", "argv": " ".join(sys.argv[1:])}))
    """)
    _write_bench(bench, "broken", "raise SystemExit(3)\n")
    assert run_all.discover(bench).keys() == {"alpha", "broken", "vocoder"}
    assert run_all.main(["--quick"], bench_dir=bench) == 1  # one benchmark failed, the others ran
    text = (bench / "RESULTS.md").read_text()
    assert "| broken | FAILED (exit 3) |" in text and "| alpha | ok |" in text
    assert "| speed | 42.5 |" in text
    recorded = json.loads((bench / "results" / "argv.json").read_text())["argv"]
    assert recorded == " ".join(run_all.QUICK_FALLBACK["vocoder"])  # no --quick flag: the fallback options
    assert run_all.main(["--only", "alpha"], bench_dir=bench) == 2  # alpha asserts --quick: fails without it
    assert run_all.main(["--only", "nope"], bench_dir=bench) == 2
    assert run_all.main(["--report-only"], bench_dir=bench) == 0
