"""Small pieces of YAML text: scalars, flow mappings, wrapped comments, and the base
scenario's own sections copied with their comments (policy paths re-rooted).

The calibrated scenario is written as text rather than dumped, so that every number can
carry its provenance as a comment; these helpers keep that text valid YAML 1.2.
"""

from __future__ import annotations

import json
import os
import re
import textwrap
from pathlib import Path
from typing import Any

from sim.calibrate.estimate import Estimate
from sim.model.units import Duration

WIDTH = 96
_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9_ .]*|\d+(\.\d+)?\s*[a-z][a-z ]*")
_RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "~"}
_TOP_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*)\s*:")
_FILE = re.compile(r"(\bfile:\s*)([\"']?)([^\"'\s,}#]+)\2")


def scalar(value: Any) -> str:
    """One YAML scalar: numbers as written, durations with their unit, text quoted when
    it could read as something else."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return number(value)
    if isinstance(value, Duration):
        return duration(value.amount)
    text = str(value)
    if _PLAIN.fullmatch(text) and text.lower() not in _RESERVED and text == text.strip():
        return text
    return json.dumps(text, ensure_ascii=False)


def number(x: float, digits: int = 4) -> str:
    """A float with `digits` significant digits that stays a float (1.0, not 1)."""
    text = f"{x:.{digits}g}"
    return text if any(c in text for c in ".en") else text + ".0"


def duration(hours: float) -> str:
    """Hours as a short duration: 45m, 2.97h, 3.5d (4 significant digits)."""
    if hours <= 0:
        return "0h"
    if hours < 1:
        return f"{hours * 60:.4g}m"
    if hours < 72:
        return f"{hours:.4g}h"
    return f"{hours / 24:.4g}d"


def flow(value: Any) -> str:
    """A mapping or list in flow style: {dist: lognormal, median: 2h, p90: 12h}."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{scalar(k)}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return scalar(value)


def model_flow(model: Any) -> str:
    """A pydantic model (a distribution, answers) in flow style, as its YAML reads."""
    return flow(model.model_dump(mode="json", by_alias=True, exclude_none=True))


def fitted(e: Estimate, what: str = "", unit: str = "", digits: int = 3) -> str:
    """A comment's text for a fitted number: 'fitted: what: 2.39 (95% CI ...; n = ...)'."""
    lead = f"{what}: " if what else ""
    return f"fitted: {lead}{e.describe(digits, unit)}"


def comment(text: str, indent: int) -> list[str]:
    """`text` as comment lines at `indent` spaces, wrapped to WIDTH."""
    pad = " " * indent + "# "
    return textwrap.wrap(
        text, WIDTH - len(pad), initial_indent=pad, subsequent_indent=pad + "  "
    ) or [pad.rstrip()]


def base_sections(text: str) -> dict[str, list[str]]:
    """The base file's top-level sections, as their lines (comments kept); the comment
    lines just before a key belong to that key, not to the section above it."""
    lines = text.splitlines()
    starts = [(i, m.group(1)) for i, line in enumerate(lines) if (m := _TOP_KEY.match(line))]
    out: dict[str, list[str]] = {}
    for (i, key), (end, _) in zip(starts, [*starts[1:], (len(lines), "")], strict=True):
        block = lines[i:end]
        while block and (not block[-1].strip() or block[-1].startswith("#")):
            block.pop()
        out[key] = block
    return out


def list_items(block: list[str]) -> tuple[list[str], list[list[str]]]:
    """A section's head lines and its block-list items (each from its `- ` line, with the
    comment lines just above it)."""
    dash = [i for i, line in enumerate(block) if line.lstrip().startswith("- ")]
    if not dash:
        return block, []
    indent = len(block[dash[0]]) - len(block[dash[0]].lstrip())
    starts = [i for i in dash if len(block[i]) - len(block[i].lstrip()) == indent]
    starts = [_with_comments_above(block, i) for i in starts]
    ends = [*starts[1:], len(block)]
    return block[: starts[0]], [block[a:b] for a, b in zip(starts, ends, strict=True)]


def _with_comments_above(block: list[str], i: int) -> int:
    while i > 1 and block[i - 1].lstrip().startswith("#"):
        i -= 1
    return i


def rerooted(block: list[str], base_dir: Path, out_dir: Path) -> list[str]:
    """Lines with every `file: PATH` made relative to `out_dir` instead of `base_dir`."""

    def move(match: re.Match[str]) -> str:
        if match.group(3).startswith("builtin:"):  # a bundled file: found from anywhere
            return match.group(0)
        target = (base_dir / match.group(3)).resolve()
        folder = out_dir.resolve()
        try:
            shared = Path(os.path.commonpath([target, folder]))
            # relative only within a shared folder below the root: ../../../../x is no help
            relative = shared != Path(shared.anchor)
        except ValueError:  # another drive
            relative = False
        path = Path(os.path.relpath(target, folder)) if relative else target
        return f"{match.group(1)}{json.dumps(path.as_posix())}"

    return [_FILE.sub(move, line) for line in block]
