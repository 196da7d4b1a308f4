"""Run fuzz cases through the real CLI entry point, `evolve.cli.main`, one after another in this process.

`python -m tests.fuzz_driver CASES.json RESULTS.jsonl` reads a list of cases ({"name", "argv", "cwd"}) and appends
one JSON line per case: its exit status, what it printed on stderr, its seconds, the process's resident memory
before it and its peak during it, and the traceback of an exception that escaped `main` (a bug: the command line must never let one out). A case
that runs past the time limit is stopped by SIGALRM and recorded as such.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import signal
import sys
import time
import traceback
from pathlib import Path

LIMIT_SECONDS = 30


class TimeLimit(BaseException):
    """Raised by SIGALRM; a BaseException so that no `except Exception` of the command swallows it."""


def _alarm(signum: int, frame: object) -> None:
    raise TimeLimit()


def _reset_peak_memory() -> None:
    """Start a new peak-RSS window (Linux: writing 5 to clear_refs resets VmHWM)."""
    Path("/proc/self/clear_refs").write_text("5")


def _peak_memory_mib() -> float:
    """This process's peak resident memory since the last reset (VmHWM; unlike ru_maxrss, not inherited)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _resident_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def run_case(case: dict, main) -> dict:
    stdout, stderr = io.StringIO(), io.StringIO()
    before = _resident_mib()
    _reset_peak_memory()
    logging.root.handlers.clear()  # main's basicConfig binds sys.stderr as it is during this case
    os.chdir(case["cwd"])
    start = time.perf_counter()
    status, escaped = None, None
    signal.alarm(LIMIT_SECONDS)
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            status = main(case["argv"])
    except TimeLimit:
        escaped = f"ran past {LIMIT_SECONDS} s"
    except SystemExit as exc:
        status = exc.code
    except BaseException:  # noqa: BLE001 - exactly what the fuzz suite looks for
        escaped = traceback.format_exc()
    finally:
        signal.alarm(0)
    return {
        "name": case["name"], "argv": case["argv"], "status": status, "stderr": stderr.getvalue(),
        "seconds": time.perf_counter() - start, "escaped": escaped,
        "peak_mib": _peak_memory_mib(), "before_mib": before,
    }


def main() -> None:
    cases_path, results_path = Path(sys.argv[1]), Path(sys.argv[2])
    signal.signal(signal.SIGALRM, _alarm)
    from evolve.cli import main as cli_main

    with results_path.open("a") as out:
        for case in json.loads(cases_path.read_text()):
            out.write(json.dumps(run_case(case, cli_main)) + "\n")
            out.flush()


if __name__ == "__main__":
    main()
