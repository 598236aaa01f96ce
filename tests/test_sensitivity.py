"""Declared ranges and sensitivity analysis: the syntax and its errors, the designs, the
effects on worlds whose answer is known, and the commands."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from sim.cli import main
from sim.errors import InputError
from sim.experiment import sensitivity as sa
from sim.model.load import Override, load_study
from sim.model.uncertain import Factor

ROOT = Path(__file__).resolve().parent.parent
ONE_POLICY = "policies=[{file: taobao.yaml, payment_mix: {alipay_balance: 0.65, bank_card: 0.35}}]"


def scenario(tmp_path: Path, replace: dict[str, str] | None = None, name: str = "s.yaml") -> Path:
    """quick.yaml (with what it takes from the scenario it extends) and its policies
    without their declared ranges (each test declares its own), written into `tmp_path`,
    with some lines of the scenario replaced."""
    import yaml

    from sim.model.load import read_scenario
    from sim.model.uncertain import declared
    from sim.model.yamlfile import read_document

    def plain(path: Path, read=read_document) -> str:
        doc = read(path)
        doc.data.pop("extends", None)  # its base is merged in
        declared(doc)
        return yaml.safe_dump(doc.data, sort_keys=False, allow_unicode=True, width=1000)

    text = plain(ROOT / "sim" / "builtin" / "scenarios" / "quick.yaml", read_scenario)
    for policy in ("amazon", "taobao", "jd"):
        (tmp_path / f"{policy}.yaml").write_text(
            plain(ROOT / "sim" / "builtin" / "policies" / f"{policy}.yaml")
        )
        text = text.replace(f"../policies/{policy}.yaml", str(tmp_path / f"{policy}.yaml"))
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


INTENT = "cancel_intent: 0.06\n"
GOOD = "good_record: 0.8\n"
DECLARED = {
    INTENT: "cancel_intent: {value: 0.06, range: [0.02, 0.12], why: a test}\n",
    GOOD: "good_record: {value: 0.8, range: [0.5, 1.0], why: a test}\n",
}
OURS = ["buyers.cancel_intent", "buyers.good_record"]


def problems(path: Path) -> list[str]:
    with pytest.raises(InputError) as caught:
        load_study(path)
    return [str(p) for p in caught.value.problems]


# --- the syntax -------------------------------------------------------------------


def test_ordinary_runs_use_the_value_as_if_the_file_said_only_it(tmp_path):
    plain = load_study(scenario(tmp_path, name="plain.yaml"))
    declared = load_study(scenario(tmp_path, DECLARED))
    assert declared.scenario == plain.scenario
    assert declared.policies == plain.policies
    assert [f.key for f in declared.factors] == OURS
    assert plain.factors == ()


def test_a_factor_remembers_its_range_line_and_reason(tmp_path):
    path = scenario(tmp_path, DECLARED)
    line = next(
        i for i, text in enumerate(path.read_text().splitlines(), 1) if "cancel_intent:" in text
    )
    factor = load_study(path).factors[0]
    assert (factor.value, factor.low, factor.high) == (0.06, 0.02, 0.12)
    assert (factor.file, factor.line, factor.why, factor.dist) == (
        str(path),
        line,
        "a test",
        "uniform",
    )
    assert factor.unit == "" and not factor.whole


@pytest.mark.parametrize(
    ("declaration", "message"),
    [
        ("{value: 0.06, range: [0.12, 0.02]}", "low 0.12 is above high 0.02"),
        ("{value: 0.06, range: [0.02, 1.5]}", "its high end 1.5 is not allowed here"),
        ("{value: 0.06, range: [0.02, 0.12], dist: lognorm}", "unknown dist 'lognorm'"),
        ("{value: 0.2, range: [0.02, 0.12]}", "0.2 is outside its own range"),
        ("{value: 0.06, range: [0.02, 0.12], wy: x}", "unknown key in a declared range"),
        ("{value: 0.06, range: [2h, 0.12]}", "'2h' is not like the value"),
        ("{value: 0.06, range: [0.06, 0.06]}", "low and high are equal"),
        ("{value: 0.06, range: [0, 0.12], dist: loguniform}", "must start above 0"),
        ("{value: 0.06, range: 0.1}", "expected [low, high]"),
        ("{range: [0.02, 0.12]}", "needs the value ordinary runs use"),
        ("{value: 0.06, range: [0.02, 0.12], why: [1]}", "expected one line of text"),
    ],
)
def test_a_bad_declaration_is_one_line_at_its_place(tmp_path, declaration, message):
    path = scenario(tmp_path, {INTENT: f"cancel_intent: {declaration}\n"})
    found = problems(path)
    assert len(found) == 1, found
    assert message in found[0]
    line = next(
        i for i, text in enumerate(path.read_text().splitlines(), 1) if "cancel_intent:" in text
    )
    assert found[0].startswith(f"{path}:{line}:")


def test_a_range_on_a_key_that_does_not_exist_is_an_unknown_key(tmp_path):
    path = scenario(tmp_path, {INTENT: "cancel_intnet: {value: 0.06, range: [0.02, 0.1]}\n"})
    found = problems(path)
    assert any("cancel_intnet" in p and "unknown key" in p for p in found), found


def test_a_range_that_breaks_a_distribution_is_reported_at_the_range(tmp_path):
    old = "median: 1.5h\n    p90: 24h\n"
    new = "median: {value: 1.5h, range: [30m, 30h]}\n    p90: 24h\n"
    found = problems(scenario(tmp_path, {old: new}))
    assert len(found) == 1
    assert "median.range: its high end 30h is not allowed here" in found[0]
    assert "p90 must be at least the median" in found[0]


def test_the_command_line_exits_2_with_one_line(tmp_path):
    path = scenario(tmp_path, {INTENT: "cancel_intent: {value: 0.06, range: [0.2, 0.1]}\n"})
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert "low 0.2 is above high 0.1" in result.output


def test_a_policy_factor_is_named_by_the_policy_and_held_by_set(tmp_path):
    path = scenario(tmp_path)
    policy = tmp_path / "taobao.yaml"
    text = policy.read_text(encoding="utf-8")
    assert "success: 0.6\n" in text
    declared = "success: {value: 0.6, range: [0.4, 0.8], dist: triangular}\n"
    policy.write_text(text.replace("success: 0.6\n", declared), encoding="utf-8")
    (factor,) = load_study(path).factors
    assert factor.key == "taobao.after_shipment.interception.success"
    assert (factor.file, factor.dist) == (str(policy), "triangular")
    assert load_study(path, [Override.parse(f"{factor.key}=0.5")]).factors == ()


def test_a_point_places_each_factor_value_into_the_model(tmp_path):
    path = scenario(tmp_path, DECLARED)
    study = load_study(path, [], {"buyers.cancel_intent": 0.1, "buyers.good_record": 0.9})
    assert study.scenario.buyers.cancel_intent == 0.1
    assert study.scenario.buyers.good_record == 0.9
    with pytest.raises(InputError, match="no declared range named buyers.nothing"):
        load_study(path, [], {"buyers.nothing": 1.0})


# --- factors and designs ------------------------------------------------------------


def factor(**kw) -> Factor:
    fields = dict(
        key="k", path=("k",), value=2.0, low=1.0, high=4.0, unit="", whole=False,
        dist="uniform", why="", file="f", line=1, col=1,
    )  # fmt: skip
    return Factor(**{**fields, **kw})


def test_quantiles_map_through_each_distribution():
    assert factor().at(0.0) == 1.0 and factor().at(1.0) == 4.0 and factor().at(0.5) == 2.5
    log = factor(dist="loguniform")
    assert log.at(0.5) == pytest.approx(2.0)  # the geometric middle of 1 and 4
    tri = factor(dist="triangular")
    assert tri.at(1 / 3) == pytest.approx(2.0)  # mode 2: a third of the mass lies below
    assert tri.at(0.0) == 1.0 and tri.at(1.0) == 4.0
    assert factor(whole=True).at(0.45) == 2.0  # 2.35 rounded


def test_values_are_written_back_in_the_files_own_units():
    assert factor(unit="h").written(0.5) == "30m"
    assert factor(unit="h").written(36.0) == "36h"
    assert factor(unit="business days", whole=True).written(3.0) == "3 business days"
    assert factor(whole=True).written(3.0) == 3 and isinstance(factor(whole=True).written(3.0), int)
    assert factor().written(0.25) == 0.25


def test_designs_start_at_the_base_and_stay_in_their_ranges():
    fs = [factor(key="a"), factor(key="b", dist="loguniform")]
    for design in (
        sa.morris_design(fs, 4, seed=1),
        sa.sobol_design(fs, 8, seed=1),
        sa.latin_design(fs, 6, seed=1),
        sa.oat_design(fs),
    ):
        assert design.points[0] == {"a": 2.0, "b": 2.0}
        assert all(1.0 <= p[k] <= 4.0 for p in design.points for k in "ab")
    assert len(sa.morris_design(fs, 4, seed=1).points) == 1 + 4 * 3
    assert len(sa.sobol_design(fs, 8, seed=1).points) == 1 + 8 * 4
    assert sa.oat_design(fs).points[1:] == (
        {"a": 1.0, "b": 2.0}, {"a": 4.0, "b": 2.0}, {"a": 2.0, "b": 1.0}, {"a": 2.0, "b": 4.0},
    )  # fmt: skip
    again = sa.morris_design(fs, 4, seed=1)
    assert np.array_equal(again.unit, sa.morris_design(fs, 4, seed=1).unit)


def test_morris_finds_a_linear_slope_and_an_unused_factor():
    fs = [factor(key="a", low=0.0, high=10.0, value=5.0), factor(key="b")]
    design = sa.morris_design(fs, 8, seed=3)
    y = np.array([3.0 * p["a"] for p in design.points])  # slope 3 in a; b unused
    rows = {r["factor"]: r for r in sa.morris_effects(design, y, seed=3)}
    assert rows["a"]["effect"] == pytest.approx(30.0)  # 3 x the whole range of 10
    assert rows["a"]["mu"] == pytest.approx(30.0) and rows["a"]["sigma"] == pytest.approx(0.0)
    assert rows["a"]["rank"] == 1 and not rows["a"]["negligible"]
    assert rows["b"]["effect"] == 0.0 and rows["b"]["negligible"]


def test_oat_effects_are_high_minus_low_paired_over_replications():
    fs = [factor(key="a"), factor(key="b")]
    design = sa.oat_design(fs)
    # rows: base, a low, a high, b low, b high; columns: replications
    y = np.array([[5.0, 6.0], [4.0, 5.0], [8.0, 9.5], [5.0, 6.0], [5.0, 6.0]])
    rows = {r["factor"]: r for r in sa.oat_effects(design, y)}
    assert rows["a"]["signed"] == pytest.approx(4.25)
    assert rows["a"]["low"] == pytest.approx(-1.0) and rows["a"]["high"] == pytest.approx(3.25)
    assert rows["a"]["ci95"][0] < 4.25 < rows["a"]["ci95"][1]
    assert rows["a"]["low_ci95"] == [-1.0, -1.0]  # the same shift in both replications
    assert rows["a"]["high_ci95"][0] < 3.25 < rows["a"]["high_ci95"][1]
    assert rows["b"]["effect"] == 0 and rows["b"]["negligible"]
    y[3], y[4] = [1.0, 2.0], [7.0, 8.0]  # b: 4 below the base at its low end, 2 above at high
    rows = {r["factor"]: r for r in sa.oat_effects(design, y)}
    assert (rows["b"]["low"], rows["b"]["high"], rows["b"]["signed"]) == (-4.0, 2.0, 6.0)
    assert rows["a"]["signed"] == pytest.approx(4.25)


def test_sobol_gives_the_variance_to_the_factor_that_has_it():
    fs = [factor(key="a", low=0.0, high=1.0, value=0.5), factor(key="b")]
    design = sa.sobol_design(fs, 256, seed=2)
    y = np.array([p["a"] for p in design.points])
    rows = {r["factor"]: r for r in sa.sobol_effects(design, y, seed=2)}
    assert rows["a"]["effect"] == pytest.approx(1.0, abs=0.1)
    assert rows["b"]["effect"] == pytest.approx(0.0, abs=0.01)


def test_a_band_is_the_spread_of_the_points():
    band = sa.band(np.array([1.0, 2.0, math.nan, 3.0]))
    assert band["range"] == [1.0, 3.0] and band["points"] == 3
    assert band["band90"] == [pytest.approx(1.1), pytest.approx(2.9)]
    assert sa.band(np.array([math.nan])) == {"band90": None, "range": None, "points": 0}


# --- on the simulator: known answers ----------------------------------------------------

SMALL = ["horizon=4d", "warmup=1d", ONE_POLICY]


def test_an_intent_share_follows_its_probability_with_slope_one(tmp_path):
    """cancel_intent_share is the share of orders whose buyer wants to cancel: under
    common random numbers it moves one for one with buyers.cancel_intent, and not at all
    with buyers.good_record (which acts only after the wish)."""
    from sim.analysis import sensitivity

    path = scenario(tmp_path, DECLARED)
    result = sensitivity(
        path, overrides=SMALL, metrics=["cancel_intent_share"], trajectories=6, jobs=1
    )
    rows = {
        r["factor"]: r
        for r in result.summary["stages"]["screening"]["effects"]["cancel_intent_share"]["taobao"]
    }
    width = 0.12 - 0.02
    intent = rows["buyers.cancel_intent"]
    assert intent["ci95"][0] / width <= 1.0 <= intent["ci95"][1] / width
    assert intent["mu"] / width == pytest.approx(1.0, abs=0.15)
    assert rows["buyers.good_record"]["effect"] == 0.0
    assert rows["buyers.good_record"]["negligible"]


def test_one_at_a_time_moves_the_share_by_the_width_of_the_range(tmp_path):
    from sim.analysis import sensitivity

    path = scenario(tmp_path, DECLARED)
    result = sensitivity(
        path, method="oat", overrides=SMALL, metrics=["cancel_intent_share"], replications=3
    )
    rows = {
        r["factor"]: r
        for r in result.summary["stages"]["oat"]["effects"]["cancel_intent_share"]["taobao"]
    }
    low, high = rows["buyers.cancel_intent"]["ci95"]
    assert low <= 0.10 <= high
    assert rows["buyers.good_record"]["effect"] == 0.0


# --- the commands -------------------------------------------------------------------------


@pytest.mark.slow
def test_sensitivity_command_writes_its_tables_and_resumes_bit_for_bit(tmp_path):
    path = scenario(tmp_path, DECLARED)
    args = ["sensitivity", str(path), "--trajectories", "2", "--jobs", "1", "--no-report"]
    args += [f"--set={o}" for o in ["horizon=3d", "warmup=1d"]]
    runner = CliRunner()
    first = runner.invoke(main, [*args, "--out", str(tmp_path / "a")])
    assert first.exit_code == 0, first.output
    assert "Morris screening of 2 factors" in first.output
    folder = tmp_path / "a"
    for name in ("sensitivity.json", "effects.csv", "points.csv", "meta.json"):
        assert (folder / name).is_file()
    stored = sorted(p.name for p in (folder / "runs").iterdir())
    again = runner.invoke(main, [*args, "--out", str(folder)])
    assert again.exit_code == 0
    assert sorted(p.name for p in (folder / "runs").iterdir()) == stored  # nothing new run
    other = runner.invoke(main, [*args, "--out", str(tmp_path / "b")])
    assert other.exit_code == 0
    assert (tmp_path / "b" / "sensitivity.json").read_bytes() == (
        folder / "sensitivity.json"
    ).read_bytes()
    summary = json.loads((folder / "sensitivity.json").read_text())
    assert summary["stages"]["screening"]["points"] == 1 + 2 * 3


def test_list_shows_the_factors_and_their_reasons(tmp_path):
    result = CliRunner().invoke(main, ["sensitivity", str(scenario(tmp_path, DECLARED)), "--list"])
    assert result.exit_code == 0
    assert "buyers.cancel_intent" in result.output and "0.02 to 0.12" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--factors", "buyers.cancel_intnet"], "did you mean 'buyers.cancel_intent'"),
        (["--method", "sobol", "--samples", "12"], "12 is not a power of 2"),
        (["--metrics", "refund_hours"], "unknown metric(s) refund_hours"),
    ],
)
def test_bad_options_exit_2_with_one_line(tmp_path, args, message):
    path = scenario(tmp_path, DECLARED)
    result = CliRunner().invoke(
        main, ["sensitivity", str(path), *args, "--out", str(tmp_path / "o"), "--jobs", "1"]
    )
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_scenario_without_ranges_says_how_to_declare_them(tmp_path):
    path = scenario(tmp_path)  # its policies' ranges are taken out too
    for args in (["sensitivity", str(path)], ["run", str(path), "--uncertainty", "3"]):
        result = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "o")])
        assert result.exit_code == 2
        assert "range" in result.output


def test_run_uncertainty_gives_each_result_the_band_of_its_inputs(tmp_path):
    import sim
    from sim.analysis import uncertainty

    path = scenario(tmp_path, DECLARED)
    results = sim.run(path, overrides=SMALL, replications=2)
    block = uncertainty(results, 8)
    band = block["policies"]["taobao"]["cancel_intent_share"]
    low, high = band["range"]
    assert 0.02 - 0.01 < low < 0.06 < high < 0.12 + 0.01  # spans the declared range
    assert band["points"] == 8
    assert results.summary["uncertainty"] is block


def test_the_editor_schemas_accept_a_declared_range_and_only_a_well_formed_one(tmp_path):
    import jsonschema

    from sim.model.schema import json_schema
    from sim.model.yamlfile import read_document

    validator = jsonschema.Draft7Validator(json_schema("scenario"))
    text = json.dumps(read_document(scenario(tmp_path, DECLARED)).data, default=str)
    data = json.loads(text)  # as JSON sees YAML: dates as text
    assert not list(validator.iter_errors(data))
    data["buyers"]["cancel_intent"]["dist"] = "lognorm"
    assert list(validator.iter_errors(data))


def test_a_policy_diff_reads_declared_ranges_as_their_values(tmp_path):
    import re

    from sim.checks.diff import read_source

    text = (ROOT / "sim" / "builtin" / "policies" / "taobao.yaml").read_text(encoding="utf-8")
    line = re.compile(r"success: [^#\n]*")  # interception success, declared or not

    def write(name: str, value: str) -> str:
        (tmp_path / name).write_text(line.sub(f"success: {value} ", text, count=1), "utf-8")
        return str(tmp_path / name)

    plain = read_source(write("plain.yaml", "0.6")).policy
    declared = read_source(write("declared.yaml", "{value: 0.6, range: [0.4, 0.8]}")).policy
    assert declared.renamed(plain.key) == plain  # the same rules (each file goes by its stem)
    with pytest.raises(InputError, match="low 0.8 is above high 0.4"):
        read_source(write("bad.yaml", "{value: 0.6, range: [0.8, 0.4]}"))


# --- effects, findings and their words, on made-up runs (no simulation) -------------------


def runs_of(values: dict[tuple[int, str, int], dict[str, float]]):
    """Stand-ins for RunResult: (point, policy, replication) -> metrics."""
    from types import SimpleNamespace

    return [
        SimpleNamespace(point=p, policy=k, replication=r, metrics=m)
        for (p, k, r), m in values.items()
    ]


def two_policies(quick_study):
    """The quick study with amazon and taobao only: one comparison, taobao-vs-amazon."""
    from dataclasses import replace

    policies = {k: quick_study.policies[k] for k in ("amazon", "taobao")}
    return replace(quick_study, policies=policies)


def test_targets_are_the_policies_then_their_comparisons_without_foreign_definitions(
    quick_study,
):
    found = sa.targets(quick_study)
    assert [t.key for t in found] == [
        "amazon", "taobao", "jd", "taobao-vs-amazon", "jd-vs-amazon", "jd-vs-taobao",
    ]  # fmt: skip
    assert [t.is_comparison for t in found] == [False] * 3 + [True] * 3
    assert (found[3].other, found[3].reference) == ("taobao", "amazon")
    assert "platform_metric_rate" in found[3].skip and not found[0].skip
    assert "money_back_hours_p50" not in found[3].skip
    from dataclasses import replace

    against = replace(
        quick_study, scenario=quick_study.scenario.model_copy(update={"baseline": "jd"})
    )
    assert [t.key for t in sa.targets(against)][3:] == ["amazon-vs-jd", "taobao-vs-jd"]


def test_responses_are_per_point_and_replication_and_differences_are_paired():
    runs = runs_of(
        {
            (0, "a", 0): {"m": 1.0}, (0, "b", 0): {"m": 4.0},
            (0, "a", 1): {"m": 2.0}, (0, "b", 1): {"m": 7.0},
            (1, "a", 0): {"m": 3.0},
        }
    )  # fmt: skip
    own = sa.responses(runs, 2, 2, "m", sa.Target("a", "a"))
    assert own[0].tolist() == [1.0, 2.0] and own[1, 0] == 3.0 and math.isnan(own[1, 1])
    diff = sa.responses(runs, 2, 2, "m", sa.Target("b-vs-a", "b", "a"))
    assert diff[0].tolist() == [3.0, 5.0] and np.isnan(diff[1]).all()
    assert sa.point_means(diff).tolist()[0] == 4.0 and math.isnan(sa.point_means(diff)[1])


def oat_runs(base: float, low: float, high: float, reference: float = 0.0, spread: float = 0.1):
    """One factor `a`, oat design (base, low, high), two replications; policies amazon
    (`reference`) and taobao (the given values), metric money_back_hours_p50."""
    values = {}
    for point, y in enumerate((base, low, high)):
        for rep, shift in enumerate((-spread, spread)):
            values[(point, "taobao", rep)] = {"money_back_hours_p50": y + shift}
            values[(point, "amazon", rep)] = {"money_back_hours_p50": reference}
    return runs_of(values)


NOISE_FREE = {"taobao-vs-amazon": {"money_back_hours_p50": {"ci95": [1, 2], "significant": True}}}


def test_a_sign_that_holds_everywhere_is_said_to_hold(quick_study):
    study = two_policies(quick_study)
    design = sa.oat_design([factor(key="a")])
    runs = oat_runs(base=2.0, low=1.0, high=5.0)
    found, _ = sa.effects(design, runs, study, ["money_back_hours_p50"], 2, 1)
    (entry,) = sa.findings(design, runs, study, ["money_back_hours_p50"], 2, found, NOISE_FREE)
    assert entry["holds"] is True and entry["flipped"] == 0 and entry["points"] == 3
    assert entry["base"] == pytest.approx(2.0) and entry["range"] == [1.0, 5.0]
    assert "factor" not in entry
    assert entry["text"] == (
        "taobao is higher (worse) than amazon on money_back_hours_p50 at every one of the "
        "3 points tried."
    )


def test_a_sign_that_flips_names_the_factor_and_the_end_that_flips_it(quick_study):
    study = two_policies(quick_study)
    design = sa.oat_design([factor(key="a")])
    runs = oat_runs(base=-2.0, low=1.0, high=-5.0)  # lower (better) at the base; low flips
    metrics = ["money_back_hours_p50"]
    found, _ = sa.effects(design, runs, study, metrics, 2, 1)
    (entry,) = sa.findings(design, runs, study, metrics, 2, found, NOISE_FREE)
    assert entry["holds"] is False and entry["flipped"] == 1
    assert entry["factor"] == {"key": "a", "towards": "low", "range": "1 to 4"}
    assert entry["text"] == (
        "taobao is lower (better) than amazon on money_back_hours_p50 at the base, but the "
        "sign flips at 1 of 3 points; the factor that moves it most is a (1 to 4, towards "
        "its low end)."
    )
    high = oat_runs(base=-2.0, low=-4.0, high=1.0)
    found, _ = sa.effects(design, high, study, metrics, 2, 1)
    (entry,) = sa.findings(design, high, study, metrics, 2, found, NOISE_FREE)
    assert entry["factor"]["towards"] == "high"


def test_a_difference_within_noise_at_the_base_has_no_sign_to_hold(quick_study):
    study = two_policies(quick_study)
    design = sa.oat_design([factor(key="a")])
    runs = oat_runs(base=2.0, low=-1.0, high=5.0)
    noisy = {"taobao-vs-amazon": {"money_back_hours_p50": {"ci95": [-1, 4], "significant": False}}}
    metrics = ["money_back_hours_p50"]
    found, _ = sa.effects(design, runs, study, metrics, 2, 1)
    (entry,) = sa.findings(design, runs, study, metrics, 2, found, noisy)
    assert entry["holds"] is None and entry["base_ci95"] == [-1, 4] and "factor" not in entry
    assert entry["text"] == (
        "taobao and amazon differ on money_back_hours_p50 by less than the sampling noise "
        "at the base (95% interval -1 to 4): no sign to hold."
    )


def test_no_finding_where_the_base_difference_is_zero_or_the_metric_is_foreign(quick_study):
    study = two_policies(quick_study)
    design = sa.oat_design([factor(key="a")])
    runs = oat_runs(base=0.0, low=1.0, high=2.0, spread=0.0)
    metrics = ["money_back_hours_p50", "platform_metric_rate"]
    assert sa.findings(design, runs, study, metrics, 2, {}, NOISE_FREE) == []


def test_a_direction_free_metric_says_only_higher_or_lower():
    entry = {"metric": "cancel_intent_share", "base": -0.1, "holds": True, "points": 5}
    text = sa._finding_text(entry, sa.Target("t-vs-a", "t", "a"))
    assert text == "t is lower than a on cancel_intent_share at every one of the 5 points tried."
    entry = {"metric": "late_ship_share", "base": 0.1, "holds": False, "points": 5, "flipped": 2}
    text = sa._finding_text(entry, sa.Target("t-vs-a", "t", "a"))
    assert text == (
        "t is higher (worse) than a on late_ship_share at the base, but the sign flips at 2 "
        "of 5 points."
    )


def test_the_flipping_factor_follows_the_sign_of_its_effect():
    design = sa.morris_design([factor(key="a"), factor(key="b")], 2, seed=1)
    up = [{"factor": "b", "mu": 3.0}, {"factor": "a", "mu": 1.0}]
    assert sa._flipping_factor(design, up, base=-1.0) == {
        "key": "b", "towards": "high", "range": "1 to 4",
    }  # fmt: skip
    assert sa._flipping_factor(design, up, base=1.0)["towards"] == "low"
    assert sa._flipping_factor(design, [{"factor": "a", "mu": 0.0}], 1.0)["towards"] is None
    entry = {"metric": "late_ship_share", "base": 0.1, "holds": False, "points": 5,
             "flipped": 2, "factor": {"key": "a", "towards": None, "range": "1 to 4"}}  # fmt: skip
    assert sa._finding_text(entry, sa.Target("t-vs-a", "t", "a")).endswith(
        "; the factor that moves it most is a (1 to 4)."
    )


def test_effects_say_why_a_metric_has_none(quick_study):
    study = two_policies(quick_study)
    design = sa.oat_design([factor(key="a")])
    values = {}
    for point in range(3):
        for rep in range(2):
            values[(point, "amazon", rep)] = {"m": math.nan, "n": 1.0 if point else math.nan}
            values[(point, "taobao", rep)] = {"m": 1.0, "n": 1.0}
    runs = runs_of(values)
    found, undefined = sa.effects(design, runs, study, ["m", "n"], 2, 1)
    assert undefined["m"]["amazon"] == "not defined for this policy"
    assert undefined["n"]["amazon"] == "undefined at 1 of 3 points (no value in their runs)"
    assert undefined["m"]["taobao-vs-amazon"] == "not defined for this policy"
    assert found["m"]["taobao"][0]["effect"] == 0.0


def test_ranks_put_the_largest_first_and_ties_by_name():
    rows = sa._ranked(
        [
            {"factor": "b", "effect": 1.0, "ci95": [0.5, 1.5]},
            {"factor": "a", "effect": 1.0, "ci95": [-0.5, 1.5]},
            {"factor": "c", "effect": 2.0, "ci95": [-3.0, -1.0]},
            {"factor": "d", "effect": math.nan, "ci95": None},
            {"factor": "e", "effect": 0.0, "ci95": [0.0, 0.0]},
            {"factor": "f", "effect": 0.5, "ci95": [0.0, 1.0]},  # mu* - conf cut at 0
            {"factor": "g", "effect": 0.4, "ci95": [-1.0, 0.0]},
        ]
    )
    assert [r["factor"] for r in rows] == ["c", "a", "b", "f", "g", "e", "d"]
    assert [r["rank"] for r in rows] == [1, 2, 3, 4, 5, 6, 7]
    assert [r["negligible"] for r in rows] == [False, True, False, True, True, True, False]


def test_designs_have_the_size_and_settings_their_method_gives():
    fs = [factor(key="a"), factor(key="b"), factor(key="c")]
    morris = sa.morris_design(fs, 5, seed=1)
    assert morris.settings == {"trajectories": 5, "levels": 4} and morris.unit.shape == (20, 3)
    assert morris.method == "morris" and morris.factors == tuple(fs)
    sobol = sa.sobol_design(fs, 16, seed=1)
    assert sobol.settings == {"samples": 16} and len(sobol.points) == 1 + 16 * 5
    latin = sa.latin_design(fs, 10, seed=1)
    assert latin.settings == {"points": 10} and len(latin.points) == 11
    strata = np.floor(latin.unit * 10)  # one point in each tenth of every range
    assert all(sorted(strata[:, j]) == list(range(10)) for j in range(3))
    assert not np.array_equal(sa.latin_design(fs, 10, seed=2).unit, latin.unit)
    assert morris.label(0) == {"a": "2", "b": "2", "c": "2"}
    assert sa.oat_design(fs).unit is None and sa.oat_design(fs).method == "oat"


def test_effects_and_designs_are_salibs_own_with_the_documented_settings():
    """Morris on 4 levels, Sobol scrambled without second-order terms, 1000 bootstrap
    resamples for 95% intervals, every draw from the given seed: as SALib computes them."""
    from SALib.analyze import morris as morris_analysis
    from SALib.analyze import sobol as sobol_analysis
    from SALib.sample import latin, morris, sobol

    fs = [factor(key="a", low=0.0, high=1.0, value=0.5), factor(key="b")]
    problem = sa._problem(fs)
    m = sa.morris_design(fs, 6, seed=4)
    assert np.array_equal(m.unit, morris.sample(problem, N=6, num_levels=4, seed=4))
    s = sa.sobol_design(fs, 16, seed=4)
    expected = sobol.sample(problem, N=16, calc_second_order=False, scramble=True, seed=4)
    assert np.array_equal(s.unit, expected) and s.method == "sobol"
    lhs = sa.latin_design(fs, 5, seed=4)
    assert np.array_equal(lhs.unit, latin.sample(problem, N=5, seed=4))
    assert lhs.method == "latin"
    rng = np.random.default_rng(0)
    y = np.array([p["a"] ** 2 + 0.3 * p["b"] for p in m.points]) + rng.normal(
        0, 0.01, len(m.points)
    )
    own = {r["factor"]: r for r in sa.morris_effects(m, y, seed=4)}
    theirs = morris_analysis.analyze(
        problem, m.unit, y[1:], num_resamples=1000, conf_level=0.95, num_levels=4, seed=4
    )
    assert own["a"]["ci95"][1] == pytest.approx(theirs["mu_star"][0] + theirs["mu_star_conf"][0])
    assert own["b"]["sigma"] == pytest.approx(theirs["sigma"][1])
    ys = np.array([p["a"] ** 2 + 0.3 * p["b"] for p in s.points])
    own = {r["factor"]: r for r in sa.sobol_effects(s, ys, seed=4)}
    theirs = sobol_analysis.analyze(
        problem, ys[1:], calc_second_order=False, num_resamples=1000, conf_level=0.95, seed=4
    )
    st, st_conf, s1, s1_conf = (theirs[k][1] for k in ("ST", "ST_conf", "S1", "S1_conf"))
    assert own["b"]["effect"] == pytest.approx(st)
    assert own["b"]["ci95"] == pytest.approx([st - st_conf, st + st_conf])
    assert own["b"]["first_order"] == pytest.approx(s1)
    assert own["b"]["first_order_ci95"] == pytest.approx([s1 - s1_conf, s1 + s1_conf])


def three_policies_one_platform_twice(quick_study):
    """taobao, amazon and a second amazon: the comparison of the two amazons skips no
    metric, while the two against taobao skip the seller metrics."""
    from dataclasses import replace

    policies = {
        "taobao": quick_study.policies["taobao"],
        "amazon": quick_study.policies["amazon"],
        "amazon2": quick_study.policies["amazon"],
    }
    return replace(quick_study, policies=policies)


def test_a_skipped_metric_of_one_comparison_leaves_the_others(quick_study):
    study = three_policies_one_platform_twice(quick_study)
    design = sa.oat_design([factor(key="a")])
    values = {}
    for point, y in enumerate((1.0, 0.5, 3.0)):
        for rep in range(2):
            values[(point, "taobao", rep)] = {"platform_metric_rate": 0.2}
            values[(point, "amazon", rep)] = {"platform_metric_rate": 0.1}
            values[(point, "amazon2", rep)] = {"platform_metric_rate": 0.1 + y}
    runs = runs_of(values)
    metrics = ["platform_metric_rate"]
    found, _ = sa.effects(design, runs, study, metrics, 2, 1)
    assert list(found["platform_metric_rate"]) == [
        "taobao",
        "amazon",
        "amazon2",
        "amazon2-vs-amazon",
    ]
    noise = {"amazon2-vs-amazon": {"platform_metric_rate": {"ci95": [1, 2], "significant": True}}}
    (entry,) = sa.findings(design, runs, study, metrics, 2, found, noise)
    assert entry["comparison"] == "amazon2-vs-amazon" and entry["holds"] is True


def test_a_finding_without_noise_or_effects_for_its_metric_still_judges_the_sign(quick_study):
    study = two_policies(quick_study)
    design = sa.oat_design([factor(key="a")])
    runs = oat_runs(base=-2.0, low=1.0, high=-5.0)
    (entry,) = sa.findings(design, runs, study, ["money_back_hours_p50"], 2, {}, {})
    assert entry["holds"] is False and "factor" not in entry
    assert entry["text"].endswith("the sign flips at 1 of 3 points.")


def test_sobol_effects_through_the_runs_and_a_metric_that_never_moves(quick_study):
    study = two_policies(quick_study)
    design = sa.sobol_design([factor(key="a", low=0.0, high=1.0, value=0.5), factor(key="b")], 8, 1)
    values = {}
    for point, p in enumerate(design.points):
        values[(point, "amazon", 0)] = {"money_back_hours_p50": 1.0, "late_ship_share": 0.1}
        values[(point, "taobao", 0)] = {"money_back_hours_p50": p["a"], "late_ship_share": 0.1}
    found, undefined = sa.effects(
        design, runs_of(values), study, ["money_back_hours_p50", "late_ship_share"], 1, 1
    )
    assert found["money_back_hours_p50"]["taobao"][0]["factor"] == "a"
    assert "first_order" in found["money_back_hours_p50"]["taobao"][0]
    assert undefined["late_ship_share"]["taobao"] == "the same at every point"
    assert "amazon" not in found["money_back_hours_p50"]  # constant: no variance to share


def test_morris_intervals_are_reproducible_from_the_seed():
    fs = [factor(key="a"), factor(key="b")]
    design = sa.morris_design(fs, 6, seed=2)
    rng = np.random.default_rng(1)
    y = np.array([p["a"] * p["b"] for p in design.points]) + rng.normal(0, 0.1, len(design.points))
    first = sa.morris_effects(design, y, seed=2)
    assert first == sa.morris_effects(design, y, seed=2)


def test_a_skipped_or_zero_metric_does_not_end_a_comparisons_findings(quick_study):
    study = two_policies(quick_study)
    design = sa.oat_design([factor(key="a")])
    values = {}
    for point, y in enumerate((2.0, 1.0, 3.0)):
        for rep in range(2):
            same = {"platform_metric_rate": 0.1, "late_ship_share": 0.2}
            values[(point, "amazon", rep)] = {**same, "money_back_hours_p50": 0.0}
            values[(point, "taobao", rep)] = {**same, "money_back_hours_p50": y}
    metrics = ["platform_metric_rate", "late_ship_share", "money_back_hours_p50"]
    noise = {"taobao-vs-amazon": {"money_back_hours_p50": {"ci95": [1, 3], "significant": True}}}
    found = sa.findings(design, runs_of(values), study, metrics, 2, {}, noise)
    assert [f["metric"] for f in found] == ["money_back_hours_p50"]


def test_effects_through_the_runs_are_reproducible_from_the_seed(quick_study):
    study = two_policies(quick_study)
    fs = [factor(key="a", low=0.0, high=1.0, value=0.5), factor(key="b")]
    rng = np.random.default_rng(3)
    for design in (sa.morris_design(fs, 4, seed=1), sa.sobol_design(fs, 8, seed=1)):
        values = {}
        for point, p in enumerate(design.points):
            noise = float(rng.normal(0, 0.1))
            values[(point, "amazon", 0)] = {"money_back_hours_p50": 1.0}
            values[(point, "taobao", 0)] = {"money_back_hours_p50": p["a"] * p["b"] + noise}
        runs = runs_of(values)
        first = sa.effects(design, runs, study, ["money_back_hours_p50"], 1, 5)
        assert first == sa.effects(design, runs, study, ["money_back_hours_p50"], 1, 5)


# --- what the review of the change found -------------------------------------------------


def test_ranges_valid_alone_but_not_together_stop_the_analysis_before_any_run(tmp_path):
    old = "median: 1.5h\n    p90: 24h\n"
    new = "median: {value: 1.5h, range: [30m, 20h]}\n    p90: {value: 24h, range: [8h, 72h]}\n"
    path = scenario(tmp_path, {old: new})
    assert len(load_study(path).factors) == 2  # each range is fine on its own
    out = tmp_path / "o"
    result = CliRunner().invoke(
        main, ["sensitivity", str(path), "--trajectories", "6", "--out", str(out), "--jobs", "1"]
    )
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    line = next(
        i for i, t in enumerate(path.read_text().splitlines(), 1) if "median: {value: 1.5h" in t
    )
    assert all(t.startswith(f"{path}:") for t in lines)
    assert any(t.startswith(f"{path}:{line}:") for t in lines)
    assert "valid one by one but not together" in lines[0] and "p90 must be at least" in lines[0]
    assert not (out / "runs").exists() or not any((out / "runs").iterdir())


def test_a_range_on_how_runs_are_made_is_refused_at_its_line(tmp_path):
    text = scenario(tmp_path).read_text()
    path = tmp_path / "seeded.yaml"
    path.write_text(text.replace("seed: 7\n", "seed: {value: 7, range: [1, 9]}\n"))
    (problem,) = problems(path)
    assert "a range on seed has no effect" in problem and problem.startswith(f"{path}:")


def test_a_sweep_is_refused_with_how_to_hold_it(tmp_path):
    path = scenario(tmp_path, DECLARED)
    result = CliRunner().invoke(
        main, ["sensitivity", str(path), "--set", "sweep={buyers.good_record: [0.7, 0.9]}"]
    )
    assert result.exit_code == 2 and "sweeps buyers.good_record" in result.output
    assert "--set sweep={}" in result.output


def test_whole_numbers_are_drawn_whole_only_where_the_key_takes_no_fractions(tmp_path):
    share = "good_record: {value: 1, range: [0, 1]}\n"
    path = scenario(tmp_path, {GOOD: share})
    text = path.read_text()
    stations = re.search(r"packing_stations: 4\n", text)
    assert stations
    path.write_text(
        text.replace("packing_stations: 4\n", "packing_stations: {value: 4, range: [2, 8]}\n", 1)
    )
    factors = {f.key.split(".")[-1]: f for f in load_study(path).factors}
    assert not factors["good_record"].whole and factors["good_record"].at(0.3) == 0.3
    assert factors["packing_stations"].whole and factors["packing_stations"].at(0.3) == 4.0


def test_business_days_are_drawn_as_fractions_the_calendar_counts():
    days = factor(unit="business days", low=1.0, high=3.0, value=2.0)
    assert days.at(0.25) == 1.5 and days.written(1.5) == "1.5 business days"
    assert days.range_text == "1 to 3 business days"


def test_a_tiny_duration_is_written_back_in_seconds_that_parse():
    from sim.model.units import parse_duration

    tiny = factor(unit="h", low=0.0, high=1 / 3600, value=0.0)
    text = tiny.written(1e-5)
    assert text == "0.036s" and parse_duration(text).hours == pytest.approx(1e-5)


def test_a_difference_of_zero_is_no_flip(quick_study):
    study = two_policies(quick_study)
    design = sa.oat_design([factor(key="a")])
    runs = oat_runs(base=2.0, low=0.0, high=3.0, spread=0.0)
    (entry,) = sa.findings(design, runs, study, ["money_back_hours_p50"], 2, {}, NOISE_FREE)
    assert entry["flipped"] == 0 and entry["holds"] is True


def test_a_negative_oat_effect_has_the_interval_of_its_size():
    design = sa.oat_design([factor(key="a")])
    y = np.array([[5.0, 6.0], [9.0, 10.5], [5.0, 6.0]])  # high end 4.25 below the low end
    (row,) = sa.oat_effects(design, y)
    assert row["signed"] == pytest.approx(-4.25) and row["effect"] == pytest.approx(4.25)
    assert 0 < row["ci95"][0] < 4.25 < row["ci95"][1]  # the signed one, [-7.4, -1.1], turned
    assert row["ci95"][0] + row["ci95"][1] == pytest.approx(2 * 4.25)
