"""Write plots/ (PNG and SVG of each figure) and a self-contained report.html.

The report is one file: figures are inline (PNG as data: URIs), styles are inline, there
is no script and nothing is fetched, so it opens offline in any browser. Every piece of
user text (policy names, notes, source titles) is escaped by Jinja2; links are kept only
for http(s) addresses.
"""

from __future__ import annotations

import base64
import io
import math
import os
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from sim.engine.result import RunResult
from sim.experiment.output import PLOT, TEMPORARY, remove_file, write_atomic
from sim.metrics import BY_NAME, CATALOGUE
from sim.report.data import ReportData
from sim.report.figures import Figure, all_figures
from sim.report.study import (
    PERIOD_METRICS,
    SWEEP_METRICS,
    before_after,
    before_after_findings,
    promotion_findings,
    sweep_differences,
    sweep_findings,
)
from sim.report.style import has_cjk_font
from sim.visible import isolated

RUN_KEY = re.compile(r"[0-9a-f]{32}")
SHA256 = re.compile(r"[0-9a-f]{64}")
TABLE_METRICS = [m.name for m in CATALOGUE if m.name != "orders"]
COMPARED = (
    "refund_issued_hours_p50",
    "money_back_hours_p50",
    "money_back_hours_p90",
    "self_cancel_share",
    "request_cancel_share",
    "seller_cancel_share",
    "failed_cancel_share",
    "seller_fault_cancel_share",
    "platform_metric_rate",
    "sellers_flagged_share",
    "buyer_money_hours_held",
)


def build_report(
    folder: Path,
    summary: dict[str, Any],
    runs: list[RunResult],
    inputs: dict[str, Any],
    meta: dict[str, Any],
) -> Path:
    """Render every figure to plots/ and the whole report to report.html."""
    import warnings

    data = ReportData(summary, inputs, runs)
    with warnings.catch_warnings():  # without a CJK font, figures drop CJK characters
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        figures = all_figures(data)
        images = {f.name: _save(f, folder / "plots") for f in figures}
    drop_other_plots(folder / "plots", {f.name for f in figures})
    by_section: dict[str, list[tuple[Figure, tuple[str, int, int]]]] = {}
    for f in figures:
        by_section.setdefault(f.section, []).append((f, images[f.name]))
    block = data.block()
    split = before_after(data)
    sweep_table = sweep_differences(data)
    present = {
        "summary": True,
        "sweep": "points" in summary,
        "change": bool(split),
        "days": "days" in by_section,
        "metrics": True,
        "refunds": True,
        "outcomes": True,
        "sellers": bool(block_bands(block)) or "sellers" in by_section,
        "seller_view": bool(summary.get("seller_view")),
        "comparisons": bool(block["comparisons"]) and summary["replications"] > 1,
        "uncertainty": bool(_uncertainty(summary)),
        "rules": True,
        "glossary": True,
        "made": True,
    }
    html = template().render(
        summary=summary,
        inputs=inputs,
        meta=meta,
        made=inputs.get("made") or {},
        block=block,
        point_note=data.point_note(),
        findings=findings(data),
        sections=[(key, SECTIONS[key]) for key, shown in present.items() if shown],
        present=present,
        figures=by_section,
        sweep_table=sweep_table,
        split=split,
        metrics=TABLE_METRICS,
        compared=COMPARED,
        bands=block_bands(block),
        catalogue=BY_NAME,
        glossary=CATALOGUE,
        rules=_rules_table(inputs),
        sources=_sources(inputs),
        cell=_cell,
        colour=data.colour,
        uncertainty=_uncertainty(summary),
        band=_band,
        points=summary.get("points") or [],
        base=data.base,
        base_is_current=data.base_is_current,
        cjk_font=has_cjk_font(),
        sweep_metrics=SWEEP_METRICS,
        period_metrics=PERIOD_METRICS,
    )
    path = folder / "report.html"
    write_atomic(path, html)
    return path


