"""Hostile input, invariants in every run, crash-safe and resumable outputs."""

from __future__ import annotations

import errno
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import sim
from sim.checks.runner import load_file, study_of
from sim.cli import main
from sim.engine.market import Market
from sim.engine.recorder import InvariantError
from sim.engine.result import check_bounds
from sim.engine.rules import compile_policy
from sim.engine.streams import RandomStreams
from sim.errors import InputError
from sim.model.calendar import BusinessCalendar
from sim.model.load import Override, load_policy, load_study
from sim.model.policy import Outcome

ROOT = Path(__file__).resolve().parent.parent
SMALL = ["--set", "horizon=3d", "--set", "warmup=1d"]


# ----------------------------------------------------------------- too large a scenario
def _must_not_run(*args, **kwargs):
    raise AssertionError("a scenario too large for memory was not refused")


def test_a_scenario_too_large_for_memory_is_refused_with_an_estimate(tmp_path, monkeypatch):
    import sim.experiment.budget as budget

    monkeypatch.setattr(budget, "physical_memory", lambda: 2**30)  # a 1 GiB machine
    monkeypatch.setattr("sim.cli.run_points", _must_not_run)
    scenario = str(ROOT / "sim" / "builtin" / "scenarios" / "baseline.yaml")
    result = CliRunner().invoke(
        main,
        [
            "run",
            scenario,
            "--out",
            str(tmp_path / "o"),
            "--jobs",
            "4",
            "--set",
            "orders.rate_per_hour=100000",
        ],
    )
    assert result.exit_code == 2
    assert re.match(
        r".*baseline\.yaml: the scenario needs about [\d,]+ orders open at once, "
        r"about [\d,.]+ GiB for 4 run\(s\) at a time, more than half of this "
        r"machine's 1 GiB; .* --force",
        result.stderr,
    )
    assert not (tmp_path / "o").exists()


def test_force_runs_it_anyway(tmp_path, monkeypatch):
    import sim.experiment.budget as budget

    monkeypatch.setattr(budget, "physical_memory", lambda: 2**20)  # every scenario is "large"
    result = CliRunner().invoke(
        main,
        [
            "run",
            "--jobs",
            "1",
            str(ROOT / "sim" / "builtin" / "scenarios" / "quick.yaml"),
            "--out",
            str(tmp_path / "o"),
            "--reps",
            "1",
            "--no-report",
            "--force",
            *SMALL,
        ],
    )
    assert result.exit_code == 0, result.output


def test_the_estimate_grows_with_the_rate():
    from sim.experiment.budget import estimate

    small = load_study(ROOT / "sim" / "builtin" / "scenarios" / "quick.yaml").scenario
    big = small.model_copy(
        update={"orders": small.orders.model_copy(update={"rate_per_hour": 1e6})}
    )
    assert estimate(big).open_orders > 1000 * estimate(small).open_orders


# ----------------------------------------------------------------- the output folder
def test_out_refuses_a_folder_of_other_files(tmp_path):
    (tmp_path / "thesis.tex").write_text("precious")
    result = CliRunner().invoke(
        main,
        [
            "run",
            "--jobs",
            "1",
            str(ROOT / "sim" / "builtin" / "scenarios" / "quick.yaml"),
            "--out",
            str(tmp_path),
            *SMALL,
        ],
    )
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"{tmp_path}: exists and is not a cancelsim results "
        "folder; choose another --out, or an empty or new folder"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["thesis.tex"]


def test_out_that_cannot_be_created(tmp_path):
    (tmp_path / "a-file").write_text("x")
    result = CliRunner().invoke(
        main,
        [
            "run",
            "--jobs",
            "1",
            str(ROOT / "sim" / "builtin" / "scenarios" / "quick.yaml"),
            "--out",
            str(tmp_path / "a-file" / "results"),
            *SMALL,
        ],
    )
    assert result.exit_code == 2
    assert "a-file/results: cannot write here: Not a directory" in result.stderr


def test_a_full_disk_gives_a_clear_message(tmp_path, monkeypatch):
    import sim.experiment.store as store

    def full(path, text):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(store, "write_atomic", full)
    result = CliRunner().invoke(
        main,
        [
            "run",
            str(ROOT / "sim" / "builtin" / "scenarios" / "quick.yaml"),
            "--out",
            str(tmp_path / "o"),
            "--reps",
            "1",
            "--jobs",
            "1",
            *SMALL,
        ],
    )
    assert result.exit_code == 1
    assert "cannot write the results: No space left on device" in result.stderr
    assert "Traceback" not in result.output


