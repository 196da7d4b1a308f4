"""metrics.jsonl: one JSON object per generation, appended as each generation ends.

A crash can leave the last line torn (a partial write); reading skips it and `truncate`, which a resumed run calls
first, drops it for good. Every other change to the file is atomic.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import IO, Any

from genomes.atomic_io import write_bytes_atomic

log = logging.getLogger(__name__)


class MetricsLog:
    """Appends one line per generation; on resume, drops lines past the checkpoint so no generation repeats."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None  # open for appending while a run writes (one write call per line)

    def truncate(self, generations: int) -> None:
        """Keep the lines of the first `generations` generations (atomically: a crash keeps the old file)."""
        self.close()
        kept = [m for m in self.read() if m["generation"] < generations]
        write_bytes_atomic(self.path, "".join(json.dumps(m, allow_nan=False) + "\n" for m in kept).encode())

    def append(self, metrics: dict[str, Any]) -> None:
        """Append one line, flushed at once so a reader (the dashboard) sees every finished generation."""
        line = json.dumps(metrics, allow_nan=False) + "\n"
        if self._file is None:
            self._file = self.path.open("a")
        self._file.write(line)
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            file, self._file = self._file, None
            file.close()

    def read(self) -> list[dict[str, Any]]:
        """Every complete line; a torn or damaged line is skipped with a warning."""
        if not self.path.exists():
            return []
        records = []
        for number, line in enumerate(self.path.read_text(errors="replace").splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                record = None
            if not isinstance(record, dict) or not isinstance(record.get("generation"), int):
                log.warning("%s: line %d is torn or damaged; skipped", self.path, number)
                continue
            records.append(record)
        return records
