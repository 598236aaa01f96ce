"""The report: figures produced, one self-contained HTML file, escaped text, a real browser."""

from __future__ import annotations

import base64
import json
import re
import shutil
from html import unescape as html_unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

import sim
from sim.cli import main
from sim.report.build import _is_web

SMALL = ["horizon=3d", "warmup=1d"]
FIGURES = (
    "refund_time_cdf",
    "refund_time_breakdown",
    "outcome_shares",
    "seller_rates",
    "paired_differences",
)


class Page(HTMLParser):
    """Collects the tags and attributes of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


@pytest.fixture(scope="module")
def report_folder(root, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "results"
    result = CliRunner().invoke(
        main,
        [
            "run",
            str(root / "sim" / "builtin" / "scenarios" / "quick.yaml"),
            "--out",
            str(out),
            "--reps",
            "2",
            "--jobs",
            "1",
            *[f"--set={s}" for s in SMALL],
        ],
    )
    assert result.exit_code == 0, result.output
    return out


def _pixels(path: Path):
    import numpy as np
    from matplotlib.image import imread

    return np.round(imread(path)[..., :3] * 255).astype(int)


def _has_colour(pixels, hex_colour: str, at_least: int = 40) -> bool:
    import numpy as np

    rgb = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(pixels - rgb).max(axis=-1) <= 2).sum()) >= at_least


def test_every_figure_is_written_as_png_and_svg(report_folder):
    """Each figure is a real drawing: slide-sized, not blank, and its SVG twin the same."""
    import numpy as np

    for name in FIGURES:
        path = report_folder / "plots" / f"{name}.png"
        assert path.read_bytes().startswith(b"\x89PNG")
        pixels = _pixels(path)
        height, width, _ = pixels.shape
        assert width >= 600 and height >= 300, (name, width, height)
        inked = float((pixels.min(axis=-1) < 250).mean())
        assert 0.02 < inked < 0.9, (name, inked)  # neither blank nor a solid block
        assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 20, name
        svg = (report_folder / "plots" / f"{name}.svg").read_text()
        assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "</svg>" in svg
        assert svg.count("<path") > 20, name


def test_every_policy_is_drawn_in_its_platform_colour(report_folder):
    from sim.report.data import PLATFORM_COLOURS

    for name in ("refund_time_cdf", "refund_time_breakdown"):
        pixels = _pixels(report_folder / "plots" / f"{name}.png")
        for platform in ("amazon", "taobao", "jd"):
            assert _has_colour(pixels, PLATFORM_COLOURS[platform]), (name, platform)


def test_the_report_is_one_self_contained_file(report_folder):
    html = (report_folder / "report.html").read_text(encoding="utf-8")
    page = parse(html)
    images = [attrs for tag, attrs in page.tags if tag == "img"]
    assert len(images) == len(FIGURES)
    for attrs in images:
        src = attrs["src"] or ""
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(b"\x89PNG")
        assert attrs.get("alt")
    assert not [t for t, _ in page.tags if t in ("script", "link", "iframe", "object")]
    assert not [
        a
        for t, a in page.tags
        if t != "a" and any(v and re.match(r"(https?:)?//", v) for v in a.values())
    ]
    assert "@import" not in html and "url(" not in html
    contents = re.search(r'<nav id="contents">(.*?)</nav>', html, re.S)
    assert contents, "no table of contents"
    for anchor, heading in (
        ("summary", "Summary"),
        ("metrics", "Metrics"),
        ("refunds", "Refund time"),
        ("comparisons", "Paired comparisons"),
        ("rules", "The rules compared"),
        ("glossary", "Glossary of metrics"),
        ("made", "How this was made"),
    ):
        assert f'<h2 id="{anchor}">{heading}</h2>' in html
        assert f'<a href="#{anchor}">{heading}</a>' in contents.group(1)
    # figures and tables numbered in order, each with its anchor
    figures = re.findall(r'<figure id="figure-(\d+)">', html)
    assert figures == [str(i) for i in range(1, len(FIGURES) + 1)]
    tables = re.findall(r'<table[^>]* id="table-(\d+)">', html)
    assert tables == [str(i) for i in range(1, len(tables) + 1)] and len(tables) >= 5
    # every metric in the glossary: human name, id, unit, better direction, definition
    from sim.metrics import CATALOGUE

    for m in CATALOGUE:
        row = re.search(rf'<tr id="metric-{m.name}"><td>(.*?)</td>(.*?)</tr>', html, re.S)
        assert row, m.name
        assert html_unescape(row.group(1)) == m.label and f"<code>{m.name}</code>" in row.group(2)
        assert f"<td>{m.better}</td>" in row.group(2)
    assert re.search(r"Made \d{4}-\d{2}-\d{2} with cancelsim \d", html)


def test_the_summary_states_findings_in_numbers(report_folder):
    html = (report_folder / "report.html").read_text(encoding="utf-8")
    findings = re.search(r'<ul class="findings">(.*?)</ul>', html, re.S).group(1)
    items = re.findall(r"<li>(.*?)</li>", findings, re.S)
    assert 3 <= len(items) <= 6  # refunds, issue, cancels, seller metric, fault, a difference
    assert all(re.search(r"\d", item) for item in items)
    # a fastest or slowest median with few refunds near it is said to be one
    summary = json.loads((report_folder / "summary.json").read_text(encoding="utf-8"))
    flagged = [
        entry["name"]
        for entry in summary["policies"].values()
        if "flat" in entry["metrics"]["money_back_hours_p50"]
    ]
    assert ("median has few refunds near it" in items[0]) == bool(flagged), (flagged, items[0])


def test_rebuilding_gives_the_same_report(report_folder, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(report_folder, copy)
    (copy / "report.html").unlink()
    shutil.rmtree(copy / "plots")
    result = CliRunner().invoke(main, ["report", str(copy)])
    assert result.exit_code == 0, result.output
    assert (copy / "report.html").read_bytes() == (report_folder / "report.html").read_bytes()
    assert sorted(p.name for p in (copy / "plots").iterdir()) == sorted(
        p.name for p in (report_folder / "plots").iterdir()
    )


def test_report_of_a_folder_that_holds_no_results(tmp_path):
    result = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert result.exit_code == 2
    assert "not a cancelsim results folder" in result.stderr


def test_user_text_is_escaped(root, tmp_path):
    hostile = "<script>alert(1)</script> & <b>"
    results = sim.run(
        str(root / "sim" / "builtin" / "scenarios" / "quick.yaml"),
        replications=1,
        overrides=[
            *SMALL,
            f"amazon.name={hostile}",
            "amazon.sources.order-process.url=javascript:alert(1)",
        ],
    )
    results.write(tmp_path)
    html = results.report(tmp_path).read_text(encoding="utf-8")
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp;" in html
    assert "javascript:" not in html


def test_only_web_addresses_become_links():
    assert _is_web("https://example.org/a") and _is_web("http://x")
    assert not _is_web("javascript:alert(1)") and not _is_web(None) and not _is_web("")


def test_a_sweep_report_has_the_sweep_figure(root, tmp_path):
    results = sim.run(
        str(root / "sim" / "builtin" / "scenarios" / "quick.yaml"),
        replications=2,
        overrides=SMALL,
        sweep=["amazon.self_cancel.window=0m,1h"],
    )
    results.write(tmp_path)
    html = results.report(tmp_path).read_text(encoding="utf-8")
    assert (tmp_path / "plots" / "sweep.png").is_file()
    assert "At the first sweep point (amazon.self_cancel.window = 0m)" in html


def test_a_report_with_a_policy_whose_runs_all_failed(root, tmp_path, short_calendar):
    result = CliRunner().invoke(
        main,
        [
            "run",
            str(root / "sim" / "builtin" / "scenarios" / "quick.yaml"),
            "--out",
            str(tmp_path / "o"),
            "--reps",
            "2",
            "--jobs",
            "1",
            *[f"--set={s}" for s in SMALL],
            "--set",
            f"taobao.refunds.rails.bank_card.delay={short_calendar}",
        ],
    )
    assert result.exit_code == 1, result.output
    assert re.search(r"\d+ runs? failed", result.stderr) and "Traceback" not in result.output
    html = (tmp_path / "o" / "report.html").read_text(encoding="utf-8")
    assert "Failed runs (left out of every number)" in html


def test_the_rules_table_says_who_fulfils_and_when_message_cancels_count(root):
    import datetime as dt

    from sim.model.load import load_policy
    from sim.report.inputs import _policy

    def rules(name, day):
        policy = load_policy(root / "sim" / "builtin" / "policies" / f"{name}.yaml")
        return {row["rule"]: row["value"] for row in _policy(policy, day)["rules"]}

    amazon = rules("amazon", dt.date(2026, 3, 2))
    assert amazon["Fulfilled by the platform"].startswith(
        "the orders of sellers whose stock the platform holds"
    )
    assert "their buyers cancel alone before packing starts" in amazon["Fulfilled by the platform"]
    # a dated change shows as "(since D)" after the rule, a coming one as "; from D: ..."
    assert "; cancels asked only by message count; " in amazon["Seller metric"]
    assert amazon["Seller metric"].endswith(" (since 2022-05-23)")
    assert "7d window, evaluated daily, no minimum counts" in amazon["Seller metric"]
    before = rules("amazon", dt.date(2020, 9, 14))["Seller metric"]
    now, _, coming = before.partition("; from 2022-05-23: ")
    assert "message" not in now and "since" not in now
    assert "; cancels asked only by message count; " in coming
    assert rules("jd", dt.date(2026, 3, 2))["Fulfilled by the platform"].startswith(
        "every order, from the platform's own warehouses"
    )
    taobao = rules("taobao", dt.date(2026, 3, 2))
    assert taobao["Fulfilled by the platform"] == "none: every seller ships itself"
    assert "message" not in taobao["Seller metric"]
