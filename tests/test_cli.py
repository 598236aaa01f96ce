"""The `cancelsim` command end to end."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import click
import numpy as np
import pytest
from click.testing import CliRunner

from sim.cli import main
from sim.metrics import NAMES


@pytest.mark.slow
def test_run_writes_a_deterministic_results_folder(root, tmp_path):
    runner = CliRunner()
    scenario = str(root / "sim" / "builtin" / "scenarios" / "quick.yaml")
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        result = runner.invoke(
            main, ["run", "--jobs", "1", scenario, "--out", str(out), "--reps", "2", "--seed", "3"]
        )
        assert result.exit_code == 0, result.output
    assert (first / "summary.json").read_bytes() == (second / "summary.json").read_bytes()
    summary = json.loads((first / "summary.json").read_text())
    assert summary["scenario"] == "quick" and summary["seed"] == 3
    assert summary["replications"] == 2
    assert list(summary["policies"]) == ["amazon", "taobao", "jd"]
    p90 = summary["policies"]["amazon"]["metrics"]["money_back_hours_p90"]
    assert p90["ci95"][0] <= p90["mean"] <= p90["ci95"][1]
    assert list(summary["policies"]["jd"]["metrics"]) == list(NAMES)
    rows = (first / "runs.csv").read_text().splitlines()
    assert len(rows) == 1 + 2 * 3 and rows[0].startswith("policy,replication,orders")
    meta = json.loads((first / "meta.json").read_text())
    assert meta["seed"] == 3 and "simpy" in meta["versions"]
    assert "money_back_hours_p50" in result.output and "taobao" in result.output


@pytest.mark.slow
def test_set_changes_a_policy_and_the_scenario(root, tmp_path):
    runner = CliRunner()
    result = runner.invoke(
        main,
        [
            "run",
            "--jobs",
            "1",
            str(root / "sim" / "builtin" / "scenarios" / "quick.yaml"),
            "--reps",
            "1",
            "--out",
            str(tmp_path / "o"),
            "--set",
            "amazon.self_cancel.window=0m",
            "--set",  # and FBA buyers may not cancel alone either
            "amazon.platform_fulfilment.self_cancel_until=null",
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
            "--jobs",
            "1",
            str(root / "sim" / "builtin" / "scenarios" / "quick.yaml"),
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
    files = [str(p) for p in sorted((root / "sim" / "builtin" / "policies").glob("*.yaml"))]
    files += [str(p) for p in sorted((root / "sim" / "builtin" / "scenarios").glob("*.yaml"))]
    result = CliRunner().invoke(main, ["validate", *files])
    assert result.exit_code == 0, result.output
    assert result.output.count(": valid ") == len(files)


def test_metrics_lists_the_catalogue():
    result = CliRunner().invoke(main, ["metrics"], terminal_width=200)
    assert result.exit_code == 0
    for name in NAMES:
        assert name in result.output


def test_help_explains_every_command():
    """`cancelsim --help` lists every command with its summary, and each command's own
    --help shows its usage and every option it takes, with a description."""
    result = CliRunner().invoke(main, ["--help"], terminal_width=200)
    assert result.exit_code == 0
    listed = {line.split()[0]: line for line in result.output.splitlines() if line[:2] == "  "}
    assert {"run", "validate", "metrics", "report", "test", "diff", "schema"} <= set(main.commands)
    for name, command in main.commands.items():
        summary = command.get_short_help_str(limit=200)
        assert summary, f"{name} has no summary"
        assert name in listed and summary[:30] in listed[name], name
        own = CliRunner().invoke(main, [name, "--help"], terminal_width=200)
        assert own.exit_code == 0, name
        assert own.output.startswith(f"Usage: main {name}") or f"Usage: cancelsim {name}" in (
            own.output
        ), own.output[:80]
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden:
                assert param.opts[-1] in own.output, (name, param.opts)
                assert param.help, (name, param.opts, "has no help text")


@pytest.mark.external
def test_python_dash_m_works(root, tmp_path):
    env = {**os.environ, "COLUMNS": "120"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sim",
            "validate",
            str(root / "sim" / "builtin" / "policies" / "amazon.yaml"),
        ],
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
            "--jobs",
            "1",
            str(root / "sim" / "builtin" / "scenarios" / "quick.yaml"),
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


@pytest.mark.slow
def test_trace_streams_one_row_per_order(root, tmp_path, monkeypatch):
    import csv

    import sim.engine.trace as trace

    monkeypatch.setattr(trace, "CHUNK", 500)  # several chunks for a small run
    out = tmp_path / "o"
    result = CliRunner().invoke(
        main,
        [
            "run",
            "--jobs",
            "1",
            str(root / "sim" / "builtin" / "scenarios" / "quick.yaml"),
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
            if r["money_back_h"]:
                assert float(r["money_back_h"]) >= float(r["closed_h"]) - 1e-6
    assert not list((out / "trace").glob(".*partial"))


def test_a_parquet_trace_holds_the_same_rows_as_the_csv_trace(root, tmp_path, monkeypatch):
    """pyarrow comes with the dev extra: this test runs everywhere the suite does."""
    import pandas as pd
    import pyarrow  # noqa: F401 - a missing dev dependency must fail, not skip

    import sim.engine.trace as trace

    monkeypatch.setattr(trace, "CHUNK", 300)  # chunks, some with a column of nulls only
    frames = {}
    for fmt in ("csv", "parquet"):
        out = tmp_path / fmt
        result = CliRunner().invoke(
            main,
            [
                "run",
                "--jobs",
                "1",
                str(root / "sim" / "builtin" / "scenarios" / "quick.yaml"),
                "--reps",
                "1",
                "--out",
                str(out),
                "--no-report",
                "--trace",
                "--trace-format",
                fmt,
                "--set",
                "horizon=3d",
                "--set",
                "warmup=1d",
            ],
        )
        assert result.exit_code == 0, result.output
        path = out / "trace" / f"amazon-r0.{fmt}"
        frames[fmt] = pd.read_parquet(path) if fmt == "parquet" else pd.read_csv(path)
        summary = json.loads((out / "summary.json").read_text())
    parquet, text = frames["parquet"], frames["csv"]
    assert len(parquet) > 1000 and parquet["order"].is_unique
    assert list(parquet.columns) == list(text.columns)
    assert (
        int(parquet["measured"].sum()) == summary["policies"]["amazon"]["metrics"]["orders"]["mean"]
    )
    for column in parquet.columns:
        a, b = parquet[column], text[column]
        if a.dtype.kind == "f" or b.dtype.kind == "f":
            assert np.allclose(a.astype(float), b.astype(float), equal_nan=True), column
        else:
            assert a.astype(str).tolist() == b.astype(str).tolist(), column


def test_run_gives_back_the_callers_sigterm_handler(root, tmp_path):
    """In-process (a notebook, a test runner) the command must not leave its handler:
    a pool worker forked later would inherit it and survive being stopped."""
    import signal

    def mine(*args):
        return None

    previous = signal.signal(signal.SIGTERM, mine)
    try:
        result = CliRunner().invoke(
            main,
            [
                "run",
                "--jobs",
                "1",
                str(root / "sim" / "builtin" / "scenarios" / "quick.yaml"),
                "--out",
                str(tmp_path / "o"),
                "--reps",
                "1",
                "--no-report",
                "--set",
                "horizon=2d",
                "--set",
                "warmup=1d",
            ],
        )
        assert result.exit_code == 0, result.output
        assert signal.getsignal(signal.SIGTERM) is mine
    finally:
        signal.signal(signal.SIGTERM, previous)


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        ({"mean": 0.0181, "ci95": [0.0173, 0.0189]}, "share", "1.81 ± 0.08"),
        ({"mean": 0.0083, "ci95": [0.0, 0.0188]}, "share", "0.83 [0.00, 1.88]"),
        (
            {"mean": 0.2259, "ci95": [0.0, 0.4858], "flat": [0.16, 0.64]},
            "h",
            "0.2259 [0, 0.4858] ~",
        ),
        ({"mean": 13.49, "ci95": [10.89, 16.09], "flat": [7.1, 23.2]}, "h", "13.49 ± 2.6 ~"),
        ({"mean": 10067.0, "ci95": [0.0, 52950.0]}, "h", "10,067 [0, 52950]"),
        ({"mean": 0.5, "ci95": None}, "share", "50.00"),
        ({"mean": None, "ci95": None}, "h", "n/a"),
    ],
)
def test_a_cell_shows_a_cut_interval_by_its_ends_and_marks_a_flat_quantile(value, unit, shown):
    from sim.cli import format_cell

    assert format_cell(value, unit) == shown


def run_quick(root, tmp_path, *args: str):
    """`cancelsim run sim/builtin/scenarios/quick.yaml --jobs 1 --out TMP/o ARGS...`."""
    scenario = str(root / "sim" / "builtin" / "scenarios" / "quick.yaml")
    return CliRunner().invoke(
        main, ["run", "--jobs", "1", scenario, "--out", str(tmp_path / "o"), *args]
    )


def test_set_may_replace_the_list_of_policies(root, tmp_path):
    """`--set policies=[...]` changes which policy files are read (it used to crash)."""
    result = run_quick(
        root,
        tmp_path,
        "--reps",
        "1",
        "--set",
        "policies=[{file: ../policies/jd-pop.yaml, payment_mix: {wechat_pay: 1}}]",
        "--set",  # a policy that the scenario file itself does not name
        "jd-pop.name=JD POP, edited",
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert list(summary["policies"]) == ["jd-pop"]
    assert summary["policies"]["jd-pop"]["name"] == "JD POP, edited"


def test_set_on_a_policy_taken_out_by_set_is_an_input_error(root, tmp_path):
    result = run_quick(
        root,
        tmp_path,
        "--set",
        "policies=[{file: ../policies/taobao.yaml, payment_mix: {alipay_balance: 1}}]",
        "--set",
        "amazon.self_cancel.window=1h",
    )
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "--set: amazon.self_cancel.window: no policy 'amazon' is played any more (the "
        "policies are taobao); cannot set 'amazon.self_cancel.window=1h'"
    )
    assert not (tmp_path / "o").exists()


def test_set_of_a_whole_policy_is_an_input_error(root, tmp_path):
    result = run_quick(root, tmp_path, "--set", "amazon=1")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "--set: amazon: cannot set 'amazon=1': name a key of the policy, e.g. "
        "amazon.self_cancel.window=1h"
    )


def test_a_policy_file_named_like_a_scenario_key_is_refused(root, tmp_path):
    """A policy goes by its key: (else its file's stem); a key that is also a scenario key
    is refused, and the same file under another key: is played."""
    shutil.copytree(root / "sim" / "builtin" / "policies", tmp_path / "policies")
    shutil.copytree(root / "sim" / "builtin" / "scenarios", tmp_path / "scenarios")
    seed = tmp_path / "policies" / "seed.yaml"
    shutil.copy(root / "sim" / "builtin" / "policies" / "amazon.yaml", seed)
    baseline = tmp_path / "scenarios" / "baseline.yaml"  # quick.yaml plays baseline's policies
    text = baseline.read_text(encoding="utf-8")
    assert "../policies/amazon.yaml" in text
    baseline.write_text(text.replace("../policies/amazon.yaml", "../policies/seed.yaml"))
    quick = str(tmp_path / "scenarios" / "quick.yaml")
    result = CliRunner().invoke(main, ["validate", quick])
    assert result.exit_code == 2
    assert (
        "'seed': a policy's key may not be a scenario key (--set would not know which it "
        "means); give it another key:"
    ) in result.stderr
    seed.write_text("key: amazon\n" + seed.read_text(encoding="utf-8"), encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", quick])
    assert result.exit_code == 0, result.output


def test_one_line_messages_stay_one_line_and_paths_are_shown_as_they_are(root, tmp_path):
    """Piped output is 120 columns wide: a long path must not wrap a `valid` or `Results
    in` line, and square brackets in a path are not rich markup."""
    deep = tmp_path / ("a-long-folder-name-" * 4) / ("another-one-" * 4) / "[bold]x"
    deep.mkdir(parents=True)
    policy = deep / "jd.yaml"
    shutil.copy(root / "sim" / "builtin" / "policies" / "jd.yaml", policy)
    checked = CliRunner().invoke(main, ["validate", str(policy)])
    assert checked.exit_code == 0, checked.output
    assert checked.stdout.splitlines() == [f"{policy}: valid policy file (3 declared ranges)"]
    out = deep / "res"
    args = ["run", "builtin:quick", "--set", "horizon=2d", "--set", "warmup=1d"]
    ran = CliRunner().invoke(main, [*args, "--reps", "1", "--jobs", "1", "--out", str(out)])
    assert ran.exit_code == 0, ran.output
    assert f"Results in {out}/ (summary.json" in ran.stdout.splitlines()[-1]
