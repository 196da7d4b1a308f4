"""How the dashboard holds up with a long run and many runs: load times and the server's memory.

    python benchmarks/dashboard_load.py [--generations 1000] [--runs 20] [--json]

Makes a folder of real runs (one XOR run of --generations generations at population 100 and compatibility
threshold 1.5 that never stops on solving, and --runs - 1 runs of 20 generations), starts `evolve dashboard` on it
as its own process, and measures: the run list (/api/entries) first, when it reads every run's files, then again
(median of 5; unchanged runs come from the server's cache), the long run's whole curves, the page in headless
Chromium from navigation until the long run's fitness chart is drawn with every point, the same after a reload
(warm), and the server's resident memory (VmRSS) after all of it. Needs Debian's chromium and playwright (the dev
extra).
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import evolve  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = {"run.progress": False, "run.stop_on_solve": False}


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _timed_get(url: str) -> tuple[float, int]:
    started = time.perf_counter()
    body = urllib.request.urlopen(url, timeout=60).read()
    return time.perf_counter() - started, len(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generations", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    runs = Path(tempfile.mkdtemp(prefix="evolve-dashboard-"))
    try:
        started = time.perf_counter()
        # population 100, threshold 1.5: with the config's settings the genomes of a run that keeps evolving past its
        # solution grow to hundreds of nodes, and making the run takes longer than measuring it
        evolve.run(ROOT / "configs" / "xor.toml", seed=0, workers=0, generations=args.generations,
                   overrides={**SETTINGS, "population.size": 100, "species.compatibility_threshold": 1.5},
                   out=runs / "long")
        for seed in range(1, args.runs):
            evolve.run(ROOT / "configs" / "xor.toml", seed=seed, workers=0, generations=20, overrides=SETTINGS,
                       out=runs / f"short-s{seed}")
        made = time.perf_counter() - started
        print(f"made {args.runs} runs in {made:.0f} s", file=sys.stderr, flush=True)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = subprocess.Popen([sys.executable, "-m", "evolve.cli", "dashboard", str(runs), "--port", str(port)],
                                  cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            while True:
                try:
                    urllib.request.urlopen(f"{url}/", timeout=2)
                    break
                except OSError:
                    time.sleep(0.2)
            first_entries = _timed_get(f"{url}/api/entries")[0]  # reads every run's files
            entries = [_timed_get(f"{url}/api/entries")[0] for _ in range(5)]  # unchanged runs come from the cache
            curves = [_timed_get(f"{url}/api/run/curves?path=long") for _ in range(5)]
            with sync_playwright() as playwright:
                chromium = shutil.which("chromium") or shutil.which("chromium-browser")
                browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                loads = []
                for _ in range(3):
                    started = time.perf_counter()
                    page.goto(url)
                    page.click("#entries tr[data-path='long'] td.path", timeout=60_000)
                    page.wait_for_selector(f"#fitness-chart[data-points='{args.generations}'] canvas", timeout=120_000)
                    page.wait_for_selector("#species-chart canvas")
                    loads.append(time.perf_counter() - started)
                browser.close()
            rss = _rss_mib(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
        result = {
            "generations": args.generations, "runs": args.runs, "seconds_to_make_runs": round(made, 1),
            "entries_first_s": round(first_entries, 4), "entries_median_s": round(statistics.median(entries), 4),
            "long_run_curves_median_s": round(statistics.median(t for t, _ in curves), 4),
            "long_run_curves_bytes": curves[0][1],
            "page_to_full_chart_first_s": round(loads[0], 3), "page_to_full_chart_median_s": round(
                statistics.median(loads), 3),
            "server_rss_mib": round(rss, 1),
        }
    finally:
        shutil.rmtree(runs, ignore_errors=True)
    for key, value in result.items():
        print(f"{key}: {value}")
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