SECTIONS = {
    "summary": "Summary",
    "sweep": "The sweep",
    "change": "Before and after the rule change",
    "days": "Day by day",
    "metrics": "Metrics",
    "refunds": "Refund time",
    "outcomes": "Outcomes",
    "sellers": "Sellers' cancellation rates",
    "seller_view": "The seller's own view",
    "comparisons": "Paired comparisons",
    "uncertainty": "Input uncertainty",
    "rules": "The rules compared",
    "glossary": "Glossary of metrics",
    "made": "How this was made",
}


def block_bands(block: dict[str, Any]) -> dict[str, Any]:
    return {k: e["bands"] for k, e in block["policies"].items() if "bands" in e}


def _save(figure: Figure, plots: Path) -> tuple[str, int, int]:
    """PNG and SVG files; the PNG as a data: URI for the report, with the size to show
    it at (2/3 of its pixels: 100 px to the figure's inch, sharp on dense screens)."""
    import matplotlib.pyplot as plt

    from sim.report.style import SAVED_DPI, SHOWN_DPI

    own_folder(plots)
    buffer = io.BytesIO()
    figure.figure.savefig(buffer, format="png", bbox_inches="tight")
    png = buffer.getvalue()
    svg = io.StringIO()
    figure.figure.savefig(svg, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(figure.figure)
    write_atomic(plots / f"{figure.name}.png", png)
    write_atomic(plots / f"{figure.name}.svg", svg.getvalue())
    width, height = _png_size(png)
    shown = SHOWN_DPI / SAVED_DPI
    uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return uri, round(width * shown), round(height * shown)


def _png_size(png: bytes) -> tuple[int, int]:
    """Width and height from a PNG's header (IHDR)."""
    import struct

    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


def own_folder(folder: Path) -> None:
    """Create `folder` (plots/) if missing; refuse a symbolic link there (the figures
    would be written through it) or a file."""
    from sim.errors import InputError

    if folder.is_symlink() or (os.path.lexists(folder) and not folder.is_dir()):
        raise InputError.single(
            str(folder),
            "is a symbolic link or not a folder; the report's figures are written only "
            "into a folder of the results folder's own: remove it and draw the report again",
        )
    folder.mkdir(parents=True, exist_ok=True)


def drop_other_plots(plots: Path, names: set[str]) -> None:
    """Remove the figures of plots/ that this report does not draw (an earlier report's),
    and leftover temporary files; files cancelsim does not write stay."""
    if not plots.is_dir():  # no figure drawn
        return
    for path in plots.iterdir():
        figure = path.name.rpartition(".")[0] in names
        if (PLOT.fullmatch(path.name) and not figure) or TEMPORARY.fullmatch(path.name):
            remove_file(path)


def read_results(
    root: Path,
) -> tuple[dict[str, Any], list[RunResult], dict[str, Any], dict[str, Any]]:
    """The summary, the runs behind it, the report's inputs and the meta of a results
    folder, read as untrusted input: each file only if it is what cancelsim writes
    (`read_json`, then its form), every run of the manifest valid (`stored_run`), and the
    summary what those runs give (`check_summary`). Anything else is an `InputError` of
    one line, for `cancelsim report` to print and exit 2."""
    from sim.errors import InputError
    from sim.experiment.output import (
        WRITTEN,
        DamagedFile,
        parse_json,
        read_bytes,
        read_json,
        refuse_links,
        sha256_text,
    )
    from sim.experiment.store import stored_run
    from sim.experiment.summary import check_summary

    needed = ("summary.json", "meta.json", "manifest.json", "report_inputs.json")
    missing = [name for name in needed if not os.path.lexists(root / name)]
    if missing:
        raise InputError.single(
            str(root),
            "not a cancelsim results folder (no "
            f"{', '.join(missing)}); give the --out folder of a run",
        )
    refuse_links(root)

    def damaged(path: Path, why: object) -> InputError:
        text = " ".join(str(why).split())[:300]
        return InputError.single(str(path), f"{text}; run the experiment again")

    data, raw = {}, {}
    for name in needed:
        try:
            raw[name] = read_bytes(root / name)
            data[name] = parse_json(raw[name])
        except (DamagedFile, OSError) as exc:
            raise damaged(root / name, exc) from None
    summary, meta, manifest, inputs = (data[name] for name in needed)
    entries = manifest.get("runs") if isinstance(manifest, dict) else None
    if not isinstance(entries, list) or list(manifest) not in (["runs"], ["runs", "files"]):
        raise damaged(root / "manifest.json", 'expected {"runs": [...], "files": {...}}')
    files = manifest.get("files", {})  # (none in a folder written before they were kept)
    digests = list(files.values()) if isinstance(files, dict) else []
    well_formed = all(SHA256.fullmatch(str(v)) for v in digests)
    if not isinstance(files, dict) or (files and (list(files) != list(WRITTEN) or not well_formed)):
        what = f"files: expected the SHA-256 of {', '.join(WRITTEN)}"
        raise damaged(root / "manifest.json", what)
    runs: list[RunResult] = []
    seen: set[object] = set()
    for i, entry in enumerate(entries):
        if (
            not isinstance(entry, dict)
            or list(entry) != ["key", "policy", "replication", "point"]
            or not isinstance(entry["key"], str)
            or not RUN_KEY.fullmatch(entry["key"])
            or not isinstance(entry["policy"], str)
            or not all(type(entry[k]) is int and entry[k] >= 0 for k in ("replication", "point"))
        ):
            what = "expected key, policy, replication and point"
            raise damaged(root / "manifest.json", f"runs[{i}]: {what}")
        which = (entry["point"], entry["policy"], entry["replication"])
        if which in seen:  # (one run may serve several sweep points)
            raise damaged(root / "manifest.json", f"runs[{i}]: the run is listed twice")
        seen.add(which)
        path = root / "runs" / f"{entry['key']}.json"
        try:
            run = stored_run(read_json(path), entry["key"], legacy=True)
        except FileNotFoundError:
            raise damaged(path, "missing") from None
        except (DamagedFile, OSError, ValueError, AssertionError) as exc:
            raise damaged(path, exc) from None
        if (run.policy, run.replication) != (entry["policy"], entry["replication"]):
            raise damaged(path, "not the run that manifest.json lists under its key")
        run.point = entry["point"]
        runs.append(run)
    try:
        check_summary(summary, runs)
    except ValueError as exc:
        raise damaged(root / "summary.json", exc) from None
    if not isinstance(inputs, dict) or {"scenario", "policies"} - set(inputs):
        raise damaged(root / "report_inputs.json", "expected the scenario and its policies")
    checked = summary["points"][0] if "points" in summary else summary  # as check_summary
    if not isinstance(inputs["policies"], dict) or set(inputs["policies"]) != set(
        checked["policies"]
    ):
        raise damaged(root / "report_inputs.json", "policies: not the policies of summary.json")
    if not isinstance(meta, dict):
        raise damaged(root / "meta.json", "expected a mapping")
    for name, digest in files.items():  # last: the checks above say more
        if sha256_text(raw[name]) != digest:
            raise damaged(
                root / name, "changed after the run wrote it (manifest.json has its SHA-256)"
            )
    return summary, runs, inputs, meta


def findings(data: ReportData) -> list[str]:
    """The three or four results that matter, in numbers."""
    block = data.block()
    policies = block["policies"]
    out = [*sweep_findings(data), *before_after_findings(data), *promotion_findings(data)]
    medians = {
        k: v["metrics"]["money_back_hours_p50"]["mean"]
        for k, v in policies.items()
        if v["metrics"]["money_back_hours_p50"]["mean"] is not None
    }
    if len(medians) >= 2:
        fast = min(medians, key=lambda k: medians[k])
        slow = max(medians, key=lambda k: medians[k])
        out.append(
            f"Buyers get their money back fastest under {data.label(fast)} (median "
            f"{_hours(medians[fast])} from the start of the cancellation) and slowest "
            f"under {data.label(slow)} (median {_hours(medians[slow])})."
            + "".join(
                f" {data.label(k)}'s median has few refunds near it (2% of refunds either "
                f"side take {_hours(flat[0])} and {_hours(flat[1])}): read it with the "
                "refund-time figure."
                for k in dict.fromkeys((fast, slow))
                if (flat := policies[k]["metrics"]["money_back_hours_p50"].get("flat"))
            )
        )
    issued = {
        k: v["metrics"]["refund_issued_hours_p50"]["mean"]
        for k, v in policies.items()
        if v["metrics"]["refund_issued_hours_p50"]["mean"] is not None
    }
    if issued:
        out.append(
            "The platforms themselves issue the refund (or void the charge) in a median of "
            + ", ".join(f"{_hours(h)} under {data.label(k)}" for k, h in issued.items())
            + "; the rest of the wait is the payment rail's, or the bank's release of a "
            "card authorisation."
        )
    parts = []
    for key, entry in policies.items():
        m = {name: v["mean"] for name, v in entry["metrics"].items()}
        intent = m["cancel_intent_share"] or 0
        done = (
            (m["self_cancel_share"] or 0)
            + (m["instant_refund_share"] or 0)
            + (m["request_cancel_share"] or 0)
        )
        if intent:
            parts.append(f"{data.label(key)} {done / intent:.0%}")
    if parts:
        intent = next(iter(policies.values()))["metrics"]["cancel_intent_share"]["mean"] or 0
        out.append(
            f"Of the {intent:.1%} of orders whose buyer wanted to cancel, the share "
            f"cancelled before shipping: " + ", ".join(parts) + "."
        )
    for key, entry in policies.items():
        info = data.inputs["policies"][key]
        m = entry["metrics"]
        flagged = m["sellers_flagged_share"]["mean"]
        if info["threshold"] is not None and flagged is not None:
            over = m["sellers_over_threshold_share"]["mean"] or 0.0
            out.append(
                f"Under {data.label(key)}, {m['platform_metric_rate']['mean']:.2%} of "
                f"orders count in the {info['metric_name']}; evaluated as the platform "
                f"does ({info['evaluation']}), {flagged:.0%} of its sellers would be "
                f"flagged at least once ({over:.0%} are over the threshold on some day's "
                f"window, counting every window however few orders it holds)."
                + _band_clause(entry.get("bands", {}))
            )
    fault = [
        f"{data.label(key)} {entry['metrics']['seller_fault_cancel_share']['mean']:.2%}"
        for key, entry in policies.items()
        if entry["metrics"]["seller_fault_cancel_share"]["mean"] is not None
    ]
    if fault:
        out.append(
            "Orders that ended unshipped because of the seller side (its own cancel, not "
            "shipping in time, or a buyer who gave up waiting), defined the same way for "
            "every platform: " + ", ".join(fault) + ". Each platform's own rate counts "
            "what that platform counts; the paired comparisons leave out rates that two "
            "platforms define differently."
        )
    best = _largest_difference(block, data.label)
    if best:
        out.append(best)
    seller = _seller_view_finding(data)
    if seller:
        out.append(seller)
    return out


def _seller_view_finding(data: ReportData) -> str | None:
    """A one-seller scenario: which lever lowers the seller's metric most, per policy."""
    view = data.summary.get("seller_view")
    if not view:
        return None
    parts = []
    for key, entry in view["policies"].items():
        rate = entry["platform_metric_rate"]["mean"]
        if rate is None:
            continue
        best = entry["moves_most"]
        if best is None:
            parts.append(f"under {data.label(key)} {rate:.2%}, which no lever lowers significantly")
            continue
        lever = entry["levers"][best]
        change = lever["platform_metric_rate"]["mean"] * 100
        parts.append(
            f"under {data.label(key)} {rate:.2%}, lowered most by '{lever['label']}' "
            f"({change:+.2f} points)"
        )
    if not parts:
        return None
    return "This seller's projected platform metric: " + "; ".join(parts) + "."


def _band_clause(bands: dict[str, Any]) -> str:
    """The flagged share of every size band that has sellers."""
    parts = [
        f"{b['flagged_share']['mean']:.0%} of those with {label}"
        for label, b in bands.items()
        if b["sellers"] >= 1 and b["flagged_share"]["mean"] is not None
    ]
    return f" By size: {'; '.join(parts)}." if len(parts) > 1 else ""


def _largest_difference(block: dict[str, Any], label: Any) -> str | None:
    candidates = []
    for name, metrics in block["comparisons"].items():
        v = metrics["failed_cancel_share"]
        if v["significant"] and v["mean"] is not None:
            candidates.append((abs(v["mean"]), name, v))
    if not candidates:
        return None
    _, name, v = max(candidates, key=lambda c: c[0])
    other, reference = name.split("-vs-")
    return (
        f"Paired over replications, {other} changes the share of orders whose cancel "
        f"fails because they shipped by {v['mean'] * 100:+.2f} points against "
        f"{reference} (95% interval {v['ci95'][0] * 100:+.2f} to "
        f"{v['ci95'][1] * 100:+.2f})."
    )


def _hours(h: float) -> str:
    if h < 1:
        return f"{h * 60:.0f} minutes"
    if h < 48:
        return f"{h:.1f} hours"
    return f"{h / 24:.1f} days"


def _cell(value: dict[str, Any], unit: str) -> str:
    mean, ci = value.get("mean"), value.get("ci95")
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "n/a"
    scale, fmt = (100.0, "{:.2f}") if unit == "share" else (1.0, "{:.4g}")
    text = fmt.format(mean * scale)
    if ci and ci[0] is not None:
        text += f" [{fmt.format(ci[0] * scale)}, {fmt.format(ci[1] * scale)}]"
    return text + (" ~" if value.get("flat") else "")


# The headline metrics of the "Input uncertainty" section (run --uncertainty N).
UNCERTAINTY_METRICS = (
    "money_back_hours_p50",
    "money_back_hours_p90",
    "refund_issued_hours_p50",
    "failed_cancel_share",
    "seller_fault_cancel_share",
    "platform_metric_rate",
    "sellers_flagged_share",
    "buyer_money_hours_held",
)


def _uncertainty(summary: dict[str, Any]) -> dict[str, Any] | None:
    """The input-uncertainty block with the metrics the section shows (None without one)."""
    block = summary.get("uncertainty")
    if not block:
        return None
    compared = [m for m in COMPARED if any(m in c for c in block["comparisons"].values())]
    return {**block, "metrics": list(UNCERTAINTY_METRICS), "compared": compared}


def _band(value: dict[str, Any] | None, unit: str) -> str:
    """A 90% band over the sampled points: `lo to hi`, shares in percent (or points)."""
    band = (value or {}).get("band90")
    if not band or band[0] is None:
        return "n/a"
    scale, fmt = (100.0, "{:.2f}") if unit == "share" else (1.0, "{:.4g}")
    return f"{fmt.format(band[0] * scale)} to {fmt.format(band[1] * scale)}"


def _rules_table(inputs: dict[str, Any]) -> list[tuple[str, list[dict[str, Any] | None]]]:
    """Rule names down, policies across."""
    keys = list(inputs["policies"])
    names: list[str] = []
    for key in keys:
        for row in inputs["policies"][key]["rules"]:
            if row["rule"] not in names:
                names.append(row["rule"])
    table = []
    for name in names:
        cells = [
            next((r for r in inputs["policies"][k]["rules"] if r["rule"] == name), None)
            for k in keys
        ]
        table.append((name, [_safe_links(c) for c in cells]))
    return table


def _safe_links(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    sources = [{**s, "url": s["url"] if _is_web(s.get("url")) else None} for s in row["sources"]]
    return {**row, "sources": sources}


def _sources(inputs: dict[str, Any]) -> list[dict[str, Any]]:
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for key, policy in inputs["policies"].items():
        for row in policy["rules"]:
            for s in row["sources"]:
                seen.setdefault(
                    (key, s["id"]),
                    {**s, "policy": key, "url": s["url"] if _is_web(s["url"]) else None},
                )
    return list(seen.values())


def _is_web(url: str | None) -> bool:
    return bool(url) and str(url).lower().startswith(("https://", "http://"))


def template(name: str = "report.html") -> Any:
    """A page template of sim/report/templates, HTML-escaped."""
    env = Environment(
        loader=PackageLoader("sim.report", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=isolated,  # user text with bidi controls or RTL letters: isolated
    )
    return env.get_template(name)
