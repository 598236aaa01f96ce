"""Rules as data (issue 14, part 1): every rule datable, read under the YAML's names;
sections that describe themselves; policies named by key; market times in clock units;
no boilerplate for what a world does not use; scenarios that extend another."""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sim.engine import RunSpec, simulate
from sim.engine.rules import compile_policy
from sim.errors import InputError
from sim.model.calendar import BusinessCalendar
from sim.model.dated import ALWAYS
from sim.model.load import Override, load_policy, load_study
from sim.model.policy import Stage
from sim.model.units import Duration

DAY = dt.date(2026, 3, 2)


@pytest.fixture
def world(tmp_path: Path, root: Path) -> Path:
    """A copy of the bundled policies and scenarios to edit."""
    for folder in ("policies", "scenarios"):
        shutil.copytree(root / "sim" / "builtin" / folder, tmp_path / folder)
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def problems(path: Path, *settings: str) -> list[str]:
    with pytest.raises(InputError) as exc:
        load_study(path, [Override.parse(s) for s in settings])
    return [str(p) for p in exc.value.problems]


def run(study, key: str, tmp_path: Path, replication: int = 0) -> list[dict[str, str]]:
    """One run's per-order trace."""
    trace = tmp_path / f"{key}-{replication}.csv"
    spec = RunSpec(
        key, study.policies[key], study.scenario, replication, study.scenario.seed, str(trace)
    )
    simulate(spec)
    with trace.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


SHORT = ["horizon=4d", "warmup=1d", "drain=10d", "replications=1"]


# ---------------------------------------------------------------- every rule datable


def test_any_rule_value_or_section_may_be_dated_and_is_read_under_its_own_name(world):
    amazon = world / "policies" / "amazon.yaml"
    edit(amazon, "  hold: 30m ", "  hold: {2000-01-01: 30m, 2026-03-04: 2h} ")
    edit(
        amazon,
        "self_cancel:\n  window: 30m ",
        "self_cancel:\n  window: {2000-01-01: 30m, 2026-03-03: null} ",
    )
    policy = load_policy(amazon)
    assert list(policy.versions) == [
        dt.date(2000, 1, 1),
        dt.date(2020, 9, 30),
        dt.date(2022, 5, 23),
        dt.date(2024, 9, 16),
        dt.date(2026, 3, 3),
        dt.date(2026, 3, 4),
    ]
    early, middle, late = (policy.at(DAY + dt.timedelta(d)) for d in (0, 1, 2))
    assert early.self_cancel.window == Duration(0.5)
    assert middle.self_cancel.window is None and middle.pending.hold == Duration(0.5)
    assert late.pending.hold == Duration(2.0)
    assert early.self_cancel.until is Stage.SHIPPED
    assert policy.at(dt.date(2019, 1, 1)).auto_cancel.after == Duration(720.0)


def test_a_whole_section_dated_from_none_starts_that_rule_on_its_date(world, tmp_path):
    """Taobao gains a 1-hour self-service cancel from the third day: orders placed before
    it cannot cancel alone, orders placed from it can."""
    taobao = world / "policies" / "taobao.yaml"
    edit(
        taobao,
        "\ninstant_refund:",
        "\nself_cancel:\n  2000-01-01: null\n  2026-03-04:\n    window: 1h\n"
        "    source: refund-timeouts\n\ninstant_refund:",
    )
    study = load_study(world / "scenarios" / "quick.yaml", [Override.parse(s) for s in SHORT])
    rows = run(study, "taobao", tmp_path)
    switch = 2 * 24.0  # 2026-03-04 00:00 local, the run starting on 2026-03-02 00:00
    before = [r for r in rows if float(r["placed_h"]) < switch]
    after = [r for r in rows if float(r["placed_h"]) >= switch]
    assert before and after
    assert not any(r["outcome"] == "self_cancelled" for r in before)
    assert sum(r["outcome"] == "self_cancelled" for r in after) > 10
    rules = study.policies["taobao"].at(dt.date(2026, 3, 4)).rows()
    assert ("Buyer cancels alone", "within 1h of ordering, before the order ships") in [
        r[:2] for r in rules
    ]


