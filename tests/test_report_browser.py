"""The report in a real browser: every bundled scenario's report.html, opened offline.

Headless Chromium opens a copy of each report at a narrow (800 px) and a wide (1400 px)
window. A probe script, added to the copy, measures the page once it has loaded and
writes what it found into the page, which Chromium prints (--dump-dom); console messages
come from Chromium's log (--enable-logging=stderr). The checks: every image loads,
nothing is logged, the table of contents and every in-page link land on an element,
figures and tables are numbered, nothing sticks out of the window (wide tables scroll
inside their own box), and Chinese text is drawn in glyphs, not in empty boxes. The probe
is itself tested on pages made to pass and to fail, and with fonts that lack Chinese.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sim.cli import main

# Every bundled scenario, whole: its horizon, promotions, sweep and policies (the point of
# each), with two replications. Run and report took 5 to 37 s each (global the longest),
# 1 min 40 s in all, on a 2-core machine with another job using one core (2026-11-28);
# Chromium 1.1 to 1.5 s a page; the whole file 2 min.
SCENARIOS = ("baseline", "quick", "amazon-autocancel-2020", "singles-day", "window-sweep", "global")
WIDTHS = (800, 1400)
pytestmark = pytest.mark.external  # Chromium, a process of its own

CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]+")

PROBE = r"""<script>
window.addEventListener('load', () => {
  const all = (selector) => Array.from(document.querySelectorAll(selector));
  const target = (a) => decodeURIComponent(a.getAttribute('href').slice(1));
  const found = {};

  const images = all('img');
  found.images = images.length;
  found.broken_images = images
    .filter((i) => !(i.complete && i.naturalWidth > 0))
    .map((i) => i.alt || i.src.slice(0, 60));

  const seen = new Set();
  found.duplicate_ids = [];
  for (const el of all('[id]')) {
    if (seen.has(el.id)) found.duplicate_ids.push(el.id);
    seen.add(el.id);
  }
  found.contents = all('nav#contents a[href^="#"]').map(target);
  found.dangling_links = all('a[href^="#"]').map(target)
    .filter((id) => !document.getElementById(id));
  found.sections = all('h2').map((h) => h.id);
  found.figures = all('figure').map((f) => f.id);
  found.tables = all('table').map((t) => t.id);

  // Whatever sits in a box that scrolls sideways may be wider than the window.
  const scrolls = (el) => {
    for (let a = el.parentElement; a; a = a.parentElement) {
      if (['auto', 'scroll'].includes(getComputedStyle(a).overflowX)) return true;
    }
    return false;
  };
  const root = document.documentElement;
  const viewport = root.clientWidth;
  found.window = { inner: window.innerWidth, client: viewport, scroll: root.scrollWidth };
  const wide = all('body, body *').filter(
    (el) => el.getBoundingClientRect().right > viewport + 1 && !scrolls(el));
  const wideSet = new Set(wide);
  found.overflowing = wide.length;
  found.outermost_overflowing = wide.filter((el) => !wideSet.has(el.parentElement)).map((el) => {
    const box = el.getBoundingClientRect();
    return {
      tag: el.tagName.toLowerCase(), id: el.id, class: el.className,
      text: (el.textContent || '').replace(/\s+/g, ' ').trim().slice(0, 60),
      left: box.left, right: box.right, width: box.width,
    };
  });

  // A character no installed font has is drawn as its font's .notdef box, the same box as
  // a private-use character's. Widths cannot tell them apart (Noto Sans CJK's box is 1 em
  // wide, as every CJK glyph is), so compare the drawn pixels.
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 120;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  const fontOf = (el) => {
    const s = getComputedStyle(el);
    return `${s.fontStyle} ${s.fontWeight} ${s.fontSize} ${s.fontFamily}`;
  };
  const drawn = (text, font) => {
    ctx.font = font;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.fillText(text, 10, 80);
    return ctx.getImageData(0, 0, canvas.width, canvas.height).data.join(',');
  };
  const boxed = (run, font) => {
    const box = drawn('\ue000', font);
    return Array.from(run).filter((ch) => drawn(ch, font) === box);
  };
  const cjk = /__CJK__/g;
  found.cjk_runs = [];
  found.cjk_boxed = [];
  const check = (run, el) => {
    const font = fontOf(el);
    const missing = boxed(run, font);
    if (missing.length) found.cjk_boxed.push({ text: run, missing: missing.join(''), font });
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.parentElement.closest('script, style')) continue;  // this probe, for one
    for (const run of node.data.match(cjk) || []) {
      found.cjk_runs.push(run);
      check(run, node.parentElement);
    }
  }
  check('淘宝京东', document.body);  // a Chinese policy name in the body's font

  const out = document.createElement('pre');
  out.id = 'cancelsim-probe';
  out.textContent = JSON.stringify(found);
  document.body.appendChild(out);
});
</script></body>""".replace("__CJK__", CJK.pattern)

# Only DejaVu: the fonts of a machine without a CJK font (Debian's default Chromium set).
NO_CJK_FONTS = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">
<fontconfig>
  <dir>/usr/share/fonts/truetype/dejavu</dir>
  <cachedir>{cache}</cachedir>
</fontconfig>
"""


