"""Plots and the self-contained HTML report."""

from __future__ import annotations

import json
from pathlib import Path

from sim.errors import InputError


def rebuild(folder: str | Path) -> Path:
    """Rebuild plots/ and report.html of a results folder, without simulating again."""
    from sim.engine.result import RunResult
    from sim.report.build import build_report

    root = Path(folder)
    needed = ("summary.json", "meta.json", "manifest.json", "report_inputs.json")
    missing = [name for name in needed if not (root / name).is_file()]
    if missing:
        raise InputError.single(
            str(root),
            "not a cancelsim results folder (no "
            f"{', '.join(missing)}); give the --out folder of a run",
        )
    try:
        summary, meta, manifest, inputs = (
            json.loads((root / n).read_text(encoding="utf-8")) for n in needed
        )
        runs = []
        for entry in manifest["runs"]:
            stored = json.loads((root / "runs" / f"{entry['key']}.json").read_text("utf-8"))
            run = RunResult.from_dict(stored["result"])
            run.point = entry["point"]
            runs.append(run)
        if not isinstance(summary, dict) or not {"policies", "points"} & set(summary):
            raise ValueError("summary.json holds no policies")
        if not isinstance(inputs, dict) or {"scenario", "policies"} - set(inputs):
            raise ValueError("report_inputs.json is incomplete")
        return build_report(root, summary, runs, inputs, meta)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise InputError.single(
            str(root),
            f"the results folder is damaged or from another version ({type(exc).__name__}: "
            f"{exc}); run the experiment again",
        ) from None
