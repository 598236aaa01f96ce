"""Which kind of file a YAML file is: a policy, a scenario or an expectation file.

Told by its top-level keys: each kind has keys that no other kind has (a policy's
`self_cancel:`, a scenario's `orders:`, an expectation file's `cases:`). A file given
where another kind is expected gets one line that says what it is and what to do with
it, instead of one "unknown key" per key.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sim.errors import InputError, Problem

KIND_NAMES = {
    "policy": "a policy file (one platform's rules)",
    "scenario": "a scenario (a market that plays policies)",
    "expectation": "an expectation file (policy regression tests)",
}


@lru_cache(maxsize=1)
def _own_keys() -> dict[str, set[str]]:
    from sim.checks.expectations import ExpectationFile
    from sim.model.policy import Rules
    from sim.model.scenario import Scenario

    fields = {
        "policy": set(Rules.model_fields),
        "scenario": set(Scenario.model_fields),
        "expectation": set(ExpectationFile.model_fields),
    }
    return {
        kind: keys - set().union(*(other for k, other in fields.items() if k != kind))
        for kind, keys in fields.items()
    }


def kind_of(data: Any) -> str | None:
    """The kind whose own keys the data holds (None: none, or a tie)."""
    if not isinstance(data, dict):
        return None
    keys = {k for k in data if isinstance(k, str)}
    scores = {kind: len(keys & own) for kind, own in _own_keys().items()}
    best = max(scores.values())
    winners = [kind for kind, score in scores.items() if score == best]
    return winners[0] if best and len(winners) == 1 else None


USE = {
    "policy": "a scenario plays it, named under its policies: (- file: {file}); "
    "`cancelsim init DIR` starts a study with a scenario and policies to edit",
    "scenario": "`cancelsim run {file}` plays it; `cancelsim validate {file}` checks it",
    "expectation": "`cancelsim test {file}` runs its cases",
}


def wrong_kind(file: str, data: Any, wanted: str) -> Problem | None:
    """One problem when the data is plainly another kind of file than `wanted`.

    Plainly: it holds another kind's own keys and none of `wanted`'s, so that a file of
    the right kind with misspelt keys still gets its key-by-key problems."""
    kind = kind_of(data)
    if kind is None or kind == wanted or (set(data) & _own_keys()[wanted]):
        return None
    return Problem(
        file,
        1,
        1,
        "",
        f"this is {KIND_NAMES[kind]}, not {KIND_NAMES[wanted].split(' (')[0]}; "
        + USE[kind].format(file=file),
    )


def check_kind(file: str, data: Any, wanted: str) -> None:
    problem = wrong_kind(file, data, wanted)
    if problem is not None:
        raise InputError([problem])
