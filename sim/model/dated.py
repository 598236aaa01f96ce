"""Values that changed over time: any value of a policy's rules may be written as a mapping
from effective date to the value in force from that date, as in openfisca's parameters.

    auto_cancel:
      after:
        2000-01-01: 30d
        2020-09-30: 7 business days

A whole section may be dated too (`auto_cancel: {2000-01-01: null, 2020-09-30: {...}}`).
`snapshot(doc, day)` resolves every such history to the value in force on `day`: the
result is the file as it read on that day, with the file's own names, and with each
value's line and column kept for error messages.
"""

from __future__ import annotations

import bisect
import datetime as dt
from typing import Any, TypeVar

from sim.errors import Problem
from sim.model.yamlfile import Document

T = TypeVar("T")
ALWAYS = dt.date(1, 1, 1)
"""The effective date of rules written without dates: in force at any time."""

Path_ = tuple[Any, ...]


class NotYetInForce(ValueError):
    """A value asked for a date before its first effective date."""


def is_history(node: Any) -> bool:
    """A mapping whose keys are all dates: a value's history."""
    return isinstance(node, dict) and bool(node) and all(_is_date(k) for k in node)


def _is_date(key: Any) -> bool:
    return isinstance(key, dt.date) and not isinstance(key, dt.datetime)


def in_force(history: dict[dt.date, T], day: dt.date) -> T:
    """The version of a value in force on `day`."""
    dates = list(history)
    index = bisect.bisect_right(dates, day) - 1
    if index < 0:
        raise NotYetInForce(f"no value in force on {day}; the first is from {dates[0]}")
    return history[dates[index]]


def histories(
    doc: Document, fixed: tuple[str, ...] = ()
) -> tuple[dict[Path_, list[dt.date]], list[Problem]]:
    """Every dated value of a file (its key path and effective dates), and what is wrong
    with them: a mapping mixing dates with other keys, dates out of order, a dated value
    among the top-level keys in `fixed` (which cannot change over time)."""
    found: dict[Path_, list[dt.date]] = {}
    problems: list[Problem] = []

    def walk(node: Any, path: Path_) -> None:
        if isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, (*path, i))
            return
        if not isinstance(node, dict) or not node:
            return
        dates = [k for k in node if _is_date(k)]
        if dates and len(dates) < len(node):
            bad = next(k for k in node if not _is_date(k))
            problems.append(
                doc.problem(
                    (*path, bad),
                    f"{bad!r} is not a date; effective dates are written YYYY-MM-DD, and a "
                    "dated value has nothing but dates as keys",
                    key=True,
                )
            )
            return
        if not dates:
            for key, value in node.items():
                walk(value, (*path, key))
            return
        if len(path) == 1 and path[0] in fixed:
            problems.append(
                doc.problem(path, f"{path[0]} cannot change over time; write one value")
            )
            return
        for earlier, later in zip(dates, dates[1:], strict=False):
            if later <= earlier:
                problems.append(
                    doc.problem(
                        (*path, later),
                        f"effective dates must increase: {later} comes after {earlier}",
                        key=True,
                    )
                )
                return
        found[path] = dates
        for day in dates:
            walk(node[day], (*path, day))

    walk(doc.data, ())
    return found, problems


def snapshot(doc: Document, day: dt.date) -> Document:
    """The file as in force on `day`: each dated value replaced by its version of that day,
    every position kept (a dated value's at the version chosen)."""
    out = Document(doc.file, None, overrides=doc.overrides)

    def resolve(node: Any, raw: Path_, snap: Path_) -> Any:
        if raw in doc.value_at:
            out.value_at[snap] = doc.value_at[raw]
        if raw in doc.key_at and snap not in out.key_at:
            out.key_at[snap] = doc.key_at[raw]
        if is_history(node):
            chosen = [d for d in node if d <= day]
            if not chosen:
                raise NotYetInForce(
                    f"{'.'.join(map(str, snap))}: no value in force on {day}; "
                    f"the first is from {next(iter(node))}"
                )
            return resolve(node[chosen[-1]], (*raw, chosen[-1]), snap)
        if isinstance(node, dict):
            return {k: resolve(v, (*raw, k), (*snap, k)) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v, (*raw, i), (*snap, i)) for i, v in enumerate(node)]
        return node

    out.data = resolve(doc.data, (), ())
    return out


def version_dates(found: dict[Path_, list[dt.date]]) -> list[dt.date]:
    """The days from which a new version of the rules applies: the first day on which
    every dated value has a value (ALWAYS without dates before it), then every later
    effective date."""
    first = max((dates[0] for dates in found.values()), default=ALWAYS)
    later = sorted({d for dates in found.values() for d in dates if d > first})
    return [first, *later]


def changes(history: dict[dt.date, Any]) -> list[dt.date]:
    """The effective dates of a history (none for a value written without dates)."""
    return [d for d in history if d != ALWAYS]
