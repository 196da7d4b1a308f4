"""The nested per-candidate study: deterministic, in range, budget counted, pruning, and its use by the task."""

from __future__ import annotations

import math
from dataclasses import dataclass

import optuna
import pytest
import torch
from torch import nn

import envs.nested_tuning as nested
import envs.training
from envs.nested_tuning import WEIGHT_DECAY_RANGE, tune_candidate
from envs.supervised import load
from envs.supervised_task import SupervisedTask
from envs.training import TrainConfig, TrainResult, train
from evolve.config import ConfigError
from tests.run_helpers import run_config

LR_RANGE = (1e-3, 3e-2)


class TinyNet(nn.Module):
    def __init__(self, hidden: int = 8) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(64, hidden), nn.ReLU())
        self.head_dropout, self.head = nn.Dropout(0.0), nn.Linear(hidden, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.head_dropout(self.body(x)))


@dataclass(frozen=True)
class TinyGenome:
    """Stands in for a cell genome: the task only calls `to_module`."""

    hidden: int

    def to_module(self) -> nn.Module:
        return TinyNet(self.hidden)


def in_range(value: float, bounds: tuple[float, float]) -> bool:
    return bounds[0] <= value <= bounds[1]


def test_same_seed_same_study_and_never_below_the_untuned_training():
    data = load("digits", seed=0)
    base = TrainConfig(epochs=1, batch_size=256, lr=3e-3, device="cpu")
    optuna.logging.set_verbosity(optuna.logging.INFO)
    a = tune_candidate(TinyNet, data, base, trials=3, seed=4, lr_range=LR_RANGE)
    assert optuna.logging.get_verbosity() == optuna.logging.INFO, "the study restores optuna's verbosity"
    b = tune_candidate(TinyNet, data, base, trials=3, seed=4, lr_range=LR_RANGE)
    assert a.params == b.params and a.result.history == b.result.history
    assert set(a.params) == {"lr"} and in_range(a.params["lr"], LR_RANGE)
    assert a.epochs == 3, "three one-epoch trials (none can be pruned at its last epoch)"
    assert a.result.val_score >= train(TinyNet, data, base, 4)[1].val_score, "the first trial is the base lr"
    assert a.result.val_score == pytest.approx(envs.training.evaluate(a.model, data.val, data, torch.device("cpu"))[1])


def fake_train(log: list[dict]):
    """A stand-in for `train`: the score grows per epoch and peaks at lr = 0.01; it obeys on_epoch."""

    def run(build, data, config, seed, test=False, on_epoch=None):
        scores = []
        for epoch in range(1, config.epochs + 1):
            scores.append(epoch / config.epochs - abs(math.log10(config.lr) + 2.0))
            if on_epoch is not None and on_epoch(epoch, scores[-1]):
                break
        log.append({"lr": config.lr, "weight_decay": config.weight_decay, "epochs": len(scores),
                    "pruned": len(scores) < config.epochs, "score": scores[-1], "seed": seed})
        return nn.Identity(), TrainResult(max(scores), 0.0, len(scores), 0, 0.0)

    return run


def test_pruned_trials_count_their_epochs_and_are_never_chosen(monkeypatch):
    log: list[dict] = []
    monkeypatch.setattr(nested, "train", fake_train(log))
    base = TrainConfig(epochs=4, lr=3e-3, device="cpu")
    tuned = tune_candidate(TinyNet, None, base, trials=8, seed=1, lr_range=(1e-4, 1e-1))
    assert len(log) == 8 and log[0]["lr"] == 3e-3 and {t["seed"] for t in log} == {1}
    assert tuned.epochs == sum(t["epochs"] for t in log)
    assert any(t["pruned"] for t in log), "the median pruner stopped some trial"
    complete = [t for t in log if not t["pruned"]]
    assert tuned.params["lr"] == max(complete, key=lambda t: t["score"])["lr"]
    assert all(in_range(t["lr"], (1e-4, 1e-1)) for t in log)

    log.clear()
    unpruned = tune_candidate(TinyNet, None, base, trials=8, seed=1, lr_range=(1e-4, 1e-1), prune=False)
    assert not any(t["pruned"] for t in log) and unpruned.epochs == 32


