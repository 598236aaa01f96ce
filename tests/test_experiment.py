"""Experiments: replications, paired comparisons, sweeps, executors, resume, failures."""

from __future__ import annotations

import contextlib
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import sim
from sim.cli import main
from sim.experiment.compare import pairs
from sim.experiment.plan import Axis
from sim.experiment.stats import mean_ci

SMALL = ["horizon=3d", "warmup=1d"]


@pytest.fixture(scope="module")
def quick(root):
    return str(root / "sim" / "builtin" / "scenarios" / "quick.yaml")


def summary_bytes(results: sim.Results, folder) -> bytes:
    results.write(folder)
    return (folder / "summary.json").read_bytes()


@pytest.mark.external
def test_results_do_not_depend_on_the_executor(quick, tmp_path):
    """Inline, a local process pool and a real Dask LocalCluster of two worker processes."""
    kwargs = {"replications": 3, "seed": 5, "overrides": SMALL}
    inline = summary_bytes(sim.run(quick, jobs=1, **kwargs), tmp_path / "inline")
    pool = summary_bytes(sim.run(quick, jobs=2, **kwargs), tmp_path / "pool")
    dask = summary_bytes(sim.run(quick, jobs=2, executor="dask", **kwargs), tmp_path / "dask")
    assert inline == pool == dask
    assert b'"comparisons"' in inline


def test_an_interrupted_experiment_resumes_to_the_same_summary(quick, tmp_path):
    kwargs = {"replications": 3, "seed": 2, "overrides": SMALL}
    whole = summary_bytes(sim.run(quick, **kwargs), tmp_path / "whole")

    finished = []

    def stop_after_four(spec, outcome, cached):
        finished.append(spec)
        if len(finished) == 4:
            raise KeyboardInterrupt

    out = tmp_path / "resumed"
    with pytest.raises(KeyboardInterrupt):
        sim.run(quick, out=out, progress=stop_after_four, **kwargs)
    assert len(list((out / "runs").glob("*.json"))) == 4

    reused = []
    results = sim.run(quick, out=out, progress=lambda s, o, cached: reused.append(cached), **kwargs)
    assert reused.count(True) == 4 and reused.count(False) == 9 - 4
    assert summary_bytes(results, out) == whole


def test_a_changed_input_is_not_reused(quick, tmp_path):
    out = tmp_path / "o"
    sim.run(quick, replications=1, out=out, overrides=SMALL)
    reused = []
    sim.run(
        quick,
        replications=1,
        out=out,
        overrides=[*SMALL, "taobao.ship_by.within=24h"],
        progress=lambda s, o, cached: reused.append((s.policy_key, cached)),
    )
    assert dict(reused) == {"amazon": True, "taobao": False, "jd": True}


@pytest.mark.slow
def test_a_failing_run_is_recorded_and_the_others_finish(root, tmp_path, short_calendar):
    """A bank-card delay longer than the run's calendar makes only those runs fail."""
    result = CliRunner().invoke(
        main,
        [
            "run",
            str(root / "sim" / "builtin" / "scenarios" / "quick.yaml"),
            "--out",
            str(tmp_path / "o"),
            "--reps",
            "2",
            "--jobs",
            "2",
            *[f"--set={s}" for s in SMALL],
            "--sweep",
            f"taobao.refunds.rails.bank_card.delay=2 business days,{short_calendar}",
        ],
    )
    assert result.exit_code == 1, result.output
    assert "2 runs failed" in result.stderr
    assert "taobao replication 0 at sweep point 1: ValueError: day" in result.stderr
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert len(summary["failed_runs"]) == 2
    first, second = summary["points"]
    orders = first["policies"]["amazon"]["metrics"]["orders"]["mean"]
    assert orders > 900  # one order stream for every policy and point (common random numbers)
    assert first["policies"]["taobao"]["metrics"]["orders"]["mean"] == orders
    assert second["policies"]["amazon"]["metrics"]["orders"]["mean"] == orders
    assert second["policies"]["taobao"]["metrics"]["orders"]["mean"] is None
    assert len(list((tmp_path / "o" / "runs").glob("*.failed.json"))) == 2


def test_paired_intervals_are_narrower_than_unpaired_ones(quick):
    results = sim.run(quick, replications=6, seed=3, overrides=SMALL)
    runs = results.runs_frame().set_index(["policy", "replication"])
    metric = "request_cancel_share"
    a, b = runs.loc["amazon", metric], runs.loc["jd", metric]
    paired = results.summary["comparisons"]["jd-vs-amazon"][metric]
    _, unpaired_a = mean_ci(list(a))
    _, unpaired_b = mean_ci(list(b))
    paired_width = paired["ci95"][1] - paired["ci95"][0]
    assert paired_width < (unpaired_a[1] - unpaired_a[0]) + (unpaired_b[1] - unpaired_b[0])
    assert paired["mean"] == pytest.approx((b - a).mean())
    assert paired["significant"]


def test_pairs_follow_the_baseline_or_the_order():
    assert pairs(["amazon", "taobao", "jd"], None) == [
        ("taobao", "amazon"),
        ("jd", "amazon"),
        ("jd", "taobao"),
    ]
    assert pairs(["amazon", "taobao", "jd"], "taobao") == [("amazon", "taobao"), ("jd", "taobao")]


def test_a_baseline_policy_names_the_comparisons(quick):
    results = sim.run(quick, replications=2, overrides=[*SMALL, "baseline=jd"])
    assert list(results.summary["comparisons"]) == ["amazon-vs-jd", "taobao-vs-jd"]
    frame = results.comparisons_frame()
    assert set(frame["comparison"]) == {"amazon-vs-jd", "taobao-vs-jd"}


def test_an_unknown_baseline_is_an_input_error(quick):
    with pytest.raises(
        sim.InputError,
        match="baseline: 'amzon' is not a policy of the scenario; did you mean 'amazon'",
    ):
        sim.run(quick, overrides=[*SMALL, "baseline=amzon"])


def test_sweep_axes_split_on_top_level_commas():
    axis = Axis.parse("taobao.refunds.processing={dist: uniform, low: 0m, high: 1h},2h")
    assert axis.labels == ("{dist: uniform, low: 0m, high: 1h}", "2h")
    assert axis.values[0] == {"dist": "uniform", "low": "0m", "high": "1h"}


