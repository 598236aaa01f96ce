"""A seller's own view: levers, paired changes, and what a one-seller run reports."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from sim import api
from sim.cli import main
from sim.experiment.levers import LEVERS, _scaled, is_seller_view, view, with_lever
from sim.model.distributions import EmpiricalTime, FixedTime, LogNormalTime
from sim.model.policy import Cause
from sim.model.units import Duration

TWO = (
    "policies=[{file: ../policies/amazon.yaml, payment_mix: {credit_card: 1}},"
    " {file: ../policies/taobao.yaml, payment_mix: {bank_card: 1}}]"
)


def test_scaling_a_time_distribution_scales_every_time_in_it() -> None:
    lognormal = LogNormalTime.model_validate({"dist": "lognormal", "median": "2h", "p90": "6h"})
    half = _scaled(lognormal, 0.5)
    assert (half.median, half.p90) == (Duration(1.0), Duration(3.0))
    assert math.isclose(half.log_sigma, lognormal.log_sigma)
    assert _scaled(FixedTime.model_validate({"dist": "fixed", "value": "3h"}), 0.5).value == (
        Duration(1.5)
    )
    empirical = EmpiricalTime.model_validate({"dist": "empirical", "values": ["1h", "4h"]})
    assert _scaled(empirical, 0.5).values == [Duration(0.5), Duration(2.0)]


def test_levers_change_every_seller_type_and_nothing_else(quick_study) -> None:
    by_key = {lever.key: lever for lever in LEVERS}
    before = quick_study.scenario.sellers.types
    after = with_lever(quick_study, by_key["fewer_stockouts"]).scenario.sellers.types
    for name, kind in before.items():
        stock = kind.cancels.get(Cause.OUT_OF_STOCK)
        if stock is not None:
            assert after[name].cancels[Cause.OUT_OF_STOCK] == stock / 2
        assert after[name].pack_time == kind.pack_time
    packed = with_lever(quick_study, by_key["pack_faster"]).scenario.sellers.types
    for name, kind in before.items():
        assert packed[name].pack_time.mean() == pytest.approx(kind.pack_time.mean() / 2)
        assert packed[name].response_time == kind.response_time
    assert quick_study.scenario.sellers.types == before  # the study itself is untouched


def run(policy: str, replication: int, rate: float, weeks: float) -> SimpleNamespace:
    metrics = {"platform_metric_rate": rate, "seller_weeks_flagged_share": weeks}
    return SimpleNamespace(policy=policy, replication=replication, metrics=metrics)


def test_lever_changes_are_paired_by_replication() -> None:
    study = SimpleNamespace(policies={"p": None})
    base = [run("p", 0, 0.02, 0.5), run("p", 1, 0.04, 0.5), run("p", 2, 0.03, 0.5)]
    lowered = [run("p", 0, 0.01, 0.25), run("p", 1, 0.03, 0.25), run("p", 2, 0.02, 0.25)]
    same = [run("p", r.replication, r.metrics["platform_metric_rate"], 0.5) for r in base]
    levers = {"answer_faster": same, "pack_faster": same, "fewer_stockouts": lowered}
    entry = view(study, base, levers)["policies"]["p"]  # type: ignore[arg-type]
    assert entry["platform_metric_rate"]["mean"] == pytest.approx(0.03)
    stock = entry["levers"]["fewer_stockouts"]
    # every replication drops by exactly 0.01: a paired difference with no spread
    assert stock["platform_metric_rate"]["mean"] == pytest.approx(-0.01)
    assert stock["platform_metric_rate"]["ci95"] == pytest.approx([-0.01, -0.01])
    assert stock["seller_weeks_flagged_share"]["mean"] == pytest.approx(-0.25)
    assert entry["levers"]["answer_faster"]["platform_metric_rate"]["mean"] == 0
    assert entry["moves_most"] == "fewer_stockouts"


def test_only_a_one_seller_scenario_is_a_seller_s_view(quick_study) -> None:
    assert not is_seller_view(quick_study)
    results = api.run(quick_study, replications=1, overrides=[TWO])
    assert api.seller_view(results) is None and "seller_view" not in results.summary


@pytest.mark.slow
def test_a_one_seller_run_reports_its_view_and_fewer_stockouts_lower_its_metric(root) -> None:
    study = api.load(
        root / "sim" / "builtin" / "scenarios" / "quick.yaml", ["sellers.count=1", TWO]
    )
    results = api.run(study, replications=4)
    seller = api.seller_view(results)
    assert seller is not None and results.summary["seller_view"] is seller
    for policy in ("amazon", "taobao"):
        entry = seller["policies"][policy]
        assert set(entry["levers"]) == {lever.key for lever in LEVERS}
        change = entry["levers"]["fewer_stockouts"]["platform_metric_rate"]
        assert change["ci95"][1] < 0  # halving stock-outs lowers the metric, significantly
        assert entry["moves_most"] is not None
    assert seller["policies"]["taobao"]["seller_weeks_flagged_share"]["mean"] is None


@pytest.mark.slow
def test_cli_prints_the_seller_s_view(root, tmp_path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "run",
            str(root / "sim" / "builtin" / "scenarios" / "quick.yaml"),
            "--set",
            "sellers.count=1",
            "--set",
            TWO,
            "--reps",
            "3",
            "--jobs",
            "1",
            "--out",
            str(tmp_path / "out"),
            "--no-report",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "the seller's own view" in result.output
    assert "lowers the platform metric most" in result.output
    assert "; 24 runs in" in " ".join(
        result.output.split()
    )  # 2 policies x 3 replications x (as-is + 3 levers)


def test_the_report_says_which_lever_moves_the_metric_most() -> None:
    from sim.report.build import _seller_view_finding

    entry = {
        "platform_metric_rate": {"mean": 0.0109, "ci95": [0.008, 0.014]},
        "moves_most": "fewer_stockouts",
        "levers": {
            "fewer_stockouts": {
                "label": "halve out-of-stock cancels",
                "platform_metric_rate": {"mean": -0.002},
            }
        },
    }
    none = {**entry, "moves_most": None}
    summary = {"seller_view": {"policies": {"amazon": entry, "taobao": none}}}
    data = SimpleNamespace(summary=summary, label=lambda key: key.title())
    assert _seller_view_finding(data) == (  # type: ignore[arg-type]
        "This seller's projected platform metric: under Amazon 1.09%, lowered most by "
        "'halve out-of-stock cancels' (-0.20 points); under Taobao 1.09%, which no lever "
        "lowers significantly."
    )
    assert _seller_view_finding(SimpleNamespace(summary={})) is None  # type: ignore[arg-type]


def test_the_strongest_lever_is_a_significant_decrease_the_first_of_equals() -> None:
    from sim.experiment.levers import _strongest

    def lever(mean: float | None, ci: list[float] | None) -> dict:
        return {"platform_metric_rate": {"mean": mean, "ci95": ci}}

    assert _strongest({"a": lever(-0.01, None)}) is None  # one replication: no interval
    assert _strongest({"a": lever(-0.01, [-0.02, 0.0])}) is None  # touches zero
    assert _strongest({"a": lever(-0.001, [-0.01, 0.008])}) is None  # not significant
    assert _strongest({"a": lever(None, None), "b": lever(0.02, [0.01, 0.03])}) is None
    tie = {"a": lever(-0.01, [-0.02, -0.005]), "b": lever(-0.01, [-0.03, -0.001])}
    assert _strongest(tie) == "a"
    assert _strongest({**tie, "c": lever(-0.02, [-0.03, -0.01])}) == "c"


def test_a_metric_a_policy_lacks_is_none_not_a_crash() -> None:
    study = SimpleNamespace(policies={"p": None})
    base = [SimpleNamespace(policy="p", replication=r, metrics={}) for r in (0, 1)]
    result = view(study, base, {"fewer_stockouts": base})  # type: ignore[arg-type]
    assert result["metrics"] == ["platform_metric_rate", "seller_weeks_flagged_share"]
    entry = result["policies"]["p"]
    assert entry["platform_metric_rate"] == {"mean": None, "ci95": None}
    assert entry["levers"]["fewer_stockouts"]["label"] == "halve out-of-stock cancels"
    assert entry["levers"]["fewer_stockouts"]["platform_metric_rate"]["mean"] is None


def test_business_days_stay_business_days_when_scaled() -> None:
    fixed = FixedTime.model_validate({"dist": "fixed", "value": "2 business days"})
    assert _scaled(fixed, 0.5).value == Duration(1.0, True)
    empirical = EmpiricalTime.model_validate(
        {"dist": "empirical", "values": ["2 business days", "4 business days"]}
    )
    assert _scaled(empirical, 0.5).values == [Duration(1.0, True), Duration(2.0, True)]


def test_one_seller_is_a_seller_s_view_unless_it_sweeps(quick_study) -> None:
    from dataclasses import replace

    scenario = quick_study.scenario
    one = scenario.model_copy(update={"sellers": scenario.sellers.model_copy(update={"count": 1})})
    assert is_seller_view(replace(quick_study, scenario=one))
    swept = one.model_copy(update={"sweep": {"buyers.cancel_intent": [0.1, 0.2]}})
    assert not is_seller_view(replace(quick_study, scenario=swept))
    two = one.model_copy(update={"sellers": one.sellers.model_copy(update={"count": 2})})
    assert not is_seller_view(replace(quick_study, scenario=two))
