"""Terminal tables fit the terminal without cutting anything, and `--format` gives the
same results as JSON, CSV or Markdown with nothing else on stdout."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from click.testing import CliRunner
from rich.console import Console

from sim.cli import main
from sim.metrics import CATALOGUE
from sim.tables import fit_table


@pytest.fixture(scope="module")
def summary(root, tmp_path_factory):
    out = tmp_path_factory.mktemp("tables") / "results"
    result = CliRunner().invoke(
        main,
        [
            "run",
            str(root / "sim" / "builtin" / "scenarios" / "quick.yaml"),
            "--reps",
            "2",
            "--out",
            str(out),
            "--no-report",
            "--set",
            "horizon=3d",
            "--set",
            "warmup=1d",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    return json.loads((out / "summary.json").read_text()), result


def _printed(width: int, labels, columns, rows) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, highlight=False)
    fit_table(console, "title", labels, columns, rows)
    return buffer.getvalue()


ROWS = [
    ["sellers_over_threshold_share", "%", "23.85 [0.00, 100.00]", "5.60 ± 3.68", "n/a"],
    ["buyer_money_hours_held", "USD*h/order", "239.6 [0, 666]", "86.3 [0, 274.3]", "200 ± 12"],
]


@pytest.mark.parametrize("width", [40, 60, 80, 100, 160])
def test_a_table_fits_and_cuts_nothing(width):
    text = _printed(width, ["metric", "unit"], ["amazon", "taobao", "jd"], ROWS)
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= width
    flat = text.replace("\n", " ")
    for name in ("amazon", "taobao", "jd", "buyer_money_hours_held", "23.85", "274.3]"):
        assert name in flat or name in text.replace(" ", ""), (width, name)


def test_a_wide_table_keeps_every_value():
    columns = [f"policy-{i}" for i in range(10)]
    rows = [["money_back_hours_p50", "h", *[f"{i}.5 ± 0.{i}" for i in range(10)]]]
    text = _printed(80, ["metric", "unit"], columns, rows)
    assert "…" not in text and max(len(line) for line in text.splitlines()) <= 80
    for i in range(10):
        assert f"policy-{i}" in text and f"{i}.5" in text
    assert "(columns 1-" in text  # split into groups, each with the metric again
    assert text.count("money_back_hours_p50") >= 2


def test_run_json_holds_the_summary(summary):
    data, result = summary
    printed = json.loads(result.stdout)  # nothing but the JSON on stdout
    assert printed["scenario"] == data["scenario"] and printed["seed"] == data["seed"]
    record = next(
        r
        for r in printed["records"]
        if r["kind"] == "policy" and r["name"] == "amazon" and r["metric"] == "failed_cancel_share"
    )
    value = data["policies"]["amazon"]["metrics"]["failed_cancel_share"]
    assert (
        record["mean"] == value["mean"] and [record["ci_low"], record["ci_high"]] == value["ci95"]
    )
    assert any(r["kind"] == "comparison" for r in printed["records"])


def test_run_csv_and_markdown(root, tmp_path, summary):
    data, _ = summary
    args = [
        "run",
        str(root / "sim" / "builtin" / "scenarios" / "quick.yaml"),
        "--reps",
        "2",
        "--out",
        str(tmp_path / "r"),
        "--no-report",
        "--set",
        "horizon=3d",
        "--set",
        "warmup=1d",
    ]
    result = CliRunner().invoke(main, [*args, "--format", "csv"])
    assert result.exit_code == 0
    table = pd.read_csv(io.StringIO(result.stdout))
    assert list(table.columns[:4]) == ["kind", "name", "metric", "unit"]
    row = table[(table.name == "taobao") & (table.metric == "money_back_hours_p50")].iloc[0]
    assert row["mean"] == pytest.approx(
        data["policies"]["taobao"]["metrics"]["money_back_hours_p50"]["mean"]
    )
    result = CliRunner().invoke(main, [*args, "--format", "markdown"])
    lines = result.stdout.splitlines()
    assert lines[0].startswith("| kind | name | metric |") and set(lines[1]) <= {"|", "-"}
    assert all(line.startswith("|") and line.endswith("|") for line in lines)


def test_metrics_in_every_format():
    result = CliRunner().invoke(main, ["metrics", "--format", "csv"])
    table = pd.read_csv(io.StringIO(result.stdout))
    assert list(table.metric) == [m.name for m in CATALOGUE]
    assert list(table.label) == [m.label for m in CATALOGUE]
    data = json.loads(CliRunner().invoke(main, ["metrics", "--format", "json"]).stdout)
    assert len(data["records"]) == len(CATALOGUE)


def test_diff_json_keeps_its_exit_status(root, tmp_path):
    edited = tmp_path / "amazon.yaml"
    text = (root / "sim" / "builtin" / "policies" / "amazon.yaml").read_text(encoding="utf-8")
    edited.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(
        main,
        [
            "diff",
            str(root / "sim" / "builtin" / "policies" / "amazon.yaml"),
            str(edited),
            "--scenario",
            str(root / "sim" / "builtin" / "scenarios" / "quick.yaml"),
            "--reps",
            "2",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["moved"] == [] and data["rule_changes"] == []
    assert {r["name"] for r in data["records"] if r["kind"] != "size_band"} == {
        "old",
        "new",
        "new-vs-old",
    }


def test_a_one_sellers_view_is_in_the_records():
    from sim.tables import run_records

    value = {"mean": 0.01, "ci95": [0.0, 0.02]}
    none = {"mean": None, "ci95": None}
    summary = {
        "policies": {},
        "comparisons": {},
        "seller_view": {
            "policies": {
                "amazon": {
                    "platform_metric_rate": value,
                    "seller_weeks_flagged_share": none,
                    "levers": {
                        "fewer_stockouts": {
                            "platform_metric_rate": {"mean": -0.005, "ci95": [-0.01, -0.001]},
                            "seller_weeks_flagged_share": none,
                        }
                    },
                }
            }
        },
    }
    records = run_records(summary, ["platform_metric_rate"])
    assert [(r["kind"], r["name"], r["metric"], r["mean"], r["significant"]) for r in records] == [
        ("seller_view", "amazon", "platform_metric_rate", 0.01, None),
        ("seller_view", "amazon", "seller_weeks_flagged_share", None, None),
        ("lever", "amazon: fewer_stockouts", "platform_metric_rate", -0.005, True),
        ("lever", "amazon: fewer_stockouts", "seller_weeks_flagged_share", None, None),
    ]


def test_one_value_column_at_any_width():
    rows = [["a-long-size-band-label", "88.7", "35.05 ± 25.62"]]
    for width in (20, 30, 40):
        text = _printed(width, ["size band", "sellers"], ["amazon (%)"], rows)
        assert "…" not in text and "35.05" in text


def test_input_bands_size_bands_and_flat_values_are_records():
    from sim.tables import render_records, run_records

    summary = {
        "policies": {
            "amazon": {
                "metrics": {
                    "money_back_hours_p50": {"mean": 2.0, "ci95": [1.0, 3.0], "flat": [1, 9]}
                },
                "bands": {"under 10 orders a week": {"flagged_share": {"mean": 0.2, "ci95": None}}},
            }
        },
        "comparisons": {},
        "uncertainty": {"policies": {"amazon": {"money_back_hours_p50": {"band90": [1.5, 4.0]}}}},
    }
    records = run_records(summary, ["money_back_hours_p50"])
    kinds = {r["kind"]: r for r in records}
    assert kinds["policy"]["flat"] is True
    assert (kinds["input_band90"]["ci_low"], kinds["input_band90"]["ci_high"]) == (1.5, 4.0)
    assert kinds["size_band"]["name"] == "amazon: under 10 orders a week"
    assert kinds["size_band"]["mean"] == 0.2
    text = render_records(records, "markdown")
    assert "| 2.0 |" in text and "| 1.5 | 4.0 |" in text
    with pytest.raises(ValueError):  # never NaN in JSON
        render_records([{"mean": float("nan")}], "json")
