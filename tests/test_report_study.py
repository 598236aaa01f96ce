"""The report follows the study: a sweep's effect curves with today's value marked, the
before/after split of a dated rule change, and each promotion named on its own."""

from __future__ import annotations

import datetime as dt
import re

import matplotlib.dates as mdates
import pytest

from sim.api import run
from sim.report.data import (
    OUTCOME_GROUPS,
    PLATFORM_COLOURS,
    PROMOTION_COLOURS,
    SPARE_COLOURS,
    ReportData,
    base_point,
)
from sim.report.study import (
    before_after,
    before_after_figure,
    daily,
    promotion_findings,
    sweep_effects,
    sweep_findings,
)
from sim.report.style import time_scale


def _data(results) -> ReportData:
    return ReportData(results.summary, results.inputs, results.runs)


@pytest.fixture(scope="module")
def swept(root):
    return run(
        root / "sim" / "builtin" / "scenarios" / "quick.yaml",
        replications=2,
        overrides=["horizon=4d", "warmup=1d"],
        sweep=["amazon.self_cancel.window=0m,30m,2h"],
    )


def test_a_sweep_report_is_about_todays_value(swept):
    """The policy says 30m: the report's tables and figures are at that point, not at the
    first one (0m), and the rules table says 30m."""
    axis = swept.inputs["sweep"]["axes"]["amazon.self_cancel.window"]
    assert axis["values"] == [0.0, 0.5, 2.0] and axis["unit"] == "h"
    assert (axis["current"], axis["current_label"]) == (0.5, "30m")
    data = _data(swept)
    assert (data.base, data.base_is_current) == (1, True)
    assert all(r.point == 1 for r in data.here)
    rules = {r["rule"]: r["value"] for r in swept.inputs["policies"]["amazon"]["rules"]}
    assert rules["Buyer cancels alone"].startswith("within 30m of ordering")
    assert "today's value" in data.point_note()


def test_the_sweep_figure_has_a_numeric_axis_and_marks_todays_value(swept):
    figure = sweep_effects(_data(swept))
    assert figure is not None
    axes = figure.figure.axes
    assert len(axes) == 9  # every headline metric, failed cancels among them
    assert "Cancel failed: shipped anyway" in [ax.get_title(loc="left") for ax in axes]
    for ax in axes:
        marks = [
            line
            for line in ax.get_lines()
            if len(set(line.get_xdata())) == 1 and line.get_linestyle() != "None"
        ]
        assert [float(line.get_xdata()[0]) for line in marks] == [30.0]  # 30 minutes
        curves = [line for line in ax.get_lines() if len(line.get_xdata()) == 3]
        for line in curves:  # spaced by value, not evenly: 0, 30, 120 minutes
            assert [float(x) for x in line.get_xdata()] == [0.0, 30.0, 120.0]
    assert axes[-1].get_xlabel() == "amazon.self_cancel.window (minutes)"
    legend = [t.get_text() for t in figure.figure.legends[0].get_texts()]
    assert "today: 30m" in legend


def test_paired_differences_against_todays_value(swept, tmp_path):
    swept.write(tmp_path)
    html = swept.report(tmp_path).read_text(encoding="utf-8")
    table = re.search(
        r"Paired differences against today(?:&#39;|')s value(.*?)</table>", html, re.S
    )
    assert table
    rows = re.findall(r"<tr><td>(\d+[mh])</td>", table.group(1))
    assert rows == ["0m", "2h"]  # every point but today's, for the policy the key touches
    assert '<h2 id="sweep">The sweep</h2>' in html
    assert html.index('id="sweep"') < html.index('id="metrics"')  # the report leads with it


@pytest.fixture(scope="module")
def dated(root):
    return run(
        root / "sim" / "builtin" / "scenarios" / "amazon-autocancel-2020.yaml", replications=2
    )


def test_a_rule_change_inside_the_scenario_is_split_before_and_after(dated):
    data = _data(dated)
    [change] = data.changes()
    assert change.date == dt.date(2020, 9, 30) and change.policy == "amazon"
    assert change.rules[0]["rule"] == "Auto-cancel if not shipped"
    assert "30d" in change.rules[0]["before"] and "7 business days" in change.rules[0]["after"]
    [split] = before_after(data)
    values = split["policies"]["amazon"]["auto-cancelled"]
    assert values["before"]["mean"] > 0 and values["after"]["mean"] > 0
    # the split adds up: each run's orders by day are the outcome counts of all its orders
    run0 = data.runs_of("amazon")[0]
    assert run0.daily_outcomes.sum() >= run0.metrics["orders"]
    figure = before_after_figure(data)
    assert figure is not None
    legend = [t.get_text() for t in figure.figure.legends[0].get_texts()]
    assert legend == ["placed before 30 Sep 2020", "placed from 30 Sep 2020"]
    for ax in figure.figure.axes:
        if ax.get_title(loc="left"):
            bars = [p for p in ax.patches if p.get_height() > 0]
            assert len(bars) == 2  # before and after
            assert {round(b.get_alpha() or 1, 2) for b in bars} == {0.45, 1.0}


