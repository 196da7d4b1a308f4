"""Per-generation reporting: metrics.jsonl (one JSON object per generation) and a progress bar."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm


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


class Progress:
    def __init__(self, total: int, initial: int, enabled: bool) -> None:
        self.bar = tqdm(
            total=total, initial=initial, unit="gen", file=sys.stderr, disable=not enabled, dynamic_ncols=True
        )

    def update(self, metrics: dict[str, Any]) -> None:
        self.bar.set_postfix(best=f"{metrics['best_fitness']:.4g}", species=metrics["n_species"], refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()