@dataclass(frozen=True)
class Rendering:
    """What the probe found in one page at one window width, and Chromium's log."""

    width: int
    found: dict[str, Any]
    log: str

    @property
    def console(self) -> list[str]:
        return [line for line in self.log.splitlines() if "CONSOLE" in line]


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def render(
    browser: str, page: Path, width: int, scratch: Path, fonts: Path | None = None
) -> Rendering:
    """Open a probed copy of `page` in headless Chromium; everything it writes in `scratch`."""
    scratch.mkdir(parents=True, exist_ok=True)
    probed = scratch / f"probed-{width}.html"
    html = page.read_text(encoding="utf-8")
    assert html.count("</body>") == 1, "the page has no single </body> to add the probe to"
    probed.write_text(html.replace("</body>", PROBE), encoding="utf-8")
    home = scratch / "home"
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    env["XDG_CACHE_HOME"] = str(home / ".cache")
    if fonts is not None:
        env["FONTCONFIG_FILE"] = str(fonts)
    done = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--user-data-dir={scratch / f'profile-{width}'}",
            f"--window-size={width},1000",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=10000",
            "--dump-dom",
            probed.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r'<pre id="cancelsim-probe">(.*?)</pre>', done.stdout, re.S)
    assert found, f"the probe wrote nothing: {done.stderr[-2000:]}"
    return Rendering(width, json.loads(unescape(found.group(1))), done.stderr)


