"""The objectives `evolve tune` scores trials with: module-level functions a Ray worker can run.

A trial payload is {"config": tune config path, "params": {name: value}, "number": trial number, "study", "storage",
"trial_id", "prune": bool}. With pruning, the worker reports intermediate values to the study's storage through an
`optuna.trial.Trial` bound to the trial id (the driver asked for the trial and will tell its result), and stops
early when the pruner says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from genomes.streams import TAG_TUNE_TRAIN, derived_seed

Reporter = Callable[[float, int], bool]  # (intermediate value, step) -> whether to stop (pruned)


def run_trial(payload: dict[str, Any], seed: int = 0) -> dict[str, Any]:
    """Score one trial: {"values": [...], "state": "complete" | "pruned", "attrs": {...}}."""
    from search.tune_config import load_tune_config

    config = load_tune_config(payload["config"])
    reporter, pruned = _reporter(payload)
    objective = neat_objective if config.tune.objective == "neat" else train_objective
    values, attrs = objective(config, payload["params"], reporter)
    return {"values": values, "state": "pruned" if pruned() else "complete", "attrs": attrs}


def neat_objective(config: Any, params: dict[str, Any], report: Reporter) -> tuple[list[float], dict[str, Any]]:
    """Mean evaluations the base run needs to solve its task over `tune.seeds` (an unsolved run counts every
    evaluation it made up to its generation cap), reported seed by seed so a bad trial can be pruned early."""
    from evolve.api import run
    from search.tune_config import base_config

    spent, solved = [], 0
    for step, seed in enumerate(config.tune.seeds):
        result = run(base_config(config, params, [f"run.seed={seed}", "run.workers=0", "run.progress=false"]))
        solved += bool(result.solved)
        spent.append(result.summary["evaluations_to_solve"] if result.solved else result.evaluations)
        if report(float(np.mean(spent)), step):
            break
    return [float(np.mean(spent))], {"solved": solved, "runs": len(spent)}


def train_objective(config: Any, params: dict[str, Any], report: Reporter) -> tuple[list[float], dict[str, Any]]:
    """A fixed architecture trained with the trial's hyperparameters (`env.lr`, `env.batch_size`, `env.dropout`, ...
    of a supervised base config); values in the order of `tune.objectives`, the validation score reported every
    epoch."""
    from envs.supervised_task import SupervisedTask, latency_ms
    from envs.training import train
    from search.tune_config import base_config

    run = base_config(config, params)
    task = run.env.make()
    if not isinstance(task, SupervisedTask):
        raise ValueError(f"objective 'train' needs a supervised base config, not env {run.env.id!r}")
    genome = fixed_genome(config, run)
    seed = derived_seed(config.tune.seed, TAG_TUNE_TRAIN)
    model, result = train(genome.to_module, task.data(), task.train_config(task.epochs), seed,
                          on_epoch=lambda epoch, score: report(score, epoch))
    figures = {"val_score": result.val_score, "params": float(result.params),
               "latency_ms": latency_ms(model, task.data())}
    values = [figures[name] for name in config.tune.objectives]
    return values, {**figures, "epochs": result.epochs}


def fixed_genome(config: Any, run: Any) -> Any:
    """The architecture a train objective tunes: `tune.genome` (a genome file or run directory), or the base
    config's initial genome (the same for every trial)."""
    if config.tune.genome:
        from genomes.export import load_genome

        path = (config.path.parent / config.tune.genome).resolve()
        return load_genome(path / "best.json" if path.is_dir() else path)
    from evolve.strategies import build_strategy

    strategy = build_strategy(run)
    population, _ = strategy.ask(strategy.init(config.tune.seed))
    return population.genomes[0]


def _reporter(payload: dict[str, Any]) -> tuple[Reporter, Callable[[], bool]]:
    """A reporter bound to the trial in the study's storage (or one that never prunes) and a flag reading whether
    it pruned."""
    stopped = [False]
    if not payload.get("prune"):
        return (lambda value, step: False), (lambda: False)
    import optuna

    from search.tune import make_pruner

    study = optuna.load_study(study_name=payload["study"], storage=payload["storage"],
                              pruner=make_pruner(payload["pruner"]))
    trial = optuna.trial.Trial(study, payload["trial_id"])

    def report(value: float, step: int) -> bool:
        if not math.isfinite(value):
            return False
        trial.report(value, step)
        stopped[0] = trial.should_prune()
        return stopped[0]

    return report, (lambda: stopped[0])
