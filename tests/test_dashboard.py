"""`evolve dashboard` in a real headless Chromium (Debian's `chromium`; `.ci/run` installs it): the run list with a
damaged folder, a run's fitness chart with one point per generation, the species stack and the champion network,
a new generation shown without a reload, overlaid runs, and a server that serves nothing outside RUNS_DIR."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import sync_playwright

import evolve
from tests.run_helpers import REPO

SETTINGS = {"run.progress": False, "run.stop_on_solve": False, "population.size": 40}
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    for seed, generations in ((1, 5), (2, 3)):
        evolve.run(REPO / "configs" / "xor.toml", seed=seed, workers=0, generations=generations, overrides=SETTINGS,
                   out=runs / f"xor-s{seed}")
    (runs / "broken").mkdir()
    (runs / "broken" / "config.toml").write_text("[run\nseed = ")
    (runs / "half").mkdir()
    (runs / "half" / "metrics.jsonl").write_text('{"generation": 0, "best_fit')
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "evolve.cli", "dashboard", str(runs), "--port", str(port)],
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/entries", timeout=2)
            break
        except OSError:
            assert server.poll() is None and time.monotonic() < deadline, server.stderr.read() if server.poll() else ""
            time.sleep(0.2)
    yield url, runs
    server.terminate()
    server.wait(timeout=30)


def _status(url: str) -> int:
    try:
        return urllib.request.urlopen(url, timeout=5).status
    except urllib.error.HTTPError as error:
        return error.code


def test_the_page_draws_runs_live_in_a_real_browser(dashboard, tmp_path):
    url, runs = dashboard
    assert CHROMIUM, "the dashboard test needs Debian's chromium (apt-get install chromium; .ci/run installs it)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(url)
        page.wait_for_selector("#entries tr[data-path='xor-s1']")
        statuses = {row.get_attribute("data-path"): row.get_attribute("data-status")
                    for row in page.query_selector_all("#entries tbody tr")}
        assert statuses == {"xor-s1": "finished", "xor-s2": "finished", "broken": "damaged", "half": "damaged"}
        page.evaluate("window.__same_page = true")

        page.click("#entries tr[data-path='xor-s1'] td.path")
        page.wait_for_selector("#fitness-chart[data-points='5'] canvas")
        assert int(page.get_attribute("#species-chart", "data-series")) >= 1
        assert page.query_selector("#species-chart canvas") is not None
        page.wait_for_function("document.getElementById('champion').contentDocument?.querySelector('svg') !== null")
        title = page.frame_locator("#champion").locator("h1, h2, h3, title").first.text_content()
        assert "champion of generation 4" in (title or page.frame_locator("#champion").locator("body").inner_text())

        evolve.resume(runs / "xor-s1", generations=6)  # one more generation written into the open run
        page.wait_for_selector("#fitness-chart[data-points='6']", timeout=20_000)
        assert page.evaluate("window.__same_page") is True  # no reload
        page.wait_for_function("document.getElementById('champion-label').textContent.includes('generation 5')")

        page.check("#entries tr[data-path='xor-s1'] input")
        page.check("#entries tr[data-path='xor-s2'] input")
        page.wait_for_selector("#compare-chart[data-runs='2'] canvas")
        assert len(page.query_selector_all("#compare-table tr")) == 3
        page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
        browser.close()
    assert not errors, errors
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000


def test_the_server_serves_nothing_outside_its_folder(dashboard):
    url, runs = dashboard
    assert _status(f"{url}/api/run/curves?path=xor-s1") == 200
    for path in ("/api/run/curves?path=..", "/api/run/curves?path=../..", "/api/run/curves?path=/etc",
                 "/api/run/file?path=xor-s1&name=config.toml", "/api/run/file?path=xor-s1&name=../xor-s2/best.json",
                 "/static/../dashboard.py", "/api/run/champion?path=broken&generation=0",
                 "/api/run/curves?path=xor-s1&after=x"):
        assert _status(url + path) in (400, 404), path
    entries = json.loads(urllib.request.urlopen(f"{url}/api/entries").read())["entries"]
    assert {e["path"] for e in entries} == {"xor-s1", "xor-s2", "broken", "half"}