def no_cjk_fonts(folder: Path) -> Path:
    """A fontconfig file that finds DejaVu and nothing else."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "fonts.conf"
    config.write_text(NO_CJK_FONTS.format(cache=folder / "cache"), encoding="utf-8")
    return config


class _BodyText(HTMLParser):
    """The CJK runs of a page's body text, as a browser's text nodes hold them."""

    def __init__(self) -> None:
        super().__init__()
        self.in_body = False
        self.in_code = False  # a script or style: not text that is shown
        self.runs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.in_body = self.in_body or tag == "body"
        self.in_code = tag in ("script", "style")

    def handle_endtag(self, tag: str) -> None:
        self.in_code = False

    def handle_data(self, data: str) -> None:
        if self.in_body and not self.in_code:
            self.runs.extend(CJK.findall(data))


def cjk_runs(html: str) -> list[str]:
    parser = _BodyText()
    parser.feed(html)
    parser.close()
    return parser.runs


# --- The checks, each one sentence of what a reader would see ------------------------


def broken_images(r: Rendering) -> list[str]:
    return r.found["broken_images"]


def console_messages(r: Rendering) -> list[str]:
    failed_loads = [line for line in r.log.splitlines() if "net::ERR" in line]
    return r.console + failed_loads


def contents_faults(r: Rendering) -> list[str]:
    """Links that land nowhere, sections the contents leave out, ids used twice, and
    figures or tables not numbered in order."""
    f = r.found
    faults = [f"no element with id {i!r} (a link points to it)" for i in f["dangling_links"]]
    faults += [
        f"an <h2> without an id, or not in the contents: {i!r}"
        for i in f["sections"]
        if not i or i not in f["contents"]
    ]
    faults += [f"id {i!r} is used twice" for i in f["duplicate_ids"]]
    if not f["contents"]:
        faults.append('no <nav id="contents"> with links to the sections')
    for kind in ("figure", "table"):
        ids = f[f"{kind}s"]
        if ids != [f"{kind}-{n}" for n in range(1, len(ids) + 1)]:
            faults.append(f"{kind}s are not numbered {kind}-1, {kind}-2, ... in order: {ids}")
    return faults


def overflow_faults(r: Rendering) -> list[str]:
    """Elements that stick out of the window, outside any box that scrolls sideways."""
    window = r.found["window"]
    faults = []
    if window["scroll"] > window["inner"]:
        faults.append(f"the page is {window['scroll']} px wide in a {window['inner']} px window")
    faults += [
        f"<{e['tag']}{'#' + e['id'] if e['id'] else ''}"
        f"{'.' + e['class'].replace(' ', '.') if e['class'] else ''}> "
        f"right edge {e['right']:.0f} px, {e['width']:.0f} px wide: {e['text']!r}"
        for e in r.found["outermost_overflowing"]
    ]
    return faults


def boxed_glyphs(r: Rendering) -> list[str]:
    return [
        f"{b['text']!r} drawn as boxes ({b['missing']}) in {b['font']}"
        for b in r.found["cjk_boxed"]
    ]


def _failure(what: str, faults: list[str], r: Rendering) -> str:
    return f"{what} at {r.width} px:\n  " + "\n  ".join(faults)


# --- Every bundled scenario's report -------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> str:
    found = _chromium()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing in CI (.ci/run installs Debian's chromium)")
        pytest.skip("Chromium is not installed here")
    return found


@pytest.fixture(scope="module", params=SCENARIOS)
def report(request, browser, root, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp(request.param) / "results"
    scenario = root / "sim" / "builtin" / "scenarios" / f"{request.param}.yaml"
    result = CliRunner().invoke(main, ["run", str(scenario), "--out", str(out), "--reps", "2"])
    assert result.exit_code == 0, result.output
    return out / "report.html"


@pytest.fixture(scope="module", params=WIDTHS, ids=lambda width: f"{width}px")
def rendering(request, browser, report, tmp_path_factory) -> Rendering:
    return render(browser, report, request.param, tmp_path_factory.mktemp("browser"))


@pytest.mark.slow
def test_every_image_loads(rendering):
    assert rendering.found["images"] > 0
    broken = broken_images(rendering)
    assert not broken, _failure("images not loaded", broken, rendering)


@pytest.mark.slow
def test_the_browser_logs_nothing(rendering):
    """The report has no script: any console line, or a failed load, is a fault."""
    messages = console_messages(rendering)
    assert not messages, _failure("console messages", messages, rendering)


@pytest.mark.slow
def test_the_contents_and_every_link_land(rendering):
    faults = contents_faults(rendering)
    assert not faults, _failure("contents and anchors", faults, rendering)


@pytest.mark.slow
def test_nothing_sticks_out_of_the_window(rendering):
    faults = overflow_faults(rendering)
    what = f"{rendering.found['overflowing']} element(s) past the window's edge, outermost"
    assert not faults, _failure(what, faults, rendering)


@pytest.mark.slow
def test_chinese_text_is_drawn_in_glyphs(rendering, report):
    """Chinese rule names and sources show as characters (.ci/run installs fonts-noto-cjk)."""
    assert rendering.found["cjk_runs"] == cjk_runs(report.read_text(encoding="utf-8"))
    faults = boxed_glyphs(rendering)
    assert not faults, _failure("Chinese without a font", faults, rendering)


# --- The probe itself: it passes a sound page and names each fault of a broken one ---

PNG = (  # one black pixel
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg=="
)
STYLE = """<style>
  body { font-family: Roboto, Helvetica, Arial, "Noto Sans CJK SC", sans-serif; margin: 0;
         padding: 0 1rem; }
  .scroll { overflow-x: auto; }