def test_weight_decay_is_tuned_in_range_and_an_out_of_range_base_is_not_enqueued(monkeypatch):
    log: list[dict] = []
    monkeypatch.setattr(nested, "train", fake_train(log))
    base = TrainConfig(epochs=2, lr=1.0, weight_decay=1e-4, device="cpu")
    tuned = tune_candidate(TinyNet, None, base, trials=4, seed=2, lr_range=(1e-4, 1e-2), weight_decay=True)
    assert set(tuned.params) == {"lr", "weight_decay"}
    assert log[0]["weight_decay"] == 1e-4 and log[0]["lr"] != 1.0, "only the in-range base value is enqueued"
    assert all(in_range(t["lr"], (1e-4, 1e-2)) and in_range(t["weight_decay"], WEIGHT_DECAY_RANGE) for t in log)
    with pytest.raises(ValueError, match="at least one trial"):
        tune_candidate(TinyNet, None, base, trials=0, seed=2, lr_range=(1e-4, 1e-2))


def test_task_tunes_the_first_rung_uses_the_lr_later_and_counts_every_epoch(monkeypatch):
    task = SupervisedTask(dataset="digits", epochs=2, rungs=2, eta=2, batch_size=256, device="cpu", tune_trials=2,
                          tune_lr_min=LR_RANGE[0], tune_lr_max=LR_RANGE[1])
    assert task.rung_epochs() == [1, 2]
    genomes, seeds = [TinyGenome(8), TinyGenome(16)], [3, 4]
    later: list[tuple[int, float]] = []

    def spy(build, data, config, seed, **kwargs):
        later.append((seed, config.lr))
        return train(build, data, config, seed, **kwargs)

    monkeypatch.setattr(envs.training, "train", spy)
    results = task.evaluate_batch(genomes, seeds)
    monkeypatch.undo()
    assert sorted(r.metrics["train_epochs"] for r in results) == [2.0, 4.0], "2 one-epoch trials, + 2 if promoted"
    assert all(in_range(r.metrics["lr"], LR_RANGE) and r.metrics["weight_decay"] == task.weight_decay
               for r in results)
    promoted = next(i for i, r in enumerate(results) if r.metrics["fidelity"] == 2.0)
    assert later == [(seeds[promoted], results[promoted].metrics["lr"])], "the later rung trains with the tuned lr"
    again = task.evaluate_batch(genomes, seeds)
    assert [(r.fitness, r.metrics["lr"]) for r in again] == [(r.fitness, r.metrics["lr"]) for r in results]

    untuned = SupervisedTask(dataset="digits", epochs=2, rungs=2, eta=2, batch_size=256, device="cpu")
    plain = untuned.evaluate_batch(genomes, seeds)
    assert "lr" not in plain[0].metrics and sorted(r.metrics["train_epochs"] for r in plain) == [1.0, 3.0]


def test_final_report_tunes_the_best_genome_and_every_baseline(tmp_path):
    task = SupervisedTask(dataset="digits", epochs=1, rungs=1, final_epochs=1, batch_size=256, baseline_width=2,
                          device="cpu", tune_trials=2, tune_lr_min=LR_RANGE[0], tune_lr_max=LR_RANGE[1])
    report = task.final_report(TinyGenome(8), seed=0, out_dir=tmp_path)
    assert (tmp_path / report["weights"]).is_file()
    for figures in (report, report["baselines"]["cnn"]):
        assert figures["tune_epochs"] == 2 and in_range(figures["lr"], LR_RANGE) and figures["trained_epochs"] == 1
    assert report["baseline_lr"] == report["baselines"]["cnn"]["lr"]


def test_tuned_config_loads_and_a_reversed_lr_range_is_a_config_error():
    assert run_config("nas-cnn-digits-tuned").env.kwargs["tune_trials"] == 3
    with pytest.raises(ConfigError, match="tune_lr_min .* exceeds tune_lr_max"):
        run_config("nas-cnn-digits", "env.tune_lr_min=0.1", "env.tune_lr_max=0.01")