def test_sweeps_are_full_factorial_and_keyed_by_point(quick, tmp_path):
    results = sim.run(
        quick,
        replications=2,
        overrides=[*SMALL, "amazon.platform_fulfilment.self_cancel_until=null"],  # FBA: none
        sweep=["amazon.self_cancel.window=0m,2h", "buyers.cancel_intent=0.05,0.1"],
    )
    points = results.summary["points"]
    assert [p["point"] for p in points] == [
        {"amazon.self_cancel.window": w, "buyers.cancel_intent": c}
        for w in ("0m", "2h")
        for c in ("0.05", "0.1")
    ]
    shares = [p["policies"]["amazon"]["metrics"]["self_cancel_share"]["mean"] for p in points]
    assert shares[0] == shares[1] == 0 and shares[3] > shares[2] > 0
    frame = results.summary_frame()
    assert frame.index.names == ["amazon.self_cancel.window", "buyers.cancel_intent", "policy"]
    rows = results.runs_frame()
    assert list(rows.columns[:3]) == ["amazon.self_cancel.window", "buyers.cancel_intent", "policy"]
    assert len(rows) == 4 * 2 * 3


@pytest.mark.slow
def test_the_window_sweep_scenario_runs_and_prints_a_table(root, tmp_path):
    result = CliRunner().invoke(
        main,
        [
            "run",
            "--jobs",
            "1",
            str(root / "sim" / "builtin" / "scenarios" / "window-sweep.yaml"),
            "--out",
            str(tmp_path / "o"),
            "--reps",
            "2",
            "--set",
            "horizon=4d",
            "--set",
            "warmup=1d",
            "--set",  # FBA buyers cancel alone before packing, whatever the window
            "amazon.platform_fulfilment.self_cancel_until=null",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "sweep of amazon.self_cancel.window" in result.output
    for value in ("0m", "15m", "30m", "1h", "2h", "4h"):  # every point, whole (not cut)
        assert re.search(rf"(^|│ |= ){value} ", result.output, re.M), value
    assert "…" not in result.output
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    shares = [
        p["policies"]["amazon"]["metrics"]["self_cancel_share"]["mean"] for p in summary["points"]
    ]
    assert shares == sorted(shares) and shares[0] == 0


def test_a_bad_sweep_value_names_the_option(quick):
    result = CliRunner().invoke(
        main, ["run", "--jobs", "1", quick, "--sweep", "amazon.self_cancel.window=1h,x"]
    )
    assert result.exit_code == 2
    assert result.stderr.startswith("--sweep: self_cancel.window: 'x' is not a duration")


@pytest.mark.slow
def test_the_cli_prints_paired_differences(quick, tmp_path):
    result = CliRunner().invoke(
        main,
        [
            "run",
            "--jobs",
            "1",
            quick,
            "--reps",
            "3",
            "--out",
            str(tmp_path / "o"),
            *[f"--set={s}" for s in SMALL],
        ],
    )
    assert result.exit_code == 0, result.output
    assert "paired differences" in result.output and "taobao-vs-amazon" in result.output


def test_ci_half_widths_shrink_with_replications(quick):
    few = sim.run(quick, replications=2, overrides=SMALL).summary
    many = sim.run(quick, replications=8, overrides=SMALL).summary

    def width(summary):
        ci = summary["policies"]["amazon"]["metrics"]["self_cancel_share"]["ci95"]
        return ci[1] - ci[0]

    assert width(many) < width(few)
    assert not math.isnan(many["policies"]["amazon"]["metrics"]["self_cancel_share"]["mean"])


def test_the_order_of_a_payment_mix_is_part_of_the_run_key(quick):
    from sim.experiment.store import run_key

    a = sim.load(quick, SMALL)
    b = sim.load(
        quick,
        [*SMALL, "policies.0.payment_mix={gift_card: 0.1, credit_card: 0.6, debit_card: 0.3}"],
    )
    spec_a = sim.RunSpec("amazon", a.policies["amazon"], a.scenario, 0, 1)
    spec_b = sim.RunSpec("amazon", b.policies["amazon"], b.scenario, 0, 1)
    assert run_key(spec_a) != run_key(spec_b)
    assert sim.simulate(spec_a).metrics != sim.simulate(spec_b).metrics


def test_a_trace_asked_for_later_is_written(quick, tmp_path):
    out = tmp_path / "o"
    sim.run(quick, replications=1, out=out, overrides=SMALL)
    sim.run(quick, replications=1, out=out, overrides=SMALL, trace_dir=tmp_path / "trace")
    assert sorted(p.name for p in (tmp_path / "trace").iterdir()) == [
        "amazon-r0.csv",
        "jd-r0.csv",
        "taobao-r0.csv",
    ]


def test_a_loaded_study_keeps_its_overrides_in_a_sweep(quick):
    study = sim.load(quick, [*SMALL, "buyers.cancel_intent=0.5"])
    results = sim.run(study, replications=1, sweep=["amazon.self_cancel.window=30m"])
    share = results.summary["points"][0]["policies"]["amazon"]["metrics"]["cancel_intent_share"]
    assert share["mean"] > 0.4


def test_an_interrupted_inline_run_keeps_the_runs_before_it(quick, tmp_path, monkeypatch):
    import sim.experiment.runner as runner

    calls = []
    real = runner.simulate

    def third_is_interrupted(spec):
        calls.append(spec)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(spec)

    monkeypatch.setattr(runner, "simulate", third_is_interrupted)
    with pytest.raises(KeyboardInterrupt):
        sim.run(quick, replications=2, out=tmp_path, overrides=SMALL, jobs=1)
    assert len(list((tmp_path / "runs").glob("*.json"))) == 2


def test_a_dead_worker_is_a_failed_run_not_a_crash(quick):
    from concurrent.futures import Executor, Future
    from concurrent.futures.process import BrokenProcessPool

    from sim.experiment.runner import execute

    class Broken(Executor):
        def submit(self, fn, /, *args, **kwargs):
            future = Future()
            future.set_exception(BrokenProcessPool("a worker died"))
            return future

    study = sim.load(quick, SMALL)
    specs = [
        sim.RunSpec("amazon", study.policies["amazon"], study.scenario, r, 1) for r in range(2)
    ]
    results, failures = execute(specs, Broken(), None)
    assert not results and len(failures) == 2
    assert "the worker failed: BrokenProcessPool: a worker died" in failures[0].error


def test_the_seed_cannot_be_swept(quick):
    with pytest.raises(sim.InputError, match="seed cannot be swept"):
        sim.run(quick, sweep=["seed=1,2"])


# ----------------------------------------------------------------- paired statistics by hand
def _result(policy: str, replication: int, **metrics: float):
    from sim.engine.result import RunResult
    from sim.metrics import NAMES

    values = dict.fromkeys(NAMES, 0.0)
    values.update(metrics)
    empty = np.zeros((1, 1), dtype=np.int64)
    return RunResult(
        policy,
        replication,
        values,
        empty,
        empty,
        empty,
        ("m",),
        np.zeros(1),
        np.zeros(1),
        np.zeros(1),
    )


def test_paired_differences_pair_replication_with_replication():
    """Outcomes that co-vary across replications: the paired differences are exactly 1,
    so the interval is a point; pairing across replications would be wide."""
    from sim.experiment.compare import paired

    base = [10.0, 20.0, 30.0, 40.0]
    runs = [_result("a", r, orders=v) for r, v in enumerate(base)]
    runs += [_result("b", r, orders=v + 1) for r, v in reversed(list(enumerate(base)))]
    out = paired(runs, "b", "a")["orders"]
    assert out["mean"] == pytest.approx(1.0)
    assert out["ci95"] == pytest.approx([1.0, 1.0])
    assert out["significant"]
    _, a = mean_ci(base)
    _, b = mean_ci([v + 1 for v in base])
    assert (out["ci95"][1] - out["ci95"][0]) < (a[1] - a[0]) + (b[1] - b[0])


def test_paired_differences_use_only_replications_that_both_policies_have():
    from sim.experiment.compare import paired

    runs = [_result("a", 0, orders=1.0), _result("a", 1, orders=2.0), _result("a", 2, orders=9.0)]
    runs += [_result("b", 0, orders=4.0), _result("b", 1, orders=6.0)]
    out = paired(runs, "b", "a")["orders"]
    assert out["mean"] == pytest.approx(3.5)  # (4-1 + 6-2) / 2; replication 2 has no pair
    assert out["ci95"] == pytest.approx([3.5 - 12.706204736 * 0.5, 3.5 + 12.706204736 * 0.5])
    assert not out["significant"]  # the interval holds 0
    assert paired(runs, "a", "b")["orders"]["mean"] == pytest.approx(-3.5)


def test_a_difference_is_significant_only_when_its_interval_excludes_zero():
    from sim.experiment.compare import paired

    up = [_result("a", r, orders=0.0) for r in range(3)]
    up += [_result("b", r, orders=v) for r, v in enumerate([1.0, 1.1, 0.9])]
    assert paired(up, "b", "a")["orders"]["significant"]
    assert paired(up, "a", "b")["orders"]["significant"]  # below zero counts too
    one = [_result("a", 0, orders=0.0), _result("b", 0, orders=5.0)]
    single = paired(one, "b", "a")["orders"]
    assert single == {"mean": 5.0, "ci95": None, "significant": False}
    nan = [_result("a", 0, orders=math.nan), _result("b", 0, orders=1.0)]
    assert paired(nan, "b", "a")["orders"] == {"mean": None, "ci95": None, "significant": False}


def test_mean_ci_is_the_t_interval():
    mean, ci = mean_ci([1.0, 2.0, 3.0, 4.0])
    half = 3.182446305284263 * math.sqrt((2.25 + 0.25 + 0.25 + 2.25) / 3 / 4)
    assert mean == 2.5 and ci == pytest.approx([2.5 - half, 2.5 + half])
    assert mean_ci([7.0]) == (7.0, None)
    assert mean_ci([math.nan, 2.0, 4.0])[0] == 3.0
    nan_mean, nan_ci = mean_ci([math.nan])
    assert math.isnan(nan_mean) and nan_ci is None
    _, wide = mean_ci([1.0, 2.0, 3.0, 4.0], level=0.99)
    assert wide[1] - wide[0] > ci[1] - ci[0]


def test_an_interval_is_cut_at_the_bounds_its_metric_cannot_leave():
    """Three replications of a rare share: the t-interval reaches below 0; it is cut there,
    its upper end and the mean untouched. An interval inside the bounds is not changed."""
    values = [0.0, 0.0, 0.03]
    mean, free = mean_ci(values)
    assert free[0] < 0
    assert mean_ci(values, bounds=(0.0, 1.0)) == (mean, [0.0, free[1]])
    assert mean_ci([0.97, 1.0, 1.0], bounds=(0.0, 1.0))[1][1] == 1.0
    assert mean_ci([1.0, 2.0, 3.0, 4.0], bounds=(0.0, 1e9)) == mean_ci([1.0, 2.0, 3.0, 4.0])


def test_reported_shares_lie_in_0_to_1_and_times_are_not_negative(quick):
    from sim.metrics import BY_NAME

    results = sim.run(quick, replications=2, jobs=1, seed=7)
    checked = 0
    for entry in results.summary["policies"].values():
        for name, value in entry["metrics"].items():
            if value["ci95"] is None:
                continue
            low, high = value["ci95"]
            assert low >= 0, name
            assert high <= 1 or BY_NAME[name].unit != "share", name
            checked += 1
    assert checked > 30


def test_a_failure_names_its_run_and_sweep_point():
    from sim.experiment.runner import RunFailure

    assert (
        RunFailure("jd", 1, 0, "ValueError: x", "").describe() == "jd replication 1: ValueError: x"
    )
    assert (
        RunFailure("jd", 1, 2, "ValueError: x", "").describe()
        == "jd replication 1 at sweep point 2: ValueError: x"
    )


def test_the_default_job_count_is_the_cpu_count(monkeypatch):
    from sim.experiment import executors

    monkeypatch.setattr(executors.os, "cpu_count", lambda: 3)
    assert executors.default_jobs() == 3
    monkeypatch.setattr(executors.os, "cpu_count", lambda: None)
    assert executors.default_jobs() == 1


def test_the_memory_estimate_reads_in_gib():
    from sim.experiment.budget import Estimate

    estimate = Estimate(open_orders=1234567, bytes_per_run=3 * 2**30)
    assert (
        estimate.describe(2)
        == "about 1,234,567 orders open at once, about 6.0 GiB for 2 run(s) at a time"
    )
    assert estimate.describe(1).endswith("about 3.0 GiB for 1 run(s) at a time")


def test_a_sweep_block_of_the_scenario_gives_labelled_points(quick, tmp_path):
    from sim.experiment.plan import load_points
    from sim.model.units import Duration

    axis = Axis.from_scenario("amazon.self_cancel.window", ["15m", 0, {"a": 1}])
    assert axis.labels == ("15m", "0", '{"a": 1}')
    assert axis.values == ("15m", 0, {"a": 1})
    path = tmp_path / "swept.yaml"
    path.write_text(
        f"extends: {quick}\n"
        "sweep:\n  amazon.self_cancel.window: [15m, 1h]\n  buyers.cancel_intent: [0.1, 0.2]\n"
    )
    points, studies = load_points(path, [], [])
    assert [p.label for p in points] == [
        {"amazon.self_cancel.window": "15m", "buyers.cancel_intent": "0.1"},
        {"amazon.self_cancel.window": "15m", "buyers.cancel_intent": "0.2"},
        {"amazon.self_cancel.window": "1h", "buyers.cancel_intent": "0.1"},
        {"amazon.self_cancel.window": "1h", "buyers.cancel_intent": "0.2"},
    ]
    assert [s.scenario.buyers.cancel_intent for s in studies] == [0.1, 0.2, 0.1, 0.2]
    windows = [
        {r.self_cancel.window for r in s.policies["amazon"].versions.values()} for s in studies
    ]
    assert windows == [{Duration(0.25)}, {Duration(0.25)}, {Duration(1.0)}, {Duration(1.0)}]
    cli_points, _ = load_points(path, [], [Axis.parse("buyers.cancel_intent=0.3")])
    assert [p.label for p in cli_points] == [{"buyers.cancel_intent": "0.3"}]


def test_a_failed_run_is_stored_and_cleared_once_it_succeeds(quick, tmp_path, short_calendar):
    from sim.experiment.executors import InlineExecutor
    from sim.experiment.runner import execute
    from sim.experiment.store import RunStore, run_key

    bad = sim.load(quick, [*SMALL, f"taobao.refunds.rails.bank_card.delay={short_calendar}"])
    good = sim.load(quick, SMALL)
    store = RunStore(tmp_path)
    spec = sim.RunSpec("taobao", bad.policies["taobao"], bad.scenario, 0, 1)
    results, failures = execute([spec], InlineExecutor(), store)
    assert not results and failures[0].error.startswith("ValueError: day ")
    stored = json.loads((tmp_path / f"{run_key(spec)}.failed.json").read_text())
    assert stored["policy"] == "taobao" and stored["error"] == failures[0].error
    assert "Traceback" in stored["traceback"]
    assert not store.has(run_key(spec))
    ok = sim.RunSpec("taobao", good.policies["taobao"], good.scenario, 0, 1)
    store.save_failure(ok, {"error": "earlier"})
    results, failures = execute([ok], InlineExecutor(), store)
    assert len(results) == 1 and not failures
    assert store.has(run_key(ok)) and not (tmp_path / f"{run_key(ok)}.failed.json").exists()
    seen: list[bool] = []
    again, _ = execute([ok], InlineExecutor(), store, done=lambda s, o, cached: seen.append(cached))
    assert seen == [True] and again[0].metrics == results[0].metrics


def test_a_pool_that_breaks_at_submission_fails_every_run_left(quick):
    from concurrent.futures import Executor
    from concurrent.futures.process import BrokenProcessPool

    from sim.experiment.runner import execute

    class BreaksOnSecond(Executor):
        def __init__(self):
            self.calls = 0

        def submit(self, fn, /, *args, **kwargs):
            self.calls += 1
            if self.calls > 1:
                raise BrokenProcessPool("the pool broke")
            from sim.experiment.executors import InlineExecutor

            return InlineExecutor().submit(fn, *args, **kwargs)

    study = sim.load(quick, SMALL)
    specs = [sim.RunSpec("jd", study.policies["jd"], study.scenario, r, 1) for r in range(3)]
    results, failures = execute(specs, BreaksOnSecond(), None)
    assert [r.replication for r in results] == [0]
    assert [f.replication for f in failures] == [1, 2]
    assert all(f.error == "the worker failed: BrokenProcessPool: the pool broke" for f in failures)


def test_a_pool_worker_dies_on_sigterm_and_a_stopped_pool_ends_its_workers():
    import signal
    import time
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from sim.experiment.executors import _stop, _worker_defaults

    previous = signal.signal(signal.SIGTERM, lambda *a: None)
    try:
        _worker_defaults()
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    finally:
        signal.signal(signal.SIGTERM, previous)
    pool = ProcessPoolExecutor(1, initializer=_worker_defaults)  # as open_executor makes it
    busy = pool.submit(time.sleep, 30)
    waiting = pool.submit(time.sleep, 30)
    while not busy.running():
        time.sleep(0.01)
    workers = list(pool._processes.values())
    started = time.monotonic()
    _stop(pool)
    for worker in workers:
        worker.join(timeout=10)
        assert _gone(worker.pid), "a worker of a stopped pool is still running"
    assert waiting.cancelled() or isinstance(waiting.exception(), BrokenProcessPool)
    assert time.monotonic() - started < 10


def _gone(pid: int) -> bool:
    """Ended (or a zombie): the pool's own thread may already have reaped it."""
    import time
    from pathlib import Path

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.01)
    return False


# ----------------------------------------------------------------- sweep axes and points
def test_a_sweep_axis_is_split_at_its_first_equals_sign():
    axis = Axis.parse("description=a=b,c")
    assert axis.key == "description"
    assert axis.values == ("a=b", "c") and axis.labels == ("a=b", "c")


@pytest.mark.parametrize(
    "text",
    [
        "amazon.self_cancel.window",
        "=15m,1h",
        "  =15m,1h",
        "amazon.self_cancel.window=15m,,1h",
        "amazon.self_cancel.window=15m, ",
        "amazon.self_cancel.window=",
    ],
)
def test_a_malformed_sweep_is_refused_with_an_example(text):
    with pytest.raises(sim.InputError) as caught:
        Axis.parse(text)
    assert str(caught.value) == (
        f"--sweep: {text!r} is not KEY=V1,V2,..., e.g. amazon.self_cancel.window=15m,1h"
    )


def test_a_sweep_value_that_is_not_yaml_names_the_option():
    with pytest.raises(sim.InputError) as caught:
        Axis.parse("buyers.cancel_intent=[0.1")
    assert str(caught.value).startswith("--sweep:2:1: YAML syntax error: ")


def test_sweep_values_are_split_only_at_top_level_commas():
    nested = Axis.parse("buyers.intent_delay={dist: empirical, values: [1h, 2h], p: 3},4h")
    assert nested.labels == ("{dist: empirical, values: [1h, 2h], p: 3}", "4h")
    assert nested.values[0] == {"dist": "empirical", "values": ["1h", "2h"], "p": 3}
    assert Axis.parse("k=[X, Y],Z").labels == ("[X, Y]", "Z")
    assert Axis.parse("k=X,Y").values == ("X", "Y")


@pytest.mark.parametrize("key", ["seed", "replications", "sweep"])
def test_the_seed_and_replications_cannot_be_swept_and_the_message_says_why(quick, key):
    from sim.experiment.plan import load_points

    with pytest.raises(sim.InputError) as caught:
        load_points(quick, [], [Axis.parse(f"{key}=1,2")])
    assert str(caught.value) == (
        f"--sweep: {key} cannot be swept: every point uses the experiment's seed and "
        "replications; use --seed/--reps"
    )


def test_every_bad_sweep_point_is_reported_with_the_value_it_set(quick):
    from sim.experiment.plan import load_points

    with pytest.raises(sim.InputError) as caught:
        load_points(quick, [], [Axis.parse("amazon.self_cancel.window=x,1h,y")])
    amazon = Path(quick).parent.parent / "policies" / "amazon.yaml"
    assert str(caught.value).splitlines() == [
        f"--sweep: self_cancel.window: {value!r} is not a duration; write a number with a "
        "unit: 30m, 2h, 1.5d, 1h30m or 3 business days (from --sweep "
        f"amazon.self_cancel.window={value}, for {amazon})"
        for value in ("x", "y")
    ]


def test_a_scenario_may_sweep_its_start_date(quick, tmp_path):
    from sim.experiment.plan import load_points

    path = tmp_path / "starts.yaml"
    path.write_text(
        f"extends: {quick}\n"
        "sweep:\n  start: [2026-03-02T00:00:00+08:00, 2026-03-09T00:00:00+08:00]\n",
        encoding="utf-8",
    )
    points, studies = load_points(path, [], [])
    (first,), (second,) = (p.label.values() for p in points)
    assert "2026-03-02" in first and "2026-03-09" in second
    assert [s.scenario.start.day for s in studies] == [2, 9]


# ----------------------------------------------------------------- the runner
def _storable(spec: sim.RunSpec, orders: int = 0):
    """A run that keeps every invariant of a run, as a stored run must to be reused:
    `orders` measured orders, all shipped, no refunds, the spec's payment methods and
    size bands (no seller in any)."""
    from sim.engine.recorder import N_BINS, OUTCOMES
    from sim.engine.result import RunResult
    from sim.engine.simulate import band_labels
    from sim.metrics import NAMES
    from sim.model.policy import Outcome

    run = next(p for p in spec.scenario.policies if p.key == spec.policy_key)
    methods = tuple(run.payment_mix)
    metrics = dict.fromkeys(NAMES, math.nan)
    metrics.update({name: 0.0 for name in NAMES if name.endswith("_share")}, orders=orders)
    shipped = OUTCOMES.index(Outcome.SHIPPED)
    daily = np.zeros((1, len(OUTCOMES)), dtype=np.int64)
    daily[0, shipped] = orders
    hist = np.zeros((len(OUTCOMES), N_BINS), dtype=np.int64)
    return RunResult(
        spec.policy_key,
        spec.replication,
        {k: float(v) for k, v in metrics.items()},
        hist,
        hist.copy(),
        np.zeros((len(methods), N_BINS), dtype=np.int64),
        methods,
        np.array([orders]),
        np.array([0]),
        np.zeros(0),
        bands={label: [0, 0] for label in band_labels(spec)},
        daily_judged=np.array([orders]),
        outcome_counts={o.value: int(daily[0, i]) for i, o in enumerate(OUTCOMES)},
        daily_outcomes=daily,
        daily_refunds=np.zeros(1, dtype=np.int64),
        daily_money_back=np.zeros(1),
    )


def _jd_specs(quick, count: int, point: int = 0) -> list[sim.RunSpec]:
    study = sim.load(quick, SMALL)
    return [
        sim.RunSpec("jd", study.policies["jd"], study.scenario, r, 1, point=point)
        for r in range(count)
    ]


def test_the_inline_executor_passes_keyword_arguments_and_hands_back_errors():
    from sim.experiment.executors import InlineExecutor

    executor = InlineExecutor()
    assert executor.submit(int, "ff", base=16).result() == 255
    failed = executor.submit(int, "x")
    assert isinstance(failed.exception(), ValueError)
    with pytest.raises(ValueError, match="invalid literal"):
        failed.result()

    def interrupted():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        executor.submit(interrupted)


def test_a_run_that_raises_is_reported_with_its_sweep_point(quick, monkeypatch):
    import sim.experiment.runner as runner
    from sim.experiment.executors import InlineExecutor

    def fails(spec):
        raise ValueError("day 900 is past the calendar")

    monkeypatch.setattr(runner, "simulate", fails)
    (spec,) = _jd_specs(quick, 1, point=2)
    results, failures = runner.execute([spec], InlineExecutor(), None)
    assert not results
    assert failures[0].describe() == (
        "jd replication 0 at sweep point 2: ValueError: day 900 is past the calendar"
    )


def test_a_dead_worker_is_reported_with_its_run_point_and_traceback(quick, tmp_path):
    from concurrent.futures import Executor, Future
    from concurrent.futures.process import BrokenProcessPool

    from sim.experiment.runner import execute
    from sim.experiment.store import RunStore, run_key

    class Broken(Executor):
        def submit(self, fn, /, *args, **kwargs):
            future = Future()
            future.set_exception(BrokenProcessPool("a worker died"))
            return future

    specs = _jd_specs(quick, 2, point=3)
    _, failures = execute(specs, Broken(), RunStore(tmp_path))
    assert failures[1].describe() == (
        "jd replication 1 at sweep point 3: the worker failed: BrokenProcessPool: a worker died"
    )
    stored = json.loads((tmp_path / f"{run_key(specs[1])}.failed.json").read_text())
    assert stored["policy"] == "jd" and stored["point"] == 3 and stored["replication"] == 1
    assert stored["traceback"].startswith("Traceback")
    assert "BrokenProcessPool: a worker died" in stored["traceback"]


def test_progress_is_told_each_run_s_outcome_stored_or_new(quick, tmp_path, monkeypatch):
    import sim.experiment.runner as runner
    from sim.experiment.executors import InlineExecutor
    from sim.experiment.store import RunStore

    monkeypatch.setattr(
        runner, "simulate", lambda spec: _result(spec.policy_key, spec.replication, orders=7.0)
    )
    specs = _jd_specs(quick, 2)
    store = RunStore(tmp_path)
    store.save(specs[0], _storable(specs[0], orders=3))
    seen = []
    results, _ = runner.execute(
        specs,
        InlineExecutor(),
        store,
        done=lambda spec, outcome, cached: seen.append(
            (spec.replication, outcome.metrics["orders"], cached)
        ),
    )
    assert seen == [(0, 3.0, True), (1, 7.0, False)]
    assert [r.metrics["orders"] for r in results] == [3.0, 7.0]


def _threaded(monkeypatch, simulate):
    """Runs go to a thread pool and `simulate` stands in for the simulator."""
    from concurrent.futures import ThreadPoolExecutor

    import sim.experiment.runner as runner

    monkeypatch.setattr(runner, "simulate", simulate)
    return ThreadPoolExecutor(6)


def test_the_next_run_starts_as_soon_as_any_run_finishes(quick, monkeypatch):
    """Window 2: run 1 finishes at once, so run 2 starts while run 0 still works."""
    import threading

    from sim.experiment.runner import execute

    started = [threading.Event() for _ in range(3)]
    run_0_saw_run_2 = []

    def simulate(spec):
        started[spec.replication].set()
        if spec.replication == 0:
            run_0_saw_run_2.append(started[2].wait(0.5))
        return _result(spec.policy_key, spec.replication)

    with _threaded(monkeypatch, simulate) as pool:
        results, failures = execute(_jd_specs(quick, 3), pool, None, window=2)
    assert run_0_saw_run_2 == [True]
    assert [r.replication for r in results] == [0, 1, 2] and not failures


def test_no_more_runs_are_in_flight_than_the_window(quick, monkeypatch):
    import threading

    from sim.experiment.runner import execute

    lock = threading.Lock()
    running, most = [0], [0]
    crowded = threading.Event()

    def simulate(spec):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
            if running[0] > 2:
                crowded.set()
        crowded.wait(0.1)  # hold each run a moment: runs started too early overlap
        with lock:
            running[0] -= 1
        return _result(spec.policy_key, spec.replication)

    with _threaded(monkeypatch, simulate) as pool:
        results, failures = execute(_jd_specs(quick, 4), pool, None, window=2)
    assert 1 <= most[0] <= 2
    assert [r.replication for r in results] == [0, 1, 2, 3] and not failures


def test_runs_still_going_when_the_last_is_submitted_are_collected_in_plan_order(
    quick, tmp_path, monkeypatch
):
    import time

    from sim.experiment.runner import execute
    from sim.experiment.store import RunStore

    def simulate(spec):
        time.sleep(0.05 * (3 - spec.replication))  # the last one submitted ends first
        return _storable(spec, orders=spec.replication)

    seen = []
    store = RunStore(tmp_path)
    specs = _jd_specs(quick, 3)
    with _threaded(monkeypatch, simulate) as pool:
        results, failures = execute(
            specs, pool, store, done=lambda s, o, cached: seen.append((s.replication, cached))
        )
    assert [r.metrics["orders"] for r in results] == [0.0, 1.0, 2.0] and not failures
    assert sorted(seen) == [(0, False), (1, False), (2, False)]
    assert [store.load(s).metrics["orders"] for s in specs] == [0.0, 1.0, 2.0]


def test_stopping_a_pool_returns_at_once_ends_its_workers_and_cancels_what_waits():
    """One worker busy, one run queued for it; the last run only waits."""
    import threading
    import time
    from concurrent.futures import ProcessPoolExecutor

    from sim.experiment.executors import _stop, _worker_defaults

    pool = ProcessPoolExecutor(1, initializer=_worker_defaults)  # as open_executor makes it
    futures = [pool.submit(time.sleep, 30) for _ in range(5)]
    while not futures[1].running():  # queued for the worker: the pool has taken them all in
        time.sleep(0.01)
    time.sleep(0.1)  # and is idle (CPython cancels best-effort, racing with new submissions)
    workers = list(pool._processes.values())
    stopper = threading.Thread(target=_stop, args=(pool,), daemon=True)
    try:
        stopper.start()
        stopper.join(5)
        assert not stopper.is_alive(), "stopping the pool waited for its runs"
        for worker in workers:
            worker.join(5)
            assert _gone(worker.pid), "a worker of a stopped pool is still running"
        deadline = time.monotonic() + 5  # done() also counts a cancelled future; wait() not
        while not futures[-1].done() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert futures[-1].cancelled()
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
        stopper.join(10)


def test_a_pool_is_stopped_even_where_python_keeps_its_workers_elsewhere():
    """`_processes` is private: without it the pool is still shut down."""
    from concurrent.futures import ProcessPoolExecutor

    from sim.experiment.executors import _stop, _worker_defaults

    pool = ProcessPoolExecutor(1, initializer=_worker_defaults)  # as open_executor makes it
    del pool._processes
    _stop(pool)
    with pytest.raises(RuntimeError, match="after shutdown"):
        pool.submit(int)


# ----------------------------------------------------------------- stored runs
@contextlib.contextmanager
def _c_locale():
    """The C locale, as in a bare container or a cron job: ASCII unless told otherwise."""
    import locale

    old = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C")
    try:
        yield
    finally:
        locale.setlocale(locale.LC_CTYPE, old)


def test_a_stored_run_serves_a_scenario_renamed_or_redescribed(quick, tmp_path):
    """Name, description, baseline, replications and the scenario's seed do not change
    what one run computes (its seed is the run's own)."""
    from sim.experiment.store import RunStore, run_key

    a = sim.load(quick, SMALL)
    b = sim.load(
        quick,
        [
            *SMALL,
            "name=renamed",
            "description=another text",
            "baseline=jd",
            "replications=5",
            "seed=99",
        ],
    )
    spec_a = sim.RunSpec("amazon", a.policies["amazon"], a.scenario, 0, 1)
    spec_b = sim.RunSpec("amazon", b.policies["amazon"], b.scenario, 0, 1, point=3)
    store = RunStore(tmp_path)
    store.save(spec_a, _storable(spec_a, orders=42))
    reused = store.load(spec_b)
    assert reused is not None and reused.metrics["orders"] == 42.0 and reused.point == 3
    stored = json.loads((tmp_path / f"{run_key(spec_a)}.json").read_text(encoding="utf-8"))
    assert list(stored) == ["key", "result", "checksum"] and stored["key"] == run_key(spec_a)
    assert stored["result"]["policy"] == "amazon"


def test_stored_runs_are_utf8_and_reused_whatever_the_locale(quick, tmp_path):
    from sim.experiment.store import RunStore, run_key

    study = sim.load(quick, [*SMALL, "sellers.size_bands={每周10单以下: 0, 每周10单以上: 10}"])
    spec = sim.RunSpec("amazon", study.policies["amazon"], study.scenario, 0, 1)
    result = _storable(spec, orders=5)
    result.bands = {"每周10单以下": [0, 3], "每周10单以上": [0, 0]}
    store = RunStore(tmp_path)
    with _c_locale():
        store.save(spec, result)
        loaded = store.load(spec)
    assert loaded is not None and loaded.bands == result.bands
    raw = (tmp_path / f"{run_key(spec)}.json").read_bytes()
    assert "每周10单以下".encode() in raw


# ----------------------------------------------------------------- the summary and run table
def test_the_summary_names_each_policy_and_lists_the_failed_runs(quick):
    from sim.experiment.plan import sweep_points
    from sim.experiment.runner import RunFailure
    from sim.experiment.summary import summarize

    study = sim.load(quick, SMALL)
    results = [_result(k, r, orders=10.0 + r) for k in study.policies for r in range(2)]
    failures = [
        RunFailure("jd", 1, 0, "ValueError: b", ""),
        RunFailure("amazon", 0, 0, "ValueError: a", ""),
    ]
    summary = summarize([study], sweep_points([]), results, 2, 7, failures)
    assert summary["failed_runs"] == [
        "amazon replication 0: ValueError: a",
        "jd replication 1: ValueError: b",
    ]
    for key, policy in study.policies.items():
        entry = summary["policies"][key]
        assert list(entry) == ["name", "platform", "metrics"]
        assert (entry["name"], entry["platform"]) == (policy.name, policy.platform)
    orders = summary["policies"]["amazon"]["metrics"]["orders"]
    half = 12.706204736174707 * 0.5  # t(0.975, 1) x sd 0.7071 / sqrt(2)
    assert orders["mean"] == 10.5 and orders["ci95"] == pytest.approx([10.5 - half, 10.5 + half])
    assert "failed_runs" not in summarize([study], sweep_points([]), results, 2, 7)


def test_the_run_table_without_points_is_one_row_per_run_in_order():
    from sim.experiment.summary import run_rows
    from sim.metrics import NAMES

    results = [_result("jd", 1, orders=4.0), _result("amazon", 1), _result("jd", 0)]
    rows = run_rows(results)
    assert [(r["policy"], r["replication"], r["orders"]) for r in rows] == [
        ("jd", 0, 0.0),
        ("amazon", 1, 0.0),
        ("jd", 1, 4.0),
    ]
    assert list(rows[0]) == ["policy", "replication", *NAMES]


def test_a_numpy_integer_seed_keys_and_stores_runs(quick, tmp_path):
    """A seed taken from numpy (np.arange, a Generator's integers) works like an int."""
    from dataclasses import replace

    from sim.experiment.store import RunStore

    (spec,) = _jd_specs(quick, 1)
    seeded = replace(spec, seed=np.int64(5))
    store = RunStore(tmp_path)
    store.save(seeded, _storable(seeded, orders=2))
    assert store.load(seeded).metrics["orders"] == 2.0
    assert store.load(replace(spec, seed=np.int64(6))) is None


def test_a_quantile_between_two_groups_of_refunds_is_flagged_as_flat():
    """Half the refunds at 6 minutes, half after a day: the median has no refund near it
    and is flagged with the span of the refunds 2% on either side; the 90th percentile,
    inside the second group, is not. An even spread flags nothing."""
    from sim.engine.recorder import N_BINS, bin_of
    from sim.experiment.stats import flat_around

    two = np.zeros(N_BINS, dtype=np.int64)
    two[bin_of(0.1)] += 500
    two[bin_of(30.0)] += 500
    low, high = flat_around(two, 0.5)
    assert low < 0.2 and high > 20
    assert flat_around(two, 0.9) is None
    even = np.zeros(N_BINS, dtype=np.int64)
    for hours in np.linspace(1, 100, 1000):
        even[bin_of(float(hours))] += 1
    assert all(flat_around(even, q) is None for q in (0.5, 0.9, 0.97))
    assert flat_around(np.zeros(N_BINS, dtype=np.int64), 0.5) is None  # no refunds
    # Within 2% of either end there is no looking 2% past the quantile: not judged, even
    # where 2% of the refunds lie far from the rest.
    edge = np.zeros(N_BINS, dtype=np.int64)
    edge[bin_of(0.1)] += 20
    edge[bin_of(30.0)] += 980
    assert flat_around(edge, 0.02) is None and flat_around(edge, 0.021) is not None
    assert flat_around(edge[::-1].copy(), 0.98) is None  # mirrored: 2% at the far end
    assert flat_around(two, 0.99) is None


@pytest.mark.parametrize(
    ("low", "high", "far"),
    [
        (0.0, 0.25, False),
        (0.0, 0.2501, True),
        (1.0, 3.0, False),
        (1.0, 3.0001, True),
        (0.1, 0.31, False),  # a factor of 3.1, but only 0.21 h apart
    ],
)
def test_two_times_are_far_apart_beyond_a_quarter_hour_and_a_factor_of_3(low, high, far):
    from sim.experiment.stats import far_apart

    assert far_apart(low, high) is far


def test_the_summary_flags_taobao_s_median_between_instant_and_rail_refunds(quick):
    """Taobao's instant refunds and its bank-card refunds: its money-back median falls
    between them; Amazon's, inside the card releases, does not."""
    results = sim.run(quick, replications=2, jobs=1, seed=7)
    taobao = results.summary["policies"]["taobao"]["metrics"]["money_back_hours_p50"]
    amazon = results.summary["policies"]["amazon"]["metrics"]["money_back_hours_p50"]
    from sim.experiment.stats import flat_around

    low, high = taobao["flat"]
    assert low <= taobao["mean"] <= high and high > 3 * low
    pooled = sum(r.money_back_hist.sum(axis=0) for r in results.runs if r.policy == "taobao")
    assert taobao["flat"] == [round(v, 6) for v in flat_around(pooled, 0.5)]
    assert taobao["flat"] != [round(v) for v in taobao["flat"]]
    assert "flat" not in amazon


def test_metrics_defined_differently_are_marked_not_compared(root):
    import dataclasses

    from sim.experiment.compare import differing
    from sim.metrics import PLATFORM_DEFINED
    from sim.model.load import load_policy
    from sim.model.policy import FLAGGED, RATE, RAW, Outcome

    assert set(RATE + RAW + FLAGGED) == PLATFORM_DEFINED
    amazon = load_policy(root / "sim" / "builtin" / "policies" / "amazon.yaml")
    taobao = load_policy(root / "sim" / "builtin" / "policies" / "taobao.yaml")
    jd = load_policy(root / "sim" / "builtin" / "policies" / "jd.yaml")
    policies = {"amazon": amazon, "taobao": taobao, "jd": jd}
    assert differing(policies, "taobao", "amazon") == dict.fromkeys(
        PLATFORM_DEFINED, "definitions_differ"
    )
    assert differing(policies, "amazon", "amazon") == {}
    metric = amazon.first.seller_metric
    assert all(r.seller_metric.counts == metric.counts for r in amazon.versions.values())

    def edited(**change):  # the metric edited in every version of the rules
        return dataclasses.replace(
            amazon,
            versions={
                day: rules.model_copy(
                    update={"seller_metric": rules.seller_metric.model_copy(update=change)}
                )
                for day, rules in amazon.versions.items()
            },
        )

    cases = {
        "threshold": (edited(threshold=0.01), RAW + FLAGGED),
        "cadence": (edited(cadence="weekly"), FLAGGED),
        "counts": (edited(counts=[*metric.counts, Outcome.INTERCEPTED]), RATE + RAW + FLAGGED),
        "order of counts": (edited(counts=list(reversed(metric.counts))), ()),
        "name": (edited(name="Another name"), ()),
    }
    for what, (new, changed) in cases.items():
        found = differing({"new": new, "old": amazon}, "new", "old")
        assert found == dict.fromkeys(changed, "definition_changed"), what


def test_a_difference_across_definitions_is_withheld_and_one_of_an_edit_is_marked():
    from sim.experiment.compare import paired

    runs = [_result("a", r, platform_metric_rate=0.01 * r) for r in range(3)]
    runs += [_result("b", r, platform_metric_rate=0.02 * r, orders=1.0) for r in range(3)]
    differ = {"platform_metric_rate": "definitions_differ"}
    out = paired(runs, "b", "a", differ)
    assert out["platform_metric_rate"] == {
        "mean": None,
        "ci95": None,
        "significant": False,
        "definitions_differ": True,
    }
    assert out["orders"]["mean"] == 1.0 and "definitions_differ" not in out["orders"]
    assert "definition_changed" not in out["orders"]
    assert out["buyer_money_hours_held"]["mean"] == 0.0  # the loop went on past the withheld
    edited = paired(runs, "b", "a", {"platform_metric_rate": "definition_changed"})
    rate = edited["platform_metric_rate"]
    assert rate["mean"] == pytest.approx(0.01) and rate["definition_changed"] is True
    assert "definitions_differ" not in rate


def test_the_summary_gives_each_size_band_its_sellers_and_flagged_share():
    from sim.experiment.summary import _bands

    runs = [_result("a", r) for r in range(3)]
    runs[0].bands = {"small": [1, 4], "large": [0, 0]}
    runs[1].bands = {"small": [2, 4], "large": [1, 2]}
    runs[2].bands = {"small": [4, 4], "large": [2, 2]}
    out = _bands(runs)
    assert list(out) == ["small", "large"]
    assert out["small"]["sellers"] == 4.0
    small = out["small"]["flagged_share"]
    assert small["mean"] == pytest.approx(7 / 12)
    low, high = small["ci95"]
    assert 0.0 <= low < 7 / 12 < high == 1.0  # cut at 1: a share
    # a replication without sellers in a band has no share; the others are averaged
    large = out["large"]
    assert large["sellers"] == pytest.approx(4 / 3)
    assert large["flagged_share"]["mean"] == pytest.approx(0.75)
    one = _bands(runs[1:2])  # with one replication the band still has its share, no interval
    assert one["small"] == {"sellers": 4.0, "flagged_share": {"mean": 0.5, "ci95": None}}
    none = _bands([_result("a", 0)])
    assert none == {}


def test_summary_json_holds_the_bands_of_policies_with_a_threshold(quick):
    results = sim.run(quick, replications=2, overrides=SMALL)
    policies = results.summary["policies"]
    amazon = policies["amazon"]["bands"]
    assert list(amazon) == list(results.study.scenario.sellers.size_bands)
    judged = sum(b["sellers"] for b in amazon.values())
    assert 0 < judged <= 36  # quick.yaml: 40 sellers, 4 of them platform-fulfilled
    assert "bands" not in policies["taobao"]  # no threshold: nobody is flagged
    assert "bands" not in policies["jd"]  # no seller metric


def test_a_metric_only_one_policy_of_a_platform_defines_is_not_an_edit(root):
    from sim.experiment.compare import differing
    from sim.metrics import PLATFORM_DEFINED
    from sim.model.load import load_policy

    jd = load_policy(root / "sim" / "builtin" / "policies" / "jd.yaml")  # no seller metric
    pop = load_policy(
        root / "sim" / "builtin" / "policies" / "jd-pop.yaml"
    )  # the same platform, with one
    assert jd.platform == pop.platform
    assert differing({"jd": jd, "pop": pop}, "pop", "jd") == dict.fromkeys(
        PLATFORM_DEFINED, "definitions_differ"
    )