def test_every_output_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    from sim.experiment import output

    target = tmp_path / "summary.json"
    target.write_text("old")

    def broken(fd, *args, **kwargs):
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(output.os, "fdopen", broken)
    with pytest.raises(OSError):
        output.write_atomic(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


# ----------------------------------------------------------------- signals
def _run(out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sim",
            "run",
            str(ROOT / "sim" / "builtin" / "scenarios" / "quick.yaml"),
            "--out",
            str(out),
            "--jobs",
            "1",
            "--no-report",
            *SMALL,
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stored(out: Path) -> int:
    runs = out / "runs"
    return len([p for p in runs.glob("*.json") if not p.name.endswith(".failed.json")])


@pytest.mark.external
@pytest.mark.parametrize("stored", [1, 6, 12])
def test_sigterm_mid_run_stops_cleanly_and_resumes_to_the_same_summary(tmp_path, stored):
    """The signal lands only once `stored` of the 18 runs are on disk, so it always
    interrupts a run in progress; the stop keeps them, and resuming gives the same bytes."""
    whole = tmp_path / "whole"
    assert _run(whole, "--reps", "6").wait(timeout=120) == 0
    out = tmp_path / "stopped"
    process = _run(out, "--reps", "6")
    deadline = time.monotonic() + 60
    while _stored(out) < stored and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert process.poll() is None, "the run ended before the signal could be sent"
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 143, stderr
    assert "Traceback" not in stderr
    kept = re.search(
        r"Stopped: (\d+) of 18 runs are kept in .*run the same command again to "
        r"resume",
        " ".join(stderr.split()),
    )
    assert kept, stderr
    assert stored <= int(kept.group(1)) < 18
    assert stored <= _stored(out) < 18
    assert not list(out.rglob("*.tmp"))
    assert not (out / "summary.json").exists()
    again = _run(out, "--reps", "6")
    assert again.wait(timeout=120) == 0
    assert (out / "summary.json").read_bytes() == (whole / "summary.json").read_bytes()


# ----------------------------------------------------------------- invariants
def test_an_order_given_two_outcomes_is_an_internal_error_naming_it():
    study = load_study(ROOT / "sim" / "builtin" / "scenarios" / "quick.yaml")
    scenario, policy = study.scenario, study.policies["amazon"]
    calendar = BusinessCalendar("US", scenario.start.date(), 800)
    run = scenario.policies[0]
    compiled = compile_policy("amazon", policy, calendar, tuple(run.payment_mix), 1.0, 24 * 40)
    market = Market(scenario, compiled, RandomStreams(1, 0), run.payment_mix)
    market.env.run(until=5)
    order = next(iter(market.open.values()))
    market.close(order, Outcome.SHIPPED)
    with pytest.raises(
        InvariantError,
        match=r"order \d+ \(placed at [\d.]+ h, seller \d+.*"
        r"was given a second outcome",
    ):
        market.close(order, Outcome.SELF_CANCELLED)


def test_metric_bounds_are_checked():
    check_bounds({"self_cancel_share": 0.5, "money_back_hours_p50": float("nan")})
    with pytest.raises(InvariantError, match="self_cancel_share = 1.5 is out of its bounds"):
        check_bounds({"self_cancel_share": 1.5})
    with pytest.raises(InvariantError, match="money_back_hours_p90"):
        check_bounds({"money_back_hours_p90": -1.0})


def test_scenario_paths_are_relative_to_the_scenario_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    study = sim.load(str(ROOT / "sim" / "builtin" / "scenarios" / "quick.yaml"))
    assert (
        Path(study.policy_paths["amazon"]) == ROOT / "sim" / "builtin" / "policies" / "amazon.yaml"
    )


# ----------------------------------------------------------------- fuzzing
FUZZ_FILES = [
    "sim/builtin/policies/amazon.yaml",
    "sim/builtin/policies/taobao.yaml",
    "sim/builtin/policies/jd.yaml",
    "sim/builtin/policies/jd-pop.yaml",
    "sim/builtin/scenarios/quick.yaml",
    "tests/policies/amazon.yaml",
]
TOKENS = [
    "",
    "no",
    "yes",
    "1:30",
    "-1",
    "1e999",
    ".nan",
    "[",
    "{",
    "}",
    "'",
    '"',
    "~",
    "0x1F",
    "010",
    "2020-13-45",
    "2019-02-29",
    "&a",
    "*a",
    "0",
    "99999999999999999999",
    "true",
    "!!python/object/apply:os.system ['true']",
    "!!binary aGk=",
    "30 fortnights",
    "- x",
    "? x",
    "%YAML 1.1",
    "---",
    "...",
    "<<: *a",
    "\t",
    "x: y: z",
    "[[[[[[[[",
]
BOUND_TOKENS = [  # numbers past what the arithmetic holds, bidi (issue 16)
    "1e308",
    "-1e308",
    "1e300",
    str(10**400),
    "-" + str(10**400),
    "5e-324",
    "2.2250738585072014e-308",
    "-0.0",
    ".inf",
    "-.inf",
    "''",
    "9" * 400 + "h",
    "99999999999h",
    "300 business days",
    "9999 months",
    "{dist: lognormal, median: 30, sigma: 1e300}",
    "{dist: lognormal, median: 1s, p90: 180d}",
    "{dist: exponential, mean: 1e11}",
    "{dist: gamma, mean: 1h, shape: 5e-324}",
    "{dist: uniform, low: 0, high: 1e308}",
    "[1e308, 1, 1, 1, 1, 1, 1]",
    "[5e-324, 0, 0, 0, 0, 0, 0]",
    "{value: 1, range: [0, 1e308]}",
    "{value: 1, range: [1, " + str(10**400) + "]}",
    "[horizon=8, 'orders.rate_per_hour=1e308', amazon=1]",
    '"window\u202e"',
]
TOKENS += BOUND_TOKENS
_PROJECT = Path(tempfile.mkdtemp(prefix="cancelsim-fuzz-"))
for _folder in ("sim/builtin/policies", "sim/builtin/scenarios", "tests/policies"):
    shutil.copytree(ROOT / _folder, _PROJECT / _folder)


def mutate(lines: list[str], data: st.DataObject) -> list[str]:
    lines = list(lines)
    for _ in range(data.draw(st.integers(1, 3))):
        if not lines:
            lines.append(data.draw(st.text(max_size=20)))
            continue
        i = data.draw(st.integers(0, len(lines) - 1))
        action = data.draw(
            st.sampled_from(
                ["delete", "duplicate", "swap", "value", "garbage", "truncate", "indent"]
            )
        )
        if action == "delete":
            del lines[i]
        elif action == "duplicate":
            lines.insert(i, lines[i])
        elif action == "swap":
            j = data.draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif action == "value" and ":" in lines[i]:
            key = lines[i].split(":", 1)[0]
            lines[i] = f"{key}: {data.draw(st.sampled_from(TOKENS))}"
        elif action == "garbage":
            lines.insert(i, data.draw(st.one_of(st.sampled_from(TOKENS), st.text(max_size=30))))
        elif action == "truncate":
            lines = lines[:i]
        else:
            lines[i] = " " * data.draw(st.integers(1, 5)) + lines[i]
    return lines


def load_any(relative: str, path: Path) -> None:
    """Validate a mutated file as its kind: a policy, a scenario with its policies, or an
    expectation file with its scenario and `set:` entries."""
    if relative.startswith("sim/builtin/policies/"):
        load_policy(path)
    elif relative.startswith("sim/builtin/scenarios/"):
        load_study(path)
    else:
        study_of(load_file(path))


@pytest.mark.parametrize("relative", FUZZ_FILES)
def test_the_fuzz_reads_each_unmutated_file_as_its_kind(relative):
    """Unmutated, every file is valid as what load_any takes it for: the fuzz mutates
    policies, scenarios and expectation files, not files refused for their kind."""
    load_any(relative, ROOT / relative)


@pytest.mark.slow
@settings(
    max_examples=int(os.environ.get("CANCELSIM_FUZZ_EXAMPLES", "120")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=st.data())
def test_mutated_files_are_valid_or_refused_line_by_line(data):
    relative = data.draw(st.sampled_from(FUZZ_FILES))
    path = _PROJECT / relative
    original = (ROOT / relative).read_text(encoding="utf-8")
    text = "\n".join(mutate(original.splitlines(), data)) + "\n"
    path.write_text(text, encoding="utf-8")
    kind = "expectations" if relative.startswith("tests/") else relative.split("/")[-2]
    if any(token in text for token in BOUND_TOKENS if token not in original):
        event("with an issue-16 token")  # figures: --hypothesis-show-statistics
    try:
        load_any(relative, path)
        event(f"{kind}: valid")
    except InputError as exc:
        event(f"{kind}: refused")
        assert exc.problems
        for problem in exc.problems:
            line = str(problem)
            assert "\n" not in line and "Traceback" not in line
            assert problem.file and problem.message
            if problem.file != "--set":
                assert problem.line >= 1, line
                assert re.match(r"^\S.*:\d+:\d+: ", line), line
    finally:
        path.write_text(original, encoding="utf-8")


# ----------------------------------------------------------------- more hostile YAML
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("v: !!bool maybe\n", "v: 'maybe' cannot be read as bool"),
        ("v: !!timestamp hello\n", "v: 'hello' is not a real date"),
        ("m: !!map abc\n", "m: 'abc' is plain text, but its tag says it is a mapping"),
        ("? !!timestamp hello\n: 1\n", "is not a real date"),
    ],
)
def test_explicit_tags_on_wrong_values_are_one_line_problems(tmp_path, text, message):
    path = tmp_path / "t.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        load_policy(path)
    assert any(message in str(p) and str(p).count("\n") == 0 for p in caught.value.problems)


def test_aliases_nested_in_aliases_stop_at_the_depth_limit(tmp_path):
    lines = ["a0: &a0 [1]"]
    for i in range(1, 15):
        nest = "[" * 35 + f"*a{i - 1}" + "]" * 35
        lines.append(f"a{i}: &a{i} {nest}")
    path = tmp_path / "deep.yaml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match="nested more than 40 levels deep through aliases"):
        load_policy(path)


def test_huge_values_are_shortened_and_problems_capped(tmp_path):
    blob = "x" * 50_000
    path = tmp_path / "blob.yaml"
    path.write_text(f"name: &b {blob}\nsources: [" + ", ".join(["*b"] * 4000) + "]\n")
    with pytest.raises(InputError) as caught:
        load_policy(path)
    text = str(caught.value)
    assert len(text) < 20_000 and len(caught.value.problems) <= 101


def test_a_key_with_a_newline_stays_on_one_line(tmp_path):
    path = tmp_path / "nl.yaml"
    path.write_text('"bad\\nkey": 1\nname: x\n')
    with pytest.raises(InputError) as caught:
        load_policy(path)
    assert all("\n" not in str(p) for p in caught.value.problems)


def test_a_device_is_not_read(tmp_path):
    with pytest.raises(InputError, match="not a regular file"):
        load_policy("/dev/zero")


def test_a_git_revision_may_not_be_an_option(root, monkeypatch):
    monkeypatch.chdir(root)
    result = CliRunner().invoke(
        main,
        [
            "diff",
            "sim/builtin/policies/amazon.yaml@--output=/tmp/x",
            "sim/builtin/policies/amazon.yaml",
        ],
    )
    assert result.exit_code == 2 and "may not be empty or start with -" in result.stderr


def test_outputs_are_readable_by_others_as_usual(tmp_path):
    from sim.experiment.output import write_atomic

    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "summary.json", "{}")
    finally:
        os.umask(old)
    assert (tmp_path / "summary.json").stat().st_mode & 0o777 == 0o644