</style>"""
SOUND = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">{STYLE}</head><body>
<nav id="contents"><ol><li><a href="#rules">Rules</a></li><li><a href="#made">Made</a></li>
</ol></nav>
<h2 id="rules">Rules</h2>
<figure id="figure-1"><img src="{PNG}" alt="a dot" width="40" height="40">
  <figcaption><a href="#figure-1">Figure 1.</a> A dot.</figcaption></figure>
<div class="scroll"><table id="table-1"><tr><td style="min-width: 3000px">Taobao 退款率</td>
</tr></table></div>
<h2 id="made">Made</h2><p>See <a href="#table-1">table 1</a>.</p>
</body></html>"""
BROKEN = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">{STYLE}</head><body>
<nav id="contents"><ol><li><a href="#rules">Rules</a></li><li><a href="#nowhere">Gone</a></li>
</ol></nav>
<h2 id="rules">Rules</h2><h2 id="made">Made</h2>
<figure id="figure-2"><img src="data:image/png;base64,AAAA" alt="a broken image"></figure>
<table id="rules"><tr><td>Taobao</td></tr></table>
<div id="too-wide" style="width: 2000px">a paragraph wider than any window</div>
<script>console.error('a console error');</script>
</body></html>"""


def _page(tmp_path: Path, html: str) -> Path:
    page = tmp_path / "page.html"
    page.write_text(html, encoding="utf-8")
    return page


def test_the_probe_passes_a_sound_page(browser, tmp_path):
    r = render(browser, _page(tmp_path, SOUND), 800, tmp_path / "browser")
    assert r.found["images"] == 1 and r.found["cjk_runs"] == ["退款率"]
    assert r.found["contents"] == ["rules", "made"]
    for check in (broken_images, console_messages, contents_faults, overflow_faults):
        assert check(r) == [], check.__name__
    assert boxed_glyphs(r) == []


def test_the_probe_names_each_fault(browser, tmp_path):
    r = render(browser, _page(tmp_path, BROKEN), 800, tmp_path / "browser")
    assert broken_images(r) == ["a broken image"]
    assert any("a console error" in line for line in console_messages(r))
    assert contents_faults(r) == [
        "no element with id 'nowhere' (a link points to it)",
        "an <h2> without an id, or not in the contents: 'made'",
        "id 'rules' is used twice",
        "figures are not numbered figure-1, figure-2, ... in order: ['figure-2']",
        "tables are not numbered table-1, table-2, ... in order: ['rules']",
    ]
    faults = overflow_faults(r)
    assert len(faults) == 2, faults
    assert re.fullmatch(r"the page is \d+ px wide in a 800 px window", faults[0])
    assert faults[1].startswith("<div#too-wide> right edge 2016 px, 2000 px wide: 'a paragraph")


def test_the_probe_sees_chinese_drawn_as_boxes_when_no_font_has_it(browser, tmp_path):
    """With only DejaVu (no CJK font) the very page that passed shows boxes, and is failed."""
    fonts = no_cjk_fonts(tmp_path / "fonts")
    r = render(browser, _page(tmp_path, SOUND), 800, tmp_path / "browser", fonts=fonts)
    assert r.found["cjk_runs"] == ["退款率"]
    assert [b["missing"] for b in r.found["cjk_boxed"]] == ["退款率", "淘宝京东"]
    assert overflow_faults(r) == [] and contents_faults(r) == []
