"""The HTML report as a reader sees it: loaded in headless Chromium, the front page shows the headline
tables, and every figure and table of the report renders to a non-blank area.

The report is a JavaScript app: a result is shown when its eye button is clicked, which calls
``app.setView`` with the result's data URI. The test does the same call from a script appended to a
copy of the report, then screenshots the page (a PDF in an iframe, the old way, stays blank here).
"""

import base64
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.workflow, pytest.mark.report]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: width of the report's navigation bar [px] at the screenshot size (content is to its right)
NAVBAR_PX = 300
WINDOW = (1400, 1000)


def chromium(url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """Run headless Chromium on ``url`` with a fresh profile; JS timers run on virtual time."""
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    profile.mkdir()
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        "--virtual-time-budget=8000",
        *args,
        url,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def report_results(html: str) -> dict:
    """The report's ``results`` object: path -> {mime_type, data_uri, ...}."""
    m = re.search(r"var results = (\{.*?\});\s*\n", html, flags=re.S)
    assert m, "no `var results = {...}` in the report"
    return json.loads(m.group(1))


def decoded(data_uri: str) -> bytes:
    return base64.b64decode(data_uri.split("base64,", 1)[1])


def with_view(html: str, path: str, content: str) -> str:
    """The report with a script that shows result ``path`` as its eye button does (after load)."""
    script = (
        "<script>window.addEventListener('load', () => setTimeout(() => app.setView("
        f"{{content: {json.dumps(content)}, contentPath: results[{json.dumps(path)}].data_uri, "
        f"resultPath: {json.dumps(path)}}}), 200));</script>"
    )
    head, tail = html.rsplit("</body>", 1)
    return head + script + "</body>" + tail


def rendered_area(png: Path) -> float:
    """Fraction of the content area (right of the navigation bar) covered by the bounding box of
    what is drawn there (pixels off the background colour); 0 for a blank view."""
    from matplotlib.image import imread

    content = imread(png)[:, NAVBAR_PX:, :3]
    background = np.median(content.reshape(-1, 3), axis=0)
    drawn = np.abs(content - background).max(axis=-1) > 0.1
    if drawn.sum() < 100:
        return 0.0
    rows, cols = np.nonzero(drawn.any(axis=1))[0], np.nonzero(drawn.any(axis=0))[0]
    return float((rows[-1] - rows[0] + 1) * (cols[-1] - cols[0] + 1) / drawn.size)


@pytest.fixture(autouse=True)
def _needs_chromium():
    if CHROMIUM is None:
        pytest.skip("chromium not installed (apt-get install chromium): the report is not checked in a browser")


def test_report_registers_pngs_and_html_tables(report):
    results = report_results(report.read_text())
    figures = {p: r for p, r in results.items() if p.startswith("results/ci/figures/")}
    tables = {p: r for p, r in results.items() if p.startswith("results/ci/report/")}
    assert {"results/ci/figures/fig1_sm_rates.png", "results/ci/figures/fig3_limits.png"} <= set(figures)
    assert all(r["mime_type"] in ("image/png", "image/svg+xml") for r in figures.values())
    assert {f"results/ci/report/tables/{t}.html" for t in ("signal_limits", "table1", "limits_summary")} <= set(tables)
    for path, r in tables.items():
        assert r["mime_type"] == "text/html" and b"<table" in decoded(r["data_uri"]), path
    closure = sorted((report.parent / "closure").glob("*.csv"))
    assert {f"results/ci/report/closure/{p.stem}.html" for p in closure} <= set(tables)


def test_front_page_shows_headline_tables(report, tmp_path):
    dom = chromium(report.as_uri(), tmp_path, "--dump-dom").stdout
    assert 'id="nufog-headline"' in dom  # rendered by the report's app, no click needed
    headline = dom.split('id="nufog-headline"', 1)[1].split("</div>", 1)[0]
    assert headline.count("<table") == 3
    for text in ("N_lim", "PandaX-4T S2-only", "COHERENT CsI 2021", "limit at 10 MeV"):
        assert text in headline
    shot = tmp_path / "front.png"
    chromium(report.as_uri(), tmp_path, f"--screenshot={shot}")
    assert rendered_area(shot) > 0.2


def test_every_figure_and_table_renders(report, tmp_path):
    html = report.read_text()
    results = report_results(html)
    views = {p: ("img" if r["mime_type"].startswith("image/") else "html") for p, r in results.items()}
    assert sum(v == "img" for v in views.values()) >= 4
    for i, (path, content) in enumerate(sorted(views.items())):
        page = tmp_path / f"view{i}.html"
        page.write_text(with_view(html, path, content))
        shot = tmp_path / f"view{i}.png"
        chromium(page.as_uri(), tmp_path, f"--screenshot={shot}")
        area = rendered_area(shot)
        # a figure covers a good part of the content area; a table page at least its rows
        assert area > (0.2 if content == "img" else 0.02), f"{path} renders blank in Chromium ({area:.3f})"
