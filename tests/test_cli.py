"""The `cancelsim` command end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from click.testing import CliRunner

from sim.cli import main
from sim.metrics import NAMES


def test_run_writes_a_deterministic_results_folder(root, tmp_path):
    runner = CliRunner()
    scenario = str(root / "scenarios" / "quick.yaml")
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        result = runner.invoke(
            main, ["run", scenario, "--out", str(out), "--reps", "2", "--seed", "3"]
        )
        assert result.exit_code == 0, result.output
    assert (first / "summary.json").read_bytes() == (second / "summary.json").read_bytes()
    summary = json.loads((first / "summary.json").read_text())
    assert summary["scenario"] == "quick" and summary["seed"] == 3
    assert summary["replications"] == 2
    assert list(summary["policies"]) == ["amazon", "taobao", "jd"]
    p90 = summary["policies"]["amazon"]["metrics"]["refund_hours_p90"]
    assert p90["ci95"][0] <= p90["mean"] <= p90["ci95"][1]
    assert list(summary["policies"]["jd"]["metrics"]) == list(NAMES)
    rows = (first / "runs.csv").read_text().splitlines()
    assert len(rows) == 1 + 2 * 3 and rows[0].startswith("policy,replication,orders")
    meta = json.loads((first / "meta.json").read_text())
    assert meta["seed"] == 3 and "simpy" in meta["versions"]
    assert "refund_hours_p50" in result.output and "taobao" in result.output


def test_set_changes_a_policy_and_the_scenario(root, tmp_path):
    runner = CliRunner()
    result = runner.invoke(
        main,
        [
            "run",
            str(root / "scenarios" / "quick.yaml"),
            "--reps",
            "1",
            "--out",
            str(tmp_path / "o"),
            "--set",
            "amazon.self_cancel.window=0m",
            "--set",
            "buyers.cancel_intent=0.2",
        ],
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "o" / "summary.json").read_text())["policies"]
    assert metrics["amazon"]["metrics"]["self_cancel_share"]["mean"] == 0
    assert metrics["amazon"]["metrics"]["cancel_intent_share"]["mean"] > 0.15


def test_bad_set_is_an_input_error(root, tmp_path):
    result = CliRunner().invoke(
        main,
        [
            "run",
            str(root / "scenarios" / "quick.yaml"),
            "--out",
            str(tmp_path / "o"),
            "--set",
            "nonsense",
        ],
    )
    assert result.exit_code == 2
    assert "--set: 'nonsense' is not KEY=VALUE" in result.stderr
    assert not (tmp_path / "o").exists()


def test_validate_accepts_the_bundled_files(root):
    files = [str(p) for p in sorted((root / "policies").glob("*.yaml"))]
    files += [str(p) for p in sorted((root / "scenarios").glob("*.yaml"))]
    result = CliRunner().invoke(main, ["validate", *files])
    assert result.exit_code == 0, result.output
    assert result.output.count(": valid ") == len(files)


def test_metrics_lists_the_catalogue():
    result = CliRunner().invoke(main, ["metrics"], terminal_width=200)
    assert result.exit_code == 0
    for name in NAMES:
        assert name in result.output


def test_help_explains_every_command():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("run", "validate", "metrics"):
        assert command in result.output


def test_python_dash_m_works(root, tmp_path):
    env = {**os.environ, "COLUMNS": "120"}
    done = subprocess.run(
        [sys.executable, "-m", "sim", "validate", str(root / "policies" / "amazon.yaml")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "valid policy" in done.stdout


def test_a_bad_set_value_names_the_option(root, tmp_path):
    result = CliRunner().invoke(
        main,
        [
            "run",
            str(root / "scenarios" / "quick.yaml"),
            "--out",
            str(tmp_path / "o"),
            "--set",
            "buyers.cancel_intent=2",
            "--set",
            "amazon.cancel_request.seller_decides=no",
        ],
    )
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0].startswith("--set: buyers.cancel_intent: 2 is out of range")
    assert lines[1].startswith("--set: cancel_request.seller_decides: 'no' is text here")
    assert "amazon.yaml" in lines[1] and len(lines) == 2
    assert not (tmp_path / "o").exists()


def test_readme_error_example_is_real(root, monkeypatch):
    monkeypatch.chdir(root)
    fixture = "tests/fixtures/bad/scenario_multiple_problems.yaml"
    result = CliRunner().invoke(main, ["validate", fixture])
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert result.exit_code == 2
    for line in result.stderr.splitlines():
        assert line in readme


def test_trace_streams_one_row_per_order(root, tmp_path, monkeypatch):
    import csv

    import sim.engine.trace as trace

    monkeypatch.setattr(trace, "CHUNK", 500)  # several chunks for a small run
    out = tmp_path / "o"
    result = CliRunner().invoke(
        main,
        [
            "run",
            str(root / "scenarios" / "quick.yaml"),
            "--reps",
            "1",
            "--out",
            str(out),
            "--trace",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    for key in ("amazon", "taobao", "jd"):
        rows = list(csv.DictReader((out / "trace" / f"{key}-r0.csv").open()))
        measured = [r for r in rows if r["measured"] == "True"]
        assert len(measured) == summary["policies"][key]["metrics"]["orders"]["mean"]
        assert len({r["order"] for r in rows}) == len(rows)  # one row per order
        for r in rows:
            if r["refunded_h"]:
                assert float(r["refunded_h"]) >= float(r["closed_h"]) - 1e-6
    assert not list((out / "trace").glob(".*partial"))


def test_a_parquet_trace_when_pyarrow_is_installed(root, tmp_path, monkeypatch):
    pytest = __import__("pytest")
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    import sim.engine.trace as trace

    monkeypatch.setattr(trace, "CHUNK", 300)  # chunks, some with a column of nulls only
    out = tmp_path / "o"
    result = CliRunner().invoke(
        main,
        [
            "run",
            str(root / "scenarios" / "quick.yaml"),
            "--reps",
            "1",
            "--out",
            str(out),
            "--no-report",
            "--trace",
            "--trace-format",
            "parquet",
            "--set",
            "horizon=3d",
            "--set",
            "warmup=1d",
        ],
    )
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out / "trace" / "amazon-r0.parquet")
    assert len(frame) > 1000 and frame["order"].is_unique