def test_the_report_says_since_when_a_rule_holds_and_what_it_becomes(world, root):
    from sim.report.inputs import rule_rows

    amazon = world / "policies" / "amazon.yaml"
    edit(amazon, "  hold: 30m ", "  hold: {2000-01-01: 30m, 2026-03-10: 2h} ")
    rows = {r["rule"]: r["value"] for r in rule_rows(load_policy(amazon), DAY)}
    assert rows["Pending hold before the seller may start"] == "30m; from 2026-03-10: 2h"
    assert rows["Auto-cancel if not shipped"] == "7 business days after ship-by (since 2020-09-30)"
    later = {r["rule"]: r["value"] for r in rule_rows(load_policy(amazon), dt.date(2026, 4, 1))}
    assert later["Pending hold before the seller may start"] == "2h (since 2026-03-10)"


def test_every_section_of_the_bundled_policies_describes_itself(root):
    for path in sorted((root / "sim" / "builtin" / "policies").glob("*.yaml")):
        policy = load_policy(path)
        rules = policy.at(DAY)
        for title, text, sources in rules.rows():
            assert title and text, (path.name, title)
            assert all(s in rules.sources for s in sources)
        described = {title for title, _, _ in rules.rows()}
        assert {"Ship-by deadline", "Refund processing", "Seller metric"} <= described


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "  hold: 30m ",
            "  hold: {2000-01-01: 30m, soon: 1h} ",
            "'soon' is not a date; effective dates are written YYYY-MM-DD",
        ),
        (
            "  hold: 30m ",
            "  hold: {2020-01-01: 30m, 2010-01-01: 1h} ",
            "effective dates must increase: 2010-01-01 comes after 2020-01-01",
        ),
        ("currency: USD", "currency: {2000-01-01: USD}", "currency cannot change over time"),
        ("  hold: 30m ", "  hold: {2000-01-01: -5m, 2020-01-01: 30m} ", "is negative"),
    ],
)
def test_a_bad_history_is_one_line_at_its_place(world, old, new, message):
    amazon = world / "policies" / "amazon.yaml"
    edit(amazon, old, new)
    with pytest.raises(InputError) as exc:
        load_policy(amazon)
    (problem,) = exc.value.problems
    line = next(i for i, t in enumerate(amazon.read_text().splitlines(), 1) if new.strip() in t)
    assert problem.file == str(amazon) and problem.line == line
    assert message in problem.message


def test_a_problem_in_two_versions_is_reported_once(world):
    amazon = world / "policies" / "amazon.yaml"
    edit(amazon, "  hold: 30m ", "  hold: 30 minutes please ")
    with pytest.raises(InputError) as exc:
        load_policy(amazon)  # four versions, one problem
    assert len(exc.value.problems) == 1


def test_which_orders_the_platform_fulfils_cannot_change(world):
    amazon = world / "policies" / "amazon.yaml"
    edit(amazon, "  serves: some ", "  serves: {2000-01-01: some, 2025-01-01: all} ")
    with pytest.raises(InputError) as exc:
        load_policy(amazon)
    assert "cannot change over time" in exc.value.problems[0].message


def test_a_scenario_before_every_rule_has_a_value_is_refused(world):
    text = problems(world / "scenarios" / "quick.yaml", "start=1999-06-01T00:00:00+08:00")
    assert any(
        "auto_cancel.after has no value before 2000-01-01; "
        "seller_metric.counts_message_requests has no value before 2000-01-01, "
        "but the scenario starts on 1999-06-01" in t
        for t in text
    )


def test_each_value_without_one_on_the_first_day_is_named_with_its_own_first_date(world):
    amazon = world / "policies" / "amazon.yaml"
    edit(amazon, "  hold: 30m ", "  hold: {2010-01-01: 30m} ")
    text = problems(world / "scenarios" / "quick.yaml", "start=2005-06-01T00:00:00+08:00")
    assert any(
        t.endswith(
            ": pending.hold has no value before 2010-01-01, but the scenario starts on 2005-06-01"
        )
        for t in text
    ), text


def test_set_reaches_a_dated_value_by_its_date(root):
    study = load_study(
        root / "sim" / "builtin" / "scenarios" / "quick.yaml",
        [Override.parse("amazon.auto_cancel.after.2020-09-30=5 business days")],
    )
    amazon = study.policies["amazon"]
    assert amazon.at(dt.date(2021, 1, 1)).auto_cancel.after == Duration(5.0, True)
    assert amazon.at(dt.date(2026, 1, 1)).auto_cancel.after == Duration(7.0, True)


