"""Runner callbacks: what happens around the loop (files, progress, logging) without being part of it.

A callback sees the run start, every generation's `GenerationRecord`, and the end with the summary; `close` is
called last in every case, errors included. `on_generation` may return True to stop the run after that generation
(it can be resumed later, like any run).
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from typing import Any

from evolve.run_progress import RunProgress
from evolve.strategy import Population, StrategyState


SCALARS = {  # metrics key -> the tag logging integrations (TensorBoard, MLflow) give it
    "best_fitness": "fitness/best", "mean_fitness": "fitness/mean", "std_fitness": "fitness/std",
    "n_species": "species/count", "compatibility_threshold": "species/compatibility_threshold",
    "best_hidden": "genome/best_hidden_nodes", "best_connections": "genome/best_connections",
    "mean_hidden": "genome/mean_hidden_nodes", "evaluations": "run/evaluations", "wall_seconds": "run/wall_seconds",
}


@dataclass
class GenerationRecord:
    """One finished generation: its metrics line, the state after `tell`, what was evaluated, and the best.json
    document this generation calls for (None: best.json stays as it is)."""

    generation: int
    metrics: dict[str, Any]
    state: StrategyState
    population: Population
    results: list[dict[str, Any]]
    best: dict[str, Any] | None
    progress: RunProgress


class Callback:
    """Base class with no-op hooks; override the ones you need."""

    def on_start(self, state: StrategyState, progress: RunProgress) -> None:
        """Before the first generation of this call (a resumed run starts at `state.generation`)."""

    def on_evaluated(self, generation: int, evaluated: int, total: int) -> None:
        """While a generation is evaluated: `evaluated` of its `total` genomes have results (after each chunk)."""

    def on_phase(self, message: str) -> None:
        """A long phase outside the generations begins (the task's final report on the best genome)."""

    def on_progress(self, message: str) -> None:
        """Routine progress from inside the task's work ("generation 3: candidate 2/12, rung 1/3: epoch 4/10: ..."):
        frequent, so show it throttled if at all."""

    def on_generation(self, record: GenerationRecord) -> bool | None:
        """After every generation; return True to stop the run here."""
        return None

    def on_end(self, summary: dict[str, Any], final: dict[str, Any]) -> None:
        """After the last generation and the task's final report (`final`, also merged into `summary`)."""

    def close(self) -> None:
        """Always called last, also when the run failed."""


class MetricsRecorder(Callback):
    """Keeps every metrics line and the latest best.json document in memory (what an in-memory run returns)."""

    def __init__(self) -> None:
        self.metrics: list[dict[str, Any]] = []
        self.best: dict[str, Any] | None = None

    def on_generation(self, record: GenerationRecord) -> None:
        self.metrics.append(record.metrics)
        if record.best is not None:
            self.best = record.best

    def on_end(self, summary: dict[str, Any], final: dict[str, Any]) -> None:
        if final and self.best is not None:
            self.best = {**self.best, "final": final}


def _best_so_far(record: GenerationRecord) -> float:
    best = record.state.best
    return record.metrics["best_fitness"] if best is None else best["fitness"]


class ProgressBar(Callback):
    """A tqdm bar on stderr: generations done of `total`, with the best fitness so far, this generation's mean and
    the species count."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.bar: Any = None
        self._drawn = time.monotonic()

    def on_start(self, state: StrategyState, progress: RunProgress) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=self.total, initial=state.generation, unit="gen", file=sys.stderr, dynamic_ncols=True)

    def on_evaluated(self, generation: int, evaluated: int, total: int) -> None:
        """Within a generation that takes a while, the genomes evaluated so far (redrawn at most twice a second)."""
        if time.monotonic() - self._drawn >= 0.5:
            self.bar.set_description_str(f"generation {generation}: {evaluated}/{total} genomes")
            self._drawn = time.monotonic()

    def on_phase(self, message: str) -> None:
        self.bar.set_description_str(message)
        self._drawn = time.monotonic()

    def on_progress(self, message: str) -> None:
        if time.monotonic() - self._drawn >= 0.5:
            self.bar.set_description_str(message)
            self._drawn = time.monotonic()

    def on_generation(self, record: GenerationRecord) -> None:
        metrics = record.metrics
        self.bar.set_description_str("", refresh=False)
        self._drawn = time.monotonic()
        self.bar.set_postfix(best=f"{_best_so_far(record):.4g}", mean=f"{metrics['mean_fitness']:.4g}",
                             species=metrics.get("n_species"), refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


PROGRESS_SECONDS = 10.0  # a plain progress line within a generation after this long without one


class ProgressLines(Callback):
    """One line per generation on stderr, plain text or JSON: for logs and pipes, where a bar's carriage returns
    garble the file. Generations are numbered from 0, as in metrics.jsonl."""

    def __init__(self, total: int, as_json: bool = False, every: float = PROGRESS_SECONDS) -> None:
        self.total, self.as_json, self.every = total, as_json, every
        self._last = time.monotonic()

    def on_evaluated(self, generation: int, evaluated: int, total: int) -> None:
        """A line within a generation once `every` seconds have passed without one (long generations only)."""
        if time.monotonic() - self._last >= self.every and evaluated < total:
            self._print({"generation": generation, "evaluated": evaluated, "of": total},
                        f"generation {generation}: {evaluated}/{total} genomes evaluated")

    def on_phase(self, message: str) -> None:
        self._print({"phase": message}, message)

    def on_progress(self, message: str) -> None:
        """A line once `every` seconds have passed without one."""
        if time.monotonic() - self._last >= self.every:
            self._print({"progress": message}, message)

    def _print(self, figures: dict[str, Any], text: str) -> None:
        print_line(json.dumps(figures) if self.as_json else text, sys.stderr)
        self._last = time.monotonic()

    def on_generation(self, record: GenerationRecord) -> None:
        metrics, progress = record.metrics, record.progress
        figures = {
            "generation": record.generation, "generations": self.total, "best": metrics["best_fitness"],
            "best_so_far": _best_so_far(record), "mean": metrics["mean_fitness"],
            "species": metrics.get("n_species"), "evaluations": progress.evaluations,
            "wall_seconds": round(progress.wall_seconds, 3), "solved": progress.solved,
        }
        species = "" if figures["species"] is None else f", {figures['species']} species"
        self._print(figures, f"generation {record.generation} ({record.generation + 1}/{self.total}): best "
                             f"{figures['best']:.6g} (so far {figures['best_so_far']:.6g}), mean {figures['mean']:.4g}"
                             f"{species}, {progress.evaluations:,} evaluations, {progress.wall_seconds:.1f} s"
                             f"{', solved' if progress.solved else ''}")


def print_line(text: str, stream: Any) -> None:
    """`text` on `stream` (sys.stdout or sys.stderr). When its reader went away (`evolve run ... | head`), that
    stream is silenced for the rest of the process instead of ending the run: the run directory is its record."""
    try:
        print(text, file=stream, flush=True)
    except BrokenPipeError:
        silenced = open(os.devnull, "w")  # noqa: SIM115 - replaces the stream for the rest of the process
        if stream is sys.stderr:
            sys.stderr = silenced
        elif stream is sys.stdout:
            sys.stdout = silenced


def progress_callback(log_format: str, total: int) -> Callback:
    """The progress display `run.log_format` names; "auto" is a bar on a terminal and plain lines otherwise."""
    if log_format == "auto":
        log_format = "bar" if sys.stderr.isatty() else "plain"
    return ProgressBar(total) if log_format == "bar" else ProgressLines(total, as_json=log_format == "json")


@dataclass
class Termination:
    """When a run stops: after `generations` generations in total, or once solved when `stop_on_solve`."""

    generations: int
    stop_on_solve: bool = True

    def done(self, state: StrategyState, progress: RunProgress) -> bool:
        return state.generation >= self.generations or (progress.solved and self.stop_on_solve)
