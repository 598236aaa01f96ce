"""The sensitivity report: figures for each method, findings, factors escaped, skipped and
undefined metrics named; and the run report's input-uncertainty section."""

from __future__ import annotations

import base64
import copy
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from sim.report.sensitivity import build_sensitivity_report, factor_labels

HOSTILE = "<script>alert(1)</script> & <b>"
KEYS = (
    "sellers.types.dropshipper.cancels.out_of_stock",
    "sellers.types.home.cancels.out_of_stock",
    "buyers.intent_delay.median",
)
POLICIES = ("amazon", "taobao")
COMPARISON = "taobao-vs-amazon"
FLIP = (
    "taobao is lower (better) than amazon on money_back_hours_p50 at the base, but the sign "
    "flips at 2 of 7 points; the factor that moves it most is buyers.intent_delay.median "
    "(30m to 6h, towards its high end)."
)
HOLD = (
    "taobao is lower (better) than amazon on failed_cancel_share at every one of the 7 "
    "points tried."
)
NOISE = (
    "taobao and amazon differ on auto_cancel_share by less than the sampling noise at the "
    "base (95% interval -0.003 to 0.001): no sign to hold."
)


def _row(method: str, factor: str, size: float, sign: float) -> dict[str, Any]:
    """One effect row as `sim.experiment.sensitivity` writes it for `method`."""
    row: dict[str, Any] = {"factor": factor, "effect": size, "ci95": [size * 0.4, size * 1.6]}
    if method == "morris":
        row.update(mu=sign * size, sigma=size * 0.7)
    elif method == "oat":
        row.update(signed=sign * size, low=-sign * size / 2, high=sign * size / 2)
    else:
        row.update(first_order=size * 0.8, first_order_ci95=[size * 0.3, size * 1.2])
    return row


