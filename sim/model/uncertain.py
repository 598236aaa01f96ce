"""Declared ranges: a number or duration that is uncertain, and the range analysis uses.

In a policy or a scenario any number or duration may be written as

    median: {value: 1.5h, range: [30m, 6h], dist: loguniform, why: "one line"}

Ordinary runs use `value`, exactly as if the file said `median: 1.5h`; sensitivity
analysis and uncertainty bands (`sim.experiment.sensitivity`) move it over `range`,
drawn as `dist` says (uniform by default; loguniform; triangular with its mode at
`value`). A declaration is read before validation: `declared` takes it out of the parsed
document, leaving the plain value, and returns it as a `Factor` that remembers its line.
"""

from __future__ import annotations

import copy
import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sim.errors import InputError, Problem, join_path
from sim.model.units import Duration, format_hours, parse_duration, short
from sim.model.yamlfile import Document

DISTS = ("uniform", "loguniform", "triangular")
KEYS = ("value", "range", "dist", "why")


@dataclass(frozen=True)
class Factor:
    """One declared range: where it is, what it is now, and how analysis moves it."""

    key: str  # as --set names it: buyers.intent_delay.median, amazon.self_cancel.window
    path: tuple[Any, ...]  # the key path inside its file, as the parsed data has it
    value: float  # in `unit`
    low: float
    high: float
    unit: str  # "" (a number), "h" (clock hours) or "business days"
    whole: bool  # only whole numbers: a count (a field that takes no fractions)
    dist: str
    why: str
    file: str
    line: int
    col: int

    def at(self, u: float) -> float:
        """The value at quantile `u` (0..1) of the factor's distribution over its range."""
        low, high = self.low, self.high
        if self.dist == "loguniform":
            x = math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
        elif self.dist == "triangular":
            x = _triangular(u, low, self.value, high)
        else:
            x = low + u * (high - low)
        x = min(max(x, low), high)  # no rounding error outside the range
        return float(round(x)) if self.whole else x

    def written(self, x: float) -> Any:
        """`x` as the file would write it: a number, or a duration with its unit."""
        if self.unit == "h" and 0 < x < 1e-3:  # format_hours would write an exponent
            return _fixed(x * 3600) + "s"
        if self.unit == "h":
            return format_hours(x)
        if self.unit == "business days":
            return f"{_fixed(x)} business days"
        return int(x) if self.whole and float(x).is_integer() else float(x)

    def shown(self, x: float) -> str:
        """`x` for people: 1.5h, 3 business days, 0.06."""
        written = self.written(x)
        return written if isinstance(written, str) else f"{written:.4g}"

    @property
    def range_text(self) -> str:
        if self.unit == "business days":
            return f"{self.low:.12g} to {self.high:.12g} business days"
        return f"{self.shown(self.low)} to {self.shown(self.high)}"


def _fixed(x: float) -> str:
    """A number without an exponent (the duration parser reads none): 0.036, 1.5, 3."""
    return f"{x:.9f}".rstrip("0").rstrip(".") or "0"


def _triangular(u: float, low: float, mode: float, high: float) -> float:
    """Inverse CDF of the triangular distribution."""
    cut = (mode - low) / (high - low)
    if u < cut:
        return low + math.sqrt(u * (high - low) * (mode - low))
    return high - math.sqrt((1 - u) * (high - low) * (high - mode))


def declared(doc: Document, prefix: str = "") -> tuple[list[Factor], list[Problem]]:
    """Take every declaration out of `doc` (leaving its plain `value`): the factors, and
    the problems of those that are wrong (each with its line and column).

    `prefix` names the file for --set (a policy's key).
    """
    factors: list[Factor] = []
    problems: list[Problem] = []
    _walk(doc, doc.data, (), prefix, factors, problems)
    return factors, problems


RUN_CONTROL = ("seed", "replications", "sweep", "baseline")


