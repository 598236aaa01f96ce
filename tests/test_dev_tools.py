"""The pinned development tools pass on the code as it is (pyproject.toml's dev extra)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.external

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "--no-cache", "."],
        ["ruff", "format", "--no-cache", "--check", "."],
        ["mypy", "sim"],
    ],
    ids=["ruff-check", "ruff-format", "mypy"],
)
def test_the_pinned_tool_passes(command: list[str], tmp_path: Path) -> None:
    if command[0] == "mypy":
        command = [*command, "--cache-dir", str(tmp_path / "mypy")]  # nothing in the checkout
    done = subprocess.run(
        [sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
