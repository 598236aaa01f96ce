"""The results folder as untrusted input, and every file in it belonging to its summary.

Stored runs are reused only when valid (their form, the key they are stored under, the
metrics' bounds and the invariants of a run, a checksum), and run again otherwise with a
notice; summary.json and the other files `cancelsim report` reads give one line and
exit 2 when they are not what cancelsim wrote; files of an earlier summary (trace, report,
figures, failures, runs of other inputs, temporaries) do not stay beside a new one; and
nothing is written through a symbolic link. A catalogue of broken folders
(tests/fixtures/bad_results/) and a Hypothesis fuzz test over stored runs and results
folders close it.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from sim.cli import main

ROOT = Path(__file__).resolve().parent.parent
QUICK = str(ROOT / "sim" / "builtin" / "scenarios" / "quick.yaml")
SMALL = ("--set", "horizon=2d", "--set", "warmup=1d", "--reps", "2", "--jobs", "1")


def cancelsim(*args: object) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def run(out: Path, *extra: str) -> Result:
    """The quick scenario, two days, two replications: 6 runs in about a second."""
    return cancelsim("run", QUICK, *SMALL, "--out", out, *extra)


def errors(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


def assert_refused(result: Result, line: str | re.Pattern[str]) -> None:
    """Exit 2, no traceback, exactly one line on stderr."""
    assert "Traceback" not in result.output + result.stderr
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 2, result.output
    assert len(errors(result)) == 1, result.stderr
    if isinstance(line, str):
        assert errors(result)[0] == line
    else:
        assert line.fullmatch(errors(result)[0]), errors(result)[0]


class TookTooLong(Exception):
    """Not an OSError: code that catches those (a read that failed) must not swallow it."""


@contextlib.contextmanager
def within(seconds: int) -> Any:
    """Fail, rather than hang, when the block takes longer than `seconds`."""

    def late(signum: int, frame: Any) -> None:
        raise TookTooLong(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, late)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean results folder with its report."""
    out = tmp_path_factory.mktemp("made") / "o"
    result = run(out)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def folder(made: Path, tmp_path: Path) -> Path:
    """A copy of the clean results folder to break."""
    out = tmp_path / "o"
    shutil.copytree(made, out, symlinks=True)
    return out


def keys(out: Path) -> dict[str, str]:
    """policy-rN: the key of that run, from the manifest."""
    manifest = json.loads((out / "manifest.json").read_text())
    return {f"{e['policy']}-r{e['replication']}": e["key"] for e in manifest["runs"]}


def run_file(out: Path, name: str = "amazon-r0") -> Path:
    return out / "runs" / f"{keys(out)[name]}.json"


def edit(path: Path, change: Callable[[dict[str, Any]], None], forge: bool = True) -> None:
    """Change a stored run; `forge`: give it the checksum of its new content, so that
    only the checks of its content can tell (a checksum is no secret)."""
    record = json.loads(path.read_text())
    change(record)
    if forge and "checksum" in record:
        from sim.experiment.store import checksum

        record["checksum"] = checksum(record)
    path.write_text(json.dumps(record))


def notice(out: Path, *why: tuple[str, str]) -> str:
    """The one line a run prints for stored runs that were not valid."""
    shown = "; ".join(f"{key}.json: {reason}" for key, reason in why)
    if len(why) == 1:
        return f"{out}/runs: 1 stored run was not valid and is run again ({shown})"
    return f"{out}/runs: {len(why)} stored runs were not valid and are run again ({shown})"


def assert_rerun_to_the_clean_summary(out: Path, made: Path, line: str | None) -> None:
    result = run(out)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert errors(result) == ([line] if line else [])
    assert (out / "summary.json").read_bytes() == (made / "summary.json").read_bytes()
    assert (out / "runs.csv").read_bytes() == (made / "runs.csv").read_bytes()


# ----------------------------------------------------------------- stored runs
def test_a_stored_run_of_the_wrong_shape_is_run_again_not_a_traceback(folder, made):
    path = run_file(folder)
    path.write_text(json.dumps({"key": path.stem, "result": [1, 2, 3]}))
    line = notice(
        folder, (path.stem, "expected a mapping of key, result, trace (optional) and checksum")
    )
    assert_rerun_to_the_clean_summary(folder, made, line)
    again = run(folder)  # and only once: the rerun replaced it
    assert errors(again) == []


EDITS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "negative refund time": (
        lambda r: r["result"]["metrics"].update(money_back_hours_p50=-3.0),
        r"metric money_back_hours_p50 = -3\.0 is out of its bounds\)",
    ),
    "a share above 1": (
        lambda r: r["result"]["metrics"].update(failed_cancel_share=1.25),
        r"metric failed_cancel_share = 1\.25 is out of its bounds\)",
    ),
    "shares summing above 1": (
        lambda r: r["result"]["metrics"].update(self_cancel_share=0.6, request_cancel_share=0.6),
        r"metric self_cancel_share = 0\.6, but the run's counts give [\d.e-]+\)",
    ),
    "an undefined count": (
        lambda r: r["result"]["metrics"].update(orders=None),
        r"metric orders = nan, but the run's counts give \d+\.0\)",
    ),
    "a count that does not add up": (
        lambda r: r["result"]["outcome_counts"].update(
            shipped=r["result"]["outcome_counts"]["shipped"] + 1
        ),
        r"metric orders = (\d+)\.0, but the run's counts give (?!\1\.0)\d+\.0\)",
    ),
    "a day's orders that do not add up": (
        lambda r: r["result"]["daily_orders"].__setitem__(0, r["result"]["daily_orders"][0] + 5),
        r"\d+ orders placed but \d+ outcomes recorded\)",
    ),
    "more refunds than refunding orders": (
        lambda r: r["result"]["money_back_hist"]["counts"].__setitem__(0, 10**9),
        r"more refunds measured than refunding outcomes\)",
    ),
    "a mean refund time outside its histogram": (
        lambda r: r["result"]["metrics"].update(refund_issued_hours_mean=1e6),
        r"metric refund_issued_hours_mean = 1000000\.0, outside the refund times of its "
        r"histogram \([\d.e+]+ to [\d.e+]+ h\)\)",
    ),
    "a seller's rate above 1": (
        lambda r: r["result"]["seller_rates"].__setitem__(1, 3.0),
        r"a seller's rate is out of \[0, 1\]\)",
    ),
    "metrics as a list": (
        lambda r: r["result"].update(metrics=[]),
        r"result\.metrics: expected a mapping, not a list\)",
    ),
    "metrics as text": (
        lambda r: r["result"].update(metrics="fine"),
        r"result\.metrics: expected a mapping, not text\)",
    ),
    "metrics as null": (
        lambda r: r["result"].update(metrics=None),
        r"result\.metrics: expected a mapping, not null\)",
    ),
    "metrics as a number": (
        lambda r: r["result"].update(metrics=1.5),
        r"result\.metrics: expected a mapping, not float\)",
    ),
}


@pytest.mark.parametrize("name", EDITS)
def test_a_stored_run_with_impossible_values_is_run_again(folder, made, name):
    """Edited by hand, even with a matching checksum: the checks of every run tell. (The
    reasons are patterns where they hold the run's own counts.)"""
    change, reason = EDITS[name]
    path = run_file(folder)
    edit(path, change)
    result = run(folder)
    assert result.exit_code == 0, result.output
    (line,) = errors(result)
    start = re.escape(notice(folder, (path.stem, "@")).split("@")[0])
    assert re.match(start + reason, line), line
    assert (folder / "summary.json").read_bytes() == (made / "summary.json").read_bytes()


def test_an_edit_within_the_bounds_is_caught_by_the_checksum(folder, made):
    path = run_file(folder)
    edit(path, lambda r: r["result"]["metrics"].update(cancel_intent_share=0.5), forge=False)
    line = notice(folder, (path.stem, "checksum: the stored run was changed after it was written"))
    assert_rerun_to_the_clean_summary(folder, made, line)


def test_a_stored_run_under_another_key_is_not_reused(folder, made):
    """A valid run copied over another's file: the key it names is not its file's."""
    taobao, amazon = run_file(folder, "taobao-r0"), run_file(folder)
    shutil.copy(taobao, amazon)
    why = f"key: {taobao.stem!r} is not the key it is stored under"
    assert_rerun_to_the_clean_summary(folder, made, notice(folder, (amazon.stem, why)))


def test_another_run_s_result_under_the_right_key_is_not_reused(folder, made):
    taobao, amazon = run_file(folder, "taobao-r1"), run_file(folder)
    record = json.loads(taobao.read_text())
    record["key"] = amazon.stem
    amazon.write_text(json.dumps(record))
    edit(amazon, lambda r: None)
    why = "result: the run of 'taobao' replication 1, not of 'amazon' replication 0"
    assert_rerun_to_the_clean_summary(folder, made, notice(folder, (amazon.stem, why)))


HOSTILE_JSON = {
    "deeply nested": ("[" * 100_000, "nested more than 40 levels deep"),
    "nested past the limit": ("[" * 41 + "]" * 41, "nested more than 40 levels deep"),
    "1e999": ('{"key": 1e999}', "the number 1e999 is too large"),
    "an integer of 100,001 digits": ("1" + "0" * 100_000, "an integer of 100,001 digits"),
    "NaN": ('{"key": NaN}', "NaN is not a number that JSON allows"),
    "-Infinity": ("[-Infinity]", "-Infinity is not a number that JSON allows"),
    "a key twice": ('{"key": 1, "key": 2}', "the key 'key' is given twice"),
    "garbage bytes": (b"\xff\xfe\x00garbage", "not UTF-8 text (byte 0xff at 0)"),
    "truncated": ('{"key": "ab', "not JSON: Unterminated string starting at (line 1, column 9)"),
    "empty": ("", "not JSON: Expecting value (line 1, column 1)"),
}


