"""Map the runs of a plan over an executor, storing each as it finishes."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from concurrent.futures import Executor, as_completed
from dataclasses import dataclass

from sim.engine.result import RunResult
from sim.engine.simulate import RunSpec, simulate
from sim.experiment.store import RunStore


@dataclass(frozen=True)
class RunFailure:
    """A run that raised: which one, and the error (the other runs go on)."""

    policy: str
    replication: int
    point: int
    error: str
    traceback: str

    def describe(self) -> str:
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
    specs: list[RunSpec], executor: Executor, store: RunStore | None, done: Done | None = None
) -> tuple[list[RunResult], list[RunFailure]]:
    """Results (stored ones reused) and failures, in the plan's order."""
    outcomes: dict[int, RunResult | RunFailure] = {}
    todo = []
    for index, spec in enumerate(specs):
        cached = store.load(spec) if store else None
        if cached is None:
            todo.append(index)
            continue
        outcomes[index] = cached
        if done:
            done(spec, cached, True)
    futures = {executor.submit(run_safely, specs[i]): i for i in todo}
    try:
        for future in as_completed(futures):
            index = futures[future]
            outcome = future.result()
            outcomes[index] = outcome
            if store is not None:
                if isinstance(outcome, RunFailure):
                    store.save_failure(specs[index], outcome.__dict__)
                else:
                    store.save(specs[index], outcome)
            if done:
                done(specs[index], outcome, False)
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    ordered = [outcomes[i] for i in range(len(specs))]
    return (
        [o for o in ordered if isinstance(o, RunResult)],
        [o for o in ordered if isinstance(o, RunFailure)],
    )
