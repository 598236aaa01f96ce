"""Issue 16, part B: every number of a file has a bound, checked at validation, that keeps
the arithmetic it feeds finite; problems of an expectation file's `set:` entries point at
the entry; user text never breaks a one-line message nor reorders the text around it.

Each attack below used to validate and then crash, loop or fail every run (or, for the
messages, to come out on several lines, without a line number, or unisolated); the
bounds themselves are listed in README ("Bounds").
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

import sim
from sim.cli import main
from sim.errors import InputError, Problem
from sim.model.load import Override, load_study

ROOT = Path(__file__).resolve().parent.parent
QUICK = "builtin:quick"
BIG = 10**400  # a whole number no float holds
NINES = "9" * 400 + "h"  # a duration whose hours are no finite float
SMALL = [("horizon", "2d"), ("warmup", "1d"), ("drain", "3d")]


def _overrides(pairs: list[tuple[str, Any]]) -> list[Override]:
    return [Override(tuple(k.split(".")), v, f"{k}={v!r}"[:80]) for k, v in pairs]


def refused(key: str, value: Any) -> list[Problem]:
    """The problems of the quick scenario with `key` set to `value` (as --set does)."""
    with pytest.raises(InputError) as caught:
        load_study(QUICK, _overrides([(key, value)]))
    return caught.value.problems


# ----------------------------------------------------------------- every number bounded
ATTACKS = [
    # (key, value, the problem's key path, its message after "path: ")
    (
        "orders.rate_per_hour",
        1e308,
        "orders.rate_per_hour",
        "1e+308 is out of range; expected a value <= 10,000,000",
    ),
    (
        "orders.rate_per_hour",
        BIG,
        "orders.rate_per_hour",
        "a 401-digit number is out of range; expected a value <= 10,000,000",
    ),
    (
        "orders.promotions",
        [{"date": "2026-03-08", "multiplier": 1e308}],
        "orders.promotions[0].multiplier",
        "1e+308 is out of range; expected a value <= 1,000",
    ),
    (
        "orders.value",
        {"dist": "lognormal", "median": 30, "sigma": 1e300},
        "orders.value",
        "a sigma of 1e+300 puts the 90th percentile endlessly many times the median; "
        "expected a sigma of at most 5 (607 times)",
    ),
    (
        "orders.value",
        {"dist": "lognormal", "median": 30, "sigma": 3.5},
        "orders.value",
        "its largest possible draw is 9.03e+13; expected every draw at most "
        "1,000,000,000,000 (lower the median, sigma or p90)",
    ),
    (
        "orders.value",
        1e300,
        "orders.value.value",
        "1e+300 is out of range; expected a value <= 1,000,000,000,000",
    ),
    (
        "orders.daily_profile",
        [1e308] * 24,
        "orders.daily_profile[0]",
        "1e+308 is out of range; expected a value <= 1,000,000",
    ),
    (
        "orders.weekly_profile",
        [5e-324, 0, 0, 0, 0, 0, 0],
        "orders.weekly_profile",
        "the largest weight is 4.94066e-324; expected at least 1e-06 "
        "(weights are relative: scale them all up)",
    ),
    (
        "exchange_rates.CNY",
        1e308,
        "exchange_rates.CNY",
        "1e+308 is out of range; expected a value <= 1,000,000,000",
    ),
    (
        "exchange_rates.CNY",
        5e-324,
        "exchange_rates.CNY",
        "5e-324 is out of range; expected a value >= 1e-09",
    ),
    (
        "seed",
        BIG,
        "seed",
        "a 401-digit number is out of range; expected a value <= 9,223,372,036,854,775,807",
    ),
    (
        "sellers.size_bands",
        {"small": 0, "huge": 1e308},
        "sellers.size_bands.huge",
        "1e+308 is out of range; expected a value <= 1,000,000,000,000",
    ),
    (
        "sellers.types.home.popularity",
        1e308,
        "sellers.types.home.popularity.value",
        "1e+308 is out of range; expected a value <= 1,000,000,000,000",
    ),
    (
        "buyers.intent_delay",
        {"dist": "gamma", "mean": "2h", "shape": 5e-324},
        "buyers.intent_delay",
        "a shape of 4.94066e-324 makes nearly every draw 0; expected a shape from 0.01 to 1e+06",
    ),
    (
        "buyers.intent_delay",
        {"dist": "gamma", "mean": "2h", "shape": 1e308},
        "buyers.intent_delay.shape",
        "1e+308 is out of range; expected a value <= 1,000,000",
    ),
    (
        "delivery.transit",
        "9999999h",
        "delivery.transit.value",
        "9999999h is too long; expected at most 365d for a market time",
    ),
    (
        "delivery.transit",
        NINES,
        "delivery.transit.value",
        "'9999999999999999999999999999999999...' is endless as a float; "
        "expected a duration such as 30d",
    ),
    (
        "amazon.ship_by.within",
        "300 business days",
        "ship_by.within",
        "300 business days is too long; expected at most 180d (or 120 business days) in a policy",
    ),
    (
        "amazon.refunds.processing",
        NINES,
        "refunds.processing.value",
        "'9999999999999999999999999999999999...' is endless as a float; "
        "expected a duration such as 30d",
    ),
    (
        "amazon.refunds.processing",
        {"dist": "exponential", "mean": "99999999999999h"},
        "refunds.processing.mean",
        "1e+14h is too long; expected at most 180d (or 120 business days) in a policy",
    ),
    (
        "amazon.seller_metric.minimum.orders",
        10**30,
        "seller_metric.minimum.orders",
        "1000000000000000000000000000000 is out of range; expected a value <= 1,000,000,000",
    ),
    (
        "amazon.late_shipment",
        {"compensation": {"share": 0.1, "maximum": 1e308}, "source": "help"},
        "late_shipment.compensation.maximum",
        "1e+308 is out of range; expected a value <= 1,000,000,000,000",
    ),
    (
        "sweep",
        {"orders.rate_per_hour": list(range(1, 101)), "sellers.count": list(range(1, 101))},
        "sweep",
        "100 x 100 values make 10,000 points; expected at most 1,000",
    ),
    (
        "policies",
        [{"file": "", "payment_mix": {"credit_card": 1}}],
        "policies[0].file",
        "'' names no file; expected a policy file, relative to the scenario "
        "(../policies/amazon.yaml), or builtin:NAME",
    ),
]


@pytest.mark.parametrize(
    ("key", "value", "path", "message"), ATTACKS, ids=[f"{a[0]}={a[2]}" for a in ATTACKS]
)
def test_a_number_past_its_bound_is_refused_at_validation(key, value, path, message):
    problems = [p for p in refused(key, value) if p.path == path]
    assert problems, refused(key, value)
    assert problems[0].file == "--set" and problems[0].message.startswith(message)
    assert "\n" not in str(problems[0])


def test_a_sweep_asking_for_more_than_a_million_runs_is_refused():
    with pytest.raises(InputError) as caught:
        load_study(
            QUICK,
            _overrides(
                [("replications", 10_000), ("sweep", {"orders.rate_per_hour": [*range(1, 201)]})]
            ),
        )
    (problem,) = caught.value.problems
    assert (problem.file, problem.path) == ("--set", "sweep")
    assert problem.message.startswith(
        "200 points x 10,000 replications x 3 policies make 6,000,000 runs; expected at "
        "most 1,000,000"
    )


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("orders.rate_per_hour", 1e7),
        ("orders.rate_per_hour", 5e-324),
        ("orders.promotions", [{"date": "2026-03-08", "multiplier": 1000}]),
        ("orders.value", 1e12),
        ("orders.value", {"dist": "lognormal", "median": 30, "sigma": 2.5}),
        ("exchange_rates.CNY", 1e-9),
        ("exchange_rates.CNY", 1e9),
        ("seed", 2**63 - 1),
        ("delivery.transit", "365d"),
        ("delivery.transit", {"dist": "lognormal", "median": "1d", "sigma": 5}),
        ("amazon.ship_by.within", "120 business days"),
        ("amazon.auto_cancel.after", "180d"),
        ("amazon.seller_metric.lag", "365d"),
        ("amazon.seller_metric.minimum.orders", 10**9),
    ],
)
def test_a_number_at_its_bound_is_valid(key, value):
    """The bounds are not tighter than they say (this passed before the bounds too)."""
    load_study(QUICK, _overrides([(key, value)]))


def test_the_bundled_files_are_valid():
    result = CliRunner().invoke(
        main,
        [
            "validate",
            *map(str, sorted((ROOT / "sim" / "builtin" / "policies").glob("*.yaml"))),
            *map(str, sorted((ROOT / "sim" / "builtin" / "scenarios").glob("*.yaml"))),
            *map(str, sorted((ROOT / "tests" / "policies").glob("*.yaml"))),
        ],
    )
    assert result.exit_code == 0, result.output


def test_money_at_its_bound_is_conserved_to_the_cent():
    """Orders worth 1e12 each (the bound): a block of them sums exactly in int64 cents,
    so every run passes its money-conservation check."""
    study = load_study(QUICK, _overrides([*SMALL, ("orders.value", 1e12)]))
    results = sim.run(study, replications=1)
    assert not results.failures
    assert results.summary["policies"]["amazon"]["metrics"]["orders"]["mean"] > 0


def test_the_size_check_estimates_the_largest_valid_rate():
    """At the largest rate, the promotion's largest multiplier and a profile in one hour,
    the memory estimate is still a finite number (1e308 overflowed it: refused now)."""
    from sim.experiment.budget import estimate

    study = load_study(
        QUICK,
        _overrides(
            [
                ("orders.rate_per_hour", 1e7),
                ("orders.daily_profile", [1e6] + [0] * 23),
                ("orders.promotions", [{"date": "2026-03-08", "multiplier": 1000}]),
            ]
        ),
    )
    need = estimate(study.scenario)
    assert 1e12 < need.open_orders < 1e15 and math.isfinite(need.bytes_per_run)


def test_a_huge_whole_number_in_a_declared_range_is_a_problem_not_a_crash(tmp_path):
    path = tmp_path / "ranges.yaml"
    path.write_text(
        "extends: builtin:quick\nname: ranges\n"
        f"orders: {{rate_per_hour: {{value: 22, range: [1, {BIG}]}}}}\n"
    )
    with pytest.raises(InputError) as caught:
        load_study(path)
    (problem,) = caught.value.problems
    assert str(problem) == (
        f"{path}:3:48: orders.rate_per_hour.range[1]: a 401-digit number is too large to "
        "compute with; expected a number"
    )


# ----------------------------------------------------------------- the commands
NEW_SCENARIOS = [
    "scenario_rate_overflow.yaml",
    "scenario_promotion_overflow.yaml",
    "scenario_value_sigma_huge.yaml",
    "scenario_value_too_large.yaml",
    "scenario_empty_policy_file.yaml",
    "scenario_huge_integers.yaml",
    "scenario_exchange_rate_extremes.yaml",
    "scenario_profile_denormal.yaml",
    "scenario_market_time_too_long.yaml",
    "scenario_sweep_too_many_points.yaml",
    "scenario_gamma_shape_extremes.yaml",
    "scenario_declared_range_overflow.yaml",
    "scenario_declared_range_past_bound.yaml",
]
BAD = Path("tests/fixtures/bad")
EXPECTED = yaml.safe_load((ROOT / BAD / "expected.yaml").read_text())


@pytest.mark.parametrize("name", NEW_SCENARIOS)
def test_run_on_each_attack_exits_2_with_its_lines_and_writes_nothing(name, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    out = tmp_path / "results"
    result = CliRunner().invoke(main, ["run", str(BAD / name), "--out", str(out), "--jobs", "1"])
    assert "Traceback" not in result.output
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.splitlines() == EXPECTED[name]
    assert not out.exists()


# ----------------------------------------------------------------- --set texts
@pytest.mark.parametrize(
    ("text", "line"),
    [
        (
            "horizon=1d\n2",
            "--set: 'horizon=1d\\n2': the value is not valid: YAML syntax error: "
            "could not find expected ':'",
        ),
        (
            "policies.0.file=",
            "--set: policies[0].file: '' names no file; expected a policy file, relative to "
            "the scenario (../policies/amazon.yaml), or builtin:NAME (from --set "
            "policies.0.file=, for ",
        ),
        (
            "sellers.types.home=1",
            "--set: sellers.types.home: 1 is wrong; expected a mapping of keys "
            "(from --set sellers.types.home=1, for ",
        ),
    ],
)
def test_a_malformed_set_is_one_line_naming_set(text, line):
    with pytest.raises(InputError) as caught:
        load_study(QUICK, [Override.parse(text)])
    (problem,) = caught.value.problems
    assert str(problem).startswith(line)
    assert "\n" not in str(problem)


# ----------------------------------------------------------------- an expectation's set:
def test_set_entries_of_an_expectation_file_are_reported_at_their_lines(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(
        "name: t\nscenario: builtin:quick\n"
        "set: [horizon=2d, warmup=1d, 'amazon.self_cancel.window=99999d']\n"
        "cases:\n  - name: c\n    policy: amazon\n    expect:\n"
        "      orders: {min: 1}\n"
    )
    result = CliRunner().invoke(main, ["test", str(path), "--jobs", "1"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"{path}:3:30: set[2]: self_cancel.window: 99999d is too long; expected at most "
        "180d (or 120 business days) in a policy (from set: "
        "amazon.self_cancel.window=99999d, for builtin:amazon)"
    ]


# ----------------------------------------------------------------- one line, isolated
def test_a_diff_revision_with_a_line_break_is_one_line(tmp_path):
    from sim.checks.diff import read_source

    file = tmp_path / "amazon.yaml"
    file.write_text((ROOT / "sim" / "builtin" / "policies" / "amazon.yaml").read_text())
    with pytest.raises(InputError) as caught:
        read_source(f"{file}@HEAD\nx")
    (problem,) = caught.value.problems
    assert str(problem) == (
        f"{file}@HEAD\\nx: holds \\n: a path@revision is one line of visible text, "
        "e.g. policies/amazon.yaml@HEAD~1"
    )


def test_the_diff_command_refuses_a_revision_with_a_control_character(root, monkeypatch):
    monkeypatch.chdir(root)
    old = "sim/builtin/policies/amazon.yaml@HEAD\x1b[2J"
    result = CliRunner().invoke(main, ["diff", old, "sim/builtin/policies/amazon.yaml"])
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert "\x1b" not in line and "\\x1b" in line


def test_rule_changes_are_one_line_each_whatever_a_note_holds():
    from sim.checks.diff import rule_changes

    changes = rule_changes({"note": "a\nb"}, {"note": "a\u202eb", "name": "x\ry"})
    assert changes == ["note: a\\nb -> a\\u202eb", "name: (none) -> x\\ry"]


def test_a_problem_shows_bidi_controls_and_line_breaks_escaped():
    problem = Problem("amazon\u202elmth.yaml", 3, 5, "name", "'x'\nsecond line\u2066")
    assert str(problem) == "amazon\\u202elmth.yaml:3:5: name: 'x'\\nsecond line\\u2066"


def test_the_report_isolates_user_text_with_bidi_controls_or_rtl_letters():
    from sim.report.build import template

    page = template().environment.from_string(
        '<td title="{{ a }}">{{ a }}</td><td>{{ b }}</td><td>{{ c }}</td><td>{{ n }}</td>'
    )
    html = page.render(a="amazon\u202elmth.exe", b="\u05d0\u05de\u05d6\u05d5\u05df", c="jd", n=3)
    assert html == (
        '<td title="\u2068amazon\\u202elmth.exe\u2069">\u2068amazon\\u202elmth.exe\u2069</td>'
        "<td>\u2068\u05d0\u05de\u05d6\u05d5\u05df\u2069</td><td>jd</td><td>3</td>"
    )


def test_a_stray_pop_isolate_cannot_end_the_isolation_early():
    """U+2069 in the user's text would close the report's isolate and let an override run
    on: every bidi control is escaped, so the only isolate characters are the report's."""
    from sim.visible import isolated

    text = isolated("\u2069\u202eevil")
    assert text == "\u2068\\u2069\\u202eevil\u2069"
    assert re.sub(r"[^\u2066-\u2069\u202a-\u202e]", "", text) == "\u2068\u2069"


