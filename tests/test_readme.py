"""The README stays true: its Python runs, its tables match the code."""

from __future__ import annotations

import re

from sim.metrics import CATALOGUE


def readme(root) -> str:
    return (root / "README.md").read_text(encoding="utf-8")


def test_python_examples_run(root, monkeypatch, tmp_path):
    monkeypatch.chdir(root)
    blocks = re.findall(r"```python\n(.*?)```", readme(root), flags=re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {"__name__": "readme"})  # noqa: S102


def test_metric_table_matches_the_catalogue(root):
    text = readme(root)
    for m in CATALOGUE:
        better = {True: "higher", False: "lower", None: "-"}[m.higher_is_better]
        assert f"| `{m.name}` | {m.unit} | {better} | {m.description} |" in text, m.name


def test_the_three_commands_are_there(root):
    text = readme(root)
    for command in (
        "python -m pip install -e '.[dev]'",
        "pytest",
        "cancelsim run                               # the main job",
    ):
        assert command in text
    ci = (root / ".ci" / "run").read_text()
    assert "python -m pip install -e '.[dev]'" in ci and "\npytest" in ci
