"""Policy regression tests, policy diffs, effective dates end to end, editor schemas."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

import sim
from sim.checks.runner import matches
from sim.cli import main
from sim.model.load import read_scenario
from sim.model.schema import json_schema
from sim.model.yamlfile import read_document

BAD = Path("tests/fixtures/bad_tests")


def copy_of_the_project(root: Path, tmp_path: Path) -> Path:
    """Policies, scenarios and expectation files in a folder the test may edit."""
    for folder in ("sim/builtin/policies", "sim/builtin/scenarios", "tests/policies"):
        shutil.copytree(root / folder, tmp_path / folder)
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.mark.slow
def test_the_bundled_expectations_pass(root, monkeypatch):
    monkeypatch.chdir(root)
    result = CliRunner().invoke(main, ["test", "-k", "amazon and not metric", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "4 passed, 0 failed"


@pytest.mark.slow
def test_a_four_hour_amazon_window_fails_naming_the_moved_metrics(root, tmp_path, monkeypatch):
    copy = copy_of_the_project(root, tmp_path)
    edit(copy / "sim" / "builtin" / "policies" / "amazon.yaml", "  window: 30m ", "  window: 4h  ")
    monkeypatch.chdir(copy)
    result = CliRunner().invoke(main, ["test", "tests/policies/amazon.yaml", "--jobs", "1"])
    assert result.exit_code == 1
    failures = [line for line in result.output.splitlines() if line.startswith("FAIL")]
    assert any(
        "'buyers cancel alone within the 30-minute window': self_cancel_share = " in line
        and "expected about 0.0185" in line
        for line in failures
    )
    assert any("request_cancel_share = " in line for line in failures)
    assert result.output.splitlines()[-1] == "2 passed, 1 failed"


@pytest.mark.slow
def test_removing_taobaos_24_hour_rule_fails(root, tmp_path, monkeypatch):
    copy = copy_of_the_project(root, tmp_path)
    edit(
        copy / "sim" / "builtin" / "policies" / "taobao.yaml",
        "  platform_approves_after: 24h ",
        "  platform_approves_after: null",
    )
    monkeypatch.chdir(copy)
    result = CliRunner().invoke(
        main, ["test", "tests/policies/taobao.yaml", "-k", "silence", "--jobs", "1"]
    )
    assert result.exit_code == 1
    assert "auto_approved_share = 0 [0, 0], expected about 0.0015" in result.output


@pytest.mark.parametrize(
    "name", sorted(p.name for p in BAD.glob("*.yaml") if p.name != "expected.yaml")
)
def test_a_broken_expectation_file_gets_its_one_line_errors(root, monkeypatch, name):
    monkeypatch.chdir(root)
    expected = yaml.safe_load((BAD / "expected.yaml").read_text(encoding="utf-8"))[name]
    result = CliRunner().invoke(main, ["test", str(BAD / name), "--jobs", "1"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == expected
    assert "Traceback" not in result.output


@pytest.mark.external
def test_the_pytest_plugin_reports_a_broken_file_without_a_traceback(root, tmp_path):
    folder = tmp_path / "tests" / "policies"
    folder.mkdir(parents=True)
    shutil.copy(root / BAD / "unknown_key.yaml", folder / "typo.yaml")  # on builtin:quick
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder)]
    opt_out = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, check=False)
    assert opt_out.returncode == 5, opt_out.stdout  # not asked for: nothing collected
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\ncancelsim_expectations = tests/policies/*.yaml\n"
    )
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, check=False)
    assert done.returncode == 1, done.stdout
    assert (
        "typo.yaml:7:5: cases[0].expct: unknown key 'expct'; did you mean 'expect'?" in done.stdout
    )
    assert "Traceback" not in done.stdout


def test_k_expressions():
    words = {"amazon headline outcomes", "amazon", "metric"}
    assert matches("amazon", words) and not matches("taobao", words)
    assert matches("amazon and not taobao", words)
    assert matches("(taobao or metric) and amazon", words)
    with pytest.raises(ValueError, match="not closed"):
        matches("(amazon", words)


def diff_on_quick(root, monkeypatch, new, reps: int):
    """`cancelsim diff` of the bundled amazon.yaml and NEW on the quick scenario, from the root."""
    monkeypatch.chdir(root)
    return CliRunner().invoke(
        main,
        [
            "diff",
            "sim/builtin/policies/amazon.yaml",
            str(new),
            "--scenario",
            "sim/builtin/scenarios/quick.yaml",
        ]
        + ["--reps", str(reps), "--jobs", "1"],
    )


def test_diff_lists_the_rule_change_and_exits_1(root, tmp_path, monkeypatch):
    changed = tmp_path / "amazon.yaml"
    shutil.copy(root / "sim" / "builtin" / "policies" / "amazon.yaml", changed)
    edit(changed, "  window: 30m ", "  window: 4h  ")
    result = diff_on_quick(root, monkeypatch, changed, reps=3)
    assert result.exit_code == 1, result.output
    assert "  self_cancel.window: 30m -> 4h" in result.output
    assert "moved significantly: " in result.output and "self_cancel_share" in result.output


def test_diff_of_an_edited_seller_metric_shows_its_effect(root, tmp_path, monkeypatch):
    """Lowering Amazon's threshold flags more sellers: the difference is shown, marked as
    a changed definition, and counts as a move; the rate itself does not depend on the
    threshold, so it keeps a plain difference (zero here)."""
    changed = tmp_path / "amazon.yaml"
    shutil.copy(root / "sim" / "builtin" / "policies" / "amazon.yaml", changed)
    edit(changed, "  threshold: 0.025 ", "  threshold: 0.005 ")
    result = diff_on_quick(root, monkeypatch, changed, reps=3)
    assert result.exit_code == 1, result.output
    assert "seller_metric.threshold: 0.025 -> 0.005" in result.output
    moved = result.output.split("moved significantly: ")[1]
    assert "sellers_flagged_share" in moved and "platform_metric_rate" not in moved
    row = next(line for line in result.output.splitlines() if "sellers_flagged_share" in line)
    assert "† *" in row
    rate = next(line for line in result.output.splitlines() if "platform_metric_rate" in line)
    assert "†" not in rate
    assert "† the policy's own definition of this metric changed" in result.output


def test_diff_against_git_finds_nothing_when_nothing_changed(root, tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(root / "sim" / "builtin" / "policies", repo / "policies")
    shutil.copytree(root / "sim" / "builtin" / "scenarios", repo / "scenarios")
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "-C", str(repo), "add", "."], check=True)
    subprocess.run([*git, "-C", str(repo), "commit", "-qm", "policies"], check=True)
    edit(
        repo / "policies" / "jd.yaml", "# yaml-language-server", "# edited\n# yaml-language-server"
    )
    result = CliRunner().invoke(
        main,
        [
            "diff",
            str(repo / "policies" / "jd.yaml") + "@HEAD",
            str(repo / "policies" / "jd.yaml"),
            "--scenario",
            str(repo / "scenarios" / "quick.yaml"),
            "--reps",
            "2",
            "--jobs",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "(none)" in result.output and "No metric moved significantly." in result.output


def test_diff_of_a_revision_that_git_does_not_have(root, monkeypatch):
    monkeypatch.chdir(root)
    result = CliRunner().invoke(
        main,
        [
            "diff",
            "sim/builtin/policies/amazon.yaml@no-such-rev",
            "sim/builtin/policies/amazon.yaml",
        ],
    )
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "sim/builtin/policies/amazon.yaml@no-such-rev: cannot read it from git"
    )


@pytest.mark.slow
def test_auto_cancel_timing_switches_on_2020_09_30(root, tmp_path):
    import pandas as pd

    sim.run(
        str(root / "sim" / "builtin" / "scenarios" / "amazon-autocancel-2020.yaml"),
        replications=1,
        trace_dir=tmp_path,
    )
    trace = pd.read_csv(tmp_path / "amazon-r0.csv")
    auto = trace[trace.outcome == "auto_cancelled"]
    days = (auto.closed_h - auto.placed_h) / 24
    switch = 16 * 24.0  # 2020-09-30 00:00 local, 16 days after the start
    before, after = days[auto.placed_h < switch], days[auto.placed_h >= switch]
    assert len(before) > 100 and len(after) > 100
    assert before.min() > 30  # 30 days after ship-by (2 business days after ordering)
    assert after.max() < 16  # 7 business days after ship-by
    assert after.min() >= 9


@pytest.mark.parametrize("kind", ["policy", "scenario", "test"])
def test_shipped_schemas_match_the_models(root, kind):
    shipped = json.loads((root / "sim" / "builtin" / "schemas" / f"{kind}.schema.json").read_text())
    assert shipped == json_schema(kind), (
        f"run: cancelsim schema {kind} > sim/builtin/schemas/{kind}.schema.json"
    )
    jsonschema.Draft7Validator.check_schema(shipped)


def bundled_files(root: Path) -> list[tuple[Path, str]]:
    kinds = [
        ("sim/builtin/policies", "policy"),
        ("sim/builtin/scenarios", "scenario"),
        ("tests/policies", "test"),
    ]
    files = [(p, kind) for folder, kind in kinds for p in sorted((root / folder).glob("*.yaml"))]
    files += [
        (root / "benchmarks" / "reference.yaml", "scenario"),
        (root / "benchmarks" / "reference-policy.yaml", "policy"),
    ]
    return files


def plain(value):
    """YAML data as JSON sees it: dates (also as keys) become ISO text."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def test_every_bundled_yaml_names_its_schema_and_follows_it(root):
    for path, kind in bundled_files(root):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema="), path
        target = (path.parent / first.split("=", 1)[1]).resolve()
        assert target == (root / "sim" / "builtin" / "schemas" / f"{kind}.schema.json").resolve(), (
            path
        )
        validator = jsonschema.Draft7Validator(json_schema(kind))
        data = plain(read_document(path).data)
        errors = list(validator.iter_errors(data))
        if isinstance(data, dict) and "extends" in data:  # and so does it with its base
            errors += validator.iter_errors(plain(read_scenario(path).data))
        assert not errors, (path, [e.message for e in errors[:3]])


