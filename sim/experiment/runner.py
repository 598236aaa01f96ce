"""Map the runs of a plan over an executor, storing each as it finishes."""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Callable
from concurrent.futures import (
    FIRST_COMPLETED,
    BrokenExecutor,
    Executor,
    Future,
    as_completed,
    wait,
)
from dataclasses import dataclass
from pathlib import Path

from sim.engine.result import RunResult
from sim.engine.simulate import RunSpec, simulate
from sim.experiment.executors import SchedulerError
from sim.experiment.output import remove_file
from sim.experiment.store import RunStore


@dataclass(frozen=True)
class RunFailure:
    """A run that raised: which one, and the error (the other runs go on)."""

    policy: str
    replication: int
    point: int
    error: str
    traceback: str
    # what the run is part of, beside the experiment's own runs ("lever pack_faster")
    part: str = ""

    def describe(self) -> str:
        if self.part:
            where = f" ({self.part})"
        else:
            where = f" at sweep point {self.point}" if self.point else ""
        return f"{self.policy} replication {self.replication}{where}: {self.error}"


Done = Callable[[RunSpec, "RunResult | RunFailure", bool], None]


def run_safely(spec: RunSpec) -> RunResult | RunFailure:
    """`simulate`, with an exception turned into a `RunFailure` (runs in the worker)."""
    try:
        return simulate(spec)
    except Exception as exc:  # noqa: BLE001 - recorded, reported, and the batch goes on
        return RunFailure(
            spec.policy_key,
            spec.replication,
            spec.point,
            f"{type(exc).__name__}: {exc}",
            traceback.format_exc(),
        )


def execute(
    specs: list[RunSpec],
    executor: Executor,
    store: RunStore | None,
    done: Done | None = None,
    window: int = 8,
) -> tuple[list[RunResult], list[RunFailure]]:
    """Results (stored ones reused) and failures, in the plan's order.

    At most `window` runs are in flight at once, and each is stored and reported as soon
    as it finishes, so an interruption keeps every finished run, whatever the executor.
    """
    outcomes: dict[int, RunResult | RunFailure] = {}
    todo = []
    for index, spec in enumerate(specs):
        cached = store.load(spec) if store and _reusable(spec) else None
        if cached is None:
            todo.append(index)
            continue
        outcomes[index] = cached
        if done:
            done(spec, cached, True)
    if store is not None:
        store.report_invalid()  # stored runs that were not valid: run again

    def finish(future: Future[RunResult | RunFailure], index: int) -> None:
        outcome = _outcome(future, specs[index])
        outcomes[index] = outcome
        if store is not None:
            if isinstance(outcome, RunFailure):
                store.save_failure(specs[index], outcome.__dict__)
            else:
                store.save(specs[index], outcome)
        if done:
            done(specs[index], outcome, False)

    pending: dict[Future[RunResult | RunFailure], int] = {}
    try:
        for position, index in enumerate(todo):
            _remove_old_trace(specs[index])
            try:
                pending[executor.submit(run_safely, specs[index])] = index
            except BrokenExecutor as exc:  # a worker died: the pool takes no more runs
                for lost in todo[position:]:
                    finish(_failed(exc), lost)
                break
            finished, _ = wait(
                pending, timeout=0 if len(pending) < window else None, return_when=FIRST_COMPLETED
            )
            for future in finished:
                finish(future, pending.pop(future))
        for future in as_completed(list(pending)):
            finish(future, pending.pop(future))
    except BaseException:
        for future in pending:
            future.cancel()
        raise
    ordered = [outcomes[i] for i in range(len(specs))]
    return (
        [o for o in ordered if isinstance(o, RunResult)],
        [o for o in ordered if isinstance(o, RunFailure)],
    )


def _remove_old_trace(spec: RunSpec) -> None:
    """A trace file already where a run about to be played writes its own is another
    run's: it goes, so that it is never taken for this run's (a remote worker may write
    its trace on its own disk, leaving none here). Removed only as the run is sent, so an
    interruption keeps the traces of the runs not yet sent."""
    if spec.trace_path is not None:
        with contextlib.suppress(OSError):  # (a path that cannot be: the run says why)
            remove_file(Path(spec.trace_path))


def _failed(exc: BaseException) -> Future[RunResult | RunFailure]:
    future: Future[RunResult | RunFailure] = Future()
    future.set_exception(exc)
    return future


def _reusable(spec: RunSpec) -> bool:
    """A stored run serves unless a trace is asked for and not written yet."""
    return spec.trace_path is None or Path(spec.trace_path).is_file()


def _outcome(future: Future[RunResult | RunFailure], spec: RunSpec) -> RunResult | RunFailure:
    """The run's result, or a failure also when its worker died (a broken pool, a killed
    Dask worker), so that one crash does not end the batch without a report."""
    try:
        return future.result()
    except SchedulerError:  # the cluster is gone, not the run: stop, keep what finished
        raise
    except Exception as exc:  # noqa: BLE001 - the worker itself failed
        return RunFailure(
            spec.policy_key,
            spec.replication,
            spec.point,
            f"the worker failed: {type(exc).__name__}: {exc}",
            traceback.format_exc(),
        )
