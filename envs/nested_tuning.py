"""A small nested Optuna study per candidate architecture: its learning rate (and optionally weight decay), tuned
on the validation split within a fixed number of trials.

The study is in memory and deterministic: a TPE sampler seeded from the candidate's seed, and every trial trains
with that same seed (same initialization and batch order), so trials differ only in their hyperparameters. The
first trial runs the base configuration's values when they lie in the searched ranges, so tuning never scores
below the untuned training at the same seed. With `prune`, a median pruner stops trials that fall behind the
earlier ones' scores at the same epoch (never at a trial's last epoch); pruned trials count towards the epochs
spent but cannot be chosen. Optuna's logging is kept at WARNING while the study runs.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NamedTuple

from torch import nn

from envs.progress import progress_scope
from envs.supervised import SupervisedData
from genomes.streams import TAG_NESTED_TUNING, derived_word
from envs.training import TrainConfig, TrainResult, train

WEIGHT_DECAY_RANGE = (1e-6, 1e-1)  # log-uniform AdamW weight decay, when it is tuned


class Tuned(NamedTuple):
    """The outcome of a nested study: the best trial's hyperparameters, result and trained model, and the epochs
    all trials trained together (the budget it cost)."""

    params: dict[str, float]
    result: TrainResult
    model: nn.Module
    epochs: int


@contextmanager
def quiet_optuna() -> Iterator[None]:
    """Optuna's logging at WARNING for a block, restored afterwards."""
    import optuna

    previous = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(previous)


def sampler_seed(seed: int) -> int:
    """The TPE sampler's seed, derived from (not equal to) the training seed."""
    return derived_word(seed, TAG_NESTED_TUNING)


def search_space(lr_range: tuple[float, float], weight_decay: bool) -> dict[str, tuple[float, float]]:
    """Name -> (low, high) of every tuned hyperparameter, all sampled log-uniformly."""
    return {"lr": lr_range, **({"weight_decay": WEIGHT_DECAY_RANGE} if weight_decay else {})}


def tune_candidate(
    build: Callable[[], nn.Module],
    data: SupervisedData,
    base_config: TrainConfig,
    trials: int,
    seed: int,
    lr_range: tuple[float, float],
    weight_decay: bool = False,
    prune: bool = True,
) -> Tuned:
    """Run `trials` trainings of `build` for `base_config.epochs` epochs each, with hyperparameters from a seeded
    TPE study, and return the best completed trial's (ties: the earliest)."""
    import optuna

    if trials < 1:
        raise ValueError(f"a nested study needs at least one trial, got {trials}")
    space = search_space(lr_range, weight_decay)
    best: list[Tuned] = []  # the best completed trial so far (its epochs field unused)
    spent = [0]

    def objective(trial: optuna.Trial) -> float:
        params = {name: trial.suggest_float(name, low, high, log=True) for name, (low, high) in space.items()}
        config = dataclasses.replace(base_config, **params)
        pruned = [False]

        def report(epoch: int, score: float) -> bool:
            trial.report(score, epoch)
            pruned[0] = prune and epoch < config.epochs and trial.should_prune()
            return pruned[0]

        with progress_scope(f"tuning trial {trial.number + 1}/{trials}"):
            model, result = train(build, data, config, seed, on_epoch=report)
        spent[0] += result.epochs
        if pruned[0]:
            raise optuna.TrialPruned()
        if not best or _score(result) > _score(best[0].result):
            best[:] = [Tuned(params, result, model, 0)]
        return result.val_score

    with quiet_optuna():
        study = optuna.create_study(
            direction="maximize",
            sampler=optuna.samplers.TPESampler(seed=sampler_seed(seed), n_startup_trials=min(10, max(2, trials // 2))),
            pruner=optuna.pruners.MedianPruner(n_startup_trials=2) if prune else optuna.pruners.NopPruner(),
        )
        configured = {name: getattr(base_config, name) for name in space}
        if base := {name: v for name, v in configured.items() if space[name][0] <= v <= space[name][1]}:
            study.enqueue_trial(base)  # the first trial: the configured values that lie in the ranges
        study.optimize(objective, n_trials=trials)
    return best[0]._replace(epochs=spent[0])


def _score(result: TrainResult) -> float:
    return result.val_score if math.isfinite(result.val_score) else -math.inf