def run_control_problems(doc: Document, factors: list[Factor]) -> list[Problem]:
    """A range on a key that decides how runs are made, not what they model, would be
    moved by analysis to no effect: each such declaration is a problem at its line."""
    return [
        Problem(
            f.file,
            f.line,
            f.col,
            f.key,
            f"a range on {f.path[0]} has no effect: every point of an analysis uses the "
            "experiment's seed, replications and comparisons and plays no sweep; give a "
            "plain value",
        )
        for f in factors
        if f.path and f.path[0] in RUN_CONTROL
    ]


def not_repeated(found: list[Problem], declarations: list[Problem]) -> list[Problem]:
    """Validation problems without those of a declaration's value that the declaration's
    own problem already names (a missing or unreadable `value`)."""
    said = {d.path for d in declarations} | {d.path.removesuffix(".value") for d in declarations}
    return [p for p in found if p.path not in said]


def unset(factors: list[Factor], doc: Document) -> list[Factor]:
    """The factors that no --set or sweep value replaced (a value set is held fixed)."""
    return [
        f
        for f in factors
        if not any(f.path[: len(p)] == p or p[: len(f.path)] == f.path for p in doc.overrides)
    ]


def _walk(
    doc: Document,
    node: Any,
    path: tuple[Any, ...],
    prefix: str,
    factors: list[Factor],
    problems: list[Problem],
) -> None:
    items: list[tuple[Any, Any]]
    if isinstance(node, dict):
        items = list(node.items())
    elif isinstance(node, list):
        items = list(enumerate(node))
    else:
        return
    for key, child in items:
        here = (*path, key)
        if isinstance(child, dict) and "range" in child:
            found = _declaration(doc, child, here, prefix, problems)
            node[key] = child.get("value")  # the plain value, whatever was wrong
            if found is not None:
                factors.append(found)
        else:
            _walk(doc, child, here, prefix, factors, problems)


def _declaration(
    doc: Document, data: dict[Any, Any], path: tuple[Any, ...], prefix: str, problems: list[Problem]
) -> Factor | None:
    """One `{value, range, dist, why}` mapping as a factor, or its problems."""
    before = len(problems)

    def problem(at: tuple[Any, ...], message: str, *, key: bool = False) -> None:
        problems.append(doc.problem((*path, *at), message, key=key))

    for name in data:
        if name not in KEYS:
            hint = difflib.get_close_matches(str(name), KEYS, n=1)
            tip = f"did you mean {hint[0]!r}? " if hint else ""
            problem(
                (name,),
                f"unknown key in a declared range; {tip}expected value, range, dist or why",
                key=True,
            )
    if "value" not in data:
        problem(
            (), "a declared range needs the value ordinary runs use: {value: ..., range: [...]}"
        )
        return None
    value = _quantity(data["value"])
    if value is None:
        problem(("value",), "a declared range's value must be a number or a duration (30m, 2h)")
        return None
    amount, unit = value
    ends = data["range"]
    if not isinstance(ends, list) or len(ends) != 2:
        problem(("range",), "expected [low, high], two values like the value's")
        return None
    parsed = [_quantity(end) for end in ends]
    for index, end in enumerate(parsed):
        if end is None or end[1] != unit:
            like = "a duration with its unit" if unit == "h" else unit or "a number"
            raw = ends[index]
            endless = isinstance(raw, int | float) and not isinstance(raw, bool) and end is None
            problem(
                ("range", index),
                f"{short(raw)} is "
                f"{'too large to compute with' if type(raw) is int else 'not a finite number'}"
                f"; expected {like}"
                if endless
                else f"{short(raw)} is not like the value: expected {like}",
            )
    if len(problems) > before:
        return None
    low, high = (end[0] for end in parsed if end is not None)
    dist = data.get("dist", "uniform")
    if dist not in DISTS:
        hint = difflib.get_close_matches(str(dist), DISTS, n=1)
        tip = f"; did you mean {hint[0]!r}?" if hint else ""
        problem(("dist",), f"unknown dist {short(dist)}; expected {', '.join(DISTS)}{tip}")
    why = data.get("why", "")
    if not isinstance(why, str):
        problem(("why",), "expected one line of text: where the range comes from")
    if low > high:
        problem(("range",), f"low {short(ends[0])} is above high {short(ends[1])}")
    elif low == high:
        problem(("range",), "low and high are equal: nothing to vary; give a wider range")
    elif not low <= amount <= high:
        problem(
            ("value",),
            f"{short(data['value'])} is outside its own range {short(ends[0])} to {short(ends[1])}",
        )
    if dist == "loguniform" and low <= 0:
        problem(("range", 0), "a loguniform range must start above 0")
    if len(problems) > before:
        return None
    whole = unit == "" and all(  # until validation says whether the key takes fractions
        isinstance(v, int) and not isinstance(v, bool) for v in (data["value"], *ends)
    )
    line, col, _ = doc.position(path)
    name = ".".join(str(p) for p in path)
    return Factor(
        key=f"{prefix}.{name}" if prefix else name,
        path=path,
        value=float(amount),
        low=float(low),
        high=float(high),
        unit=unit,
        whole=whole,
        dist=str(dist),
        why=why.strip() if isinstance(why, str) else "",
        file=doc.file_of(path),
        line=line,
        col=col,
    )