def test_a_scenario_name_cannot_steer_the_output_folder():
    from sim.cli import safe_name

    assert safe_name("../../etc") == "etc"
    evil = safe_name("/tmp/evil/../x")
    assert "/" not in evil and not evil.startswith(".") and len(Path(evil).parts) == 1
    assert safe_name("...") == "scenario"
    assert safe_name("window-sweep") == "window-sweep"


def test_a_signal_inside_an_import_still_counts_as_a_stop():
    from sim.cli import Terminated, _interruption

    try:
        try:
            raise Terminated
        except Terminated as inner:
            raise ImportError("initialization failed") from inner
    except ImportError as outer:
        assert isinstance(_interruption(outer), Terminated)
    assert _interruption(ValueError("plain")) is None


def test_the_too_large_fixture_is_refused_with_its_estimate(tmp_path, monkeypatch):
    monkeypatch.setattr("sim.cli.run_points", _must_not_run)  # fail at once, never simulate
    fixture = ROOT / "tests" / "fixtures" / "too_large" / "scenario_too_large.yaml"
    result = CliRunner().invoke(
        main, ["run", "--jobs", "1", str(fixture), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2
    assert re.fullmatch(
        r".*scenario_too_large\.yaml: the scenario needs about 720,000,000 orders open at once,"
        r" about [\d,.]+ GiB for 1 run\(s\) at a time, more than half of this machine's "
        r"[\d,]+ GiB; shorten it, lower the rate, use fewer --jobs, or run anyway with --force",
        result.stderr.strip(),
        flags=re.S,
    )
    assert not (tmp_path / "o").exists()


def test_the_machine_s_memory_is_the_lower_of_ram_and_the_cgroup_limit(monkeypatch, tmp_path):
    import sim.experiment.budget as budget

    sizes = {"SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": 1000}
    monkeypatch.setattr(budget.os, "sysconf", lambda name: sizes[name])
    limit = tmp_path / "memory.max"
    real_path = budget.Path

    def fake_path(text):
        return limit if text == "/sys/fs/cgroup/memory.max" else real_path(text)

    monkeypatch.setattr(budget, "Path", fake_path)
    limit.write_text("max\n")
    assert budget.physical_memory() == 4096 * 1000
    limit.write_text("1000000\n")
    assert budget.physical_memory() == 1_000_000
    limit.write_text("99999999999\n")
    assert budget.physical_memory() == 4096 * 1000
    limit.unlink()
    assert budget.physical_memory() == 4096 * 1000


def _flat_market(rate: str, drain: str):
    """Two days of `rate` orders an hour, flat over hours, weekdays and dates; 5 sellers,
    the most careless never shipping 1% of orders."""
    settings = (
        "horizon=2d",
        f"drain={drain}",
        f"orders.rate_per_hour={rate}",
        "orders.daily_profile=" + str([1] * 24),
        "orders.weekly_profile=" + str([1] * 7),
        "orders.promotions=[]",
        "sellers.count=5",
        "sellers.types.dropshipper.never_ships=0.01",
    )
    return load_study(
        ROOT / "sim" / "builtin" / "scenarios" / "quick.yaml", [Override.parse(s) for s in settings]
    ).scenario


def test_the_memory_estimate_by_hand():
    """A flat 10 orders an hour for 2 days, 1% never shipped, 5 sellers."""
    import sim.experiment.budget as budget

    scenario = _flat_market(rate="10", drain="1d")
    got = budget.estimate(scenario)
    assert got.open_orders == 10 * 72 + 5  # 72 h in the pipeline, 480 orders x 1%
    days = 3 + 400
    arrays = 5 * days * 8 + 2 * 5 * days * 4
    assert got.bytes_per_run == budget.BASE_BYTES + got.open_orders * 1000 + arrays


def test_too_big_compares_with_half_of_the_memory(monkeypatch):
    import sim.experiment.budget as budget

    scenario = load_study(ROOT / "sim" / "builtin" / "scenarios" / "quick.yaml").scenario
    need = budget.estimate(scenario).bytes_per_run
    monkeypatch.setattr(budget, "physical_memory", lambda: 2 * need * 3)
    assert budget.too_big(scenario, 3) is None  # exactly half: still fits
    monkeypatch.setattr(budget, "physical_memory", lambda: 2 * need * 3 - 1)
    message = budget.too_big(scenario, 3)
    assert message is not None and message.startswith("the scenario needs about ")
    assert "for 3 run(s) at a time, more than half of this machine's" in message
    monkeypatch.setattr(budget, "physical_memory", lambda: None)
    assert budget.too_big(scenario, 3) is None


# ----------------------------------------------------------------- results files, exactly
def test_an_output_is_written_as_a_hidden_temporary_file_beside_it(tmp_path, monkeypatch):
    """Until the rename, the only new file is `.NAME.<random>.tmp` in the target's folder:
    hidden, plainly temporary, and on the same disk, so the rename is atomic."""
    from sim.experiment import output

    before_rename = []
    real_replace = os.replace

    def replace(src, dst):
        before_rename.append(sorted(p.name for p in tmp_path.iterdir()))
        real_replace(src, dst)

    monkeypatch.setattr(output.os, "replace", replace)
    output.write_atomic(tmp_path / "summary.json", "{}\n")
    (names,) = before_rename
    assert len(names) == 1 and re.fullmatch(r"\.summary\.json\.[a-z0-9_]+\.tmp", names[0])
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_an_output_does_not_need_the_system_temporary_folder(tmp_path, monkeypatch):
    from sim.experiment.output import write_atomic

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no-such-folder"))
    write_atomic(tmp_path / "o" / "summary.json", "{}\n")
    assert (tmp_path / "o" / "summary.json").read_text() == "{}\n"


def test_an_output_s_missing_folders_are_created(tmp_path):
    from sim.experiment.output import write_atomic

    write_atomic(tmp_path / "a" / "b" / "runs" / "k.json", "{}\n")
    assert (tmp_path / "a" / "b" / "runs" / "k.json").read_bytes() == b"{}\n"


def test_a_stop_just_after_the_rename_is_still_a_stop(tmp_path, monkeypatch):
    """A signal landing once the file is in place must not turn into a missing-file error."""
    from sim.experiment import output

    real_replace = os.replace

    def replace_then_interrupted(src, dst):
        real_replace(src, dst)
        raise KeyboardInterrupt

    monkeypatch.setattr(output.os, "replace", replace_then_interrupted)
    with pytest.raises(KeyboardInterrupt):
        output.write_atomic(tmp_path / "summary.json", "new\n")
    assert (tmp_path / "summary.json").read_text() == "new\n"


def test_outputs_are_utf8_whatever_the_locale(tmp_path):
    import locale

    from sim.experiment.output import write_atomic

    text = "淘宝 self-cancel, café\n"
    old = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C")  # a bare container or a cron job
    try:
        write_atomic(tmp_path / "summary.json", text)
    finally:
        locale.setlocale(locale.LC_CTYPE, old)
    assert (tmp_path / "summary.json").read_bytes() == text.encode("utf-8")


def test_json_outputs_are_indented_unescaped_and_refuse_nan():
    import math

    from sim.experiment.output import json_text

    assert json_text({"policy": "淘宝", "ci95": [1.5, None]}) == (
        '{\n  "policy": "淘宝",\n  "ci95": [\n    1.5,\n    null\n  ]\n}\n'
    )
    with pytest.raises(ValueError, match="not JSON compliant"):
        json_text({"mean": math.nan})


def test_the_run_table_is_plain_csv_with_undefined_values_left_blank():
    import math

    from sim.experiment.output import csv_text

    rows = [
        {"policy": "amazon", "replication": 0, "orders": 12.5, "money_back_hours_p50": math.nan},
        {"policy": "jd", "replication": 1, "orders": 3.0, "money_back_hours_p50": 4.25},
    ]
    assert csv_text(rows) == (
        "policy,replication,orders,money_back_hours_p50\namazon,0,12.5,\njd,1,3.0,4.25\n"
    )
    assert csv_text(rows[:1]) == "policy,replication,orders,money_back_hours_p50\namazon,0,12.5,\n"
    assert csv_text([]) == ""


def test_the_results_files_hold_exactly_the_summary_the_runs_and_the_meta(tmp_path):
    from sim.experiment.output import Used, write_results

    write_results(
        tmp_path,
        {"scenario": "quick"},
        [{"policy": "amazon", "replication": 0, "orders": 1.5}],
        {"seed": 7},
        used=Used(),
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["meta.json", "runs.csv", "summary.json"]
    assert (tmp_path / "summary.json").read_bytes() == b'{\n  "scenario": "quick"\n}\n'
    assert (tmp_path / "runs.csv").read_bytes() == b"policy,replication,orders\namazon,0,1.5\n"
    assert (tmp_path / "meta.json").read_bytes() == b'{\n  "seed": 7\n}\n'


def test_out_that_is_a_file_is_refused(tmp_path):
    from sim.experiment.output import open_results_folder

    path = tmp_path / "results"
    path.write_text("precious")
    with pytest.raises(InputError) as caught:
        open_results_folder(path)
    assert str(caught.value) == f"{path}: is a file; --out needs a folder"
    assert path.read_text() == "precious"


def test_a_new_results_folder_is_created_with_its_parents_and_marked(tmp_path):
    from sim.experiment.output import open_results_folder

    folder = tmp_path / "experiments" / "2026" / "quick"
    assert open_results_folder(folder) == folder
    assert [p.name for p in folder.iterdir()] == [".cancelsim"]
    assert (folder / ".cancelsim").read_bytes() == b"cancelsim results folder\n"
    (folder / "summary.json").write_text("{}")
    assert open_results_folder(folder) == folder  # a results folder is reopened


def test_the_memory_estimate_by_hand_below_one_order_an_hour():
    """0.5 orders an hour for 2 days, then a 1 h drain: 49 h is 3 calendar days."""
    import sim.experiment.budget as budget

    scenario = _flat_market(rate="0.5", drain="1h")
    got = budget.estimate(scenario)
    assert got.open_orders == 37  # ceil(0.5 x 72 + 24 orders x 1%)
    days = 3 + 400
    arrays = 5 * days * 8 + 2 * 5 * days * 4
    assert got.bytes_per_run == budget.BASE_BYTES + 37 * 1000 + arrays
