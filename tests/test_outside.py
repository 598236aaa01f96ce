"""Working outside the repository: bundled files by name, the kind of a file, a study of
one's own (`cancelsim init`), and defaults found from the study rather than the current
folder. The installed wheel itself is tested in test_wheel.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import sim
from sim.cli import main
from sim.errors import InputError
from sim.model.builtin import FOLDER, builtin_path, names
from sim.model.kinds import kind_of
from sim.project import default_scenario, expectation_folder, results_root, scenario_for_policy

SMALL = ["--set", "horizon=2d", "--set", "warmup=1d", "--reps", "2", "--jobs", "1"]


def invoke(*args: str) -> object:
    return CliRunner().invoke(main, list(args))


def test_bundled_names_list_the_package_data() -> None:
    assert {"amazon", "taobao", "jd"} <= set(names("policy"))
    assert {"baseline", "quick"} <= set(names("scenario"))
    assert builtin_path("builtin:quick", "scenario") == FOLDER / "scenarios" / "quick.yaml"
    assert builtin_path("builtin:amazon") == FOLDER / "policies" / "amazon.yaml"


@pytest.mark.parametrize("name", ["builtin:amzon", "builtin:", "builtin:../policies/amazon"])
def test_an_unknown_bundled_name_lists_the_bundled_files(name: str) -> None:
    with pytest.raises(InputError) as caught:
        builtin_path(name, "policy")
    (problem,) = caught.value.problems
    assert problem.message.startswith("no bundled policy of that name; bundled: amazon")


def test_a_scenario_outside_the_repository_plays_bundled_policies_and_extends_one(
    tmp_path: Path,
) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text(
        "extends: builtin:quick\nname: mine\npolicies:\n"
        "  - file: builtin:taobao\n    payment_mix: {alipay_balance: 1.0}\n"
        "  - file: builtin:amazon\n    payment_mix: {credit_card: 1.0}\n",
        encoding="utf-8",
    )
    study = sim.load(str(mine))
    assert list(study.policies) == ["taobao", "amazon"]
    assert study.scenario.sellers.count == sim.load("builtin:quick").scenario.sellers.count


def test_an_unknown_bundled_policy_in_a_scenario_points_at_its_line(tmp_path: Path) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text(
        "extends: builtin:quick\npolicies:\n  - file: builtin:amzon\n"
        "    payment_mix: {credit_card: 1.0}\n",
        encoding="utf-8",
    )
    result = invoke("validate", str(mine))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{mine}:3:11: policies[0].file: no bundled policy")
    assert len(result.stderr.splitlines()) == 1


def test_an_unknown_bundled_base_points_at_extends(tmp_path: Path) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text("extends: builtin:basline\n", encoding="utf-8")
    result = invoke("validate", str(mine))
    assert result.exit_code == 2
    assert result.stderr == (
        f"{mine}:1:10: extends: no bundled scenario of that name; bundled: "
        f"{', '.join(names('scenario'))}\n"
    )


# --- the kind of a file -------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("sim/builtin/policies/jd.yaml", "policy"),
        ("sim/builtin/scenarios/quick.yaml", "scenario"),
        ("sim/builtin/scenarios/baseline.yaml", "scenario"),
        ("tests/policies/amazon.yaml", "expectation"),
        ("benchmarks/reference-policy.yaml", "policy"),
    ],
)
def test_every_bundled_file_is_told_by_its_keys(root: Path, path: str, kind: str) -> None:
    from sim.model.yamlfile import read_document

    assert kind_of(read_document(root / path).data) == kind


def test_running_a_policy_says_it_is_a_policy_in_one_line(root: Path) -> None:
    result = invoke("run", str(root / "sim/builtin/policies/amazon.yaml"))
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert ":1:1: this is a policy file (one platform's rules), not a scenario;" in line
    assert "cancelsim init DIR" in line


def test_running_an_expectation_file_points_at_cancelsim_test(root: Path) -> None:
    result = invoke("run", str(root / "tests/policies/amazon.yaml"))
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert "this is an expectation file (policy regression tests), not a scenario" in line
    assert "`cancelsim test " in line


def test_testing_a_scenario_says_it_is_a_scenario(root: Path) -> None:
    result = invoke("test", str(root / "sim/builtin/scenarios/quick.yaml"))
    assert result.exit_code == 2
    assert "this is a scenario (a market that plays policies), not an expectation file" in (
        result.stderr
    )
    assert len(result.stderr.splitlines()) == 1


def test_a_scenario_named_as_a_policy_is_one_line(tmp_path: Path) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text(
        f"extends: builtin:quick\npolicies:\n  - file: {FOLDER / 'scenarios' / 'quick.yaml'}\n"
        "    payment_mix: {credit_card: 1.0}\n",
        encoding="utf-8",
    )
    result = invoke("validate", str(mine))
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert "this is a scenario (a market that plays policies), not a policy file" in line


def test_a_policy_with_misspelt_keys_still_gets_its_key_by_key_problems(tmp_path: Path) -> None:
    text = (FOLDER / "policies" / "jd.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "jd.yaml"
    bad.write_text(text.replace("\nrefunds:", "\nrefundz:"), encoding="utf-8")
    result = invoke("validate", str(bad))
    assert result.exit_code == 2
    assert "unknown key 'refundz'" in result.stderr
    assert "this is" not in result.stderr


def test_validate_takes_all_three_kinds_and_bundled_names(root: Path) -> None:
    result = invoke(
        "validate",
        str(root / "tests/policies/jd.yaml"),
        "builtin:jd",
        "builtin:window-sweep",
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{root / 'tests/policies/jd.yaml'}: valid expectation file (")
    assert lines[1].startswith("builtin:jd: valid policy file")
    assert lines[2].startswith("builtin:window-sweep: valid scenario")


def test_validate_checks_an_expectation_files_scenario_and_policies(tmp_path: Path) -> None:
    spec = tmp_path / "t.yaml"
    spec.write_text(
        "name: t\nscenario: builtin:quick\npolicies: [amazon]\nset: [horizon=nine]\n"
        "cases:\n  - name: c\n    policy: amazon\n    expect: {self_cancel_share: {min: 0}}\n",
        encoding="utf-8",
    )
    result = invoke("validate", str(spec))
    assert result.exit_code == 2
    assert "horizon" in result.stderr and "valid" not in result.stdout


# --- cancelsim init ------------------------------------------------------------------


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("init") / "my study"
    result = invoke("init", str(folder), "--from", "quick", "--jobs", "1")
    assert result.exit_code == 0, result.output
    return folder


def test_init_writes_a_study_of_valid_files_with_the_installed_schemas(study: Path) -> None:
    files = sorted(p.relative_to(study).as_posix() for p in study.rglob("*") if p.is_file())
    assert files == [
        "README.md",
        "policies/amazon.yaml",
        "policies/jd.yaml",
        "policies/taobao.yaml",
        "scenario.yaml",
        "tests/policies/my-study.yaml",
    ]
    kinds = {"scenario.yaml": "scenario", "tests/policies/my-study.yaml": "test"}
    for name in files[1:]:
        first = (study / name).read_text(encoding="utf-8").splitlines()[0]
        kind = kinds.get(name, "policy")
        assert first == f"# yaml-language-server: $schema={FOLDER}/schemas/{kind}.schema.json"
    assert "extends: builtin:quick" in (study / "scenario.yaml").read_text(encoding="utf-8")
    result = invoke("validate", *(str(study / f) for f in files[1:]))
    assert result.exit_code == 0, result.output


def test_init_copies_the_policies_as_they_are_bundled(study: Path) -> None:
    copy = (study / "policies" / "amazon.yaml").read_text(encoding="utf-8").splitlines()
    bundled = (FOLDER / "policies" / "amazon.yaml").read_text(encoding="utf-8").splitlines()
    assert copy[1:] == bundled[1:]
    assert sim.load(str(study / "scenario.yaml")).policies["amazon"].versions == (
        sim.load("builtin:quick").policies["amazon"].versions
    )


def test_a_new_studys_tests_pass_from_a_folder_inside_it(
    study: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(study / "policies")
    result = invoke("test", "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "3 passed, 0 failed"
    assert result.stdout.startswith("PASS ../tests/policies/my-study.yaml:")


def test_an_edit_to_a_studys_policy_fails_its_test(
    study: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(study, copy)
    amazon = copy / "policies" / "amazon.yaml"
    text = amazon.read_text(encoding="utf-8")
    assert "  window: 30m " in text
    amazon.write_text(text.replace("  window: 30m ", "  window: 4h  "), encoding="utf-8")
    monkeypatch.chdir(copy)
    result = invoke("test", "--jobs", "1")
    assert result.exit_code == 1
    assert "FAIL tests/policies/my-study.yaml:" in result.stdout
    assert "'amazon as measured by cancelsim init': self_cancel_share" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "nowhere"], "--from: no bundled scenario 'nowhere'; bundled: "),
        ([], "exists and is not an empty folder; give a new or empty folder"),
    ],
)
def test_init_refuses_an_unknown_base_or_a_folder_with_files(
    tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "x.txt").write_text("mine", encoding="utf-8")
    result = invoke("init", str(tmp_path), *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["x.txt"]


def test_init_lists_the_bundled_files() -> None:
    result = invoke("init", "--list")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == f"scenarios: {', '.join(names('scenario'))}"
    assert invoke("init").exit_code == 2  # a folder, unless --list


# --- defaults from the study ---------------------------------------------------------


def test_defaults_are_found_by_going_up_from_the_study(study: Path, tmp_path: Path) -> None:
    inside = study / "policies"
    assert default_scenario(inside) == str(study.resolve() / "scenario.yaml")
    assert default_scenario(tmp_path) == "builtin:baseline"
    assert expectation_folder(inside) == study.resolve() / "tests" / "policies"
    assert expectation_folder(tmp_path) is None
    assert scenario_for_policy(str(inside / "amazon.yaml"), tmp_path) == str(
        study.resolve() / "scenario.yaml"
    )
    assert scenario_for_policy(str(inside / "amazon.yaml") + "@HEAD", tmp_path) == str(
        study.resolve() / "scenario.yaml"
    )
    assert scenario_for_policy("builtin:amazon", tmp_path) == "builtin:baseline"
    assert results_root(builtin_path("builtin:quick")) == Path()
    assert results_root(study / "scenario.yaml") == study.resolve()


def test_test_outside_any_project_says_where_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("test")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "tests/policies: no such folder here or in any folder above; give the expectation "
    )


def test_run_without_a_scenario_plays_the_study_and_writes_beside_it(
    study: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(study / "tests")
    result = invoke("run", *SMALL, "--no-report", "--format", "json")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0] == (
        f"Playing {study.resolve() / 'scenario.yaml'} (no SCENARIO given)."
    )
    summary = json.loads((study / "results" / "my-study" / "summary.json").read_text())
    assert summary["scenario"] == "my study"
    assert not (study / "tests" / "results").exists()


def test_a_bundled_scenario_writes_its_results_in_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("run", "builtin:quick", *SMALL, "--no-report", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "results" / "quick" / "summary.json").is_file()
    assert not list(FOLDER.rglob("results"))


def test_diff_plays_the_study_the_new_policy_belongs_to(
    study: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # far from the study and the repository
    result = invoke(
        "diff",
        "builtin:taobao",
        str(study / "policies" / "taobao.yaml"),
        "--reps",
        "2",
        "--jobs",
        "1",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output  # the same rules: nothing moved
    head = json.loads(result.stdout)
    assert head["rule_changes"] == [] and head["moved"] == []
    assert head["scenario"] == "my study"  # the study's scenario, not the baseline


# --- found in review -----------------------------------------------------------------


def test_init_writes_any_folder_name_as_valid_yaml(tmp_path: Path) -> None:
    name = "Q3 2026: pricing study for the marketplace team, comparing refund windows across"
    result = invoke("init", str(tmp_path / name), "--from", "quick", "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert sim.load(str(tmp_path / name / "scenario.yaml")).scenario.name == name
    assert f"Next: cd '{tmp_path / name}' && cancelsim run" in result.stdout


def test_init_into_the_empty_current_folder_names_the_study_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = tmp_path / "myshop"
    here.mkdir()
    monkeypatch.chdir(here)
    result = invoke("init", ".", "--from", "builtin:quick", "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert (here / "tests" / "policies" / "myshop.yaml").is_file()
    assert sorted(p.name for p in here.iterdir()) == [
        "README.md",
        "policies",
        "scenario.yaml",
        "tests",
    ]


def test_an_interrupted_init_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sim.init_study

    def interrupted(*args: object) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr(sim.init_study, "_expectation_text", interrupted)
    with pytest.raises(KeyboardInterrupt):
        sim.init_study.init_study(tmp_path / "st", "quick")
    assert list(tmp_path.iterdir()) == []


def test_init_under_a_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    result = invoke("init", str(tmp_path / "afile" / "sub"))
    assert result.exit_code == 2
    assert result.stderr == (
        f"{tmp_path / 'afile' / 'sub'}: cannot be made: a file stands where a folder above "
        "it should be\n"
    )


def test_a_policy_as_a_base_or_a_bundled_name_of_the_wrong_kind_is_one_line(
    tmp_path: Path,
) -> None:
    base = tmp_path / "e.yaml"
    base.write_text(f"extends: {FOLDER / 'policies' / 'jd.yaml'}\n", encoding="utf-8")
    result = invoke("validate", str(base))
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert "extends: " in line and "this is a policy file (one platform's rules)" in line
    result = invoke("run", "builtin:amazon")
    assert result.stderr == (
        "builtin:amazon: this is a bundled policy, not a scenario; a scenario plays it "
        "(- file: builtin:amazon)\n"
    )


def test_nothing_is_written_inside_the_installed_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FOLDER / "scenarios")
    for args in (["run", "builtin:quick"], ["run", "quick.yaml"]):
        result = invoke(*args, *SMALL, "--no-report")
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith("--out: the current folder is inside the installed package")
    assert not list(FOLDER.rglob("results"))