def test_schema_command_prints_json(root):
    result = CliRunner().invoke(main, ["schema", "scenario"])
    assert result.exit_code == 0
    assert json.loads(result.output)["$schema"] == "http://json-schema.org/draft-07/schema#"


def test_k_that_matches_nothing_exits_5(root, monkeypatch):
    monkeypatch.chdir(root)
    result = CliRunner().invoke(main, ["test", "-k", "no-such-case", "--jobs", "1"])
    assert result.exit_code == 5
    assert "no case matches -k 'no-such-case'" in result.stderr


def test_diff_with_failed_runs_is_not_a_pass(root, tmp_path, monkeypatch, short_calendar):
    broken = tmp_path / "taobao.yaml"
    shutil.copy(root / "sim" / "builtin" / "policies" / "taobao.yaml", broken)
    lines = broken.read_text(encoding="utf-8").splitlines()
    at = lines.index("    bank_card:") + 1  # its delay, in block or flow style: replaced
    assert lines[at].strip().startswith("delay:")
    deeper = at + 1
    while lines[deeper].startswith(" " * 8):
        deeper += 1
    lines[at:deeper] = [
        "      delay: {dist: uniform, low: 100 business days, high: 101 business days}"
    ]
    broken.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.chdir(root)
    result = CliRunner().invoke(
        main,
        [
            "diff",
            "sim/builtin/policies/taobao.yaml",
            str(broken),
            "--scenario",
            "sim/builtin/scenarios/quick.yaml",
            "--reps",
            "2",
            "--jobs",
            "1",
        ],
    )
    assert result.exit_code == 1
    assert "run(s) failed; the comparison is incomplete" in result.stderr


