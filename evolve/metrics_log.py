"""metrics.jsonl: one JSON object per generation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class MetricsLog:
    """Appends one line per generation; on resume, drops lines past the checkpoint so no generation repeats."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def truncate(self, generations: int) -> None:
        if not self.path.exists():
            return
        kept = [line for line in self.path.read_text().splitlines() if line.strip()]
        kept = [line for line in kept if json.loads(line)["generation"] < generations]
        self.path.write_text("".join(line + "\n" for line in kept))

    def append(self, metrics: dict[str, Any]) -> None:
        with self.path.open("a") as f:
            f.write(json.dumps(metrics, allow_nan=False) + "\n")

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]
