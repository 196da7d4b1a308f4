"""Playing a saved genome on its task: `evolve evaluate` (scores per episode) and, through `evolve.replay`, video.

The task is the run's (config.toml beside the genome) unless `--env` names another; `--set env.KEY=VALUE` changes
its settings. Episode i of `evolve evaluate --seed S` is one evaluation of one episode with the generator
`np.random.default_rng([S, i])`, so the same command prints the same scores, and a task whose episodes differ only by
their seeds (reset states, sticky actions, no-ops) gets a fresh one each time.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from evolve.runner import reduce_run_metrics
from evolve.config import ConfigError, RunConfig, apply_override, load_config, parse_config
from genomes.export import load_genome

MAX_EPISODES = 100_000


def genome_and_task(genome_path: Path, env_id: str | None, overrides: list[str]) -> tuple[Any, Any, RunConfig]:
    """The genome in `genome_path`, the task it is played on (prepared: ROMs and data found) and that config."""
    genome = load_genome(genome_path)
    config = _config(genome_path.parent / "config.toml", env_id, overrides)
    task = config.env.make()
    if not hasattr(genome, "num_inputs"):
        raise ConfigError(f"{genome_path}: a {config.genome.kind} cell genome is trained, not played; its test scores "
                          "are in the run's summary.json")
    if (genome.num_inputs, genome.num_outputs) != (task.num_inputs, task.num_outputs):
        raise ConfigError(
            f"{genome_path}: the genome has {genome.num_inputs} inputs and {genome.num_outputs} outputs; env "
            f"{config.env.id!r} as configured needs {task.num_inputs} and {task.num_outputs}"
        )
    task.prepare()
    return genome, task, config


def evaluate_genome(genome_path: Path, episodes: int, seed: int, env_id: str | None = None,
                    overrides: list[str] | None = None) -> dict[str, Any]:
    """Play the genome `episodes` times, one episode each (see the module docstring); per episode its score and the
    task's metrics, then the scores' mean, the task's run metrics reduced over the episodes as a run reduces them
    (Mario: max_x the furthest, flag whether any episode reached it, and the level), and whether every episode meets
    the task's solve rule."""
    if not 1 <= episodes <= MAX_EPISODES:
        raise ConfigError(f"--episodes must be between 1 and {MAX_EPISODES:,}, got {episodes}")
    genome, task, config = genome_and_task(genome_path, env_id, overrides or [])
    if any(f.name == "episodes" for f in dataclasses.fields(task)):
        task = dataclasses.replace(task, episodes=1)
    network = genome.phenotype()
    played = []
    for i in range(episodes):
        result = task.evaluate(network, np.random.default_rng([seed, i]))
        played.append({"episode": i, "score": result.fitness, "solved": result.solved, **result.metrics})
    scores = [p["score"] for p in played]
    report: dict[str, Any] = {"path": str(genome_path), "env": config.env.id, "seed": seed, "episodes": played,
                              "scores": scores, "mean": float(np.mean(scores)),
                              "solved": all(p["solved"] for p in played)}
    reductions = {k: how for k, how in getattr(task, "run_metrics", {}).items() if all(k in p for p in played)}
    report.update(reduce_run_metrics(reductions, {k: [p[k] for p in played] for k in reductions}))
    if "flag" in report:
        report["flag"] = bool(report["flag"])
    if getattr(task, "levels", None):  # Mario's world mode: each level's figures over the episodes
        report["levels"] = [
            {"level": (name := state.removeprefix("Level")), "max_x": max(p[f"max_x@{name}"] for p in played),
             "flag": all(bool(p[f"flag@{name}"]) for p in played)} for state in task.levels]
    elif isinstance(level := getattr(task, "level", None), str):  # Mario: the level played
        report["level"] = level
    return report


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