def test_an_expectation_file_on_a_sweep_scenario_plays_one_point(root, tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text(
        "name: on a sweep scenario\nscenario: builtin:window-sweep\n"
        "policies: [amazon]\nset: [horizon=3d, warmup=1d]\nreplications: 2\ncases:\n"
        "  - name: some self-cancels\n    policy: amazon\n    expect:\n"
        "      self_cancel_share: {min: 0.001}\n"
    )
    result = CliRunner().invoke(main, ["test", str(path), "--jobs", "1"])
    assert result.exit_code == 0, result.output


def test_a_policy_file_named_like_a_comparison_is_refused(root, tmp_path):
    shutil.copytree(root / "sim" / "builtin" / "policies", tmp_path / "policies")
    shutil.copytree(root / "sim" / "builtin" / "scenarios", tmp_path / "scenarios")
    shutil.copy(tmp_path / "policies" / "jd.yaml", tmp_path / "policies" / "a-vs-b.yaml")
    # quick.yaml plays baseline.yaml's policies; a file without key: goes by its stem
    edit(tmp_path / "scenarios" / "baseline.yaml", "../policies/jd.yaml", "../policies/a-vs-b.yaml")
    with pytest.raises(sim.InputError, match="'a-vs-b': a policy's key may not contain '-vs-'"):
        sim.load(str(tmp_path / "scenarios" / "quick.yaml"))


# ----------------------------------------------------------------- the verdict rule by hand
def _verdict(expect: dict, mean: float, ci: list[float] | None, default: dict | None = None):
    from sim.checks.expectations import Expectation, Margin
    from sim.checks.runner import _check

    exp = Expectation.model_validate(expect)
    margin = exp.margin(Margin.model_validate(default or {}))
    return _check("self_cancel_share", {"mean": mean, "ci95": ci}, exp, margin)[0]


@pytest.mark.parametrize(
    ("expect", "passes", "fails"),
    [
        # the interval [0.10, 0.20] must reach the expected value
        ({"approx": 0.10}, [0.10], [0.099]),
        ({"approx": 0.20}, [0.20], [0.201]),
        ({"min": 0.20}, [0.20, 0.05], [0.2001]),  # min: the interval's top reaches it
        ({"max": 0.10}, [0.10, 0.5], [0.0999]),  # max: the interval's bottom reaches it
    ],
)
def test_an_expectation_meets_the_interval_at_its_edges(expect, passes, fails):
    key = next(iter(expect))
    for value in passes:
        assert _verdict({key: value}, 0.15, [0.10, 0.20]), (key, value)
    for value in fails:
        assert not _verdict({key: value}, 0.15, [0.10, 0.20]), (key, value)


def test_between_overlaps_the_interval():
    interval = [0.10, 0.20]
    assert _verdict({"between": [0.0, 0.10]}, 0.15, interval)
    assert _verdict({"between": [0.20, 0.30]}, 0.15, interval)
    assert _verdict({"between": [0.12, 0.13]}, 0.15, interval)
    assert not _verdict({"between": [0.0, 0.0999]}, 0.15, interval)
    assert not _verdict({"between": [0.2001, 0.3]}, 0.15, interval)


def test_margins_widen_the_interval_by_the_larger_of_abs_and_rel():
    interval = [0.10, 0.20]
    assert not _verdict({"max": 0.09}, 0.15, interval)
    assert _verdict({"max": 0.09, "abs": 0.011}, 0.15, interval)
    assert not _verdict({"max": 0.09, "abs": 0.009}, 0.15, interval)
    assert _verdict({"max": 0.09, "rel": 0.12}, 0.15, interval)  # 0.12 x 0.09 = 0.0108
    assert not _verdict({"max": 0.09, "rel": 0.1}, 0.15, interval)  # 0.009 is not enough
    assert _verdict({"max": 0.09, "abs": 0.001, "rel": 0.12}, 0.15, interval)
    assert _verdict({"min": 0.21, "abs": 0.011}, 0.15, interval)
    assert not _verdict({"min": 0.21, "abs": 0.009}, 0.15, interval)
    # the file's default margin applies when a case gives none of its own
    assert _verdict({"approx": 0.25}, 0.15, interval, default={"abs": 0.05})
    assert not _verdict({"approx": 0.25}, 0.15, interval, default={"rel": 0.1})
    assert _verdict({"approx": 0.25}, 0.15, interval, default={"rel": 0.2})
    # a case's own margin replaces the default, even when only one kind is given
    assert not _verdict({"approx": 0.25, "abs": 0.01}, 0.15, interval, default={"abs": 0.05})


def test_a_value_without_an_interval_is_judged_on_its_mean():
    assert _verdict({"approx": 0.15}, 0.15, None)
    assert not _verdict({"approx": 0.16}, 0.15, None)
    assert _verdict({"max": 0.15}, 0.15, None) and not _verdict({"max": 0.149}, 0.15, None)


def test_an_undefined_metric_fails_its_expectation():
    from sim.checks.expectations import Expectation, Margin
    from sim.checks.runner import _check

    ok, text = _check(
        "platform_metric_rate", {"mean": None, "ci95": None}, Expectation(max=0.1), Margin()
    )
    assert not ok and text == "platform_metric_rate is not defined for this policy, expected <= 0.1"


def test_the_failure_text_gives_value_interval_expectation_and_margin():
    from sim.checks.expectations import Expectation, Margin
    from sim.checks.runner import _check

    _, text = _check(
        "money_back_hours_p50",
        {"mean": 71.3, "ci95": [69.8, 72.9]},
        Expectation(max=48),
        Margin(abs=1, rel=0.1),
    )
    assert (
        text == "money_back_hours_p50 = 71.3 [69.8, 72.9], expected <= 48 (margin abs 1, rel 10%)"
    )
    descriptions = [
        Expectation(approx=0.5).describe(),
        Expectation(min=2).describe(),
        Expectation(between=(1, 2)).describe(),
    ]
    assert descriptions == ["about 0.5", ">= 2", "between 1 and 2"]


def test_rule_changes_list_changed_added_and_removed_keys():
    from sim.checks.diff import rule_changes

    old = {"a": 1, "b": {"c": "30m", "d": [1, 2]}, "gone": True}
    new = {"a": 1, "b": {"c": "4h", "d": [1, 2], "e": None}, "new": {"x": 1}}
    assert rule_changes(old, new) == [
        "b.c: 30m -> 4h",
        "b.e: (none) -> null",
        "gone: true -> (removed)",
        "new: (none) -> {x: 1}",
    ]
    assert rule_changes(old, old) == []
    assert rule_changes({"d": [1, 2]}, {"d": [1, 3]}) == ["d: [1, 2] -> [1, 3]"]
    assert rule_changes({"f": False}, {"f": True}) == ["f: false -> true"]


# ----------------------------------------------------------------- diff's inputs by hand
def test_a_policy_source_from_a_file_or_a_revision(root, tmp_path, monkeypatch):
    from sim.checks.diff import read_source

    plain = read_source(str(root / "sim" / "builtin" / "policies" / "jd.yaml"))
    assert (plain.label, plain.key) == (
        str(root / "sim" / "builtin" / "policies" / "jd.yaml"),
        "jd",
    )
    assert plain.policy.platform == "jd" and plain.doc.data["platform"] == "jd"
    assert plain.policy.key == "jd"
    odd = tmp_path / "odd@name.yaml"  # an existing path with @ is a path, not a revision
    shutil.copy(root / "sim" / "builtin" / "policies" / "jd.yaml", odd)
    assert read_source(str(odd)).key == "odd@name"  # no key: in the file: its stem
    keyed = tmp_path / "keyed.yaml"  # a key: in the file is the key, whatever the file's name
    keyed.write_text("key: jd-self\n" + odd.read_text(encoding="utf-8"), encoding="utf-8")
    assert read_source(str(keyed)).key == read_source(str(keyed)).policy.key == "jd-self"
    for spec in ("sim/builtin/policies/jd.yaml@", "sim/builtin/policies/jd.yaml@-p"):
        with pytest.raises(sim.InputError) as caught:
            read_source(spec)
        assert str(caught.value) == (
            f"{spec}: expected path@revision, e.g. policies/amazon.yaml@HEAD~1 (a revision may "
            "not be empty or start with -)"
        )
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    with pytest.raises(
        sim.InputError, match=r"^sim/builtin/policies/jd.yaml@HEAD: git is not installed$"
    ):
        read_source("sim/builtin/policies/jd.yaml@HEAD")


def test_a_revision_outside_a_repository_says_so(root, tmp_path):
    from sim.checks.diff import read_source

    outside = tmp_path / "jd.yaml"
    shutil.copy(root / "sim" / "builtin" / "policies" / "jd.yaml", outside)
    with pytest.raises(sim.InputError) as caught:
        read_source(f"{outside}@HEAD")
    text = str(caught.value)
    assert text.startswith(f"{outside}@HEAD: cannot read it from git: fatal: not a git repository")
    assert "\n" not in text


def test_a_revision_is_read_from_git(root, tmp_path):
    from sim.checks.diff import read_source

    repo = tmp_path / "repo"
    (repo / "p").mkdir(parents=True)
    shutil.copy(root / "sim" / "builtin" / "policies" / "jd.yaml", repo / "p" / "jd.yaml")
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t", "-C", str(repo)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "jd"], check=True)
    edit(repo / "p" / "jd.yaml", "platform_approves_after: 30m", "platform_approves_after: 2h")
    old = read_source(f"{repo / 'p' / 'jd.yaml'}@HEAD")
    new = read_source(str(repo / "p" / "jd.yaml"))
    assert old.key == new.key == "jd"
    assert old.doc.data["cancel_request"]["platform_approves_after"] == "30m"
    assert new.doc.data["cancel_request"]["platform_approves_after"] == "2h"
    assert old.policy != new.policy
    with pytest.raises(sim.InputError, match="cannot read it from git: fatal: "):
        read_source(f"{repo / 'p' / 'missing.yaml'}@HEAD")


def test_the_paired_study_plays_both_versions_with_the_old_mix(root, tmp_path):
    from sim.checks.diff import paired_study, read_source

    old = read_source(str(root / "sim" / "builtin" / "policies" / "taobao.yaml"))
    new = read_source(str(root / "sim" / "builtin" / "policies" / "taobao.yaml"))
    study = paired_study(old, new, root / "sim" / "builtin" / "scenarios" / "quick.yaml")
    runs = study.scenario.policies
    assert [r.key for r in runs] == ["old", "new"]
    assert [r.file for r in runs] == [old.label, new.label]
    taobao_mix = {"alipay_balance": 0.65, "bank_card": 0.35}
    assert runs[0].payment_mix == runs[1].payment_mix == taobao_mix
    assert study.scenario.baseline == "old" and study.scenario.sweep == {}
    assert study.policies == {"old": old.policy.renamed("old"), "new": new.policy.renamed("new")}
    assert study.policies["old"].versions == old.policy.versions
    assert study.policies["new"].versions == new.policy.versions
    assert study.policy_paths == {"old": old.label, "new": new.label}
    assert study.path == str(root / "sim" / "builtin" / "scenarios" / "quick.yaml")
    # the scenario's policy is found by OLD's key, else NEW's, else by the platform
    other = tmp_path / "zzz.yaml"
    shutil.copy(root / "sim" / "builtin" / "policies" / "taobao.yaml", other)
    zzz = read_source(str(other))
    for pair in ((zzz, new), (zzz, zzz)):
        study = paired_study(*pair, root / "sim" / "builtin" / "scenarios" / "quick.yaml")
        assert [r.payment_mix for r in study.scenario.policies] == [taobao_mix, taobao_mix]
    edit(other, "\nplatform: taobao", "\nplatform: zzz")
    lone = tmp_path / "yyy.yaml"
    shutil.copy(other, lone)
    with pytest.raises(sim.InputError) as caught:
        paired_study(
            read_source(str(other)),
            read_source(str(lone)),
            root / "sim" / "builtin" / "scenarios" / "quick.yaml",
        )
    assert str(caught.value) == (
        f"{root / 'sim' / 'builtin' / 'scenarios' / 'quick.yaml'}: the scenario plays no policy "
        "with the key 'zzz' "
        "or 'yyy', nor one of platform 'zzz', to take the buyers' payment mix from (its "
        "policies: amazon, taobao, jd); give --scenario, or key: in the policy file"
    )


def test_a_new_version_that_does_not_fit_the_scenario_is_refused(root, tmp_path):
    from sim.checks.diff import paired_study, read_source

    changed = tmp_path / "taobao.yaml"
    shutil.copy(root / "sim" / "builtin" / "policies" / "taobao.yaml", changed)
    edit(changed, "    alipay_balance:\n", "    alipay_wallet:\n")
    with pytest.raises(sim.InputError, match="alipay_balance"):
        paired_study(
            read_source(str(root / "sim" / "builtin" / "policies" / "taobao.yaml")),
            read_source(str(changed)),
            root / "sim" / "builtin" / "scenarios" / "quick.yaml",
        )


def test_a_case_whose_runs_failed_says_so(root, tmp_path, monkeypatch, short_calendar):
    """Failed runs leave no metric; the verdict names the failure instead of calling the
    metric undefined for the policy."""
    path = tmp_path / "failing.yaml"
    path.write_text(
        "name: failing runs\nscenario: builtin:quick\n"
        "policies: [taobao, amazon]\n"
        "set: [horizon=2d, warmup=1d, "
        f"'taobao.refunds.rails.bank_card.delay={short_calendar}']\n"
        "replications: 2\ncases:\n"
        "  - name: taobao alone\n    policy: taobao\n    expect:\n"
        "      orders: {min: 1}\n"
        "  - name: paired\n    compare: [amazon, taobao]\n    expect:\n"
        "      orders: {approx: 0}\n"
        "  - name: amazon alone\n    policy: amazon\n    expect:\n"
        "      orders: {min: 1}\n"
    )
    result = CliRunner().invoke(main, ["test", str(path), "--jobs", "1"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == (
        f"FAIL {path}:7: 'taobao alone': 2 run(s) failed, e.g. taobao replication 0: "
        "ValueError: day 32 lies outside the 32-day calendar built for the run"
    )
    assert lines[1].startswith(f"FAIL {path}:11: 'paired': 2 run(s) failed, e.g. taobao")
    assert lines[2] == f"PASS {path}:15: amazon alone"
    assert lines[3] == "1 passed, 2 failed"


def test_k_expressions_by_hand():
    words = {"amazon", "headline", "metric"}
    assert not matches("xx", words)  # words are matched one by one, never across two
    assert not matches("zonhead", words)
    assert matches("not not amazon", words) and not matches("not not taobao", words)
    assert matches("amazon and headline and metric", words)
    assert not matches("amazon and headline and taobao", words)
    assert matches("taobao or jd or metric", words) and not matches("taobao or jd", words)
    assert not matches("taobao or jd and amazon", words)  # and binds tighter than or
    assert matches("amazon or jd and taobao", words)
    assert not matches("(amazon or jd) and taobao", words)
    assert matches("AMAZON", words) and matches("not (taobao)", words)
    for bad, message in [
        ("amazon and", "-k 'amazon and': the expression ends too early"),
        ("", "-k '': the expression ends too early"),
        ("not", "-k 'not': the expression ends too early"),
        ("amazon jd", "-k 'amazon jd': unexpected 'jd'"),
        ("(amazon jd)", r"-k '\(amazon jd\)': a \( is not closed"),
        ("amazon)", r"-k 'amazon\)': unexpected '\)'"),
    ]:
        with pytest.raises(ValueError, match=f"^{message}$"):
            matches(bad, words)


def test_margins_print_only_the_kinds_given():
    from sim.checks.expectations import Margin
    from sim.checks.runner import _margin_text

    assert _margin_text(Margin(abs=0.5)) == "abs 0.5"
    assert _margin_text(Margin(rel=0.25)) == "rel 25%"
    assert _margin_text(Margin(abs=2, rel=0.1)) == "abs 2, rel 10%"
    assert _margin_text(Margin()) == ""


# ----------------------------------------------------------------- more verdicts at the edges
def test_a_margin_widens_the_interval_on_the_side_the_expectation_lies():
    interval = [0.10, 0.20]
    # approx below the interval: the bottom, lowered by the margin, must reach it
    assert _verdict({"approx": 0.05, "abs": 0.051}, 0.15, interval)
    assert not _verdict({"approx": 0.05, "abs": 0.049}, 0.15, interval)
    # between above the interval: the top, raised by the margin of its first bound
    assert _verdict({"between": [0.21, 0.30], "abs": 0.011}, 0.15, interval)
    assert not _verdict({"between": [0.21, 0.30], "abs": 0.009}, 0.15, interval)
    # between below the interval: the bottom, lowered by the margin of its second bound
    assert _verdict({"between": [0.0, 0.09], "abs": 0.011}, 0.15, interval)
    assert not _verdict({"between": [0.0, 0.09], "abs": 0.009}, 0.15, interval)


def test_the_failure_text_names_a_margin_of_one_kind():
    from sim.checks.expectations import Expectation, Margin
    from sim.checks.runner import _check

    value = {"mean": 0.15, "ci95": [0.1, 0.2]}
    _, text = _check("self_cancel_share", value, Expectation(max=0.05), Margin(abs=0.01))
    assert text == "self_cancel_share = 0.15 [0.1, 0.2], expected <= 0.05 (margin abs 0.01)"
    _, text = _check("self_cancel_share", value, Expectation(max=0.05), Margin(rel=0.1))
    assert text == "self_cancel_share = 0.15 [0.1, 0.2], expected <= 0.05 (margin rel 10%)"


def test_a_verdict_gives_one_line_per_failed_metric():
    from sim.checks.runner import Verdict

    verdict = Verdict("t.yaml", 7, "both", [(False, "a = 1"), (True, "b = 2"), (False, "c = 3")])
    assert not verdict.passed
    assert verdict.failure() == "t.yaml:7: 'both': a = 1\nt.yaml:7: 'both': c = 3"


def test_rule_changes_of_nested_removed_keys_and_of_a_section_replaced_by_a_value():
    from sim.checks.diff import rule_changes

    old = {"r": {"a": 1, "gone": {"x": 1, "y": [True, None]}}}
    assert rule_changes(old, {"r": {"a": 1}}) == ["r.gone: {x: 1, y: [true, null]} -> (removed)"]
    assert rule_changes({"w": {"d": 1}}, {"w": None}) == ["w: {d: 1} -> null"]
    assert rule_changes({"w": "30m"}, {"w": {"2026-01-01": "4h", "2027-01-01": "2h"}}) == [
        "w: 30m -> {2026-01-01: 4h, 2027-01-01: 2h}"
    ]


# ----------------------------------------------------------------- diff's inputs, more
def _git_repo(root: Path, repo: Path, where: str = "p") -> Path:
    """A repository with jd.yaml committed under `where`; returns the file."""
    (repo / where).mkdir(parents=True)
    shutil.copy(root / "sim" / "builtin" / "policies" / "jd.yaml", repo / where / "jd.yaml")
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t", "-C", str(repo)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "jd"], check=True)
    return repo / where / "jd.yaml"


def test_a_revision_of_a_file_whose_folder_has_an_at_sign(root, tmp_path):
    from sim.checks.diff import read_source

    file = _git_repo(root, tmp_path / "repo", "v@1")
    edit(file, "platform_approves_after: 30m", "platform_approves_after: 2h")
    old = read_source(f"{file}@HEAD")  # the last @ separates the revision
    assert (old.label, old.key) == (f"{file}@HEAD", "jd")
    assert old.doc.data["cancel_request"]["platform_approves_after"] == "30m"


def test_a_policy_with_an_unknown_calendar_is_refused_from_a_file_or_git(root, tmp_path):
    from sim.checks.diff import read_source

    file = _git_repo(root, tmp_path / "repo")
    edit(file, "calendar: CN\n", "calendar: CNN\n")
    line = file.read_text(encoding="utf-8").splitlines().index("calendar: CNN") + 1
    message = (
        f"{line}:11: calendar: unknown calendar 'CNN'; expected a country code such as US or "
        "CN, or none; did you mean 'CN'?"
    )
    with pytest.raises(sim.InputError) as caught:
        read_source(str(file))
    assert str(caught.value) == f"{file}:{message}"
    subprocess.run(["git", "-C", str(file.parent), "commit", "-qam", "CNN"], check=True)
    with pytest.raises(sim.InputError) as caught:  # problems name the file as path@rev
        read_source(f"{file}@HEAD")
    assert str(caught.value) == f"{file}@HEAD:{message}"


def test_a_file_outside_the_repository_git_is_pointed_at(root, tmp_path, monkeypatch):
    from sim.checks.diff import read_source

    file = _git_repo(root, tmp_path / "repo")
    outside = tmp_path / "elsewhere" / "jd.yaml"
    outside.parent.mkdir()
    shutil.copy(file, outside)
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "repo" / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(tmp_path / "repo"))
    with pytest.raises(sim.InputError) as caught:
        read_source(f"{outside}@HEAD")
    assert str(caught.value) == f"{outside}@HEAD: cannot read it from git: not in a git repository"


def test_git_messages_that_are_not_utf8_are_still_shown(root, tmp_path):
    from sim.checks.diff import read_source

    file = _git_repo(root, tmp_path / "repo")
    rev = "\udcffx"  # the byte 0xff, as Python reads it from a command line
    with pytest.raises(sim.InputError) as caught:
        read_source(f"{file}@{rev}")
    text = str(caught.value)  # git's own words vary between versions; its line is kept
    assert text.startswith(f"{file}@{rev}: cannot read it from git: fatal: ")
    assert "\ufffdx" in text and "\n" not in text  # the byte shows as U+FFFD


def test_a_paired_study_of_a_sweep_scenario_plays_one_point(root):
    from sim.checks.diff import paired_study, read_source

    amazon = read_source(str(root / "sim" / "builtin" / "policies" / "amazon.yaml"))
    study = paired_study(
        amazon, amazon, root / "sim" / "builtin" / "scenarios" / "window-sweep.yaml"
    )
    assert study.scenario.sweep == {}
    assert [r.key for r in study.scenario.policies] == ["old", "new"]
    assert [r.file for r in study.scenario.policies] == [amazon.label, amazon.label]


def test_an_old_version_that_does_not_fit_the_scenario_is_refused(root, tmp_path):
    from sim.checks.diff import paired_study, read_source

    changed = tmp_path / "taobao.yaml"
    shutil.copy(root / "sim" / "builtin" / "policies" / "taobao.yaml", changed)
    edit(changed, "    alipay_balance:\n", "    alipay_wallet:\n")
    scenario = root / "sim" / "builtin" / "scenarios" / "quick.yaml"
    base = (
        root / "sim" / "builtin" / "scenarios" / "baseline.yaml"
    )  # quick.yaml's policies are baseline's
    line = next(
        i for i, text in enumerate(base.read_text().splitlines(), 1) if "alipay_balance:" in text
    )
    with pytest.raises(sim.InputError) as caught:
        paired_study(
            read_source(str(changed)),
            read_source(str(root / "sim" / "builtin" / "policies" / "taobao.yaml")),
            scenario,
        )
    assert str(caught.value) == (
        f"{base}:{line}:7: policies[1].payment_mix.alipay_balance: payment method "
        "'alipay_balance' is not a rail of 'Taobao / Tmall'; did you mean 'alipay_wallet'? "
        "rails: alipay_wallet, bank_card"
    )


# ----------------------------------------------------------------- an expectation file's run
def _expectation_file(
    root: Path, folder: Path, policies: str, cases: str, reps: int = 3, seed: int = 11
) -> Path:
    """A file on the quick scenario shortened to two days (one measured)."""
    path = folder / "checks.yaml"
    path.write_text(
        f"name: small\nscenario: builtin:quick\npolicies: {policies}\n"
        f"set: [horizon=2d, warmup=1d]\nreplications: {reps}\nseed: {seed}\ncases:\n{cases}",
        encoding="utf-8",
    )
    return path


PAIRED_CASES = """\
  - name: amazon refunds slower than jd
    compare: [amazon, jd]
    expect:
      money_back_hours_p50: {min: 1}
  - name: jd refunds faster than amazon
    compare: [jd, amazon]
    expect:
      money_back_hours_p50: {max: -1}
"""


@pytest.fixture(scope="module")
def amazon_and_jd(root, tmp_path_factory):
    from sim.checks.runner import load_file, run_file

    path = _expectation_file(root, tmp_path_factory.mktemp("run"), "[amazon, jd]", PAIRED_CASES)
    loaded = load_file(path)
    return loaded, run_file(loaded)


def test_the_file_sets_replications_seed_and_the_policies_played(amazon_and_jd):
    _, results = amazon_and_jd
    # the file's replications and seed, not the scenario's (2 and 7)
    assert (results.summary["replications"], results.summary["seed"]) == (3, 11)
    assert {(r.policy, r.replication) for r in results.runs} == {
        (p, r) for p in ("amazon", "jd") for r in range(3)
    }
    assert list(results.summary["policies"]) == ["amazon", "jd"]
    # the study played is the one described: no left-out policy (taobao) in its scenario
    assert [Path(r.file).stem for r in results.study.scenario.policies] == ["amazon", "jd"]
    assert list(results.study.policies) == ["amazon", "jd"]
    assert results.meta["jobs"] == 1  # one job runs inline, as in the pytest plugin


def test_a_comparison_is_the_paired_difference_in_its_order(amazon_and_jd):
    from sim.checks.runner import judge

    loaded, results = amazon_and_jd
    amazon = results.summary["policies"]["amazon"]["metrics"]["money_back_hours_p50"]["mean"]
    jd = results.summary["policies"]["jd"]["metrics"]["money_back_hours_p50"]["mean"]
    assert amazon - jd > 10  # medians of about 145 h and 76 h in this run
    slower, faster = judge(loaded, 0, results), judge(loaded, 1, results)
    assert slower.passed and faster.passed
    assert slower.details[0][1].startswith(f"money_back_hours_p50 = {amazon - jd:.4g} [")
    assert faster.details[0][1].startswith(f"money_back_hours_p50 = {jd - amazon:.4g} [")


def test_the_number_of_jobs_reaches_the_run(root, tmp_path):
    from sim.checks.runner import load_file, run_file

    cases = "  - name: some orders\n    policy: jd\n    expect:\n      orders: {min: 1}\n"
    loaded = load_file(_expectation_file(root, tmp_path, "[jd]", cases, reps=2))
    results = run_file(loaded, jobs=2)
    assert results.meta["jobs"] == 2
    assert len(results.runs) == 2


def test_policies_missing_from_the_scenario_or_the_files_list_are_refused(root, tmp_path):
    from sim.checks.runner import load_file, run_file

    cases = "  - name: a\n    policy: jd\n    expect:\n      orders: {min: 1}\n"
    path = _expectation_file(root, tmp_path, "[jd, nosuch]", cases)
    with pytest.raises(sim.InputError) as caught:
        run_file(load_file(path))
    assert str(caught.value) == (
        f"{path}:3:11: policies: 'nosuch' is not a policy of the scenario; "
        "policies: amazon, taobao, jd"
    )
    cases = (
        "  - name: unknown\n    policy: zzz\n    expect:\n      orders: {min: 1}\n"
        "  - name: a typo\n    compare: [amazon, jdd]\n    expect:\n      orders: {min: 1}\n"
        "  - name: left out\n    policy: taobao\n    expect:\n      orders: {min: 1}\n"
    )
    path = _expectation_file(root, tmp_path, "[amazon, jd]", cases)
    with pytest.raises(sim.InputError) as caught:
        run_file(load_file(path))
    assert str(caught.value).splitlines() == [
        f"{path}:9:13: cases[0].policy: 'zzz' is not a policy of the scenario; "
        "policies: amazon, jd",
        f"{path}:13:14: cases[1].compare: 'jdd' is not a policy of the scenario; "
        "did you mean 'jd'? policies: amazon, jd",
        f"{path}:17:13: cases[2].policy: 'taobao' is not a policy of the scenario; "
        "policies: amazon, jd",
    ]


def test_an_expectation_on_a_difference_across_definitions_fails_and_says_why(root, tmp_path):
    spec = tmp_path / "across.yaml"
    spec.write_text(
        "name: across\nscenario: builtin:quick\n"
        "policies: [taobao, amazon]\nset: [horizon=3d, warmup=1d]\nreplications: 2\n"
        "cases:\n  - name: refund rates\n    compare: [taobao, amazon]\n"
        "    expect:\n      platform_metric_rate: {max: 1}\n"
        "  - name: fault shares\n    compare: [taobao, amazon]\n"
        "    expect:\n      seller_fault_cancel_share: {between: [-1, 1]}\n"
    )
    result = CliRunner().invoke(main, ["test", str(spec), "--jobs", "1"])
    assert result.exit_code == 1, result.output
    assert (
        "platform_metric_rate: the two policies define their seller metric differently, so "
        "their difference compares definitions, not policies; expected <= 1"
    ) in result.output
    assert "'fault shares'" not in result.output.split("FAIL")[1]  # defined alike: passes
    assert "1 passed, 1 failed" in result.output


def test_diff_that_removes_the_seller_metric_is_a_move(root, tmp_path, monkeypatch):
    changed = tmp_path / "amazon.yaml"
    text = (root / "sim" / "builtin" / "policies" / "amazon.yaml").read_text(encoding="utf-8")
    changed.write_text(text[: text.index("seller_metric:")], encoding="utf-8")
    result = diff_on_quick(root, monkeypatch, changed, reps=2)
    assert result.exit_code == 1, result.output
    moved = result.output.split("moved significantly: ")[1]
    assert "platform_metric_rate" in moved and "sellers_flagged_share" in moved
    row = next(line for line in result.output.splitlines() if "platform_metric_rate" in line)
    assert "definitions differ" in row