def test_the_rule_change_is_marked_on_every_time_axis(dated):
    data = _data(dated)
    day = mdates.date2num(dt.datetime(2020, 9, 30))
    figures = [daily(data)]
    from sim.report.figures import seller_rates

    figures.append(seller_rates(data))
    for figure in figures:
        assert figure is not None
        time_axes = [
            ax
            for ax in figure.figure.axes
            if isinstance(ax.xaxis.get_major_formatter(), mdates.DateFormatter)
        ]
        assert time_axes, figure.name
        for ax in time_axes:
            at = [
                mdates.date2num(line.get_xdata()[0])
                for line in ax.get_lines()
                if len(set(line.get_xdata())) == 1
            ]
            assert day in at, (figure.name, ax.get_title(loc="left"))


def test_each_promotion_is_named_and_coloured_on_its_own(root):
    results = run(
        root / "sim" / "builtin" / "scenarios" / "singles-day.yaml",
        replications=2,
        overrides=["sellers.count=60"],
    )
    data = _data(results)
    assert [p["name"] for p in data.promotions()] == [
        "eve of Singles' Day (pre-orders paid at midnight)",
        "Singles' Day",
        "day after Singles' Day",
    ]
    figure = daily(data)
    assert figure is not None
    top = figure.figure.axes[0]
    handles, labels = top.get_legend_handles_labels()
    promos = [(h, label) for h, label in zip(handles, labels, strict=True) if "(x" in label]
    assert [label for _, label in promos] == [
        "eve of Singles' Day (pre-orders paid at midnight) (x3)",
        "Singles' Day (x10)",
        "day after Singles' Day (x3)",
    ]
    colours = [h.get_facecolor() for h, _ in promos]
    assert len({tuple(round(c, 3) for c in colour) for colour in colours}) == 3
    # the volume shows the spike: Singles' Day is the busiest day, about ten times normal
    volume = [p.get_height() for p in top.patches if p.get_height() > 0 and p.get_width() > 0.5]
    assert max(volume) > 5 * sorted(volume)[len(volume) // 2]
    assert "Singles' Day brought" in figure.caption
    [finding] = promotion_findings(data)  # the biggest promotion, in the summary
    assert finding.startswith("Singles' Day (x10) brought ")
    assert re.search(r"brought [\d,]+ orders", finding)


def test_outcome_colours_are_their_own():
    outcome = {c.upper() for _, _, c in OUTCOME_GROUPS}
    platform = {c.upper() for c in [*PLATFORM_COLOURS.values(), *SPARE_COLOURS]}
    assert len(outcome) == len(OUTCOME_GROUPS) and not outcome & platform
    assert len(set(PROMOTION_COLOURS)) == len(PROMOTION_COLOURS)


def test_time_axes_take_the_unit_that_fits():
    assert time_scale("h", [0.0, 0.25, 2.0]) == (60.0, "minutes")
    assert time_scale("h", [1.0, 24.0, 72.0]) == (1.0, "hours")
    assert time_scale("h", [24.0, 240.0]) == (1 / 24, "days")
    assert time_scale("bd", [1.0, 5.0]) == (1.0, "business days")
    assert time_scale("", [0.01, 0.1]) == (1.0, "")


def test_a_sweep_without_todays_value_says_so():
    summary = {"points": [{"point": {"k": "1h"}}, {"point": {"k": "2h"}}]}
    inputs = {
        "sweep": {
            "keys": ["k"],
            "axes": {
                "k": {"values": [1.0, 2.0], "unit": "h", "current": 0.5, "current_label": "30m"}
            },
        }
    }
    assert base_point(summary, inputs) == (0, False)
    inputs["sweep"]["axes"]["k"]["current"] = 2.0
    assert base_point(summary, inputs) == (1, True)
    assert base_point({"policies": {}}, {"sweep": None}) == (0, False)


def test_without_a_cjk_font_figures_drop_the_characters_and_the_report_says_so(
    swept, tmp_path, monkeypatch
):
    import sim.report.build as build
    import sim.report.style as style

    monkeypatch.setattr(style, "has_cjk_font", lambda: False)
    monkeypatch.setattr(build, "has_cjk_font", lambda: False)
    from sim.report.data import plain

    assert plain("退款率 (refund rate)") == "refund rate"
    swept.write(tmp_path)
    html = swept.report(tmp_path).read_text(encoding="utf-8")
    assert "no CJK font was found" in html and "fonts-noto-cjk" in html
    monkeypatch.undo()
    assert plain("退款率 (refund rate)") == (
        "退款率 (refund rate)" if style.has_cjk_font() else "refund rate"
    )


def test_a_two_key_sweep_in_any_order_reports_each_key_alone(root):
    """Values given out of order are drawn along the axis; each finding moves one key
    from today's value, the others held at theirs (two keys changed at once would not
    say which did what)."""
    results = run(
        root / "sim" / "builtin" / "scenarios" / "quick.yaml",
        replications=2,
        overrides=["horizon=4d", "warmup=1d"],
        sweep=["amazon.self_cancel.window=2h,30m,0m", "buyers.cancel_intent=0.1,0.06"],
    )
    data = _data(results)
    assert data.base_is_current
    assert data.summary["points"][data.base]["point"] == {
        "amazon.self_cancel.window": "30m",
        "buyers.cancel_intent": "0.06",
    }
    figure = sweep_effects(data)
    for ax in figure.figure.axes:
        for line in ax.get_lines():
            x = [float(v) for v in line.get_xdata()]
            assert x == sorted(x)
    findings = sweep_findings(data)
    heads = [f.split(" instead of ")[0] for f in findings]
    assert "Under Amazon, amazon.self_cancel.window = 0m" in heads
    assert "Under Amazon, amazon.self_cancel.window = 2h" in heads
    assert any("buyers.cancel_intent = 0.1" in h for h in heads)
    assert all(h.count(" = ") == 1 for h in heads)


def test_a_sweep_of_a_dated_value_and_a_sweep_that_replaces_the_dates(root):
    path = root / "sim" / "builtin" / "scenarios" / "amazon-autocancel-2020.yaml"
    dated = run(
        path,
        replications=1,
        overrides=["sellers.count=40"],
        sweep=["amazon.auto_cancel.after.2020-09-30=5 business days,7 business days"],
    )
    axis = dated.inputs["sweep"]["axes"]["amazon.auto_cancel.after.2020-09-30"]
    assert (axis["values"], axis["unit"], axis["current"]) == ([5.0, 7.0], "bd", 7.0)
    assert _data(dated).base == 1
    [change] = dated.inputs["policies"]["amazon"]["changes"]
    assert "7 business days" in change["rules"][0]["after"]
    flat = run(
        path,
        replications=1,
        overrides=["sellers.count=40"],
        sweep=["amazon.auto_cancel.after=5 business days,7 business days"],
    )
    axis = flat.inputs["sweep"]["axes"]["amazon.auto_cancel.after"]
    assert axis["values"] == [5.0, 7.0] and axis["current"] is None  # today is 30d then 7 bd
    assert flat.inputs["policies"]["amazon"]["changes"] == []  # no run plays a change
    assert not before_after(_data(flat))


def test_a_change_at_the_horizons_end_is_not_played(root):
    results = run(
        root / "sim" / "builtin" / "scenarios" / "amazon-autocancel-2020.yaml",
        replications=1,
        overrides=["horizon=16d", "sellers.count=40"],  # ends at 2020-09-30 00:00
    )
    assert results.inputs["policies"]["amazon"]["changes"] == []


def test_a_results_folder_from_before_the_daily_counts_still_rebuilds(swept, tmp_path):
    import json

    from sim.report import rebuild

    swept.write(tmp_path)
    for path in (tmp_path / "runs").glob("*.json"):
        stored = json.loads(path.read_text())
        for name in ("daily_outcomes", "daily_refunds", "daily_money_back"):
            del stored["result"][name]
        del stored["checksum"]  # (stored runs had none then either)
        path.write_text(json.dumps(stored))
    html = rebuild(tmp_path).read_text(encoding="utf-8")
    assert '<h2 id="sweep">' in html


def test_the_daily_window_counts_the_days_there_are():
    import numpy as np

    from sim.report.figures import _rolling

    days = np.array([1, 2, 3, 4, 5])
    assert _rolling(days, 3, 0).tolist() == [1, 3, 6, 9, 12]
    assert np.isnan(_rolling(days, 3, 2)[:2]).all()
    assert _rolling(days, 3, 2)[2:].tolist() == [1, 3, 6]