def _quantity(value: Any) -> tuple[float, str] | None:
    """(amount, unit) of a number or a duration; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            amount = float(value)
        except OverflowError:  # a whole number past a float's range
            return None
        return (amount, "") if math.isfinite(amount) else None
    if isinstance(value, str):
        try:
            duration: Duration = parse_duration(value)
        except ValueError:
            return None
        return (duration.amount, "business days" if duration.business_days else "h")
    return None


def place(doc: Document, factors: list[Factor], values: Mapping[str, float]) -> None:
    """Write factor values (in each factor's unit) into the parsed data, marking them as
    changed so that a problem they cause names the analysis, not the file's line."""
    for factor in factors:
        if factor.key in values:
            node = doc.data
            for part in factor.path[:-1]:
                node = node[part]
            node[factor.path[-1]] = factor.written(values[factor.key])
            doc.overrides[factor.path] = (
                f"sensitivity {factor.key}={factor.shown(values[factor.key])}"
            )


def range_problems(
    check: Callable[[Document], Any], doc: Document, factors: list[Factor]
) -> tuple[list[Problem], list[Factor]]:
    """Each factor's ends checked against what its key allows: validate the file with the
    low end in place, then the high end; a problem is reported at the range. Also the
    factors again, a range written in whole numbers drawn whole only where the key takes
    no fractions (a count), not where it merely was written so (a share of 1). `check`
    validates a file (raising InputError)."""
    problems = []
    settled = []
    for factor in factors:
        for end, label in ((factor.low, "low"), (factor.high, "high")):
            try:
                check(_with(doc, factor, factor.written(end)))
            except InputError as exc:
                own = join_path(factor.path)
                reasons = "; ".join(
                    dict.fromkeys(
                        f"{p.path}: {p.message}" if p.path not in ("", own) else p.message
                        for p in exc.problems
                    )
                )
                line, col = doc.value_at.get((*factor.path, "range"), (factor.line, factor.col))
                problems.append(
                    Problem(
                        factor.file,
                        line,
                        col,
                        join_path((*factor.path, "range")),
                        f"its {label} end {factor.shown(end)} is not allowed here: {reasons}",
                    )
                )
                break
        settled.append(_settle_whole(check, doc, factor))
    return problems, settled


def _with(doc: Document, factor: Factor, value: Any) -> Document:
    """A copy of the document with `value` at the factor's place."""
    trial = Document(doc.file, copy.deepcopy(doc.data), doc.value_at, doc.key_at, origin=doc.origin)
    node = trial.data
    for part in factor.path[:-1]:
        node = node[part]
    node[factor.path[-1]] = value
    return trial


def _settle_whole(check: Callable[[Document], Any], doc: Document, factor: Factor) -> Factor:
    if not factor.whole:
        return factor
    from dataclasses import replace

    try:
        check(_with(doc, factor, (factor.low + factor.high) / 2 + 0.25))
    except InputError:
        return factor  # the key takes whole numbers only
    return replace(factor, whole=False)
