"""Checkpoints: one JSON document per generation, written atomically. No pickle: everything a run saves is JSON
with a schema version.

A checkpoint holds the whole population, so it is encoded with orjson (an order of magnitude faster than the
standard library on float-heavy documents, and it writes every float in its shortest round-trip form, so a resumed
run reads back exactly the values it saved). orjson writes a non-finite float as null instead of failing; the
strategy state cannot hold one (evaluation rejects non-finite fitness, genome values are finite by construction).
"""

from __future__ import annotations

import orjson
from pathlib import Path
from typing import Any

from evolve.file_writer import FileWriter
from genomes.atomic_io import write_bytes_atomic

CHECKPOINT_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or resumed from (not JSON, another schema or version, a damaged state)."""


def checkpoint_path(run_dir: Path, generation: int) -> Path:
    return run_dir / "checkpoints" / f"gen-{generation:06d}.json"


def save_checkpoint(
    run_dir: Path, generation: int, state: dict[str, Any], run: dict[str, Any], keep: int,
    writer: FileWriter | None = None,
) -> Path:
    """Encode the checkpoint now and write it (through `writer` when given), keeping the `keep` newest."""
    path = checkpoint_path(run_dir, generation)
    document = {"schema": "evolve-checkpoint", "version": CHECKPOINT_VERSION, "state": state, "run": run}
    data = orjson.dumps(document)

    def prune() -> None:
        for old in sorted(path.parent.glob("gen-*.json"))[:-keep]:
            old.unlink(missing_ok=True)

    if writer is None:
        write_bytes_atomic(path, data)
        prune()
    else:
        writer.write(path, data, then=prune)
    return path


def checkpoints(run_dir: Path) -> list[Path]:
    """The run's checkpoints, oldest first."""
    return sorted((run_dir / "checkpoints").glob("gen-*.json"))


def latest_checkpoint(run_dir: Path) -> Path | None:
    found = checkpoints(run_dir)
    return found[-1] if found else None


def load_checkpoint(path: Path) -> dict[str, Any]:
    try:
        data = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise CheckpointError(f"{path}: not a JSON checkpoint ({exc})") from None
    if not (isinstance(data, dict) and data.get("schema") == "evolve-checkpoint"
            and data.get("version") == CHECKPOINT_VERSION):
        raise CheckpointError(f"{path}: not a checkpoint of version {CHECKPOINT_VERSION}")
    return data
