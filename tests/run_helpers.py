"""Shared helpers for tests that run whole evolutions: configs with overrides and metrics without timings."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import evolve
from evolve.config import RunConfig, load_config
from evolve.executor import Executor
from evolve.ray_executor import RayExecutor

REPO = Path(__file__).resolve().parents[1]
VOLATILE = {"wall_seconds", "latency_ms"}  # timings


def run_config(name: str, *overrides: str) -> RunConfig:
    """configs/<name>.toml with `--set` style overrides and the progress bar off."""
    return load_config(REPO / "configs" / f"{name}.toml", ["run.progress=false", *overrides])


def start_run(config: RunConfig, run_dir: Path, executor: Executor | None = None) -> dict[str, Any]:
    """A new run of `config` in `run_dir` through the public API (on `executor` when given); its summary."""
    return evolve.run(config, out=run_dir, executor=executor).summary


def resume_run(config: RunConfig, run_dir: Path, executor: Executor | None = None) -> dict[str, Any]:
    """The run in `run_dir` continued to config.run.generations; its summary."""
    return evolve.resume(run_dir, generations=config.run.generations, executor=executor).summary


def run_metrics(run_dir: Path) -> list[dict]:
    """metrics.jsonl without the keys that measure time."""
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k not in VOLATILE} for line in lines]


@contextmanager
def when_busy(executor: RayExecutor, pick: Callable[[list[tuple[str, int]]], Any], act: Callable[[Any], None]):
    """While the block runs, a thread watches the executor's busy workers ((node id, pid) pairs); the first time
    `pick` returns one, it calls `act` on it. Yields the list that receives the worker acted on."""
    acted: list[Any] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            worker = pick(executor.busy_workers())
            if worker is not None:
                act(worker)
                acted.append(worker)
                return
            time.sleep(0.002)

    thread = threading.Thread(target=watch)
    thread.start()
    try:
        yield acted
    finally:
        stop.set()
        thread.join()


def default_sigint() -> None:
    """A subprocess's preexec_fn: SIGINT as a terminal delivers it. A test suite started in the background (`cmd &`
    in a script) has SIGINT ignored, which its children inherit, so a test's Ctrl-C would never arrive."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