@pytest.mark.parametrize("name", HOSTILE_JSON)
def test_a_stored_run_that_is_not_sound_json_is_run_again(folder, made, name):
    text, reason = HOSTILE_JSON[name]
    path = run_file(folder)
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    assert_rerun_to_the_clean_summary(folder, made, notice(folder, (path.stem, reason)))


def test_stored_runs_that_are_links_or_not_files_are_run_again(folder, made, tmp_path):
    outside = tmp_path / "outside.json"
    outside.write_text("precious")
    links = run_file(folder), run_file(folder, "jd-r1")
    links[0].unlink()
    links[0].symlink_to(outside)
    links[1].unlink()
    os.mkfifo(links[1])  # reading it would wait for ever
    line = notice(
        folder,
        *sorted(
            [
                (links[0].stem, "is a symbolic link; a results folder's files are its own"),
                (links[1].stem, "is not a regular file"),
            ],
            key=lambda w: list(keys(made).values()).index(w[0]),
        ),
    )
    with within(60):  # reading the pipe would wait for ever
        assert_rerun_to_the_clean_summary(folder, made, line)
    assert outside.read_text() == "precious" and not links[0].is_symlink()


def test_many_invalid_stored_runs_make_one_line(folder, made):
    for path in (folder / "runs").glob("*.json"):
        path.write_text("{}")
    result = run(folder)
    assert result.exit_code == 0
    (line,) = errors(result)
    assert line.startswith(f"{folder}/runs: 6 stored runs were not valid and are run again (")
    assert line.endswith("; and 3 more)")
    assert (folder / "summary.json").read_bytes() == (made / "summary.json").read_bytes()


def test_a_stale_failure_does_not_stay_beside_a_run_that_succeeded(folder, made):
    """A reused run's failure record, and a failure of a run of other inputs, go."""
    key = keys(folder)["amazon-r0"]
    (folder / "runs" / f"{key}.failed.json").write_text('{"error": "earlier"}')
    other = folder / "runs" / f"{'0' * 32}.failed.json"
    other.write_text("not even JSON")
    assert_rerun_to_the_clean_summary(folder, made, None)
    assert not list((folder / "runs").glob("*.failed.json"))


def removed(out: Path, count: int) -> str:
    """The one line a run prints for the stored runs it removed."""
    runs = "stored runs" if count > 1 else "stored run"
    return (
        f"{out}: removed {count} {runs} that these results do not use "
        "(of another seed, replication, sweep point, input or lever)"
    )


def test_runs_of_other_inputs_do_not_stay_in_runs(folder, made):
    assert run(folder, "--seed", "3").exit_code == 0
    assert_rerun_to_the_clean_summary(folder, made, removed(folder, 6))
    assert sorted(p.stem for p in (folder / "runs").iterdir()) == sorted(keys(made).values())


# ----------------------------------------------------------------- summary.json and `report`
def replace_text(path: Path, text: str | bytes) -> None:
    path.write_bytes(text if isinstance(text, bytes) else text.encode())


SUMMARIES: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    "a list": (lambda s: [s], "expected a mapping"),
    "policies as a list": (
        lambda s: {**s, "policies": list(s["policies"])},
        "policies: expected a mapping of policies",
    ),
    "a mean edited": (
        lambda s: s["policies"]["amazon"]["metrics"]["orders"].update(mean=1.0) or s,
        "policies.amazon.metrics.orders.mean: does not match the stored runs",
    ),
    "a policy's metrics as a number": (
        lambda s: s["policies"]["jd"].update(metrics=5) or s,
        "policies.jd.metrics: does not match the stored runs",
    ),
    "a comparison edited": (
        lambda s: s["comparisons"]["jd-vs-amazon"]["orders"].update(significant=True) or s,
        "comparisons.jd-vs-amazon.orders.significant: does not match the stored runs",
    ),
    "a comparison of no policies": (
        lambda s: s["comparisons"].update({"x-vs-y": {}}) or s,
        "comparisons.x-vs-y: not a comparison of two of the policies",
    ),
    "replications as text": (
        lambda s: {**s, "replications": "2"},
        "replications: expected a whole number",
    ),
    "fewer replications than the runs": (
        lambda s: {**s, "replications": 1},
        "replications: fewer than the stored runs have",
    ),
    "a sweep without points": (
        lambda s: {**s, "sweep": {"keys": ["x"]}},
        "points: expected one entry per sweep point",
    ),
    "a policy's name as a number": (
        lambda s: s["policies"]["jd"].update(name=5) or s,
        "policies.jd: expected its name and platform",
    ),
    "a policy's platform as a list": (
        lambda s: s["policies"]["jd"].update(platform=["jd"]) or s,
        "policies.jd: expected its name and platform",
    ),
    "a long key with a line break, shown as its repr cut to 60 characters": (
        lambda s: s["policies"].update({"a\n" * 40: 5}) or s,
        "policies." + repr("a\n" * 40)[:60] + ": expected a mapping",
    ),
}


@pytest.mark.parametrize("name", SUMMARIES)
def test_report_of_a_wrong_shaped_or_edited_summary_is_one_line(folder, name):
    change, reason = SUMMARIES[name]
    path = folder / "summary.json"
    summary = change(json.loads(path.read_text()))
    path.write_text(json.dumps(summary))
    assert_refused(cancelsim("report", folder), f"{path}: {reason}; run the experiment again")


@pytest.mark.parametrize("name", list(HOSTILE_JSON))
def test_report_of_a_summary_that_is_not_sound_json_is_one_line(folder, name):
    text, reason = HOSTILE_JSON[name]
    path = folder / "summary.json"
    replace_text(path, text)
    assert_refused(cancelsim("report", folder), f"{path}: {reason}; run the experiment again")


def test_report_with_a_huge_number_inside_the_summary_is_one_line(folder):
    path = folder / "summary.json"
    text = path.read_text()
    mean = json.loads(text)["policies"]["amazon"]["metrics"]["orders"]["mean"]
    path.write_text(text.replace(f'"mean": {mean!r}', '"mean": 1e999', 1))
    assert_refused(
        cancelsim("report", folder),
        f"{path}: the number 1e999 is too large; run the experiment again",
    )


@pytest.mark.parametrize("name", ["manifest.json", "report_inputs.json", "meta.json"])
def test_report_of_another_damaged_file_is_one_line(folder, name):
    replace_text(folder / name, "[" * 50_000)
    assert_refused(
        cancelsim("report", folder),
        f"{folder / name}: nested more than 40 levels deep; run the experiment again",
    )


def test_report_of_a_damaged_stored_run_is_one_line(folder):
    path = run_file(folder, "jd-r1")
    edit(path, lambda r: r["result"]["metrics"].update(open_share=-0.5))
    assert_refused(
        cancelsim("report", folder),
        f"{path}: metric open_share = -0.5 is out of its bounds; run the experiment again",
    )


def test_report_of_a_run_the_summary_was_not_made_of_is_one_line(folder):
    """Each file valid on its own, but the manifest lists a run the summary did not use."""
    manifest = json.loads((folder / "manifest.json").read_text())
    first, second = manifest["runs"][0], manifest["runs"][3]  # amazon r0 and r1
    first["key"], second["key"] = second["key"], first["key"]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert_refused(
        cancelsim("report", folder),
        f"{folder / 'runs' / (first['key'] + '.json')}: not the run that manifest.json lists "
        "under its key; run the experiment again",
    )


def test_the_report_api_raises_one_problem(folder):
    from sim.errors import InputError
    from sim.report import rebuild

    (folder / "summary.json").write_text("[" * 100_000)
    with pytest.raises(InputError) as caught:
        rebuild(folder)
    assert [str(p) for p in caught.value.problems] == [
        f"{folder / 'summary.json'}: nested more than 40 levels deep; run the experiment again"
    ]


def test_report_of_a_summary_edited_where_its_runs_cannot_tell_is_one_line(folder):
    """The seed is not in the runs: the digest manifest.json keeps of summary.json tells."""
    path = folder / "summary.json"
    path.write_text(path.read_text().replace('"seed": 7,', '"seed": 8,', 1))
    assert_refused(
        cancelsim("report", folder),
        f"{path}: changed after the run wrote it (manifest.json has its SHA-256); run the "
        "experiment again",
    )


def test_report_does_not_read_a_summary_through_a_link(folder, made, tmp_path):
    """summary.json linked to another folder's would draw that folder's results."""
    other = tmp_path / "other"
    assert run(other, "--seed", "5", "--no-report").exit_code == 0
    (folder / "summary.json").unlink()
    (folder / "summary.json").symlink_to(other / "summary.json")
    assert_refused(
        cancelsim("report", folder),
        f"{folder / 'summary.json'}: is a symbolic link; a results folder's files are its "
        "own; run the experiment again",
    )


def test_report_removes_figures_of_an_earlier_report(folder):
    (folder / "plots" / "sweep.png").write_bytes(b"an earlier report's figure")
    (folder / "plots" / ".seller_rates.png.tmp").write_bytes(b"half a figure")
    (folder / "plots" / "notes.txt").write_text("the user's own")
    before = sorted(p.name for p in (folder / "plots").iterdir())
    result = cancelsim("report", folder)
    assert result.exit_code == 0, result.output
    after = sorted(p.name for p in (folder / "plots").iterdir())
    assert after == sorted(set(before) - {"sweep.png", ".seller_rates.png.tmp"})


