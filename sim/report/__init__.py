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
        runs = [
            RunResult.from_dict(
                json.loads((root / "runs" / f"{r['key']}.json").read_text(encoding="utf-8"))[
                    "result"
                ]
            )
            for r in manifest["runs"]
        ]
    except (OSError, ValueError, KeyError) as exc:
        raise InputError.single(
            str(root), f"the results folder is damaged ({exc}); run the experiment again"
        ) from None
    for run, entry in zip(runs, manifest["runs"], strict=True):
        run.point = entry["point"]
    return build_report(root, summary, runs, inputs, meta)
