"""The HTML report as a reader sees it: loaded in headless Chromium, the front page shows the headline
tables, and every figure and table of the report renders to a non-blank area.

The report is a JavaScript app: a result is shown when its eye button is clicked, which calls
``app.setView`` with the result's data URI. The tests make the same call in one Chromium that has the
report loaded (driven over the DevTools protocol), and screenshot the page after each (a PDF in an
iframe, the old way, stays blank here). One browser start-up and one load of the report serve every
view: a fresh browser per screenshot cost ~3 s of CPU each.
"""

import base64
import json
import os
import re
import select
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.workflow,
    pytest.mark.report,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="chromium not installed (apt-get install chromium): the report is not checked in a browser",
    ),
]

#: width of the report's navigation bar [px] at the screenshot size (content is to its right)
NAVBAR_PX = 300
WINDOW = (1400, 1000)
#: seconds a page gets to load, or to show a result (the report is ~5 MB of inline data)
TIMEOUT_S = 60


class Chromium:
    """Headless Chromium with one page, driven over the DevTools protocol on a pipe
    (``--remote-debugging-pipe``: commands on its fd 3, replies and events on its fd 4, JSON ending
    in a NUL byte)."""

    def __init__(self, tmp_path: Path):
        profile = tmp_path / "profile"
        profile.mkdir()
        self.stderr = open(tmp_path / "chromium.stderr", "w+")
        cmd_read, self._cmd = os.pipe()
        self._out, out_write = os.pipe()
        args = [
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
            "--remote-debugging-pipe",
        ]
        # bash puts the pipe ends on the descriptors Chromium expects (dash takes single-digit ones only)
        self.proc = subprocess.Popen(
            ["bash", "-c", f'exec "$0" "$@" 3<&{cmd_read} 4>&{out_write}', *args],
            pass_fds=(cmd_read, out_write),
            stdout=subprocess.DEVNULL,
            stderr=self.stderr,
        )
        os.close(cmd_read)
        os.close(out_write)
        self._buffer, self._id, self._events = b"", 0, []
        try:
            target = self.send("Target.createTarget", url="about:blank")["targetId"]
            self.session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
            self.send("Page.enable", self.session)
            width, height = WINDOW
            self.send("Emulation.setDeviceMetricsOverride", self.session, width=width, height=height,
                      deviceScaleFactor=1, mobile=False)  # fmt: skip
        except BaseException:
            self.close()
            raise

    def _message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._out], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(self._out, 1 << 20) if ready else None
            if not chunk:
                self.stderr.seek(0)
                why = "no answer within the time limit" if chunk is None else "Chromium closed its pipe"
                raise AssertionError(f"{why}:\n{self.stderr.read()[-2000:]}")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, session: str | None = None, **params) -> dict:
        """Run one DevTools command; its result (events that arrive meanwhile are kept)."""
        self._id += 1
        message = {"id": self._id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._cmd, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT_S
        while (reply := self._message(deadline)).get("id") != self._id:
            self._events.append(reply)
        assert "error" not in reply, f"{method}: {reply['error']}"
        return reply["result"]

    def wait_for_event(self, method: str):
        deadline = time.monotonic() + TIMEOUT_S
        while not any(e.get("method") == method and e.get("sessionId") == self.session for e in self._events):
            self._events.append(self._message(deadline))
        self._events = []

    def evaluate(self, expression: str):
        """The value of a JavaScript expression in the page (a promise is awaited)."""
        result = self.send("Runtime.evaluate", self.session, expression=expression, returnByValue=True,
                           awaitPromise=True)  # fmt: skip
        assert "exceptionDetails" not in result, f"{expression[:200]}: {result['exceptionDetails']}"
        return result["result"].get("value")

    def wait_until(self, condition: str, what: str):
        """Poll a JavaScript condition until it is true (at most TIMEOUT_S seconds)."""
        deadline = time.monotonic() + TIMEOUT_S
        while not self.evaluate(condition):
            assert time.monotonic() < deadline, f"{what} within {TIMEOUT_S} s"
            time.sleep(0.05)

    def open(self, url: str):
        self.send("Page.navigate", self.session, url=url)
        self.wait_for_event("Page.loadEventFired")

    def screenshot(self, png: Path) -> Path:
        """The viewport as PNG, after the next two frames are painted."""
        self.evaluate("new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
        png.write_bytes(base64.b64decode(self.send("Page.captureScreenshot", self.session, format="png")["data"]))
        return png

    def close(self):
        try:
            self.send("Browser.close")
        except (AssertionError, OSError):
            pass  # it may close the pipe before it answers, or be gone already
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._cmd)
        os.close(self._out)
        self.stderr.close()


class ReportPage:
    """The report, loaded once: the front page as first rendered, then each result on request."""

    def __init__(self, browser: Chromium, report: Path, tmp_path: Path):
        self.browser = browser
        browser.open(report.as_uri())
        # the report's app renders the front page (the headline tables) after load, no click needed;
        # a headline that never appears leaves the DOM without it for the test to report
        try:
            browser.wait_until("document.getElementById('nufog-headline') !== null", "the headline rendered")
        except AssertionError:
            pass
        self.front_dom = browser.evaluate("document.documentElement.outerHTML")
        self.front_png = browser.screenshot(tmp_path / "front.png")

    def show(self, path: str, content: str, png: Path) -> Path:
        """Screenshot of result ``path`` shown as its eye button does (``content``: "img" or "html")."""
        key = json.dumps(path)
        self.browser.evaluate(
            f"app.setView({{content: {json.dumps(content)}, contentPath: results[{key}].data_uri, resultPath: {key}}})"
        )
        # the element the view mounts shows this result's data (not the previous view's); images decoded
        self.browser.wait_until(
            "[...document.querySelectorAll('img, iframe')].some(el => el.getAttribute('src') === "
            f"results[{key}].data_uri && (el.tagName !== 'IMG' || (el.complete && el.naturalWidth > 0)))",
            f"the report shows {path}",
        )
        return self.browser.screenshot(png)


def report_results(html: str) -> dict:
    """The report's ``results`` object: path -> {mime_type, data_uri, ...}."""
    m = re.search(r"var results = (\{.*?\});\s*\n", html, flags=re.S)
    assert m, "no `var results = {...}` in the report"
    return json.loads(m.group(1))


def decoded(data_uri: str) -> bytes:
    return base64.b64decode(data_uri.split("base64,", 1)[1])


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


@pytest.fixture(scope="module")
def report_page(report, tmp_path_factory):
    """The shared build's report in one headless Chromium, for the tests of this module."""
    tmp_path = tmp_path_factory.mktemp("chromium")
    browser = Chromium(tmp_path)
    try:
        yield ReportPage(browser, report, tmp_path)
    finally:
        browser.close()


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


def test_front_page_shows_headline_tables(report_page):
    dom = report_page.front_dom
    assert 'id="nufog-headline"' in dom  # rendered by the report's app, no click needed
    headline = dom.split('id="nufog-headline"', 1)[1].split("</div>", 1)[0]
    assert headline.count("<table") == 3
    for text in ("N_lim", "PandaX-4T S2-only", "COHERENT CsI 2021", "limit at 10 MeV", "(90 % CL, Wilks)"):
        assert text in headline
    # combinations under their labels, as the data sets (the keys showed, e.g. "xenon_2024")
    assert "PandaX-4T + XENONnT (2024, combined)" in headline and ">xenon_2024<" not in headline
    assert rendered_area(report_page.front_png) > 0.2


def test_every_figure_and_table_renders(report, report_page, tmp_path):
    results = report_results(report.read_text())
    views = {p: ("img" if r["mime_type"].startswith("image/") else "html") for p, r in results.items()}
    assert sum(v == "img" for v in views.values()) >= 4
    for i, (path, content) in enumerate(sorted(views.items())):
        area = rendered_area(report_page.show(path, content, tmp_path / f"view{i}.png"))
        # a figure covers a good part of the content area; a table page at least its rows
        assert area > (0.2 if content == "img" else 0.02), f"{path} renders blank in Chromium ({area:.3f})"
