"""Atomic JSON files and checkpoints. No pickle: everything a run saves is JSON with a schema version."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from genomes.atomic_io import write_json_atomic

CHECKPOINT_VERSION = 1


def checkpoint_path(run_dir: Path, generation: int) -> Path:
    return run_dir / "checkpoints" / f"gen-{generation:06d}.json"


def save_checkpoint(run_dir: Path, generation: int, state: dict[str, Any], run: dict[str, Any], keep: int) -> Path:
    path = checkpoint_path(run_dir, generation)
    write_json_atomic(path, {"schema": "evolve-checkpoint", "version": CHECKPOINT_VERSION, "state": state, "run": run})
    for old in sorted(path.parent.glob("gen-*.json"))[:-keep]:
        old.unlink(missing_ok=True)
    return path


def latest_checkpoint(run_dir: Path) -> Path | None:
    found = sorted((run_dir / "checkpoints").glob("gen-*.json"))
    return found[-1] if found else None


def load_checkpoint(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    if data.get("schema") != "evolve-checkpoint" or data.get("version") != CHECKPOINT_VERSION:
        raise ValueError(f"{path}: not a checkpoint of version {CHECKPOINT_VERSION}")
    return data
