"""Deliberately broken input files: each must be refused with exact one-line messages.

Every file of tests/fixtures/bad/ breaks one thing (scenario_multiple_problems.yaml breaks
several); expected.yaml holds the stderr lines `cancelsim validate` must print for it,
paths relative to the repository root. The CLI runs in-process from that root.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from sim.cli import main
from sim.model.yamlfile import MAX_BYTES

ROOT = Path(__file__).resolve().parent.parent
BAD = Path("tests/fixtures/bad")
EXPECTED: dict[str, list[str]] = yaml.safe_load((ROOT / BAD / "expected.yaml").read_text())
FIXTURES = sorted(p.name for p in (ROOT / BAD).glob("*.yaml") if p.name != "expected.yaml")


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def cancelsim(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def assert_refused(result: Result, expected: list[str]) -> None:
    """Exit 2, nothing on stdout, exactly the expected lines on stderr, no traceback."""
    assert "Traceback" not in result.output + result.stderr
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == expected


def test_every_fixture_in_the_folder_is_refused_and_has_expected_lines() -> None:
    """Run the validator over the folder as a user would (a glob): every file in it is
    refused, and every file it names has an entry in expected.yaml."""
    assert len(FIXTURES) >= 30
    assert sorted(EXPECTED) == FIXTURES
    refused = set()
    for name in FIXTURES:
        result = cancelsim("validate", str(BAD / name))
        assert result.exit_code == 2, name
        refused.update(line.split(":", 1)[0] for line in result.stderr.splitlines())
    assert refused == {str(BAD / name) for name in FIXTURES}


@pytest.mark.parametrize("name", FIXTURES)
def test_every_message_points_at_a_real_place_in_its_file(name: str) -> None:
    """The validator's own lines (not the expectations): file:line:col inside the file."""
    result = cancelsim("validate", str(BAD / name))
    raw = (ROOT / BAD / name).read_bytes()
    lines = raw.decode("utf-8", errors="replace").split("\n")
    assert result.stderr.splitlines(), name
    for line in result.stderr.splitlines():
        where, _, message = line.partition(": ")
        file, line_no_text, col_text = where.rsplit(":", 2)
        assert file == str(BAD / name), line
        line_no, col = int(line_no_text), int(col_text)
        assert 1 <= line_no <= len(lines), line
        assert 1 <= col <= len(lines[line_no - 1]) + 1, line
        assert message and "\n" not in message


def test_all_files_at_once_report_all_problems() -> None:
    expected = [line for name in FIXTURES for line in EXPECTED[name]]
    assert_refused(cancelsim("validate", *(str(BAD / n) for n in FIXTURES)), expected)


def test_multiple_problems_in_one_file_are_all_reported() -> None:
    result = cancelsim("validate", str(BAD / "scenario_multiple_problems.yaml"))
    problems = result.stderr.splitlines()
    assert result.exit_code == 2
    assert len(problems) >= 3 and len(set(problems)) == len(problems)
    assert len({p.split(": ", 1)[0] for p in problems}) == len(problems)  # distinct places


def test_oversized_file_is_refused_before_parsing(tmp_path: Path) -> None:
    big = tmp_path / "oversized.yaml"
    line = "# " + "x" * 97 + "\n"
    big.write_text("name: big\n" + line * (MAX_BYTES // len(line) + 10))
    size = big.stat().st_size
    assert size > MAX_BYTES
    assert_refused(
        cancelsim("validate", str(big)),
        [f"{big}: the file is larger than the limit of {MAX_BYTES:,} bytes"],
    )


@pytest.mark.parametrize(
    "name", ["scenario_multiple_problems.yaml", "scenario_unknown_payment_method.yaml"]
)
def test_run_on_a_bad_scenario_writes_nothing(name: str, tmp_path: Path) -> None:
    out = tmp_path / "results"
    assert_refused(cancelsim("run", str(BAD / name), "--out", str(out)), EXPECTED[name])
    assert not out.exists()
