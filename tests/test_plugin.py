"""The pytest plugin, run in-process with pytester: collection, verdicts, broken files."""

from __future__ import annotations

from pathlib import Path

import numpy.fft  # noqa: F401 - imported before pytester's in-process runs: numpy's and
import pytest
import scipy.special  # noqa: F401 - scipy's compiled modules cannot be loaded twice in a
import scipy.stats  # noqa: F401 - process, and pytester forgets modules a run imported

ROOT = Path(__file__).resolve().parent.parent

CASES = """\
name: tiny jd
scenario: {scenario}
policies: [jd, amazon]
set: [horizon=3d, warmup=1d]
replications: 2
seed: 3
keywords: [tiny]
cases:
  - name: jd approves requests
    policy: jd
    keywords: [approvals]
    expect:
      self_cancel_share: {{max: 0, abs: 0}}
  - name: amazon is slower
    compare: [amazon, jd]
    expect:
      money_back_hours_p50: {{min: 0}}
  - name: impossible
    policy: jd
    expect:
      orders: {{max: 1, abs: 0}}
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini("[pytest]\ncancelsim_expectations =\n    checks/*.yaml\n")
    (pytester.path / "checks").mkdir()
    scenario = ROOT / "sim" / "builtin" / "scenarios" / "quick.yaml"
    (pytester.path / "checks" / "jd.yaml").write_text(CASES.format(scenario=scenario))
    (pytester.path / "elsewhere.yaml").write_text(CASES.format(scenario=scenario))
    return pytester


def test_each_case_is_an_item_and_failures_name_file_line_and_metric(project):
    result = project.runpytest_inprocess("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "checks/jd.yaml::jd approves requests PASSED*",
            "checks/jd.yaml::amazon is slower PASSED*",
            "checks/jd.yaml::impossible FAILED*",
        ]
    )
    out = result.stdout.str()
    assert f"{project.path / 'checks' / 'jd.yaml'}:18: 'impossible': orders = " in out
    assert "expected <= 1" in out and "Traceback" not in out
    assert "elsewhere.yaml" not in out  # only files matching the ini patterns


def test_keywords_of_files_and_cases_select_items(project):
    result = project.runpytest_inprocess("-p", "no:cacheprovider", "-k", "approvals")
    result.assert_outcomes(passed=1, deselected=2)
    result = project.runpytest_inprocess("-p", "no:cacheprovider", "-k", "tiny and not impossible")
    result.assert_outcomes(passed=2, deselected=1)


def test_without_patterns_the_plugin_collects_nothing(pytester):
    (pytester.path / "jd.yaml").write_text(
        CASES.format(scenario=ROOT / "sim/builtin/scenarios/quick.yaml")
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    help_text = pytester.runpytest_inprocess("--help").stdout.str()
    assert "cancelsim_expectations (linelist):" in help_text
    assert "glob patterns (relative to the rootdir) of cancelsim expectation" in " ".join(
        help_text.split()
    )


def test_a_broken_file_is_one_failing_item_with_its_problems(project):
    (project.path / "checks" / "broken.yaml").write_text("name: broken\ncases: []\n")
    result = project.runpytest_inprocess("-p", "no:cacheprovider", "-k", "broken", "-rf")
    result.assert_outcomes(failed=1, deselected=3)
    out = result.stdout.str()
    assert "broken.yaml: invalid expectation file" in out or "(invalid file)" in out
    assert "checks/broken.yaml:1:1: scenario: a required key is missing" in out
    assert "checks/broken.yaml:2:8: cases: " in out
    assert "Traceback" not in out


def test_a_case_naming_an_unknown_policy_fails_with_its_line(project):
    path = project.path / "checks" / "jd.yaml"
    path.write_text(
        path.read_text().replace("policy: jd\n    keywords", "policy: jdd\n    keywords")
    )
    result = project.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=3)
    out = result.stdout.str()
    where = project.path / "checks" / "jd.yaml"
    assert f"{where}:10:13: cases[0].policy: 'jdd' is not a policy of the scenario" in out
    assert "did you mean 'jd'?" in out


def test_the_ini_option_is_explained_in_the_help(pytester):
    help_text = " ".join(pytester.runpytest_inprocess("--help").stdout.str().split())
    assert (
        " cancelsim_expectations (linelist): glob patterns (relative to the rootdir) of "
        "cancelsim expectation files; none: the plugin collects nothing "
    ) in help_text


def test_yml_files_are_collected_too(project):
    project.makeini("[pytest]\ncancelsim_expectations =\n    checks/*.yml\n")
    (project.path / "checks" / "jd.yaml").rename(project.path / "checks" / "jd.yml")
    result = project.runpytest_inprocess("-p", "no:cacheprovider", "-k", "not impossible")
    result.assert_outcomes(passed=2, deselected=1)


def test_a_broken_file_is_the_item_named_invalid_file(project):
    (project.path / "checks" / "broken.yaml").write_text("name: broken\ncases: []\n")
    result = project.runpytest_inprocess("-p", "no:cacheprovider", "-v", "checks/broken.yaml")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["checks/broken.yaml::(invalid file) FAILED*"])


def test_a_conftest_sees_the_words_as_keywords_like_pytests_own(project):
    """pytest gives an item's own keywords (the names of its file and folders) true
    values; the words of a file and its cases are the same, so a conftest can test them
    alike."""
    project.makeconftest(
        "def pytest_collection_modifyitems(items):\n"
        "    for item in items:\n"
        "        words = ('tiny', 'approvals', 'jd.yaml', 'checks')\n"
        "        print('WORDS', item.name, [w for w in words if item.keywords.get(w)])\n"
    )
    result = project.runpytest_inprocess("-p", "no:cacheprovider", "-s", "--co")
    out = result.stdout.str()
    assert "WORDS jd approves requests ['tiny', 'approvals', 'jd.yaml', 'checks']" in out
    assert "WORDS amazon is slower ['tiny', 'jd.yaml', 'checks']" in out


def test_a_scenario_that_cannot_be_run_is_read_once_for_all_cases(project, monkeypatch):
    import sim.checks.runner as runner

    loads = []
    real = runner.load_study
    monkeypatch.setattr(runner, "load_study", lambda *a, **k: loads.append(a) or real(*a, **k))
    path = project.path / "checks" / "jd.yaml"
    path.write_text(path.read_text().replace("policies: [jd, amazon]", "policies: [jd, nosuch]"))
    result = project.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=3)
    # One report per case; the short summary may repeat it (its width depends on the terminal).
    reports = [line for line in result.stdout.lines if line.startswith(f"{path}:3:11: policies:")]
    assert (
        reports
        == [
            f"{path}:3:11: policies: 'nosuch' is not a policy of the scenario; "
            "policies: amazon, taobao, jd"
        ]
        * 3
    )
    assert len(loads) == 1


def test_an_unexpected_error_is_shown_with_its_traceback(project, monkeypatch):
    import sim

    def broken(*args, **kwargs):
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(sim, "run", broken)
    result = project.runpytest_inprocess("-p", "no:cacheprovider", "-k", "impossible")
    result.assert_outcomes(failed=1, deselected=2)
    # pytest's own report of an error: the code that raised it, then the error
    result.stdout.fnmatch_lines(
        ['>*raise RuntimeError("the disk is on fire")', "E*RuntimeError: the disk is on fire"]
    )


def test_junit_xml_gives_the_line_of_each_case(project):
    import xml.etree.ElementTree as ET

    (project.path / "checks" / "broken.yaml").write_text("name: broken\ncases: []\n")
    result = project.runpytest_inprocess(
        "-p", "no:cacheprovider", "--junitxml=out.xml", "-o", "junit_family=xunit1"
    )
    result.assert_outcomes(passed=2, failed=2)
    cases = ET.parse(project.path / "out.xml").getroot().iter("testcase")
    lines = {case.get("name"): case.get("line") for case in cases}
    # 0-based, as pytest reports every location: the cases start on lines 9, 14 and 18
    assert lines == {
        "(invalid file)": "0",
        "jd approves requests": "8",
        "amazon is slower": "13",
        "impossible": "17",
    }