def test_a_passing_case_s_name_is_shown_escaped(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(
        "name: t\nscenario: builtin:quick\nset: [horizon=2d, warmup=1d]\n"
        "policies: [amazon]\nreplications: 2\n"
        'cases:\n  - name: "safe\u202e won"\n    policy: amazon\n    expect:\n'
        "      orders: {min: 1}\n"
    )
    result = CliRunner().invoke(main, ["test", str(path), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == f"PASS {path}:7: safe\\u202e won"


def test_a_command_line_sweep_has_the_same_bound_as_a_scenario_sweep() -> None:
    from click.testing import CliRunner

    from sim.cli import main

    values = ",".join(f"{0.01 + i / 100_000:.5f}" for i in range(1001))
    result = CliRunner().invoke(
        main, ["run", "builtin:quick", "--sweep", f"buyers.cancel_intent={values}"]
    )
    assert result.exit_code == 2
    assert result.stderr == "--sweep: 1,001 points; expected at most 1,000\n"


def test_a_business_day_delay_from_a_long_tail_grows_the_calendar(tmp_path: Path) -> None:
    """An exponential refund delay of mean 100 business days draws some refunds past the
    400 days the calendar is first built for: the calendar grows, the runs finish."""
    import datetime as dt

    from sim.model.builtin import FOLDER
    from sim.model.calendar import BusinessCalendar

    calendar = BusinessCalendar("none", dt.date(2026, 3, 2), 10)
    assert calendar.add_business_days(0.0, 50.0) == 50 * 24.0  # grown from 10 days
    assert len(calendar.working) >= 51
    text = (FOLDER / "policies" / "amazon.yaml").read_text(encoding="utf-8")
    old = "      delay: {dist: uniform, low: 3 business days, high: 5 business days}"
    assert old in text
    policy = tmp_path / "a.yaml"
    policy.write_text(
        text.replace(old, "      delay: {dist: exponential, mean: 100 business days}"),
        encoding="utf-8",
    )
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "extends: builtin:quick\npolicies:\n"
        "  - file: a.yaml\n    payment_mix: {credit_card: 1.0}\n",
        encoding="utf-8",
    )
    results = sim.run(sim.load(str(scenario), ["horizon=2d", "warmup=1d"]), replications=2)
    assert not results.failures  # before the calendar grew, every run failed
    assert results.summary["policies"]["a"]["metrics"]["money_back_hours_p99"]["mean"] > 300 * 24


def test_a_business_day_delay_whose_tail_leaves_any_calendar_is_refused(tmp_path: Path) -> None:
    from sim.model.builtin import FOLDER

    text = (FOLDER / "policies" / "amazon.yaml").read_text(encoding="utf-8")
    old = "      delay: {dist: uniform, low: 3 business days, high: 5 business days}"
    policy = tmp_path / "a.yaml"
    policy.write_text(
        text.replace(old, "      delay: {dist: lognormal, median: 5 business days, sigma: 2}"),
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["validate", str(policy)])
    assert result.exit_code == 2
    assert result.stderr.endswith(
        "refunds.rails.credit_card.delay: its largest possible draw is 6.76e+07; expected "
        "every draw at most 20,000 business days (lower the median, sigma or p90)\n"
    )