def test_the_engine_reads_each_version_in_force_over_the_run(root):
    policy = load_policy(root / "sim" / "builtin" / "policies" / "amazon.yaml")
    calendar = BusinessCalendar("US", dt.date(2020, 9, 20), 400)
    compiled = compile_policy("amazon", policy, calendar, ("credit_card",), 1.0, 24 * 20)
    assert [v.auto_cancel.after for v in compiled.versions] == [
        Duration(720.0),
        Duration(7.0, True),
    ]
    assert compiled.starts == [0.0, 240.0]
    assert compiled.platform_versions[0].cancel_request.seller_decides is False
    assert compiled.versions[0].cancel_request.seller_decides is True


def test_a_dated_threshold_is_evaluated_as_in_force_each_day(root):
    """Amazon's threshold at 2.5%, then 0.1% from the fifth day: the share of seller-days
    over it lies between the two undated runs'."""

    def days_over(value: str) -> float:
        study = load_study(
            root / "sim" / "builtin" / "scenarios" / "quick.yaml",
            [Override.parse(f"amazon.seller_metric.threshold={value}")],
        )
        result = simulate(RunSpec("amazon", study.policies["amazon"], study.scenario, 0, 7))
        return result.metrics["seller_days_over_threshold_share"]

    low, dated, high = (
        days_over(v) for v in ("0.025", "{2000-01-01: 0.025, 2026-03-06: 0.001}", "0.001")
    )
    assert low < dated < high


# ---------------------------------------------------------------- named by key


def test_a_policy_goes_by_its_key_in_results_set_and_baseline(world):
    taobao = world / "policies" / "taobao.yaml"
    edit(taobao, "name: Taobao / Tmall", "key: tmall\nname: Taobao / Tmall")
    (world / "scenarios" / "tmall.yaml").write_text(
        "extends: quick.yaml\nbaseline: tmall\n", encoding="utf-8"
    )
    study = load_study(
        world / "scenarios" / "tmall.yaml", [Override.parse("tmall.ship_by.within=72h")]
    )
    assert list(study.policies) == ["amazon", "tmall", "jd"]
    assert [run.key for run in study.scenario.policies] == ["amazon", "tmall", "jd"]
    assert study.policies["tmall"].at(DAY).ship_by.within == Duration(72.0)
    assert study.scenario.baseline == "tmall"
    gone = problems(world / "scenarios" / "tmall.yaml", "taobao.ship_by.within=72h")
    assert gone  # the file's stem no longer names it: `taobao` is no key of the scenario
    wrong = problems(world / "scenarios" / "tmall.yaml", "baseline=taobao")
    assert any("'taobao' is not a policy of the scenario" in t for t in wrong)


def test_two_policies_with_one_key_are_refused_at_the_second(world):
    edit(world / "policies" / "jd.yaml", "name: JD.com (self-operated)", "key: amazon\nname: JD")
    (text,) = [t for t in problems(world / "scenarios" / "quick.yaml") if "second policy" in t]
    assert "a second policy with the key 'amazon' (the first is amazon.yaml)" in text


def test_a_scenario_may_play_one_file_twice_under_two_keys(world):
    (world / "scenarios" / "twice.yaml").write_text(
        textwrap.dedent(
            """\
            extends: quick.yaml
            policies:
              - file: ../policies/amazon.yaml
                key: amazon-cards
                payment_mix: {credit_card: 1.0}
              - file: ../policies/amazon.yaml
                key: amazon-gift
                payment_mix: {gift_card: 1.0}
            baseline: amazon-cards
            """
        ),
        encoding="utf-8",
    )
    study = load_study(world / "scenarios" / "twice.yaml")
    assert list(study.policies) == ["amazon-cards", "amazon-gift"]
    assert study.policies["amazon-gift"].key == "amazon-gift"


def test_diff_of_two_differently_named_files_plays_them_as_old_and_new(world, root):
    from sim.checks.diff import paired_study, read_source

    copy = world / "policies" / "amazon-orig.yaml"
    shutil.copy(world / "policies" / "amazon.yaml", copy)
    old, new = read_source(str(copy)), read_source(str(world / "policies" / "amazon.yaml"))
    assert old.key == "amazon-orig"
    study = paired_study(old, new, world / "scenarios" / "quick.yaml")
    assert list(study.policies) == ["old", "new"]
    mix = load_study(world / "scenarios" / "quick.yaml").scenario.policies[0].payment_mix
    assert study.scenario.policies[0].payment_mix == mix


