"""Tables for the terminal that fit its width, and the same results as JSON, CSV or
Markdown (`--format`) for scripts and documents.

A table wider than the terminal is not cut: its value columns are split into groups that
fit, each printed with the row labels again ("columns 1-3 of 10"); a label column that
still does not fit folds onto the next line. Nothing is shortened with an ellipsis.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from sim.metrics import BY_NAME

FORMATS = ("table", "json", "csv", "markdown")


def fit_table(
    console: Console,
    title: str,
    labels: Sequence[str],
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
) -> None:
    """Print `rows` (label cells, then value cells) under `labels` and `columns` so that
    they fit the console, never truncating a cell: as they are; else with each value's
    interval under it, the second label (the unit) under the first, and no outer frame;
    else that, in groups of value columns, each group with the labels again."""
    width = console.width
    if _width(labels, columns, rows, compact=False) <= width:
        _print(console, title, labels, columns, rows, range(len(columns)), compact=False)
        return
    labels, rows = _stacked(labels, rows)
    k = min(2, len(columns))
    if len(labels) > 1 and _width(labels, columns[:k], _pick(rows, labels, range(k)), True) > width:
        # several label columns (a sweep's keys, the policy): one, a line for each
        labels, rows = (
            ["point"],
            [
                [
                    "\n".join(f"{h} = {v}" for h, v in zip(labels, row, strict=False)),
                    *row[len(labels) :],
                ]
                for row in rows
            ],
        )
    groups: list[list[int]] = [[]]
    for j in range(len(columns)):
        trial = [*groups[-1], j]
        if (
            groups[-1]
            and _width(
                labels, [columns[i] for i in trial], _pick(rows, labels, trial), compact=True
            )
            > width
        ):
            groups.append([j])
        else:
            groups[-1] = trial
    for group in groups:
        suffix = ""
        if len(groups) > 1:
            first, last = group[0] + 1, group[-1] + 1
            span = f"columns {first}-{last}" if last > first else f"column {first}"
            suffix = f" ({span} of {len(columns)})"
        _print(console, title + suffix, labels, columns, rows, group, compact=True)


def _pick(
    rows: Sequence[Sequence[str]], labels: Sequence[str], group: Sequence[int] | range
) -> list[list[str]]:
    return [[*row[: len(labels)], *[row[len(labels) + j] for j in group]] for row in rows]


def _width(
    labels: Sequence[str], columns: Sequence[str], rows: Sequence[Sequence[str]], compact: bool
) -> int:
    """The printed width of a rich table of these cells (padding 1 either side of a
    column, one rule between columns, and a frame unless compact)."""
    heads = [*labels, *columns]
    widths = [_widest(h, [r[i] for r in rows]) for i, h in enumerate(heads)]
    n = len(widths)
    return sum(widths) + (3 * (n - 1) if compact else 3 * n + 1)


def _stacked(
    labels: Sequence[str], rows: Sequence[Sequence[str]]
) -> tuple[list[str], list[list[str]]]:
    """Each value's interval on a line under its mean; a metric's unit under its name."""
    values = [[_two_lines(c) for c in row[len(labels) :]] for row in rows]
    if list(labels[-2:]) == ["metric", "unit"]:
        keep = list(labels[:-2]) + ["metric (unit)"]
        return keep, [
            [*row[: len(labels) - 2], f"{row[len(labels) - 2]}\n({row[len(labels) - 1]})", *v]
            for row, v in zip(rows, values, strict=True)
        ]
    return list(labels), [[*row[: len(labels)], *v] for row, v in zip(rows, values, strict=True)]


def _two_lines(cell: str) -> str:
    for mark in (" ± ", " ["):
        if mark in cell:
            mean, rest = cell.split(mark, 1)
            return f"{mean}\n{mark.strip()}{' ' if mark == ' ± ' else ''}{rest}"
    return cell


def _print(
    console: Console,
    title: str,
    labels: Sequence[str],
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    group: Sequence[int],
    compact: bool,
) -> None:
    table = Table(title=title, show_edge=not compact, pad_edge=not compact)
    for header in labels:
        table.add_column(header, overflow="fold")
    for j in group:
        table.add_column(columns[j], justify="right", overflow="fold")
    for row in _pick(rows, labels, group):
        table.add_row(*row)
    console.print(table)


def _widest(header: str, cells: Sequence[str]) -> int:
    lines = [*header.split("\n"), *(line for c in cells for line in str(c).split("\n"))]
    return max((len(line) for line in lines), default=0)


# ---------------------------------------------------------------------- other formats
def value_row(value: dict[str, Any] | None) -> dict[str, Any]:
    """mean, ci_low, ci_high of a summary value (None where undefined), and `flat` where
    few refunds lie near a median or percentile (the tables' ~)."""
    value = value or {}
    mean, ci = value.get("mean"), value.get("ci95")
    if isinstance(mean, float) and math.isnan(mean):
        mean = None
    return {
        "mean": mean,
        "ci_low": ci[0] if ci else None,
        "ci_high": ci[1] if ci else None,
        **({"flat": True} if value.get("flat") else {}),
    }


def run_records(summary: dict[str, Any], metrics: Sequence[str]) -> list[dict[str, Any]]:
    """One record per (sweep point,) policy or comparison, and metric: a tidy table."""
    blocks = summary.get("points") or [{"point": {}, **summary}]
    records = []
    for block in blocks:
        point = dict(block.get("point") or {})
        for key, entry in block["policies"].items():
            for m in metrics:
                records.append(
                    {
                        **point,
                        "kind": "policy",
                        "name": key,
                        "metric": m,
                        "unit": BY_NAME[m].unit,
                        **value_row(entry["metrics"].get(m)),
                        "significant": None,
                    }
                )
        for name, values in (block.get("comparisons") or {}).items():
            for m in metrics:
                v = values.get(m) or {}
                records.append(
                    {
                        **point,
                        "kind": "comparison",
                        "name": name,
                        "metric": m,
                        "unit": BY_NAME[m].unit,
                        **value_row(v),
                        "significant": bool(v.get("significant")),
                        **({"definitions_differ": True} if v.get("definitions_differ") else {}),
                    }
                )
    view = summary.get("seller_view") or {}
    for key, entry in view.get("policies", {}).items():  # a one-seller scenario's own view
        for kind, name, values in [
            ("seller_view", key, entry),
            *[("lever", f"{key}: {lever}", v) for lever, v in entry["levers"].items()],
        ]:
            for m in ("platform_metric_rate", "seller_weeks_flagged_share"):
                if m in values:
                    row = value_row(values[m])
                    lever = kind == "lever" and row["ci_low"] is not None
                    records.append(
                        {
                            "kind": kind,
                            "name": name,
                            "metric": m,
                            "unit": BY_NAME[m].unit,
                            **row,
                            "significant": (row["ci_low"] > 0 or row["ci_high"] < 0)
                            if lever
                            else None,
                        }
                    )
    uncertain = summary.get("uncertainty") or {}
    for key, bands in uncertain.get("policies", {}).items():  # run --uncertainty N
        for m in metrics:
            band = (bands.get(m) or {}).get("band90")
            if band:
                records.append(
                    {
                        "kind": "input_band90",
                        "name": key,
                        "metric": m,
                        "unit": BY_NAME[m].unit,
                        "mean": None,
                        "ci_low": band[0],
                        "ci_high": band[1],
                        "significant": None,
                    }
                )
    for block in blocks:  # sellers flagged by size band
        point = dict(block.get("point") or {})
        for key, entry in block["policies"].items():
            for label, band in (entry.get("bands") or {}).items():
                records.append(
                    {
                        **point,
                        "kind": "size_band",
                        "name": f"{key}: {label}",
                        "metric": "sellers_flagged_share",
                        "unit": "share",
                        **value_row(band.get("flagged_share")),
                        "significant": None,
                    }
                )
    return records


def render_records(
    records: list[dict[str, Any]], fmt: str, head: dict[str, Any] | None = None
) -> str:
    """`json` (with `head` fields), `csv` (a header row, then one row per record) or
    `markdown` (a pipe table)."""
    if fmt == "json":
        return json.dumps(
            {**(head or {}), "records": records}, indent=2, ensure_ascii=False, allow_nan=False
        )
    fields: list[str] = []
    for record in records:
        for name in record:
            if name not in fields:
                fields.append(name)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for record in records:
            writer.writerow({k: _csv(v) for k, v in record.items()})
        return out.getvalue().rstrip("\n")
    lines = ["| " + " | ".join(fields) + " |", "|" + "---|" * len(fields)]
    for record in records:
        lines.append("| " + " | ".join(_md(record.get(f)) for f in fields) + " |")
    return "\n".join(lines)


def _csv(value: Any) -> Any:
    return "" if value is None else value


def _md(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)  # every digit, as summary.json has it
    return str(value).replace("|", "\\|").replace("\n", " ")
