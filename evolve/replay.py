"""`evolve replay`: play a genome (a run's best by default) in its environment and write the episode as a video."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from evolve.config import ConfigError
from evolve.play import genome_and_task
from evolve.video import video_writer


def replay(
    path: Path, output: Path, env_id: str | None = None, overrides: list[str] | None = None, seed: int = 0
) -> dict[str, Any]:
    """Replay the genome at `path` (a genome file or a run directory) into `output` (.mp4 or .gif); returns the
    episode's fitness and metrics. The environment is the run's (its config.toml beside the genome) unless
    `env_id` names another; `overrides` are `env.key=value` settings."""
    genome_path = path / "best.json" if path.is_dir() else path
    genome, task, config = genome_and_task(genome_path, env_id, overrides or [])
    if not task.can_replay():
        raise ConfigError(f"env {config.env.id!r} cannot be replayed as video (it draws no frames; Mario, Atari, the "
                          f"pole tasks and Gymnasium envs with an rgb_array renderer can)")
    with video_writer(output, fps=task.replay_fps) as sink:
        result = task.replay(genome.phenotype(), np.random.default_rng(seed), sink)
    return {"fitness": result.fitness, **result.metrics}


def run_fitness(genome_path: Path) -> float | None:
    """The fitness a run recorded for the genome (best.json's), None for a bare genome file."""
    try:
        document = json.loads(Path(genome_path).read_text())
    except (OSError, ValueError, RecursionError):
        return None
    fitness = document.get("fitness") if isinstance(document, dict) else None
    return float(fitness) if isinstance(fitness, (int, float)) else None