# ---------------------------------------------------------------- market times


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (
            "  return_transit: {dist: lognormal, median: 3d, p90: 7d}",
            "  return_transit: 3 business days",
        ),
        (
            "      response_time: {dist: lognormal, median: 2h, p90: 12h}",
            "      response_time: 2 business days",
        ),
    ],
)
def test_business_days_in_a_market_time_are_an_error_at_their_line(world, old, new):
    baseline = world / "scenarios" / "baseline.yaml"
    edit(baseline, old, new)
    line = next(i for i, t in enumerate(baseline.read_text().splitlines(), 1) if t.startswith(new))
    found = problems(baseline)
    assert any(
        t.startswith(f"{baseline}:{line}:") and "given in business days" in t for t in found
    ), found


def test_the_scenario_schema_takes_no_business_days_in_market_times(root):
    from sim.model.schema import json_schema

    text = json.dumps(json_schema("scenario"))
    assert "business" not in text.replace("no business days", "")


# ---------------------------------------------------------------- no boilerplate


def test_a_policy_without_requests_needs_no_buyer_request_reason(world):
    taobao = world / "policies" / "taobao.yaml"
    text = taobao.read_text(encoding="utf-8")
    start = text.index("cancel_request:")
    end = text.index("\n\n", start)
    taobao.write_text(text[:start] + text[end + 2 :], encoding="utf-8")
    lines = [ln for ln in taobao.read_text().splitlines() if "cause: buyer_request" not in ln]
    taobao.write_text("\n".join(lines) + "\n", encoding="utf-8")
    study = load_study(world / "scenarios" / "quick.yaml")
    assert study.policies["taobao"].at(DAY).cancel_request is None


def test_a_market_whose_buyers_never_cancel_needs_no_intent_delay(world, tmp_path):
    (world / "scenarios" / "calm.yaml").write_text(
        "extends: quick.yaml\n"
        "buyers: {cancel_intent: 0, intent_delay: null, chase_unshipped_after: null}\n",
        encoding="utf-8",
    )
    study = load_study(world / "scenarios" / "calm.yaml", [Override.parse(s) for s in SHORT])
    rows = run(study, "amazon", tmp_path)
    assert rows and not any(r["intent_h"] for r in rows)
    wanted = problems(world / "scenarios" / "calm.yaml", "buyers.cancel_intent=0.1")
    assert any("needs intent_delay" in t for t in wanted)


def _home_ships(world: Path, pickup: str, tmp_path: Path) -> list[float]:
    (world / "scenarios" / "fast.yaml").write_text(
        textwrap.dedent(
            f"""\
            extends: quick.yaml
            sellers:
              types:
                home:
                  packing_stations: unlimited
                  pickup_times: []
                  pickup: {pickup}
            """
        ),
        encoding="utf-8",
    )
    study = load_study(world / "scenarios" / "fast.yaml", [Override.parse(s) for s in SHORT])
    rows = run(study, "taobao", tmp_path)
    kinds = study.scenario.sellers.type_of()
    home = list(study.scenario.sellers.types).index("home")
    return [
        float(r["shipped_h"]) for r in rows if r["shipped_h"] and kinds[int(r["seller"])] == home
    ]


def test_a_seller_may_ship_as_soon_as_packed(world, tmp_path):
    shipped = _home_ships(world, "on_packing", tmp_path)
    assert len(shipped) > 50
    # a daily 16:00 pickup would put every shipment at hour 16 of a day (the run starts
    # at local midnight); packed-and-gone ships at any time
    assert len({round(h % 24, 3) for h in shipped}) > 40


def test_a_seller_may_have_a_pickup_every_n_hours(world, tmp_path):
    shipped = _home_ships(world, "every 2h", tmp_path)
    assert len(shipped) > 50
    assert all(abs(h / 2 - round(h / 2)) < 1e-9 for h in shipped)
    assert len({h % 24 for h in shipped}) > 6


