"""The run directory as a Runner callback: config.toml, metrics.jsonl, champions.jsonl, best.json, checkpoints/
and summary.json.

Every generation appends its metrics line (with its species: key, size, best and mean fitness) and its champion's
genome to champions.jsonl and replaces best.json when the generation changed it. A checkpoint (the strategy state
and the run progress) is written once `checkpoint_seconds` have passed since the last one, and always for the last
generation, whether the run ends, is interrupted or fails: fast generations are not slowed by encoding the whole
population each time, and a hard crash loses at most those seconds of work. best.json and the checkpoint are
encoded on the loop's thread and written atomically on a writer thread, their fsyncs overlapping the next
generation. A run resumed from a checkpoint first drops the metrics and champion lines past it, so no generation is
recorded twice and the generations in between are reproduced exactly.
"""

from __future__ import annotations

import copy
import json
import logging
import time
from pathlib import Path
from typing import Any

from evolve.callbacks import Callback, GenerationRecord
from evolve.checkpoint import CheckpointError, checkpoints, load_checkpoint, save_checkpoint
from evolve.file_writer import FileWriter
from evolve.metrics_log import MetricsLog
from evolve.run_progress import RunProgress
from evolve.strategy import Strategy, StrategyState
from genomes.atomic_io import json_bytes, write_bytes_atomic, write_json_atomic


log = logging.getLogger(__name__)
RUN_FILES = ("config.toml", "metrics.jsonl", "champions.jsonl", "best.json", "summary.json", "checkpoints",
             "tensorboard")


class RunDirectory(Callback):
    """Writes one run's files under `path`. `config_toml` is the resolved config, written when the run starts."""

    def __init__(self, path: Path, strategy: Strategy[Any], config_toml: str, keep_checkpoints: int,
                 checkpoint_seconds: float = 0.0) -> None:
        self.path, self.strategy = Path(path), strategy
        self.config_toml, self.keep, self.checkpoint_seconds = config_toml, keep_checkpoints, checkpoint_seconds
        # the newest generation not checkpointed yet: its state (never changed in place) and run progress
        self.pending: tuple[StrategyState, dict[str, Any]] | None = None
        self.last_checkpoint = 0.0
        self.metrics_log = MetricsLog(self.path / "metrics.jsonl")
        self.champions_log = MetricsLog(self.path / "champions.jsonl")
        self.writer: FileWriter | None = None

    def on_start(self, state: StrategyState, progress: RunProgress) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(self.path / "config.toml", self.config_toml.encode())
        for generation_log in (self.metrics_log, self.champions_log):
            if state.generation == 0:
                generation_log.path.write_text("")
            else:
                generation_log.truncate(state.generation)
        self.writer = FileWriter()
        self.last_checkpoint = time.monotonic()

    def on_generation(self, record: GenerationRecord) -> None:
        assert self.writer is not None
        if record.best is not None:
            self.writer.write(self.path / "best.json", json_bytes(record.best))
        self.metrics_log.append(record.metrics)
        self.champions_log.append(champion_line(record))
        self.pending = (record.state, copy.deepcopy(record.progress.to_dict()))  # progress changes in place
        if time.monotonic() - self.last_checkpoint >= self.checkpoint_seconds:
            self._checkpoint()

    def _checkpoint(self) -> None:
        """Write the pending generation's checkpoint, if any."""
        if self.pending is None or self.writer is None:
            return
        state, progress = self.pending
        self.pending = None
        save_checkpoint(self.path, state.generation, self.strategy.state_to_dict(state), progress, self.keep,
                        self.writer)
        self.last_checkpoint = time.monotonic()

    def on_end(self, summary: dict[str, Any], final: dict[str, Any]) -> None:
        self._checkpoint()
        self._close_writer()
        best_path = self.path / "best.json"
        if final and best_path.is_file():
            document = json.loads(best_path.read_text())
            document.update(weights=final.get("weights"), final=final)
            write_json_atomic(best_path, document)
        write_json_atomic(self.path / "summary.json", summary)

    def close(self) -> None:
        """After on_end, or when the run was interrupted or failed: the last whole generation is still saved."""
        try:
            self._checkpoint()
        finally:
            self._close_writer()

    def _close_writer(self) -> None:
        self.metrics_log.close()
        self.champions_log.close()
        if self.writer is not None:
            writer, self.writer = self.writer, None
            writer.close()

    def metrics(self) -> list[dict[str, Any]]:
        return self.metrics_log.read()

    def best(self) -> dict[str, Any] | None:
        path = self.path / "best.json"
        return json.loads(path.read_text()) if path.is_file() else None


def champion_line(record: GenerationRecord) -> dict[str, Any]:
    """champions.jsonl's line for a generation: its fittest genome (ties to the lowest id, as `best_id`)."""
    population = record.population
    index = max(range(len(population)), key=lambda i: (record.results[i]["fitness"], -population.ids[i]))
    return {"generation": record.generation, "id": population.ids[index],
            "fitness": float(record.results[index]["fitness"]), "genome": population.genomes[index].to_dict()}


def read_resume_point(strategy: Strategy[Any], run_dir: Path) -> tuple[StrategyState, RunProgress] | None:
    """The strategy state and run progress of the run's newest intact checkpoint (None when it has none). A damaged
    newest checkpoint is skipped with a warning for an older one (the run then repeats the generations between,
    exactly); when none is intact, the newest one's CheckpointError is raised. Call it before starting workers."""
    paths = checkpoints(run_dir)
    first_error: CheckpointError | None = None
    for index in reversed(range(len(paths))):
        try:
            return read_checkpoint(strategy, paths[index])
        except CheckpointError as exc:
            first_error = first_error or exc
            if index > 0:
                log.warning("%s; trying the checkpoint before it", exc)
    if first_error is not None:
        raise first_error
    return None


def read_checkpoint(strategy: Strategy[Any], path: Path) -> tuple[StrategyState, RunProgress]:
    data = load_checkpoint(path)
    try:
        state = strategy.state_from_dict(data["state"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: cannot resume from this checkpoint: {exc}") from None
    return state, RunProgress.from_checkpoint(data, path)
