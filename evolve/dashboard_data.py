"""What the dashboard reads from a folder of runs: the runs and studies in it, a run's metrics and champions, a
study's trials. Read-only, and never trusting a file: a half-written, damaged or foreign folder is described as such
instead of failing, and every path stays under the root.
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Any

from evolve.metrics_log import MetricsLog

RUNNING_SECONDS = 120.0  # a run without summary.json whose metrics changed this recently counts as running
MAX_DEPTH = 3  # folders below the root searched for runs and studies
VIDEO_SUFFIXES = (".mp4", ".gif")
CURVE_KEYS = ("generation", "best_fitness", "mean_fitness", "std_fitness", "n_species", "species", "evaluations",
              "wall_seconds", "solved")


class OutsideRoot(ValueError):
    """A requested path that is not a folder under the dashboard's root."""


def resolve(root: Path, relative: str) -> Path:
    """`root / relative`, refused unless it lies under the root (no `..`, absolute paths or links out)."""
    path = (root / relative).resolve()
    if path != root.resolve() and root.resolve() not in path.parents:
        raise OutsideRoot(relative)
    return path


def list_entries(root: Path) -> list[dict[str, Any]]:
    """Every run and study folder under `root` (to MAX_DEPTH), newest first."""
    entries = []
    for folder in _folders(root, MAX_DEPTH):
        if (folder / "config.toml").is_file() or (folder / "metrics.jsonl").is_file():
            entries.append(describe_run(root, folder))
        elif (folder / "trials.csv").is_file() or (folder / "study.db").is_file():
            entries.append(describe_study(root, folder))
    return sorted(entries, key=lambda e: -e["modified"])


def _folders(root: Path, depth: int) -> list[Path]:
    found, layer = [], [root]
    for _ in range(depth):
        nxt = []
        for folder in layer:
            try:
                children = sorted(p for p in folder.iterdir() if p.is_dir() and not p.is_symlink())
            except OSError:
                continue
            for child in children:
                if child.name in ("checkpoints", "tensorboard") or child.name.startswith("."):
                    continue
                found.append(child)
                nxt.append(child)
        layer = nxt
    return found


def describe_run(root: Path, folder: Path) -> dict[str, Any]:
    """A run's line in the list: env, seed, generations, best fitness, solved, and its status (running, finished,
    stopped, or damaged with the reason). The files are read again only when one of them changed (the list is polled,
    and a long run's metrics.jsonl is megabytes)."""
    entry: dict[str, Any] = {"kind": "run", "path": folder.relative_to(root).as_posix(), "modified": _modified(folder)}
    stamp = _stamp(folder)
    cached = _RUN_CACHE.get(folder)
    if cached is None or cached[0] != stamp:
        cached = (stamp, _read_run(folder))
        if len(_RUN_CACHE) >= MAX_CACHED_RUNS:
            _RUN_CACHE.pop(next(iter(_RUN_CACHE)))
        _RUN_CACHE[folder] = cached
    entry.update(cached[1])
    if "status" not in entry:
        entry["status"] = "running" if time.time() - entry["modified"] < RUNNING_SECONDS else "stopped"
    return entry


MAX_CACHED_RUNS = 10_000
_RUN_CACHE: dict[Path, tuple[tuple[tuple[int, int], ...], dict[str, Any]]] = {}
_RUN_FILES = ("config.toml", "metrics.jsonl", "summary.json")


def _stamp(folder: Path) -> tuple[tuple[int, int], ...]:
    """(modification time, size) of each file a run's line is read from; (-1, -1) where one is missing."""
    stamps = []
    for name in _RUN_FILES:
        try:
            stat = (folder / name).stat()
            stamps.append((stat.st_mtime_ns, stat.st_size))
        except OSError:
            stamps.append((-1, -1))
    return tuple(stamps)


def _read_run(folder: Path) -> dict[str, Any]:
    """The figures of a run's line, from its files ("status" only when finished or damaged)."""
    figures: dict[str, Any] = {}
    try:
        config = _toml(folder / "config.toml")
        figures.update(env=config.get("env", {}).get("id"), seed=config.get("run", {}).get("seed"),
                       planned=config.get("run", {}).get("generations"))
        summary_path = folder / "summary.json"
        if summary_path.is_file():
            summary = json.loads(summary_path.read_text())
            figures.update(status="finished", solved=bool(summary.get("solved")), best=summary.get("best_fitness"),
                           generations=summary.get("generations"), solved_generation=summary.get("solved_generation"))
        else:
            lines = MetricsLog(folder / "metrics.jsonl").read()
            figures.update(generations=len(lines), solved=bool(lines[-1].get("solved")) if lines else False,
                           best=max((m.get("best_fitness", float("-inf")) for m in lines), default=None))
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        figures.update(status="damaged", problem=f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    return figures


def describe_study(root: Path, folder: Path) -> dict[str, Any]:
    entry: dict[str, Any] = {"kind": "study", "path": folder.relative_to(root).as_posix(), "modified": _modified(folder)}
    try:
        trials = read_trials(folder)
        values = [float(t["value"]) for t in trials if t.get("state") == "COMPLETE" and t.get("value") not in ("", None)]
        entry.update(status="study", trials=len(trials), best=min(values) if values else None)
        best_path = folder / "best.json"
        if best_path.is_file():
            best = json.loads(best_path.read_text())
            entry.update(best=best.get("best_value", entry["best"]), directions=best.get("directions"))
    except (OSError, ValueError, TypeError, KeyError, csv.Error) as exc:
        entry.update(status="damaged", problem=f"{type(exc).__name__}: {exc}")
    return entry


def run_curves(folder: Path, after: int = -1) -> list[dict[str, Any]]:
    """The metrics lines of generations after `after`, cut to what the charts draw."""
    return [{k: m[k] for k in CURVE_KEYS if k in m} for m in MetricsLog(folder / "metrics.jsonl").read()
            if m["generation"] > after]


def champion(folder: Path, generation: int) -> dict[str, Any] | None:
    """champions.jsonl's line of `generation` (None when there is none)."""
    for line in MetricsLog(folder / "champions.jsonl").read():
        if line["generation"] == generation:
            return line
    return None


def videos(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file())


def read_trials(folder: Path) -> list[dict[str, str]]:
    path = folder / "trials.csv"
    if not path.is_file():
        return []
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _toml(path: Path) -> dict[str, Any]:
    import tomllib

    if not path.is_file():
        raise ValueError("no config.toml")
    return tomllib.loads(path.read_text())


def _modified(folder: Path) -> float:
    times = [folder.stat().st_mtime]
    for name in ("metrics.jsonl", "summary.json", "trials.csv"):
        try:
            times.append((folder / name).stat().st_mtime)
        except OSError:
            pass
    return max(times)