# ----------------------------------------------------------------- leftovers that lie
def test_a_trace_rerun_with_another_seed_keeps_no_old_trace(tmp_path):
    out, fresh = tmp_path / "o", tmp_path / "fresh"
    assert run(out, "--trace", "--seed", "1", "--no-report").exit_code == 0
    assert run(out, "--seed", "2", "--no-report").exit_code == 0
    assert not (out / "trace").exists()  # no trace asked: none kept
    assert run(out, "--trace", "--seed", "2", "--no-report").exit_code == 0
    assert run(fresh, "--trace", "--seed", "2", "--no-report").exit_code == 0
    names = sorted(p.name for p in (fresh / "trace").iterdir())
    assert sorted(p.name for p in (out / "trace").iterdir()) == names
    for name in names:
        assert (out / "trace" / name).read_bytes() == (fresh / "trace" / name).read_bytes()


def test_a_trace_of_fewer_replications_keeps_only_its_runs(tmp_path):
    out = tmp_path / "o"
    assert run(out, "--trace", "--no-report").exit_code == 0
    assert run(out, "--trace", "--no-report", "--reps", "1").exit_code == 0
    assert sorted(p.name for p in (out / "trace").iterdir()) == [
        "amazon-r0.csv",
        "jd-r0.csv",
        "taobao-r0.csv",
    ]


def test_a_changed_trace_file_is_written_again(tmp_path):
    out = tmp_path / "t"
    assert run(out, "--trace", "--no-report").exit_code == 0
    trace = out / "trace" / "jd-r1.csv"
    right = trace.read_bytes()
    trace.write_bytes(right.replace(b"shipped", b"shippeD", 1))
    assert run(out, "--trace", "--no-report").exit_code == 0
    assert trace.read_bytes() == right


def test_no_report_into_an_old_results_folder_keeps_no_old_report(folder, made):
    assert (folder / "report.html").exists() and (folder / "plots").exists()
    assert run(folder, "--no-report").exit_code == 0
    assert not (folder / "report.html").exists() and not (folder / "plots").exists()
    assert (folder / "summary.json").read_bytes() == (made / "summary.json").read_bytes()


def test_an_interrupted_rerun_keeps_no_summary_of_other_runs(folder, monkeypatch):
    """Stopped before the new summary is written, the folder holds no summary at all
    (the old one would describe other runs than those now stored)."""
    import sim.experiment.runner as runner

    def interrupted(spec):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "simulate", interrupted)
    result = run(folder, "--seed", "9")
    assert result.exit_code == 130
    for name in ("summary.json", "runs.csv", "meta.json", "manifest.json", "report.html"):
        assert not (folder / name).exists(), name
    assert not (folder / "plots").exists()


def test_files_of_a_sensitivity_analysis_do_not_stay_beside_a_run(folder, made):
    for name in ("sensitivity.json", "effects.csv", "points.csv"):
        (folder / name).write_text("from an earlier sensitivity analysis")
    assert_rerun_to_the_clean_summary(folder, made, None)
    assert not any((folder / n).exists() for n in ("sensitivity.json", "effects.csv"))


def test_leftover_temporary_files_are_removed(folder, made):
    leftovers = [
        folder / ".summary.json.abc123.tmp",
        folder / "runs" / f".{'0' * 32}.json.x1.tmp",
        folder / "trace" / ".amazon-r0.csv.partial",
    ]
    for path in leftovers:
        path.parent.mkdir(exist_ok=True)
        path.write_text("half a file")
    (folder / "notes.txt").write_text("the user's own")
    assert_rerun_to_the_clean_summary(folder, made, None)
    assert not any(p.exists() for p in leftovers)
    assert (folder / "notes.txt").read_text() == "the user's own"


def test_lever_runs_of_an_earlier_seller_view_do_not_stay(folder, made):
    lever = folder / "levers" / "answer_faster"
    (lever / "runs").mkdir(parents=True)
    (lever / ".cancelsim").write_text("cancelsim results folder\n")
    (lever / "runs" / f"{'1' * 32}.json").write_text("{}")
    assert_rerun_to_the_clean_summary(folder, made, removed(folder, 1))
    assert not (folder / "levers").exists()


@pytest.mark.skipif(not hasattr(resource, "RLIMIT_FSIZE"), reason="no file size limit here")
@pytest.mark.parametrize("command", ["run", "report"])
def test_a_full_disk_leaves_no_temporary_file(folder, command):
    """Files above 45 kB cannot be written (RLIMIT_FSIZE, as on a full disk): the first
    figure fails. One line, and no half-written file anywhere."""
    limit = 45_000

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    args = ["run", QUICK, *SMALL, "--out", str(folder)] if command == "run" else ["report"]
    if command == "report":
        args.append(str(folder))
    process = subprocess.run(
        [sys.executable, "-m", "sim", *args],
        capture_output=True,
        text=True,
        preexec_fn=small_files,
        timeout=300,
    )
    assert "Traceback" not in process.stderr
    lines = [line for line in process.stderr.splitlines() if line.strip()]
    assert process.returncode == (1 if command == "run" else 2), process.stderr
    assert len(lines) == 1 and "File too large" in lines[0], lines
    assert not [p for p in folder.rglob("*") if p.name.endswith((".tmp", ".partial"))]


# ----------------------------------------------------------------- nothing through a link
@pytest.mark.parametrize("name", ["runs", "plots", "trace", "levers"])
def test_a_linked_folder_inside_a_results_folder_is_refused(folder, tmp_path, name):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "precious.txt").write_text("precious")
    if (folder / name).exists():
        shutil.rmtree(folder / name)
    (folder / name).symlink_to(elsewhere, target_is_directory=True)
    result = run(folder, "--trace")
    assert_refused(
        result,
        f"{folder / name}: is a symbolic link; cancelsim writes a results folder's runs/, "
        "plots/, trace/ and levers/ only as folders of its own, never through a link: "
        "remove the link, or choose another --out",
    )
    assert [p.name for p in elsewhere.iterdir()] == ["precious.txt"]