def test_unlimited_stations_never_make_an_order_wait(world, tmp_path):
    """With unlimited stations a seller's queue is empty: packing starts when the pending
    hold ends, so no order waits for a station."""
    scenario = world / "scenarios" / "quick.yaml"
    limited = load_study(scenario, [Override.parse(s) for s in SHORT])
    unlimited = load_study(
        scenario,
        [
            Override.parse(s)
            for s in [
                *SHORT,
                *(
                    f"sellers.types.{k}.packing_stations=unlimited"
                    for k in (
                        "home",
                        "professional",
                        "dropshipper",
                        "warehouse",
                        "platform_fulfilled",
                    )
                ),
            ]
        ],
    )
    assert all(t.stations == float("inf") for t in unlimited.scenario.sellers.types.values())
    a = simulate(RunSpec("taobao", limited.policies["taobao"], limited.scenario, 0, 7))
    b = simulate(RunSpec("taobao", unlimited.policies["taobao"], unlimited.scenario, 0, 7))
    assert a.metrics["orders"] == b.metrics["orders"]


# ---------------------------------------------------------------- extends


def test_an_extending_scenario_is_its_base_with_its_changes(world, root):
    from sim.model.load import read_scenario

    small = world / "scenarios" / "small.yaml"
    small.write_text(
        textwrap.dedent(
            """\
            extends: baseline.yaml
            name: small
            sellers:
              count: 50
              types:
                home:
                  pack_time: {dist: uniform, low: 10m, high: 30m}
            """
        ),
        encoding="utf-8",
    )
    doc = read_scenario(small)
    base = read_scenario(world / "scenarios" / "baseline.yaml")
    assert doc.data["sellers"]["count"] == 50
    assert doc.data["sellers"]["types"]["home"]["pack_time"] == {
        "dist": "uniform",
        "low": "10m",
        "high": "30m",
    }  # a distribution replaces the base's whole: no stray median or sigma
    assert list(doc.data["sellers"]["types"]) == list(base.data["sellers"]["types"])
    assert doc.data["buyers"] == base.data["buyers"]
    study = load_study(small)
    assert study.scenario.name == "small"


def test_a_problem_in_an_inherited_value_points_into_the_base(world):
    baseline = world / "scenarios" / "baseline.yaml"
    edit(baseline, "  rate_per_hour: 130", "  rate_per_hour: -3")
    line = next(
        i for i, t in enumerate(baseline.read_text().splitlines(), 1) if "rate_per_hour: -3" in t
    )
    found = problems(world / "scenarios" / "quick.yaml", "orders.rate_per_hour=-3")
    assert any(t.startswith("--set") for t in found)
    found = problems(world / "scenarios" / "singles-day.yaml")
    assert any(t.startswith(f"{baseline}:{line}:") for t in found), found


def test_an_extended_base_elsewhere_keeps_its_policy_paths(world, tmp_path):
    mine = tmp_path / "studies" / "mine.yaml"
    mine.parent.mkdir()
    mine.write_text(f"extends: {world / 'scenarios' / 'quick.yaml'}\nname: mine\n")
    study = load_study(mine)
    assert list(study.policies) == ["amazon", "taobao", "jd"]
    assert (
        Path(study.policy_paths["amazon"]).resolve()
        == (world / "policies" / "amazon.yaml").resolve()
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("extends: loop.yaml\n", "extends itself: loop.yaml -> loop.yaml"),
        ("extends: nowhere.yaml\n", "nowhere.yaml' not found"),
        ("extends: 3\n", "expected the path of a scenario file to extend"),
    ],
)
def test_a_bad_extends_is_one_line(world, content, message):
    path = world / "scenarios" / "loop.yaml"
    path.write_text(content, encoding="utf-8")
    (text,) = problems(path)
    assert text.startswith(f"{path}:1:") and message in text


def test_the_bundled_scenarios_extend_the_baseline(root):
    for name in ("quick", "singles-day", "window-sweep"):
        text = (root / "sim" / "builtin" / "scenarios" / f"{name}.yaml").read_text(encoding="utf-8")
        assert "\nextends: baseline.yaml" in text
        assert len(text.splitlines()) < 80


# ---------------------------------------------------------------- a platform from YAML


TOY_POLICY = """\
key: toy
name: Toy Market
platform: toy
currency: EUR
calendar: DE
sources:
  made-up:
    title: "A platform made up for a test"
    seen: 2026-11-28
    confidence: R
self_cancel:
  window: null          # the buyer cancels alone at any time before packing
  until: packing
  source: made-up
seller_cancel:
  reasons:
    Gone: {cause: out_of_stock, counted: true}
    Oops: {cause: pricing_error, counted: true}
    Where: {cause: undeliverable_address, counted: false}
  source: made-up
ship_by:
  within: 1 business day
  source: made-up
refunds:
  processing: 0h
  rails:
    wallet: {delay: 0h, source: made-up}
  source: made-up
seller_metric:
  name: Cancels
  counts: [seller_cancelled]
  window: 14d
  lag: 2d
  threshold: 0.02
  source: made-up
"""


