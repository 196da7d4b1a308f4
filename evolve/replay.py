"""`evolve replay`: play a genome (a run's best by default) in its environment and write the episode as a video."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from evolve.config import ConfigError, RunConfig, apply_override, load_config, parse_config
from evolve.video import video_writer
from genomes.export import load_genome


def replay(
    path: Path, output: Path, env_id: str | None = None, overrides: list[str] | None = None, seed: int = 0
) -> dict[str, Any]:
    """Replay the genome at `path` (a genome file or a run directory) into `output` (.mp4 or .gif); returns the
    episode's fitness and metrics. The environment is the run's (its config.toml beside the genome) unless
    `env_id` names another; `overrides` are `env.key=value` settings."""
    genome_path = path / "best.json" if path.is_dir() else path
    genome = load_genome(genome_path)
    config = _config(genome_path.parent / "config.toml", env_id, overrides or [])
    task = config.env.make()
    if not task.can_replay():
        raise ConfigError(f"env {config.env.id!r} cannot be replayed as video (it draws no frames; Mario, Atari, the "
                          f"pole tasks and Gymnasium envs with an rgb_array renderer can)")
    if (genome.num_inputs, genome.num_outputs) != (task.num_inputs, task.num_outputs):
        raise ConfigError(
            f"{genome_path}: the genome has {genome.num_inputs} inputs and {genome.num_outputs} outputs; env "
            f"{config.env.id!r} as configured needs {task.num_inputs} and {task.num_outputs}"
        )
    task.prepare()
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


def _config(run_config: Path, env_id: str | None, overrides: list[str]) -> RunConfig:
    """The run's config (with `overrides`), or a fresh one for `env_id` when it names another env or none exists."""
    if run_config.is_file():
        config = load_config(run_config, overrides)
        if env_id is None or env_id == config.env.id:
            return config
    elif env_id is None:
        raise ConfigError(f"no run config beside the genome ({run_config}): name the environment with --env")
    raw: dict[str, Any] = {"env": {"id": env_id}}
    for item in overrides:
        apply_override(raw, item)
    return parse_config(raw)
