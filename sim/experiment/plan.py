"""The runs an experiment is made of: every policy in every replication."""

from __future__ import annotations

from sim.engine.simulate import RunSpec
from sim.model.load import Study


def plan(study: Study, replications: int, seed: int) -> list[RunSpec]:
    """Replication-major order, so that partial results cover every policy early."""
    return [
        RunSpec(key, policy, study.scenario, rep, seed)
        for rep in range(replications)
        for key, policy in study.policies.items()
    ]
