"""The mutation score of the last `mutmut run`, per module, with the equivalent mutants
of mutation-equivalents.txt left out of the count.

    python scripts/mutation_score.py            # a table; exit 1 if a survivor is unexplained

score = (killed + timed out) / (all - equivalent). A timed-out mutant made the tests hang
(an endless loop), which a test run notices, so it counts as killed. A survivor that is
neither killed nor listed as equivalent is printed by name.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENTS = ROOT / "mutation-equivalents.txt"
DETECTED = {"killed", "timeout"}


def statuses() -> dict[str, str]:
    """Mutant name -> status, from `mutmut results --all true`."""
    out = subprocess.run(
        ["mutmut", "results", "--all", "true"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    found = {}
    for line in out.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and "__mutmut_" in name:
            found[name] = status.strip()
    return found


def equivalents() -> dict[str, str]:
    """Mutant name -> why it changes nothing observable (lines `NAME: reason`, # comments)."""
    listed = {}
    for line in EQUIVALENTS.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, reason = line.partition(": ")
            listed[name.strip()] = reason.strip()
    return listed


def module_of(name: str) -> str:
    return re.split(r"\.x(?:ǁ|_)", name, maxsplit=1)[0]


def main() -> int:
    status = statuses()
    equivalent = equivalents()
    rows: dict[str, Counter[str]] = defaultdict(Counter)
    unexplained = []
    for name, state in sorted(status.items()):
        if name in equivalent and state not in DETECTED:
            state = "equivalent"
        elif state not in DETECTED:
            unexplained.append(f"{name}: {state}")
        rows[module_of(name)][state] += 1
    stale = sorted(n for n in equivalent if status.get(n) in DETECTED or n not in status)
    total: Counter[str] = Counter()
    head = ("module", "all", "killed", "timeout", "equiv", "left", "score")
    print(f"{head[0]:34} " + " ".join(f"{h:>7}" for h in head[1:]))
    for module, counts in sorted(rows.items()):
        total.update(counts)
        print(_row(module, counts))
    print(_row("total", total))
    for line in unexplained:
        print(f"not killed: {line}")
    for name in stale:
        print(f"listed as equivalent but killed or gone: {name}")
    return 1 if unexplained else 0


def _row(label: str, counts: Counter[str]) -> str:
    every = sum(counts.values())
    detected = counts["killed"] + counts["timeout"]
    left = every - detected - counts["equivalent"]
    base = every - counts["equivalent"]
    score = f"{100 * detected / base:.1f}%" if base else "-"
    values = (every, counts["killed"], counts["timeout"], counts["equivalent"], left, score)
    return f"{label:34} " + " ".join(f"{v:>7}" for v in values)


if __name__ == "__main__":
    sys.exit(main())