@pytest.mark.external
def test_a_new_platform_is_a_yaml_file(tmp_path, root):
    """A toy platform, written in a temporary folder with no code, runs from the CLI."""
    (tmp_path / "toy.yaml").write_text(TOY_POLICY, encoding="utf-8")
    (tmp_path / "study.yaml").write_text(
        textwrap.dedent(
            f"""\
            extends: {root / "sim" / "builtin" / "scenarios" / "quick.yaml"}
            name: toy-study
            replications: 1
            exchange_rates: {{EUR: 1.1}}
            policies:
              - file: toy.yaml
                payment_mix: {{wallet: 1.0}}
            """
        ),
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-m", "sim", "run", "study.yaml", "--no-report", "--out", "out"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    metrics = summary["policies"]["toy"]["metrics"]
    assert summary["policies"]["toy"]["name"] == "Toy Market"
    # no pending hold: packing starts at once, so few buyers are in time to cancel alone,
    # and without cancel requests the rest cannot cancel at all
    assert 0 < metrics["self_cancel_share"]["mean"] < metrics["failed_cancel_share"]["mean"]
    assert metrics["request_cancel_share"]["mean"] == 0
    assert metrics["platform_metric_rate"]["mean"] > 0


def test_rules_written_without_dates_are_in_force_always(root):
    toy = load_policy_text(TOY_POLICY)
    assert list(toy.versions) == [ALWAYS]
    assert toy.at(dt.date(1900, 1, 1)) is toy.at(dt.date(2200, 1, 1))


def load_policy_text(text: str):
    from sim.model.load import validate_policy
    from sim.model.yamlfile import parse_document

    return validate_policy(parse_document(text, "toy.yaml"))


def test_a_lagged_window_judges_the_days_lag_before_each_evaluation():
    """Lazada's reading: a 28-day window ending 7 days before each evaluation flags a
    seller exactly where the same window without lag flags it 7 days earlier."""
    import numpy as np

    from sim.engine.evaluation import Evaluation, _windows
    from sim.model.policy import Minimum, Window

    rng = np.random.default_rng(3)
    orders = rng.integers(0, 5, size=(30, 90))
    counted = np.minimum(orders, rng.integers(0, 2, size=(30, 90)))
    plain = Evaluation(Window(days=28), "daily", Minimum(counted=2), 0.1)
    lagged = Evaluation(Window(days=28), "daily", Minimum(counted=2), 0.1, lag=7)
    days = np.arange(90)
    o, c, flags = _windows(orders, counted, days, ((0, plain),), DAY, minimum=True)
    lo, lc, lflags = _windows(orders, counted, days, ((0, lagged),), DAY, minimum=True)
    assert (lo[:, 7:] == o[:, :-7]).all() and (lflags[:, 7:] == flags[:, :-7]).all()
    assert (lo[:, :7] == 0).all() and not lflags[:, :7].any()  # nothing before the run
    assert flags.any()


def test_ten_policies_get_ten_colours(root):
    from sim.model.load import load_study
    from sim.report.data import _colours

    study = load_study(root / "sim" / "builtin" / "scenarios" / "global.yaml")
    info = {k: {"platform": p.platform} for k, p in study.policies.items()}
    colours = _colours(info)
    assert len(colours) == 10 and len(set(colours.values())) == 10
    assert colours["amazon"] == "#E69F00" and colours["taobao"] == "#D55E00"


# ---------------------------------------------------------------- edges the mutants found


def test_a_toy_platform_without_requests_plays_in_process(tmp_path, root):
    """A buyer too late to cancel alone, under rules with no cancel request, keeps the
    order: no request is asked, and the run ends with every order in one outcome."""
    policy = tmp_path / "toy.yaml"
    policy.write_text(TOY_POLICY, encoding="utf-8")
    (tmp_path / "study.yaml").write_text(
        "extends: builtin:quick\nexchange_rates: {EUR: 1.1}\n"
        "policies: [{file: toy.yaml, payment_mix: {wallet: 1.0}}]\n",
        encoding="utf-8",
    )
    study = load_study(tmp_path / "study.yaml", [Override.parse(s) for s in SHORT])
    result = simulate(RunSpec("toy", study.policies["toy"], study.scenario, 0, 7))
    assert result.metrics["request_cancel_share"] == 0
    assert result.metrics["failed_cancel_share"] > result.metrics["self_cancel_share"] > 0


def test_a_request_succeeds_only_before_its_stage(root):
    """Amazon's requests limited to orders not yet released: every buyer who wishes to
    cancel during the 30-minute hold does so alone, so no request ever succeeds; one
    released order may not request at all."""
    study = load_study(
        root / "sim" / "builtin" / "scenarios" / "quick.yaml",
        [Override.parse(s) for s in (*SHORT, "amazon.cancel_request.until=released")],
    )
    result = simulate(RunSpec("amazon", study.policies["amazon"], study.scenario, 0, 7))
    assert result.metrics["request_cancel_share"] == 0
    assert result.metrics["self_cancel_share"] > 0


def test_a_lag_is_whole_days_of_the_metric():
    from sim.engine.evaluation import Evaluation
    from sim.model.policy import SellerMetric

    def lag(text: str) -> int:
        metric = SellerMetric.model_validate(
            {
                "name": "m",
                "counts": ["seller_cancelled"],
                "window": "28d",
                "lag": text,
                "source": "s",
            }
        )
        evaluation = Evaluation.of(metric)
        assert evaluation is not None
        return evaluation.lag

    assert [lag("0d"), lag("7d"), lag("13d")] == [0, 7, 13]
    assert Evaluation.of(None) is None


def test_a_metric_that_starts_or_loses_its_threshold_mid_run_is_evaluated_only_then():
    import numpy as np

    from sim.engine.evaluation import Evaluation, evaluate
    from sim.model.policy import Minimum, Window

    orders = np.full((4, 28), 10)
    counted = np.full((4, 28), 5)  # every seller at 50% every day
    rule = Evaluation(Window(days=1), "daily", Minimum(), 0.1)
    none = Evaluation(Window(days=1), "daily", Minimum(), float("nan"))
    judged = np.ones(4, dtype=bool)
    # days without a metric or a threshold are not evaluated: every evaluated day is over
    for schedule in (((0, None), (14, rule)), ((0, none), (14, rule)), ((0, rule), (14, none))):
        out, _ = evaluate(orders, counted, schedule, DAY, 0, judged)
        assert out["seller_days_over_threshold_share"] == 1.0
        assert out["sellers_flagged_share"] == 1.0
        assert out["seller_weeks_flagged_share"] == 1.0


def test_a_one_day_window_on_the_first_day_holds_that_day():
    import numpy as np

    from sim.engine.evaluation import Evaluation, _windows
    from sim.model.policy import Minimum, Window

    orders = np.array([[3, 0, 0]])
    counted = np.array([[1, 0, 0]])
    rule = Evaluation(Window(days=1), "daily", Minimum(), 0.1)
    o, c, over = _windows(orders, counted, np.arange(3), ((0, rule),), DAY, minimum=True)
    assert o.tolist() == [[3, 0, 0]] and c.tolist() == [[1, 0, 0]]
    assert over.tolist() == [[True, False, False]]


def test_one_business_day_reads_in_the_singular():
    assert str(Duration(1.0, True)) == "1 business day"
    assert str(Duration(2.0, True)) == "2 business days"
    assert str(Duration(0.5, True)) == "0.5 business days"


def test_an_expectation_file_drops_a_baseline_it_does_not_play(root):
    from sim.checks.runner import _only

    study = load_study(root / "sim" / "builtin" / "scenarios" / "global.yaml")
    assert study.scenario.baseline == "amazon"
    alone = _only(None, study, ["taobao"])  # type: ignore[arg-type]
    assert alone.scenario.baseline is None and list(alone.policies) == ["taobao"]
    assert [r.key for r in alone.scenario.policies] == ["taobao"]
    both = _only(None, study, ["amazon", "ebay"])  # type: ignore[arg-type]
    assert both.scenario.baseline == "amazon"


def test_diff_matches_a_policy_by_key_before_platform(world):
    """jd and jd-pop share a platform: a diff of jd-pop finds it by its key (by platform
    there would be two candidates)."""
    from sim.checks.diff import paired_study, read_source

    (world / "scenarios" / "two-jd.yaml").write_text(
        "extends: quick.yaml\nbaseline: null\npolicies:\n"
        "  - {file: ../policies/jd.yaml, payment_mix: {wechat_pay: 1.0}}\n"
        "  - {file: ../policies/jd-pop.yaml, payment_mix: {wechat_pay: 0.5, jd_wallet: 0.5}}\n",
        encoding="utf-8",
    )
    pop = read_source(str(world / "policies" / "jd-pop.yaml"))
    study = paired_study(pop, pop, world / "scenarios" / "two-jd.yaml")
    assert study.scenario.policies[0].payment_mix == {"wechat_pay": 0.5, "jd_wallet": 0.5}


def test_a_revision_whose_name_has_a_dot_keeps_the_file_stem(tmp_path, root):
    from sim.checks.diff import read_source

    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copy(root / "sim" / "builtin" / "policies" / "jd.yaml", repo / "jd.yaml")
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t", "-C", str(repo)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "jd"], check=True)
    subprocess.run([*git, "tag", "v1.5"], check=True)
    assert read_source(f"{repo / 'jd.yaml'}@v1.5").key == "jd"


def test_extending_orders_value_keeps_the_base_orders(world):
    (world / "scenarios" / "c.yaml").write_text(
        "extends: quick.yaml\norders: {value: {dist: lognormal, median: 40, sigma: 0.8}}\n",
        encoding="utf-8",
    )
    quick = load_study(world / "scenarios" / "quick.yaml").scenario.orders
    orders = load_study(world / "scenarios" / "c.yaml").scenario.orders
    assert orders.promotions == quick.promotions and orders.daily_profile == quick.daily_profile
    assert orders.rate_per_hour == quick.rate_per_hour and orders.value.median == 40


def test_an_extending_sweep_replaces_the_base_sweep(world):
    for sweep, axes in (("{amazon.pending.hold: [0m, 1h]}", ["amazon.pending.hold"]), ("{}", [])):
        (world / "scenarios" / "c.yaml").write_text(
            f"extends: window-sweep.yaml\nsweep: {sweep}\n", encoding="utf-8"
        )
        assert list(load_study(world / "scenarios" / "c.yaml").scenario.sweep) == axes


def test_set_on_a_dated_version_holds_its_range_and_may_add_a_date(root):
    path = root / "sim" / "builtin" / "scenarios" / "amazon-autocancel-2020.yaml"
    free = [f.key for f in load_study(path).factors]
    assert "amazon.auto_cancel.after.2024-09-16" in free
    held = load_study(path, [Override.parse("amazon.auto_cancel.after.2024-09-16=5 business days")])
    assert "amazon.auto_cancel.after.2024-09-16" not in [f.key for f in held.factors]
    added = load_study(path, [Override.parse("amazon.auto_cancel.after.2020-10-05=3d")])
    amazon = added.policies["amazon"]
    assert amazon.at(dt.date(2020, 10, 6)).auto_cancel.after == Duration(72.0)
    assert amazon.at(dt.date(2020, 10, 1)).auto_cancel.after == Duration(7.0, True)
    with pytest.raises(InputError) as exc:
        load_study(path, [Override.parse("amazon.auto_cancel.after.2020-10-05=-3d")])
    assert exc.value.problems[0].file == "--set"


def test_extends_cannot_be_set_and_a_nul_in_it_is_one_line(world):
    (text,) = problems(world / "scenarios" / "quick.yaml", "extends=other.yaml")
    assert text.startswith("--set") and "extends cannot be set" in text
    path = world / "scenarios" / "nul.yaml"
    path.write_text('extends: "base\\0.yaml"\n', encoding="utf-8")
    (text,) = problems(path)
    assert text.startswith(f"{path}:1:") and "NUL" in text


def test_the_evaluation_schedule_starts_each_version_on_its_local_day(root):
    """A run starting at 12:00 local: the 2020-09-30 version applies from the run's day
    index of that date, whatever the start's hour."""
    from sim.engine.simulate import evaluation_schedule

    policy = load_policy(root / "sim" / "builtin" / "policies" / "amazon.yaml")
    calendar = BusinessCalendar("US", dt.date(2020, 8, 1), 400, 12.0)
    compiled = compile_policy("amazon", policy, calendar, ("credit_card",), 1.0, 24 * 120)
    schedule = evaluation_schedule(compiled)
    days = [day for day, _ in schedule]
    assert days[1:] == [(dt.date(2020, 9, 30) - dt.date(2020, 8, 1)).days]
    assert all(rule is not None and rule.threshold == 0.025 for _, rule in schedule)
