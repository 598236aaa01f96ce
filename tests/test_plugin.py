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
      refund_hours_p50: {{min: 0}}
  - name: impossible
    policy: jd
    expect:
      orders: {{max: 1, abs: 0}}
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini("[pytest]\ncancelsim_expectations =\n    checks/*.yaml\n")
    (pytester.path / "checks").mkdir()
    scenario = ROOT / "scenarios" / "quick.yaml"
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
    (pytester.path / "jd.yaml").write_text(CASES.format(scenario=ROOT / "scenarios/quick.yaml"))
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
