"""Shared helpers for tests that run whole evolutions: configs with overrides and metrics without timings."""

from __future__ import annotations

import json
from pathlib import Path

from evolve.config import RunConfig, load_config

REPO = Path(__file__).resolve().parents[1]
VOLATILE = {"wall_seconds"}


def run_config(name: str, *overrides: str) -> RunConfig:
    """configs/<name>.toml with `--set` style overrides and the progress bar off."""
    return load_config(REPO / "configs" / f"{name}.toml", ["run.progress=false", *overrides])


def run_metrics(run_dir: Path) -> list[dict]:
    """metrics.jsonl without the keys that measure time."""
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k not in VOLATILE} for line in lines]