def _ranked(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows.sort(key=lambda r: -r["effect"])
    for rank, row in enumerate(rows, 1):
        low, high = row["ci95"]
        row.update(rank=rank, negligible=bool(row["effect"] == 0 or low <= 0 <= high))
    return rows


def _stage(method: str, keys: tuple[str, ...]) -> dict[str, Any]:
    """Effects on two metrics: money_back_hours_p50 moves, auto_cancel_share does not."""
    targets = [*POLICIES, COMPARISON]
    effects: dict[str, Any] = {"money_back_hours_p50": {}, "auto_cancel_share": {}}
    for t, target in enumerate(targets):
        effects["money_back_hours_p50"][target] = _ranked(
            [
                _row(method, k, (0.3 if method == "sobol" else 12.0) / (i + 1 + t), (-1) ** i)
                for i, k in enumerate(keys)
            ]
        )
        flat = [_row(method, k, 0.0, 1) for k in keys]
        for row in flat:
            row["ci95"] = [0.0, 0.0]
        effects["auto_cancel_share"][target] = _ranked(flat)
    return {
        "method": method,
        "points": 7,
        "factors": list(keys),
        "effects": effects,
        "base": {
            "money_back_hours_p50": {"amazon": 96.0, "taobao": 2.0, COMPARISON: -94.0},
            "auto_cancel_share": {"amazon": 0.001, "taobao": 0.0, COMPARISON: -0.001},
        },
        "findings": [
            {"comparison": COMPARISON, "metric": "money_back_hours_p50", "base": -94.0,
             "points": 7, "flipped": 2, "holds": False, "range": [-100.0, 3.0],
             "factor": {"key": KEYS[2], "towards": "high", "range": "30m to 6h"}, "text": FLIP},
            {"comparison": COMPARISON, "metric": "failed_cancel_share", "base": -0.01,
             "points": 7, "flipped": 0, "holds": True, "range": [-0.02, -0.001], "text": HOLD},
            {"comparison": COMPARISON, "metric": "auto_cancel_share", "base": -0.001,
             "points": 7, "flipped": 3, "holds": None, "range": [-0.002, 0.001],
             "base_ci95": [-0.003, 0.001], "text": NOISE},
        ],
        "undefined": {"sellers_flagged_share": {"taobao": "not defined for this policy"}},
    }  # fmt: skip


def summary(method: str) -> dict[str, Any]:
    """A small hand-written sensitivity.json of `method` (sobol: screening, then sobol)."""
    stages = (
        {"oat": _stage("oat", KEYS)} if method == "oat" else {"screening": _stage("morris", KEYS)}
    )
    if method == "sobol":
        stages["sobol"] = _stage("sobol", KEYS[:2])
    return {
        "scenario": "tiny",
        "method": method,
        "seed": 7,
        "replications": 2,
        "metrics": ["money_back_hours_p50", "auto_cancel_share"],
        "factors": [
            {"key": k, "value": "1", "low": "0.5", "high": "2", "dist": "uniform",
             "why": HOSTILE if i == 0 else f"reason {i}", "where": f"tiny.yaml:{i + 1}:3"}
            for i, k in enumerate(KEYS)
        ],
        "targets": [*POLICIES, COMPARISON],
        "stages": stages,
    }  # fmt: skip


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    page = Page()
    page.feed(html)
    page.close()
    return page.tags


FIGURES = {
    "morris": {"tornado_money_back_hours_p50", "morris_mu_sigma"},
    "oat": {"tornado_money_back_hours_p50"},
    "sobol": {"tornado_money_back_hours_p50", "morris_mu_sigma"},
}


@pytest.fixture(scope="module", params=sorted(FIGURES))
def built(request, tmp_path_factory) -> tuple[str, Path, str]:
    method = request.param
    folder = tmp_path_factory.mktemp(method)
    path = build_sensitivity_report(folder, summary(method))
    assert path == folder / "report.html"
    return method, folder, path.read_text(encoding="utf-8")


@pytest.mark.slow
def test_every_figure_the_report_names_is_a_png_in_plots(built):
    method, folder, html = built
    found = tags(html)
    images = [a for t, a in found if t == "img"]
    links = [a["href"] for t, a in found if t == "a" and (a.get("href") or "").endswith(".png")]
    assert {Path(h).stem for h in links} == FIGURES[method]
    assert len(images) == len(links)
    for href in links:
        assert href.startswith("plots/")
        assert (folder / href).read_bytes().startswith(b"\x89PNG")
        assert (folder / href).with_suffix(".svg").is_file()
    for attrs in images:  # self-contained: the same PNGs inline
        src = attrs["src"] or ""
        assert src.startswith("data:image/png;base64,") and attrs.get("alt")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(b"\x89PNG")
    assert not [t for t, _ in found if t in ("script", "link", "iframe", "object")]
    assert sorted(p.name for p in (folder / "plots").iterdir()) == sorted(
        f"{name}.{ext}" for name in FIGURES[method] for ext in ("png", "svg")
    )


@pytest.mark.slow
def test_findings_are_grouped_into_flips_and_holds(built):
    method, _, html = built
    flips = re.findall(r'<ul class="findings flips">(.*?)</ul>', html, re.S)
    holds = re.findall(r'<ul class="findings">(.*?)</ul>', html, re.S)
    noise = re.findall(r'<ul class="findings noise">(.*?)</ul>', html, re.S)
    stages = 2 if method == "sobol" else 1
    assert len(flips) == len(holds) == len(noise) == stages
    assert all(FLIP in f and HOLD not in f and NOISE not in f for f in flips)
    assert all(HOLD in h and FLIP not in h and NOISE not in h for h in holds)
    assert all(NOISE in n and FLIP not in n and HOLD not in n for n in noise)
    text = " ".join(html.split())
    assert "<strong>every point tried</strong>" in text
    assert "not every possible combination of the ranges" in text


@pytest.mark.slow
def test_factors_and_their_reasons_are_escaped(built):
    _, _, html = built
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;" in html
    for key in KEYS:
        assert f"<code>{key}</code>" in html
    assert "shown as dropshipper.cancels.out_of_stock" in html
    assert "tiny.yaml:2:3" in html


@pytest.mark.slow
def test_skipped_and_undefined_metrics_are_named(built):
    method, _, html = built
    assert re.search(r"Not drawn</strong>: <code>auto_cancel_share</code>", html)
    assert "tornado_auto_cancel_share" not in html
    assert re.search(
        r"<td><code>sellers_flagged_share</code></td><td>taobao</td><td>not defined for this "
        r"policy</td>",
        html,
    )


@pytest.mark.slow
def test_each_method_draws_its_own_tornado(tmp_path):
    """Morris: bars hatched where mu < 0; oat: both ends of the range; sobol: ST and S1."""
    import matplotlib.pyplot as plt

    from sim.report.sensitivity import View, tornado

    for method, stage_name in (("morris", "screening"), ("oat", "oat"), ("sobol", "sobol")):
        data = summary(method)
        view = View(data)
        figure = tornado(view, data["stages"][stage_name], "money_back_hours_p50")
        ax = figure.figure.axes[0]  # amazon
        bars = [p for p in ax.patches if p.get_width() != 0]
        if method == "morris":
            assert len(bars) == 3
            assert [bool(p.get_hatch()) for p in bars] == [False, True, False]  # mu's sign
            assert any("hours" in a.get_xlabel() for a in figure.figure.axes)
        elif method == "oat":
            assert len(bars) == 6  # a low and a high bar per factor
            assert sorted(round(p.get_width(), 3) for p in bars) == [-6, -3, -2, 2, 3, 6]
        else:
            assert len(bars) == 4  # ST and S1 of the two kept factors
        assert figure.caption.startswith("Largest for a policy: ")
        plt.close(figure.figure)


def test_factor_labels_are_short_unique_and_wrapped():
    labels = factor_labels(
        [
            "sellers.types.dropshipper.cancels.out_of_stock",
            "sellers.types.home.cancels.out_of_stock",
            "taobao.refunds.rails.bank_card.delay",
            "buyers.cancel_intent",
            "amazon.cancellation.request.seller_response.auto_approve_after",
        ]
    )
    flat = {k: v.replace("\n", "") for k, v in labels.items()}
    assert flat["sellers.types.dropshipper.cancels.out_of_stock"] == (
        "dropshipper.cancels.out_of_stock"
    )
    assert flat["taobao.refunds.rails.bank_card.delay"] == "taobao.refunds.bank_card.delay"
    assert flat["buyers.cancel_intent"] == "buyers.cancel_intent"
    assert (
        flat["amazon.cancellation.request.seller_response.auto_approve_after"]
        == "amazon…seller_response.auto_approve_after"
    )
    assert len(set(flat.values())) == len(flat)
    assert all(len(line) <= 26 for v in labels.values() for line in v.split("\n"))
    # two keys that would shorten alike keep their full names
    same = factor_labels(["sellers.types.a.x", "sellers.a.x"])
    assert same["sellers.a.x"].replace("\n", "") == "sellers.a.x"


# --- a real analysis, and the run report's input-uncertainty section ---------------


def _scenario(root: Path, folder: Path) -> Path:
    """quick.yaml (with the scenario it extends merged in) as one file, with absolute
    policy paths and two declared ranges of our own."""
    import yaml

    from sim.model.load import read_scenario

    data = read_scenario(root / "sim" / "builtin" / "scenarios" / "quick.yaml").data
    data.pop("extends", None)
    for entry in data["policies"]:
        entry["file"] = str((root / "sim" / "builtin" / "scenarios" / entry["file"]).resolve())
    data["horizon"], data["warmup"] = "3d", "1d"
    data["buyers"]["cancel_intent"] = {"value": 0.06, "range": [0.02, 0.12], "why": HOSTILE}
    data["buyers"]["good_record"] = {"value": 0.8, "range": [0.5, 1.0], "why": "a guess"}
    path = folder / "tiny.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.slow
def test_a_real_oat_analysis_gives_a_report(root, tmp_path):
    import sim.analysis as analysis

    result = analysis.sensitivity(
        _scenario(root, tmp_path),
        method="oat",
        factors=["buyers.cancel_intent", "buyers.good_record"],
        metrics=["failed_cancel_share", "auto_cancel_share"],
        replications=1,
        jobs=1,
    )
    out = tmp_path / "out"
    result.write(out)
    html = result.report(out).read_text(encoding="utf-8")
    assert result.summary["stages"]["oat"]["findings"]
    for finding in result.summary["stages"]["oat"]["findings"]:
        assert finding["text"].replace("'", "&#39;") in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    assert (out / "plots" / "tornado_failed_cancel_share.png").read_bytes()[:4] == b"\x89PNG"


@pytest.fixture(scope="module")
def uncertain_run(root, tmp_path_factory):
    import sim
    import sim.analysis as analysis

    folder = tmp_path_factory.mktemp("uncertain")
    results = sim.run(str(_scenario(root, folder)), replications=2, jobs=1)
    plain = copy.deepcopy(results.summary)
    analysis.uncertainty(results, 3, jobs=1)
    return results, plain, folder


@pytest.mark.slow
def test_the_input_uncertainty_section_only_when_asked(uncertain_run):
    results, plain, folder = uncertain_run
    with_band = folder / "with"
    results.write(with_band)
    html = results.report(with_band).read_text(encoding="utf-8")
    assert '<h2 id="uncertainty">Input uncertainty</h2>' in html
    assert (with_band / "plots" / "uncertainty_bands.png").read_bytes()[:4] == b"\x89PNG"
    block = results.summary["uncertainty"]
    band = block["policies"]["amazon"]["failed_cancel_share"]["band90"]
    assert f"{band[0] * 100:.2f} to {band[1] * 100:.2f}" in html
    assert re.search(r"(holds|sign changes|zero at every point)</td>", html)
    section = html.split('<h2 id="uncertainty">Input uncertainty</h2>', 1)[1].split("<h2", 1)[0]
    assert "<code>buyers.cancel_intent</code> 0.02 to 0.12" in section
    assert "<script>" not in html

    without = folder / "without"
    results.summary = plain
    results.write(without)
    html = results.report(without).read_text(encoding="utf-8")
    assert "Input uncertainty" not in html
    assert not (without / "plots" / "uncertainty_bands.png").exists()
    assert json.loads((without / "summary.json").read_text()).get("uncertainty") is None