def test_report_refuses_a_linked_plots_folder(folder, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.rmtree(folder / "plots")
    (folder / "plots").symlink_to(elsewhere, target_is_directory=True)
    result = cancelsim("report", folder)
    assert result.exit_code == 2 and len(errors(result)) == 1
    assert errors(result)[0].startswith(f"{folder / 'plots'}: is a symbolic link;")
    assert not list(elsewhere.iterdir())


def test_a_linked_marker_is_not_written_through(folder, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("precious")
    (folder / ".cancelsim").unlink()
    (folder / ".cancelsim").symlink_to(outside)
    assert_refused(
        run(folder),
        f"{folder}: exists and is not a cancelsim results folder; choose another --out, or "
        "an empty or new folder",
    )
    assert outside.read_text() == "precious"


def test_a_linked_partial_trace_is_not_written_through(tmp_path):
    out, outside = tmp_path / "o", tmp_path / "outside.csv"
    assert run(out, "--no-report").exit_code == 0
    outside.write_text("precious")
    (out / "trace").mkdir()
    (out / "trace" / ".amazon-r0.csv.partial").symlink_to(outside)
    assert run(out, "--trace", "--no-report").exit_code == 0
    assert outside.read_text() == "precious"
    assert (out / "trace" / "amazon-r0.csv").read_text().startswith("order,seller,")


@pytest.mark.parametrize("name", ["summary.json", "report.html", "runs.csv"])
def test_a_linked_output_file_is_replaced_not_written_through(folder, tmp_path, made, name):
    outside = tmp_path / "outside"
    outside.write_text("precious")
    (folder / name).unlink()
    (folder / name).symlink_to(outside)
    assert run(folder).exit_code == 0
    assert outside.read_text() == "precious"
    assert not (folder / name).is_symlink()
    assert (folder / "summary.json").read_bytes() == (made / "summary.json").read_bytes()


def test_a_linked_report_is_removed_by_a_run_without_report(folder, tmp_path):
    outside = tmp_path / "outside.html"
    outside.write_text("precious")
    (folder / "report.html").unlink()
    (folder / "report.html").symlink_to(outside)
    assert run(folder, "--no-report").exit_code == 0
    assert not os.path.lexists(folder / "report.html")
    assert outside.read_text() == "precious"


# ----------------------------------------------------------------- every file belongs
def test_after_a_run_every_file_belongs_to_the_summary(folder, made, tmp_path):
    """Leftovers of every kind planted at once; afterwards the folder holds exactly the
    files of a fresh run with the same command."""
    (folder / "runs" / f"{'2' * 32}.json").write_text("{}")
    (folder / "runs" / f"{'3' * 32}.failed.json").write_text("{}")
    (folder / "plots" / "sweep.svg").write_text("<svg/>")
    (folder / "trace").mkdir()
    (folder / "trace" / "amazon-r7.csv").write_text("order\n")
    (folder / "effects.csv").write_text("x\n")
    assert run(folder).exit_code == 0

    def files(root: Path) -> list[str]:
        return sorted(str(p.relative_to(root)) for p in root.rglob("*"))

    assert files(folder) == files(made)


# ----------------------------------------------------------------- fuzzing
# Stored runs and results folders mutated as JSON (wrong types, keys deleted or added,
# NaN, infinities, huge and negative numbers, deep nesting, swapped values) and as bytes
# (truncated, garbage, emptied), plus links and leftovers. In-process, every example
# reruns the whole pipeline of `cancelsim run` (open the folder, reuse or rerun each run,
# summarize, write, tidy) with the simulation replaced by the clean runs, and reads the
# folder as `cancelsim report` does; a few examples run the real commands.
FUZZ_EXAMPLES = int(os.environ.get("CANCELSIM_FUZZ_EXAMPLES", "60"))
FUZZ_CLI_EXAMPLES = int(os.environ.get("CANCELSIM_FUZZ_CLI_EXAMPLES", "4"))

TOKENS = {  # JSON that json.dumps cannot write, put in by text
    "@@NAN@@": "NaN",
    "@@INF@@": "Infinity",
    "@@-INF@@": "-Infinity",
    "@@1E999@@": "1e999",
    "@@-1E999@@": "-1e999",
    "@@HUGE@@": "1" + "0" * 100_000,
    "@@DEEP41@@": "[" * 41 + "]" * 41,
    "@@DEEP@@": "[" * 100_000 + "]" * 100_000,
}
VALUES = [
    None,
    True,
    False,
    0,
    -1,
    -0.5,
    -1e-9,
    1.5,
    0.999999,
    2**40,
    2**63,
    10**30,
    1e308,
    "",
    "x",
    "amazon",
    [],
    {},
    [1, 2],
    {"a": 1},
    [[[[[[[[1]]]]]]]],
    *TOKENS,
]
RUN_KEYS = [f"{p}-r{r}" for r in range(2) for p in ("amazon", "taobao", "jd")]


def _places(value: Any) -> list[tuple[Any, Any]]:
    """(container, key) of every value inside `value`."""
    out, stack = [], [value]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, child in items:
            out.append((node, key))
            if isinstance(child, (dict, list)):
                stack.append(child)
    return out


def _mutate_json(value: Any, data: Any) -> Any:
    from hypothesis import strategies as st

    for _ in range(data.draw(st.integers(1, 3), label="edits")):
        places = _places(value) if isinstance(value, (dict, list)) else []
        action = data.draw(st.sampled_from(["set", "delete", "add", "swap", "nudge", "root"]))
        if action == "root" or not places:
            value = copy_value(data.draw(st.sampled_from(VALUES), label="root"))
            continue
        parent, key = places[data.draw(st.integers(0, len(places) - 1), label="place")]
        if action == "set":
            parent[key] = copy_value(data.draw(st.sampled_from(VALUES), label="value"))
        elif action == "delete":
            del parent[key]
        elif action == "add":
            child = parent[key]
            new = copy_value(data.draw(st.sampled_from(VALUES), label="value"))
            if isinstance(child, dict):
                child[data.draw(st.sampled_from(["x", "key", "points", "trace"]))] = new
            elif isinstance(child, list):
                child.insert(data.draw(st.integers(0, len(child))), new)
            else:
                parent[key] = [child, new]
        elif action == "swap":
            other, okey = places[data.draw(st.integers(0, len(places) - 1), label="other")]
            with contextlib.suppress(KeyError, IndexError):  # copies: no value in itself
                parent[key], other[okey] = copy_value(other[okey]), copy_value(parent[key])
        else:
            old = parent[key]
            if type(old) in (int, float):
                how = data.draw(st.sampled_from(["+1", "-", "*1.0000001", "*10", "0"]))
                parent[key] = {
                    "+1": old + 1,
                    "-": -old,
                    "*1.0000001": old * 1.0000001,
                    "*10": old * 10,
                    "0": 0,
                }[how]
            else:
                parent[key] = copy_value(data.draw(st.sampled_from(VALUES), label="value"))
    return value


def copy_value(value: Any) -> Any:
    return json.loads(json.dumps(value))


def _text(value: Any) -> bytes:
    text = json.dumps(value, indent=2)
    for token, raw in TOKENS.items():
        text = text.replace(f'"{token}"', raw)
    return text.encode()


def _json(path: Path) -> Any:
    """The file's JSON, or None when an earlier mutation left none."""
    try:
        return json.loads(path.read_bytes())
    except (ValueError, RecursionError):
        return None


def _mutate_bytes(raw: bytes, data: Any) -> bytes:
    from hypothesis import strategies as st

    action = data.draw(st.sampled_from(["truncate", "garbage", "empty", "whole"]))
    if action == "truncate":
        return raw[: data.draw(st.integers(0, max(len(raw) - 1, 0)), label="cut")]
    if action == "garbage":
        at = data.draw(st.integers(0, len(raw)), label="at")
        return raw[:at] + data.draw(st.binary(min_size=1, max_size=8)) + raw[at:]
    if action == "empty":
        return b""
    return TOKENS[data.draw(st.sampled_from(list(TOKENS)))].encode()


class Mutated:
    """What the mutations of an example did: whether a stored run was edited with its
    checksum made to match (then only the checks of every run can tell), whether the
    folder must be refused (marker gone, a link for one of its folders), and files
    outside the folder that must stay as they were."""

    def __init__(self) -> None:
        self.forged = False
        self.refused = False
        self.outside: dict[Path, bytes] = {}
        self.listed: dict[Path, list[str]] = {}  # outside folders and what they hold
        self.done: list[str] = []

    def check_outside(self) -> None:
        for path, content in self.outside.items():
            assert path.read_bytes() == content, path
        for folder, names in self.listed.items():
            assert files_of(folder) == names, folder


def mutate_folder(out: Path, spare: Path, data: Any) -> Mutated:
    """1 to 3 mutations of a results folder; `spare`: a folder outside it for links."""
    from hypothesis import strategies as st

    done = Mutated()
    spare.mkdir(exist_ok=True)
    outside = spare / "outside.json"
    outside.write_bytes(b'{"precious": true}\n')
    watched = [outside]  # what lies outside the folder: as it is once the mutations end
    names = keys(out)
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        target = data.draw(
            st.sampled_from(
                ["run"] * 6
                + ["failed", "summary.json", "manifest.json", "report_inputs.json", "meta.json"]
                + ["marker", "link", "leftover"]
            ),
            label="target",
        )
        done.done.append(target)
        if target == "run":
            path = out / "runs" / f"{names[data.draw(st.sampled_from(RUN_KEYS))]}.json"
            if not path.is_file() or path.is_symlink():
                continue
            if data.draw(st.booleans(), label="as JSON") and _json(path) is not None:
                record = _mutate_json(_json(path), data)
                if data.draw(st.booleans(), label="forge") and isinstance(record, dict):
                    from sim.experiment.store import checksum

                    done.forged = True
                    record["checksum"] = checksum(record)
                path.write_bytes(_text(record))
            else:
                path.write_bytes(_mutate_bytes(path.read_bytes(), data))
        elif target == "failed":
            key = data.draw(st.sampled_from([*names.values(), "0" * 32]))
            content = data.draw(st.sampled_from([b"{}", b"garbage \xff", b'{"error": "old"}']))
            (out / "runs" / f"{key}.failed.json").write_bytes(content)
        elif target in ("summary.json", "manifest.json", "report_inputs.json", "meta.json"):
            path = out / target
            if not path.is_file() or path.is_symlink():
                continue
            if data.draw(st.booleans(), label="as JSON") and _json(path) is not None:
                path.write_bytes(_text(_mutate_json(_json(path), data)))
            else:
                path.write_bytes(_mutate_bytes(path.read_bytes(), data))
        elif target == "marker":
            marker = out / ".cancelsim"
            how = data.draw(st.sampled_from(["garbage", "delete", "link", "folder"]))
            if not marker.is_file() or marker.is_symlink():
                continue
            marker.unlink()
            if how == "garbage":
                marker.write_bytes(b"\x00not the marker\n" * 3)
            elif how == "link":
                marker.symlink_to(outside)
                done.refused = True
            elif how == "folder":
                marker.mkdir()
                done.refused = True
            else:
                done.refused = True
        elif target == "link":
            how = data.draw(st.sampled_from(["run", "summary", "folder", "partial"]))
            if how == "run":
                a, b = data.draw(st.sampled_from(RUN_KEYS)), data.draw(st.sampled_from(RUN_KEYS))
                path = out / "runs" / f"{names[a]}.json"
                if path.is_file() and not path.is_symlink():
                    path.unlink()
                    path.symlink_to(out / "runs" / f"{names[b]}.json")
            elif how == "summary":
                (out / "summary.json").unlink(missing_ok=True)
                (out / "summary.json").symlink_to(outside)
            elif how == "folder":
                name = data.draw(st.sampled_from(["runs", "plots", "trace", "levers"]))
                place, moved = out / name, spare / f"linked-{name}"
                if place.is_symlink() or os.path.lexists(moved):
                    continue
                if place.is_dir():
                    shutil.move(place, moved)
                else:
                    moved.mkdir()
                place.symlink_to(moved, target_is_directory=True)
                done.refused = True
                watched.append(moved)
            else:
                (out / "trace").mkdir(exist_ok=True)
                partial = out / "trace" / ".amazon-r0.csv.partial"
                if not os.path.lexists(partial):
                    partial.symlink_to(outside)
        else:
            name = data.draw(
                st.sampled_from(["tmp", "trace", "other run", "levers", "sensitivity", "plot"])
            )
            if name == "tmp":
                (out / ".summary.json.x1y2.tmp").write_text("half")
            elif name == "trace":
                (out / "trace").mkdir(exist_ok=True)
                (out / "trace" / "amazon-r9.csv").write_text("order\n")
            elif name == "other run":
                source = out / "runs" / f"{names['jd-r0']}.json"
                if source.is_file():
                    shutil.copy(source, out / "runs" / f"{'a' * 32}.json")
            elif name == "levers":
                lever = out / "levers" / "pack_faster"
                (lever / "runs").mkdir(parents=True, exist_ok=True)
                (lever / ".cancelsim").write_text("cancelsim results folder\n")
            elif name == "sensitivity":
                (out / "sensitivity.json").write_text("{}")
            else:
                (out / "plots").mkdir(exist_ok=True)
                (out / "plots" / "sweep.png").write_bytes(b"old")
    for path in watched:  # (later mutations may have written through a link of the test's)
        if path.is_dir():
            done.listed[path] = files_of(path)
            files = [p for p in path.rglob("*") if p.is_file() and not p.is_symlink()]
            done.outside.update({p: p.read_bytes() for p in files})
        else:
            done.outside[path] = path.read_bytes()
    return done


def files_of(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.fixture(scope="module")
def fuzz_base(made: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The clean folder without its report, its runs, and the study to rerun it."""
    from sim.experiment.plan import load_points
    from sim.experiment.store import stored_run
    from sim.model.load import Override

    base = tmp_path_factory.mktemp("fuzz") / "base"
    shutil.copytree(made, base, ignore=shutil.ignore_patterns("report.html", "plots"))
    runs = {
        key: stored_run(json.loads((base / "runs" / f"{key}.json").read_text()), key)
        for key in keys(base).values()
    }
    overrides = [Override.parse(s) for s in ("horizon=2d", "warmup=1d")]
    points, studies = load_points(QUICK, overrides, [])
    return {
        "base": base,
        "runs": runs,
        "points": points,
        "studies": studies,
        "summary": (made / "summary.json").read_bytes(),
        "table": (made / "runs.csv").read_bytes(),
        "files": files_of(base),
        "scratch": tmp_path_factory.mktemp("scratch"),
    }


def rerun_in_process(out: Path, base: dict[str, Any]) -> list[tuple[Any, Any, bool]]:
    """`cancelsim run`'s pipeline into `out` with the runs' results taken from the clean
    folder instead of simulated; returns (spec, outcome, reused) of every run."""
    from unittest import mock

    from sim.api import run_points
    from sim.experiment.store import run_key

    def simulate(spec: Any) -> Any:
        result = copy.deepcopy(base["runs"][run_key(spec)])
        result.point = spec.point
        return result

    seen: list[tuple[Any, Any, bool]] = []
    with mock.patch("sim.experiment.runner.simulate", simulate):
        results = run_points(
            base["points"],
            base["studies"],
            replications=2,
            jobs=1,
            out=out,
            progress=lambda spec, outcome, cached: seen.append((spec, outcome, cached)),
        )
    results.write(out)
    return seen


def check_mutated_folder(
    out: Path, base: dict[str, Any], done: Mutated, say: list[str], seen_as: Counter[str]
) -> None:
    """`cancelsim report`'s reading and a rerun of the mutated folder `out`; `seen_as`
    counts what the examples exercised."""
    from sim.errors import InputError
    from sim.experiment.store import run_key
    from sim.report.build import read_results

    clean_summary = json.loads(base["summary"])
    try:
        summary, _, _, _ = read_results(out)
    except InputError as exc:
        (problem,) = exc.problems
        assert "\n" not in str(problem) and str(problem).startswith(str(out)), str(problem)
        seen_as["report: refused in one line"] += 1
    else:  # what the report would draw is the clean summary
        assert summary == clean_summary, done.done
        seen_as["report: drawn, the clean summary"] += 1
    try:
        seen = rerun_in_process(out, base)
    except InputError as exc:
        assert done.refused, (done.done, str(exc))
        (problem,) = exc.problems
        assert "\n" not in str(problem)
        done.check_outside()
        seen_as["rerun: refused in one line"] += 1
        return
    assert not done.refused, done.done
    assert all("\n" not in line for line in say), say
    assert sum(" were not valid " in s or " was not valid " in s for s in say) <= 1, say
    assert sum(": removed " in line for line in say) <= 1 and len(say) <= 2, say
    seen_as["rerun: ended with the clean files"] += 1
    seen_as["rerun: a forged stored run"] += done.forged
    seen_as["runs reused"] += sum(reused for _, _, reused in seen)
    seen_as["runs run again"] += sum(not reused for _, _, reused in seen)
    for spec, outcome, reused in seen:
        if not reused:
            continue
        outcome.check()  # a reused run is valid
        if not done.forged:  # and, unless its checksum was forged, the clean run itself
            clean = base["runs"][run_key(spec)].to_dict()
            assert outcome.to_dict() == {**clean, "point": spec.point}, done.done
    if not done.forged:
        assert (out / "summary.json").read_bytes() == base["summary"], done.done
        assert (out / "runs.csv").read_bytes() == base["table"]
    else:
        json.loads((out / "summary.json").read_text())
    assert files_of(out) == base["files"], done.done
    done.check_outside()


def test_the_in_process_rerun_is_the_command_s(fuzz_base, tmp_path):
    """The fuzz test's pipeline gives what `cancelsim run` gave, byte for byte."""
    out = tmp_path / "o"
    shutil.copytree(fuzz_base["base"], out)
    seen = rerun_in_process(out, fuzz_base)
    assert [reused for _, _, reused in seen] == [True] * 6
    assert (out / "summary.json").read_bytes() == fuzz_base["summary"]
    assert files_of(out) == fuzz_base["files"]
    shutil.rmtree(out / "runs")
    seen = rerun_in_process(out, fuzz_base)
    assert [reused for _, _, reused in seen] == [False] * 6
    assert (out / "summary.json").read_bytes() == fuzz_base["summary"]


def _fuzz_settings(examples: int) -> Any:
    from hypothesis import HealthCheck, settings

    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def test_mutated_results_folders_are_reused_only_when_valid(fuzz_base):
    from hypothesis import given
    from hypothesis import strategies as st

    import sim.experiment.store as store

    @_fuzz_settings(FUZZ_EXAMPLES)
    @given(data=st.data())
    def example(data: Any) -> None:
        scratch = fuzz_base["scratch"]
        shutil.rmtree(scratch)
        out = scratch / "o"
        shutil.copytree(fuzz_base["base"], out, symlinks=True)
        done = mutate_folder(out, scratch / "spare", data)
        said: list[str] = []
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(store, "say", said.append)
            check_mutated_folder(out, fuzz_base, done, said, seen_as)
        seen_as["examples"] += 1

    seen_as: Counter[str] = Counter()
    example()
    print(dict(seen_as))  # shown with -rP: what the examples exercised


@pytest.mark.slow
def test_mutated_results_folders_through_the_commands(made, tmp_path):
    """The real commands on a few mutated folders: `report` draws or refuses in one
    line with exit 2; `run` reruns what is not valid to the clean summary and files."""
    from hypothesis import given
    from hypothesis import strategies as st

    clean = files_of(made)

    @_fuzz_settings(FUZZ_CLI_EXAMPLES)
    @given(data=st.data())
    def example(data: Any) -> None:
        scratch = tmp_path / "scratch"
        shutil.rmtree(scratch, ignore_errors=True)
        out = scratch / "o"
        shutil.copytree(made, out, symlinks=True)
        done = mutate_folder(out, scratch / "spare", data)
        drawn = cancelsim("report", out)
        assert "Traceback" not in drawn.output + drawn.stderr
        assert drawn.exit_code in (0, 2), drawn.output
        if drawn.exit_code == 2:
            assert len(errors(drawn)) == 1, drawn.stderr
        result = run(out)
        assert "Traceback" not in result.output + result.stderr
        done.check_outside()
        if done.refused:
            assert result.exit_code == 2 and len(errors(result)) == 1, result.stderr
            return
        assert result.exit_code == 0, result.output
        assert len(errors(result)) <= 1, result.stderr
        if not done.forged:
            assert (out / "summary.json").read_bytes() == (made / "summary.json").read_bytes()
        assert files_of(out) == clean

    example()


# ----------------------------------------------------------------- the catalogue
BAD = ROOT / "tests" / "fixtures" / "bad_results"
CATALOGUE: dict[str, dict[str, Any]] = __import__("yaml").safe_load(
    (BAD / "expected.yaml").read_text(encoding="utf-8")
)


def _steps(path: str) -> list[str | int]:
    """'result.seller_rates[0]' as ['result', 'seller_rates', 0]."""
    steps: list[str | int] = []
    for part in re.findall(r"[^.\[\]]+(?:\[\d+\])*", path):
        name, *indexes = re.split(r"\[", part)
        steps.append(name)
        steps += [int(i.rstrip("]")) for i in indexes]
    return steps


def _where(record: Any, path: str) -> tuple[Any, str | int]:
    *inner, last = _steps(path)
    for step in inner:
        record = record[step]
    return record, last


def break_folder(out: Path, case: dict[str, Any], outside: Path) -> Callable[[str], str]:
    """Break `out` as `case` says; returns the placeholders' filler."""
    names = keys(out)

    def fill(text: str) -> str:
        text = text.replace("{out}", str(out))
        for name, key in names.items():
            text = text.replace(f"{{{name}}}", key)
        return text

    path = out / fill(case["file"])
    if "source" in case:
        shutil.rmtree(path, ignore_errors=True)
        shutil.copy(BAD / case["source"], path)
    elif "copy" in case:
        shutil.copy(out / fill(case["copy"]), path)
    elif case.get("remove"):
        path.unlink()
    elif case.get("link"):
        if path.is_dir() or path.is_file():
            shutil.move(path, outside)
        elif path.name.startswith(".") or "." in path.name:
            outside.write_text("precious\n")
        else:
            outside.mkdir()
        path.parent.mkdir(exist_ok=True)
        path.symlink_to(outside, target_is_directory=outside.is_dir())
    elif "set" not in case and "drop" not in case:
        path.parent.mkdir(exist_ok=True)
        path.write_text("left over\n")
    if "set" in case or "drop" in case:
        record = json.loads(path.read_text())
        for where, value in case.get("set", {}).items():
            inside, last = _where(record, where)
            inside[last] = json.loads(fill(json.dumps(value)))
        for where in case.get("drop", []):
            inside, last = _where(record, where)
            del inside[last]
        if case.get("forge"):
            from sim.experiment.store import checksum

            record["checksum"] = checksum(record)
        path.write_text(json.dumps(record, indent=2))
    return fill


def _snapshot(path: Path) -> Any:
    if path.is_dir():
        return {str(p.relative_to(path)): p.read_bytes() for p in path.rglob("*") if p.is_file()}
    return path.read_bytes() if path.exists() else None


def test_the_catalogue_covers_every_fixture_and_kind():
    used = {case["source"] for case in CATALOGUE.values() if "source" in case}
    assert used == {p.name for p in BAD.iterdir() if p.name != "expected.yaml"}
    assert {case["command"] for case in CATALOGUE.values()} == {"run", "report"}
    assert len(CATALOGUE) >= 50


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_a_broken_results_folder_of_the_catalogue(made, tmp_path, name):
    case = CATALOGUE[name]
    out, outside = tmp_path / "o", tmp_path / "outside"
    shutil.copytree(made, out, symlinks=True)
    fill = break_folder(out, case, outside)
    before = _snapshot(outside)
    result = run(out) if case["command"] == "run" else cancelsim("report", out)
    assert "Traceback" not in result.output + result.stderr
    assert result.exit_code == case["exit"], result.output
    assert errors(result) == [fill(line) for line in case["stderr"]]
    if case["command"] == "run" and case["exit"] == 0:
        assert (out / "summary.json").read_bytes() == (made / "summary.json").read_bytes()
        assert (out / "runs.csv").read_bytes() == (made / "runs.csv").read_bytes()
        assert files_of(out) == files_of(made)
    for gone in case.get("gone", []):
        assert not os.path.lexists(out / fill(gone)), gone
    if case.get("outside"):
        assert _snapshot(outside) == before


# ----------------------------------------------------------------- found by review
SMALL_SETS = ["horizon=2d", "warmup=1d"]


def test_results_written_twice_keep_their_runs_and_traces(tmp_path):
    """`Results.write` again (a notebook saving twice) removes nothing it uses."""
    import sim

    out = tmp_path / "o"
    results = sim.run(QUICK, overrides=SMALL_SETS, replications=2, out=out, trace_dir=out / "trace")
    results.write(out)
    stored = sorted(p.name for p in (out / "runs").iterdir())
    traces = sorted(p.name for p in (out / "trace").iterdir())
    assert len(stored) == 6 and len(traces) == 6
    results.write(out)
    assert sorted(p.name for p in (out / "runs").iterdir()) == stored
    assert sorted(p.name for p in (out / "trace").iterdir()) == traces


def test_a_second_experiment_from_python_keeps_only_its_own_runs(tmp_path):
    import sim

    out = tmp_path / "o"
    sim.run(QUICK, overrides=SMALL_SETS, replications=1, seed=1, out=out).write(out)
    second = sim.run(QUICK, overrides=SMALL_SETS, replications=1, seed=2, out=out)
    second.write(out)
    assert sorted(p.stem for p in (out / "runs").iterdir()) == sorted(second.run_keys.values())


def test_a_long_policy_key_is_reused_not_run_again(tmp_path):
    """A policy key has no length limit in a scenario: none when its run is read back."""
    out, key = tmp_path / "o", "a" * 201
    policies = f"policies=[{{file: builtin:amazon, key: {key}, payment_mix: {{credit_card: 1}}}}]"
    first = run(out, "--set", policies, "--no-report")
    assert first.exit_code == 0, first.output
    again = run(out, "--set", policies, "--no-report")
    assert again.exit_code == 0 and errors(again) == [], again.stderr


def test_a_file_of_the_user_s_in_levers_is_left_alone(folder, made):
    """A .DS_Store (or a note) in levers/ is not a lever: run and report go on, it stays."""
    (folder / "levers").mkdir()
    (folder / "levers" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    assert_rerun_to_the_clean_summary(folder, made, None)
    assert cancelsim("report", folder).exit_code == 0
    assert (folder / "levers" / ".DS_Store").read_bytes() == b"\0\0\0\1Bud1"


@pytest.mark.parametrize("command", ["run", "report"])
def test_an_unreadable_levers_folder_is_one_line(folder, monkeypatch, command):
    (folder / "levers").mkdir()
    iterdir = Path.iterdir

    def refused(path: Path) -> Any:
        if path.name == "levers":
            raise PermissionError(13, "Permission denied", str(path))
        return iterdir(path)

    monkeypatch.setattr(Path, "iterdir", refused)
    result = run(folder) if command == "run" else cancelsim("report", folder)
    assert_refused(result, f"{folder / 'levers'}: cannot be read: Permission denied")


def test_a_stray_policies_key_in_a_sweep_summary_is_one_line(tmp_path):
    out = tmp_path / "o"
    swept = run(out, "--sweep", "buyers.cancel_intent=0.1,0.2", "--reps", "1", "--no-report")
    assert swept.exit_code == 0, swept.output
    summary = json.loads((out / "summary.json").read_text())
    summary["policies"] = [[1]]
    (out / "summary.json").write_text(json.dumps(summary))
    result = cancelsim("report", out)
    assert_refused(result, re.compile(re.escape(str(out / "summary.json")) + ": .*"))


def test_a_folder_in_place_of_a_stored_run_is_run_again(folder, made):
    path = run_file(folder)
    path.unlink()
    path.mkdir()
    line = notice(folder, (path.stem, "is not a regular file"))
    with within(60):
        assert_rerun_to_the_clean_summary(folder, made, line)
    assert path.is_file()


def test_report_checks_a_stored_run_s_checksum(folder):
    """An edit the run's own checks cannot see (a seller's rate) is caught by its
    checksum, for `report` as for `run`."""
    path = run_file(folder)
    edit(path, lambda r: r["result"]["seller_rates"].__setitem__(0, 0.0), forge=False)
    assert_refused(
        cancelsim("report", folder),
        f"{path}: checksum: the stored run was changed after it was written; "
        "run the experiment again",
    )


def test_a_forged_run_without_its_size_bands_is_run_again_or_refused(folder, made):
    """A run that counts sellers in other size bands than its policy does (forged: a
    valid checksum) is run again by `run` and refused by `report`, not a KeyError."""
    path = run_file(folder, "amazon-r1")
    edit(path, lambda r: r["result"].update(bands={}))
    assert_refused(
        cancelsim("report", folder),
        f"{folder / 'summary.json'}: policies.amazon: its stored runs count sellers in "
        "different size bands; run the experiment again",
    )
    line = notice(folder, (path.stem, "result.bands: not the size bands this policy counts"))
    assert_rerun_to_the_clean_summary(folder, made, line)


def one_factor_analysis(out: Path) -> dict[str, Any]:
    """`sensitivity` options for a small one-factor analysis into `out`."""
    return {
        "method": "oat",
        "overrides": SMALL_SETS,
        "factors": ["buyers.cancel_intent"],
        "metrics": ["cancel_intent_share"],
        "replications": 1,
        "out": out,
    }


def test_a_sensitivity_folder_keeps_only_the_runs_of_its_analysis(tmp_path):
    from sim.analysis import sensitivity
    from sim.experiment import store

    out = tmp_path / "s"
    said: list[str] = []
    options = one_factor_analysis(out)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(store, "say", said.append)
        sensitivity(QUICK, seed=1, **options).write(out)
        first = sorted(p.name for p in (out / "runs").iterdir())
        sensitivity(QUICK, seed=2, **options).write(out)
    second = sorted(p.name for p in (out / "runs").iterdir())
    assert len(second) == len(first) and not set(first) & set(second)
    assert said == [
        f"{out}: removed {len(first)} stored runs that these results do not use "
        "(of another seed, replication, sweep point, input or lever)"
    ]


def test_python_m_sim_cli_runs_the_command(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "sim.cli", "validate", "builtin:quick"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("builtin:quick: valid scenario")


# ----------------------------------------------------------------- found by the late review
# Each set of results carries the files it uses (`Used`): results written after another
# experiment used the same folder keep their own files, and only theirs.
ONE_SELLER = [
    *SMALL_SETS,
    "sellers.count=1",
    "policies=[{file: builtin:amazon, payment_mix: {credit_card: 1}}]",
]


def files_in(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.is_dir() else {}


def test_results_written_after_another_experiment_keep_their_traces(tmp_path):
    """a played with traces, b (another seed) played into the same folder, then a
    written: a's traces stay (they used to be removed as another experiment's)."""
    import sim

    out = tmp_path / "o"
    a = sim.run(QUICK, overrides=SMALL_SETS, replications=1, out=out, trace_dir=out / "trace")
    traces = files_in(out / "trace")
    assert len(traces) == 3
    b = sim.run(QUICK, overrides=SMALL_SETS, replications=1, seed=99, out=out)
    a.write(out)
    assert files_in(out / "trace") == traces
    assert sorted(p.stem for p in (out / "runs").iterdir()) == sorted(a.run_keys.values())
    b.write(out)  # and b, written last, keeps its own runs and none of a's traces
    assert not (out / "trace").exists()
    assert sorted(p.stem for p in (out / "runs").iterdir()) == sorted(b.run_keys.values())


def test_traces_written_over_by_another_experiment_are_not_kept_as_ones_own(tmp_path):
    """b traced into the same trace/ under the same names: the files are b's now, so a,
    written after, does not keep them as its own."""
    import sim

    out = tmp_path / "o"
    a = sim.run(QUICK, overrides=SMALL_SETS, replications=1, out=out, trace_dir=out / "trace")
    mine = files_in(out / "trace")
    sim.run(QUICK, overrides=SMALL_SETS, replications=1, seed=99, out=out, trace_dir=out / "trace")
    assert set(files_in(out / "trace")) == set(mine) and files_in(out / "trace") != mine
    a.write(out)
    assert not (out / "trace").exists()


def test_traces_of_results_played_without_a_folder_stay_when_written(tmp_path):
    """No out (nothing stored), traces into an existing results folder's trace/: they are
    the results' own and stay when the results are written there."""
    import sim

    out = tmp_path / "o"
    sim.run(QUICK, overrides=SMALL_SETS, replications=1, seed=99, out=out).write(out)
    results = sim.run(QUICK, overrides=SMALL_SETS, replications=1, trace_dir=out / "trace")
    traces = files_in(out / "trace")
    assert len(traces) == 3
    results.write(out)
    assert files_in(out / "trace") == traces
    assert sorted(p.stem for p in (out / "runs").iterdir()) == sorted(results.run_keys.values())


def test_results_written_after_another_experiment_keep_their_levers_runs(tmp_path):
    """A seller's view: its levers' stored runs stay when it is written after another
    experiment used the folder (they used to be removed as a lever not played)."""
    import sim
    from sim.api import seller_view

    out = tmp_path / "o"
    a = sim.run(QUICK, overrides=ONE_SELLER, replications=1, out=out)
    assert seller_view(a, out=out) is not None
    levers = {p.name: files_in(p / "runs") for p in sorted((out / "levers").iterdir())}
    assert len(levers) == 3 and all(len(runs) == 1 for runs in levers.values())
    sim.run(QUICK, overrides=ONE_SELLER, replications=1, seed=99, out=out)
    a.write(out)
    assert {p.name: files_in(p / "runs") for p in (out / "levers").iterdir()} == levers
    # and the view is reused, not played again, from what stayed
    again = sim.run(QUICK, overrides=ONE_SELLER, replications=1, out=out)
    played: list[bool] = []
    seller_view(again, out=out, progress=lambda spec, outcome, cached: played.append(cached))
    assert played and all(played)


def test_an_uncertainty_s_runs_stay_with_the_results_that_drew_them(tmp_path):
    """--uncertainty from Python: its points' stored runs are the results' own."""
    import sim

    out = tmp_path / "o"
    a = sim.run(QUICK, overrides=SMALL_SETS, replications=1, out=out)
    sim.uncertainty(a, 2, out=out)
    stored = files_in(out / "runs")
    assert len(stored) == 3 + 2 * 3
    sim.run(QUICK, overrides=SMALL_SETS, replications=1, seed=99, out=out)
    a.write(out)
    assert files_in(out / "runs") == stored


def test_an_analysis_written_after_another_keeps_its_runs(tmp_path):
    """Two sensitivity analyses into one folder, the first written last: its runs stay,
    the second's go (they used to be the other way round)."""
    from sim.analysis import sensitivity
    from sim.experiment import store

    out = tmp_path / "s"
    options = one_factor_analysis(out)
    said: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(store, "say", said.append)
        first = sensitivity(QUICK, seed=1, **options)
        mine = files_in(out / "runs")
        sensitivity(QUICK, seed=2, **options)
        theirs = set(files_in(out / "runs")) - set(mine)
        first.write(out)
    assert files_in(out / "runs") == mine
    assert said == [
        f"{out}: removed {len(theirs)} stored runs that these results do not use "
        "(of another seed, replication, sweep point, input or lever)"
    ]


def never_run(spec: Any) -> Any:
    raise AssertionError(f"{spec.policy_key} r{spec.replication} was run")


def seller_run(out: Path, *extra: str) -> Result:
    """A seller's own view of the quick scenario: one run, and one per lever."""
    sets = (f"--set={o}" for o in ONE_SELLER)
    return cancelsim("run", QUICK, "--reps", "1", "--jobs", "1", *sets, "--out", out, *extra)


@pytest.mark.parametrize("lever", ["pack_faster", "answer_faster", "fewer_stockouts"])
def test_a_file_named_as_a_lever_in_levers_is_refused_before_anything_runs(
    folder, monkeypatch, lever
):
    """A file where a lever's folder goes: one line before any run (it used to fail only
    after every run before that lever's had been played)."""
    import sim.experiment.runner as runner

    monkeypatch.setattr(runner, "simulate", never_run)
    (folder / "levers").mkdir()
    (folder / "levers" / lever).write_text("a note")
    before = files_of(folder)
    assert_refused(
        seller_run(folder),
        f"{folder / 'levers' / lever}: is not a folder; remove it, or choose another --out",
    )
    assert files_of(folder) == before  # nothing touched: the summary and report stay


@pytest.mark.parametrize("case", ["runs is a link", "a folder of the user's"])
def test_a_lever_folder_that_cannot_be_written_is_refused_before_anything_runs(
    folder, monkeypatch, tmp_path, case
):
    import sim.experiment.runner as runner

    monkeypatch.setattr(runner, "simulate", never_run)
    lever = folder / "levers" / "pack_faster"
    lever.mkdir(parents=True)
    if case == "runs is a link":
        (lever / ".cancelsim").write_text("cancelsim results folder\n")
        (tmp_path / "elsewhere").mkdir()
        (lever / "runs").symlink_to(tmp_path / "elsewhere")
        line = (
            f"{lever / 'runs'}: is a symbolic link; cancelsim writes a results folder's "
            "runs/, plots/, trace/ and levers/ only as folders of its own, never through a "
            "link: remove the link, or choose another --out"
        )
    else:
        (lever / "mine.txt").write_text("mine")
        line = (
            f"{lever}: exists and is not a cancelsim results folder; choose another --out, "
            "or an empty or new folder"
        )
    before = files_of(folder)
    assert_refused(seller_run(folder), line)
    assert files_of(folder) == before
    if case == "runs is a link":
        assert not list((tmp_path / "elsewhere").iterdir())  # nothing written through it


def test_a_file_named_as_a_lever_is_the_user_s_where_no_lever_is_played(folder, made):
    """Only a seller's view plays levers: report, a run of many sellers and --no-levers
    leave such a file alone."""
    (folder / "levers").mkdir()
    (folder / "levers" / "pack_faster").write_text("a note")
    assert cancelsim("report", folder).exit_code == 0
    assert_rerun_to_the_clean_summary(folder, made, None)
    assert (folder / "levers" / "pack_faster").read_text() == "a note"
    result = seller_run(folder, "--no-levers", "--no-report")
    assert result.exit_code == 0, result.output
    assert (folder / "levers" / "pack_faster").read_text() == "a note"


def test_seller_view_from_python_checks_every_lever_folder_before_playing_one(tmp_path):
    import sim
    from sim.api import seller_view
    from sim.errors import InputError

    out = tmp_path / "o"
    results = sim.run(QUICK, overrides=ONE_SELLER, replications=1, out=out)
    (out / "levers").mkdir()
    (out / "levers" / "fewer_stockouts").write_text("a note")  # the last lever played
    played: list[Any] = []
    with pytest.raises(InputError, match="fewer_stockouts: is not a folder"):
        seller_view(results, out=out, progress=lambda *done: played.append(done))
    assert played == [] and sorted(p.name for p in (out / "levers").iterdir()) == [
        "fewer_stockouts"
    ]


def test_lever_folders_go_when_the_results_written_have_none_of_their_runs(tmp_path):
    """Results whose levers were played without a folder, written where an earlier
    seller's view stored its levers: no lever folder stays (not even its marker)."""
    import sim
    from sim.api import seller_view

    out = tmp_path / "o"
    a = sim.run(QUICK, overrides=ONE_SELLER, replications=1, out=out)
    seller_view(a, out=out)
    a.write(out)
    assert len(list((out / "levers").iterdir())) == 3
    b = sim.run(QUICK, overrides=ONE_SELLER, replications=1, seed=5, out=out)
    seller_view(b)  # no out: nothing of the levers stored
    b.write(out)
    assert not (out / "levers").exists()


def test_a_stale_trace_is_not_taken_for_a_run_that_wrote_none_here(tmp_path, monkeypatch):
    """A remote worker writes its trace on its own disk: a trace file left here by an
    earlier run is not recorded as the new run's, nor kept beside its summary."""
    import sim.experiment.runner as runner

    out = tmp_path / "o"
    assert run(out, "--trace", "--no-report", "--reps", "1").exit_code == 0
    assert len(list((out / "trace").iterdir())) == 3
    simulate, elsewhere = runner.simulate, tmp_path / "worker"

    def on_a_remote_worker(spec: Any) -> Any:
        from dataclasses import replace

        return simulate(replace(spec, trace_path=str(elsewhere / Path(spec.trace_path).name)))

    monkeypatch.setattr(runner, "simulate", on_a_remote_worker)
    again = run(out, "--trace", "--no-report", "--reps", "1", "--seed", "99")
    assert again.exit_code == 0, again.output
    assert len(list(elsewhere.iterdir())) == 3 and not (out / "trace").exists()
    for stored in (out / "runs").iterdir():
        assert "trace" not in json.loads(stored.read_text())


def test_a_failed_lever_run_is_named_with_its_lever(tmp_path, monkeypatch):
    """Named with its lever on the console and in the summary's failed runs; its record
    is in the lever's folder, and the command says where."""
    import sim.experiment.runner as runner

    simulate, calls = runner.simulate, []

    def levers_fail(spec: Any) -> Any:
        calls.append(spec)
        if len(calls) > 1:  # the seller's own run first, then one per lever
            raise ValueError("a lever run that fails")
        return simulate(spec)

    monkeypatch.setattr(runner, "simulate", levers_fail)
    out = tmp_path / "o"
    result = seller_run(out, "--no-report")
    assert result.exit_code == 1
    lines = [
        f"amazon replication 0 (lever {key}): ValueError: a lever run that fails"
        for key in ("answer_faster", "fewer_stockouts", "pack_faster")
    ]
    assert errors(result)[-4:] == [
        f"3 runs failed (details in {out}/runs/*.failed.json, a lever's in "
        f"{out}/levers/LEVER/runs/):",
        *(f"  {line}" for line in lines),
    ]
    assert json.loads((out / "summary.json").read_text())["failed_runs"] == lines
    assert sorted(json.loads((out / "meta.json").read_text())["failed_runs"]) == lines
    for key in ("answer_faster", "fewer_stockouts", "pack_faster"):
        (record,) = (out / "levers" / key / "runs").iterdir()
        assert record.name.endswith(".failed.json")


def test_a_failed_uncertainty_draw_is_listed_with_the_failed_runs(tmp_path, monkeypatch):
    import sim
    import sim.experiment.runner as runner

    results = sim.run(QUICK, overrides=SMALL_SETS, replications=1)

    def fails(spec: Any) -> Any:
        raise ValueError("a draw that fails")

    monkeypatch.setattr(runner, "simulate", fails)
    sim.uncertainty(results, 2)
    failed = results.summary["failed_runs"]
    assert len(failed) == 6 and failed == sorted(results.meta["failed_runs"])
    assert all(re.fullmatch(r"\w+ replication 0 \(uncertainty draw [12]\): .+", f) for f in failed)
    assert {f.policy for f in results.failures} == {"amazon", "jd", "taobao"}


def test_an_interrupted_run_keeps_the_traces_of_the_runs_not_yet_sent(tmp_path, monkeypatch):
    """A trace is removed only as its run is sent (a stale one is not that run's), so an
    interruption keeps the older traces of the runs it did not reach."""
    import sim
    import sim.experiment.runner as runner

    trace = tmp_path / "trace"
    sim.run(QUICK, overrides=SMALL_SETS, replications=1, trace_dir=trace)
    before = files_in(trace)
    assert len(before) == 3

    def interrupted(spec: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "simulate", interrupted)
    with pytest.raises(KeyboardInterrupt):
        sim.run(QUICK, overrides=SMALL_SETS, replications=1, seed=7, trace_dir=trace)
    after = files_in(trace)
    assert len(after) == 2 and all(before[name] == text for name, text in after.items())


def test_a_trace_path_that_cannot_be_is_a_failed_run_not_a_traceback(tmp_path):
    import sim

    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("mine")
    results = sim.run(QUICK, overrides=SMALL_SETS, replications=1, trace_dir=not_a_folder)
    assert len(results.failures) == 3 and not results.runs
    assert not_a_folder.read_text() == "mine"


def test_a_lever_folder_holding_a_file_of_the_user_s_keeps_its_marker(tmp_path):
    """Its runs gone (--no-levers), a lever folder that also holds the user's file stays,
    with its marker: the next seller's view plays into it."""
    out = tmp_path / "o"
    assert seller_run(out, "--no-report").exit_code == 0
    (out / "levers" / "pack_faster" / "notes.txt").write_text("mine")
    assert seller_run(out, "--no-levers", "--no-report").exit_code == 0
    assert sorted(p.name for p in (out / "levers").iterdir()) == ["pack_faster"]
    again = seller_run(out, "--no-report")
    assert again.exit_code == 0, again.output
    assert (out / "levers" / "pack_faster" / "notes.txt").read_text() == "mine"


def test_a_seller_s_view_from_python_into_a_new_folder_can_be_written_there(tmp_path):
    import sim
    from sim.api import seller_view

    out = tmp_path / "new"
    results = sim.run(QUICK, overrides=ONE_SELLER, replications=1)
    seller_view(results, out=out)
    results.write(out)
    assert (out / "summary.json").is_file() and len(list((out / "levers").iterdir())) == 3


def test_one_run_is_said_as_one_run(tmp_path):
    result = cancelsim(
        "run", QUICK, "--reps", "1", "--jobs", "1", *(f"--set={o}" for o in ONE_SELLER),
        "--no-levers", "--no-report", "--out", tmp_path / "o",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert re.search(r"; 1 run in [0-9.]+ s\.$", result.stdout.strip()), result.stdout


# ----------------------------------------------------------------- found by mutation testing
def test_a_trace_run_is_reused_with_its_trace(folder, monkeypatch, tmp_path):
    """With --trace, a stored run whose trace file is there unchanged is reused, not run
    again (nothing is simulated the second time)."""
    import sim.experiment.runner as runner

    out = tmp_path / "t"
    assert run(out, "--trace", "--no-report").exit_code == 0
    traces = {p.name: p.read_bytes() for p in (out / "trace").iterdir()}

    def not_again(spec: Any) -> Any:
        raise AssertionError(f"{spec.policy_key} r{spec.replication} was run again")

    monkeypatch.setattr(runner, "simulate", not_again)
    again = run(out, "--trace", "--no-report")
    assert again.exit_code == 0 and errors(again) == [], again.output
    assert {p.name: p.read_bytes() for p in (out / "trace").iterdir()} == traces


def test_a_failed_run_s_record_stays_beside_the_summary_that_lists_it(tmp_path, monkeypatch):
    import sim.experiment.runner as runner

    simulate = runner.simulate

    def failing(spec: Any) -> Any:
        if (spec.policy_key, spec.replication) == ("jd", 1):
            raise ValueError("a run that fails")
        return simulate(spec)

    monkeypatch.setattr(runner, "simulate", failing)
    out = tmp_path / "o"
    result = run(out, "--no-report")
    assert result.exit_code == 1, result.output
    failed = json.loads((out / "summary.json").read_text())["failed_runs"]
    assert failed == ["jd replication 1: ValueError: a run that fails"]
    (record,) = (out / "runs").glob("*.failed.json")  # the failure's record stays
    assert "ValueError: a run that fails" in record.read_text()


def test_a_lever_folder_with_no_runs_goes_without_a_word(folder, made):
    """A lever folder of an earlier seller's view that holds no runs/ (only its marker)
    is removed, and no stored run is said to be removed."""
    lever = folder / "levers" / "answer_faster"
    lever.mkdir(parents=True)
    (lever / ".cancelsim").write_text("cancelsim results folder\n")
    assert_rerun_to_the_clean_summary(folder, made, None)
    assert not (folder / "levers").exists()


def test_a_summary_is_compared_with_its_runs_by_content_not_key_order(folder):
    """A results folder from before manifest.json kept digests, whose summary.json has
    its keys in another order: the same content, so the report draws it."""
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["files"]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    summary = json.loads((folder / "summary.json").read_text())
    (folder / "summary.json").write_text(json.dumps(summary, sort_keys=True))
    assert list(json.loads((folder / "summary.json").read_text())) != list(summary)
    drawn = cancelsim("report", folder)
    assert drawn.exit_code == 0 and errors(drawn) == [], drawn.stderr


def test_from_python_the_notice_goes_to_stderr(folder, made, monkeypatch, capsys):
    """Without the command line's console, a stored run that is not valid is said on
    stderr, one line, as it happens."""
    import sim
    from sim.experiment import store

    monkeypatch.setattr(store, "say", store._to_stderr)
    path = run_file(folder)
    path.write_text("{}")
    capsys.readouterr()
    sim.run(QUICK, overrides=SMALL_SETS, replications=2, out=folder)
    captured = capsys.readouterr()
    why = "expected a mapping of key, result, trace (optional) and checksum"
    assert captured.err == notice(folder, (path.stem, why)) + "\n"
    assert captured.out == ""


def test_temporaries_left_during_the_command_go_with_the_summary(tmp_path, monkeypatch):
    """A run that dies after starting its files (a worker killed mid-write leaves them)
    leaves no temporary file in runs/ or trace/ once the summary is written."""
    import sim.experiment.runner as runner

    out = tmp_path / "o"
    simulate = runner.simulate
    left = [out / "runs" / f".{'2' * 32}.json.a1b2.tmp", out / "trace" / ".jd-r1.csv.partial"]

    def dies_midway(spec: Any) -> Any:
        if (spec.policy_key, spec.replication) == ("jd", 1):
            for path in left:
                path.parent.mkdir(exist_ok=True)
                path.write_text("half a file")
            raise ValueError("the worker died")
        return simulate(spec)

    monkeypatch.setattr(runner, "simulate", dies_midway)
    assert run(out, "--trace", "--no-report").exit_code == 1
    assert not any(path.exists() for path in left)


def test_two_removed_runs_are_said_as_two(folder, made):
    for name in ("1" * 32, "2" * 32):
        shutil.copy(run_file(folder, "jd-r0"), folder / "runs" / f"{name}.json")
    assert_rerun_to_the_clean_summary(folder, made, removed(folder, 2))


def test_an_unplayed_lever_s_leftover_temporary_goes_with_it(folder, made):
    lever = folder / "levers" / "pack_faster"
    (lever / "runs").mkdir(parents=True)
    (lever / ".cancelsim").write_text("cancelsim results folder\n")
    (lever / "runs" / f".{'3' * 32}.json.q9.tmp").write_text("half a file")
    assert_rerun_to_the_clean_summary(folder, made, None)
    assert not (folder / "levers").exists()
