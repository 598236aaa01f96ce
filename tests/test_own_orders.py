"""The README's "Your own orders": import, calibrate, run on the example shop export."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import main
from sim.model.load import load_study

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.mark.slow
def test_the_three_commands_on_the_example_export(tmp_path: Path) -> None:
    orders, scenario = tmp_path / "orders.parquet", tmp_path / "shop.yaml"
    imported = cli(
        "import",
        str(ROOT / "examples" / "shop-orders.csv"),
        "--format",
        "csv",
        "--map-file",
        str(ROOT / "examples" / "shop-mapping.yaml"),
        "--out",
        str(orders),
    )
    assert imported.exit_code == 0, imported.output
    assert "3,517 rows read from 1 file. 3,517 orders written to" in imported.output
    fitted = cli(
        "calibrate",
        str(orders),
        "--out",
        str(scenario),
        "--base",
        str(ROOT / "sim" / "builtin" / "scenarios" / "quick.yaml"),
        "--hold",
        "30m",
    )
    assert fitted.exit_code == 0, fitted.output
    assert "3,517 orders from 1 seller over 56 local days" in fitted.output
    assert "promotion 2026-03-08 multiplier" in fitted.output  # the quick market's sale
    assert "policy jd left out" in fitted.output
    assert (tmp_path / "shop-fit" / "calibration.png").stat().st_size > 50_000
    study = load_study(scenario)
    assert study.scenario.sellers.count == 1 and set(study.policies) == {"amazon", "taobao"}
    assert [p.date.isoformat() for p in study.scenario.orders.promotions] == ["2026-03-08"]
    run = cli("run", str(scenario), "--reps", "2", "--jobs", "1", "--out", str(tmp_path / "r"))
    assert run.exit_code == 0, run.output
    assert "the seller's own view" in run.output and "halve out-of-stock cancels" in run.output
    replayed = cli(
        "run",
        str(scenario),
        "--set",
        "orders={replay: orders.parquet}",
        "--reps",
        "2",
        "--jobs",
        "1",
        "--no-levers",
        "--no-report",
        "--out",
        str(tmp_path / "p"),
    )
    assert replayed.exit_code == 0, replayed.output
    assert "the seller's own view" in replayed.output
    assert "the seller's levers" not in replayed.output  # --no-levers


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("missing.parquet", "--out", "s.yaml"), "missing.parquet: file not found"),
        (("log.parquet", "--out", "s.txt"), "s.txt: expected a scenario name ending in .yaml"),
        (("log.parquet", "--out", "s.yaml", "--hold", "soon"), "--hold: 'soon'"),
        (("log.parquet", "--out", "s.yaml", "--hold", "2 business days"), "clock units"),
        (("notalog.csv", "--out", "s.yaml"), "notalog.csv: has no order_id, placed_at, status"),
    ],
)
def test_calibrate_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notalog.csv").write_text("a,b\n1,2\n")
    (tmp_path / "log.parquet").write_bytes(b"")
    result = cli("calibrate", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output and not (tmp_path / "s.yaml").exists()
