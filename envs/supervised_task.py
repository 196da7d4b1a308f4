"""Architecture search on offline supervised benchmarks: a cell genome's fitness is its trained network's
validation score.

A chunk of candidates is trained by successive halving (Jamieson & Talwalkar 2016): every candidate for a short
budget, then the best 1/eta of them from scratch for eta times longer, up to `epochs`; a candidate's fitness is its
validation score at the longest budget it reached, minus optional size and latency penalties. The test split is
never touched during the search: after the last generation the run retrains the best genome from scratch for
`final_epochs`, trains the hand-designed baselines with the same budget, and scores all of them on the test split
(`final_report`).

With `tune_trials` > 0, each candidate's first rung is a small nested Optuna study (`envs/nested_tuning.py`):
`tune_trials` trainings at that rung's budget with learning rates (and, with `tune_weight_decay`, weight decays)
from a TPE sampler seeded by the candidate's evaluation seed. The best trial is the candidate's result at that rung,
its hyperparameters train the candidate at the later rungs and appear in its metrics (`lr`, `weight_decay`), and
`train_epochs` counts every epoch the trials trained. The final report does not reuse the search's choice: it runs
the same nested study (first-rung budget, the final seed) for the best genome and for every baseline, so all of
them are compared after the same tuning, and retrains each with its own tuned values.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from envs import supervised
from envs.progress import progress_scope, report_progress
from envs.task import EvalResult, Task
from genomes.atomic_io import write_path_atomic
from genomes.params import param
from genomes.streams import TAG_FINAL_TRAINING, derived_seed

WEIGHTS_FILE = "best_weights.safetensors"


@lru_cache(maxsize=4)
def _dataset(name: str, seed: int, length: int) -> supervised.SupervisedData:
    return supervised.load(name, seed, length)


@dataclass(frozen=True)
class SupervisedTask(Task):
    env_id: ClassVar[str] = "supervised"
    genome_kinds: ClassVar[tuple[str, ...]] = ("cnn", "rnn")
    run_metrics: ClassVar[dict[str, str]] = {"train_epochs": "sum"}
    dataset: str = param("mnist1d", choices=supervised.NAMES)
    length: int = param(50, ge=2, le=100_000, doc="steps of the generated sequence tasks (adding, recall)")
    data_seed: int = param(0, ge=0, doc="seed of the train/validation/test split")
    epochs: int = param(6, ge=1, le=10_000, doc="training budget of a candidate at the highest search fidelity")
    rungs: int = param(2, ge=1, le=20, doc="successive-halving rungs (1: every candidate trained for `epochs`)")
    eta: int = param(3, ge=2, le=100, doc="successive halving keeps the best 1/eta per rung and trains them eta times longer")
    batch_size: int = param(128, ge=1, le=1 << 20)
    lr: float = param(3e-3, gt=0.0, doc="one-cycle maximum learning rate")
    weight_decay: float = param(1e-4, ge=0.0)
    patience: int = param(5, ge=1, le=10_000, doc="epochs without a better validation score before stopping")
    params_penalty: float = param(0.0, ge=0.0, doc="fitness minus this x log10(parameters)")
    latency_penalty: float = param(0.0, ge=0.0, doc="fitness minus this x milliseconds per sample (timing-dependent)")
    final_epochs: int = param(20, ge=1, le=10_000, doc="budget of the final retraining of the best genome and of the baselines")
    baseline_width: int = param(32, ge=1, le=4096, doc="channels of the baseline CNN, hidden units of the baseline LSTM/GRU")
    device: str = param("auto", choices=("auto", "cpu", "cuda"), doc="auto: CUDA when the process sees a GPU")
    amp: bool = param(True, doc="bfloat16 autocast on CUDA")
    dropout: float = param(0.0, ge=0.0, le=0.9, doc="the rate of the dropout layer before each network's head")
    tune_trials: int = param(0, ge=0, le=10_000, doc="trials of the nested per-candidate lr study at the first rung (0: off)")
    tune_lr_min: float = param(1e-4, gt=0.0, doc="lowest learning rate the nested study samples (log-uniform)")
    tune_lr_max: float = param(3e-2, gt=0.0, doc="highest learning rate the nested study samples")
    tune_weight_decay: bool = param(False, doc="the nested study also samples weight decay, log-uniform 1e-6..0.1")
    tune_prune: bool = param(True, doc="median-prune nested trials that fall behind at the same epoch")

    def __post_init__(self) -> None:
        if self.tune_lr_min > self.tune_lr_max:
            raise ValueError(f"tune_lr_min ({self.tune_lr_min}) exceeds tune_lr_max ({self.tune_lr_max})")

    @property
    def input_shape(self) -> tuple[int, ...]:
        return supervised.input_shape(self.dataset, self.length)

    @property
    def num_outputs(self) -> int:
        return supervised.num_outputs(self.dataset)

    @property
    def num_inputs(self) -> int:
        return math.prod(self.input_shape)

    def interface(self) -> dict[str, Any]:
        classes = self.num_outputs if self.dataset != "adding" else 0
        return {"inputs": [f"input of shape {list(self.input_shape)} per sample"],
                "outputs": [f"class {i}" for i in range(classes)] or ["target"],
                "preprocessing": supervised.PREPROCESSING[self.dataset],
                "decode": "the class of the largest output" if classes else "the output is the prediction"}

    def data(self) -> supervised.SupervisedData:
        return _dataset(self.dataset, self.data_seed, self.length)

    def prepare(self) -> None:
        self.data()

    def train_config(self, epochs: int, **tuned: float):
        """The training configuration for `epochs`, with a nested study's `tuned` values (lr, weight_decay)."""
        from envs.training import TrainConfig

        config = TrainConfig(epochs=epochs, batch_size=self.batch_size, lr=self.lr, weight_decay=self.weight_decay,
                             patience=self.patience, device=self.device, amp=self.amp, dropout=self.dropout)
        return replace(config, **tuned)

    def tune(self, build: Any, epochs: int, seed: int):
        """The nested study for one network at `epochs` per trial (`envs.nested_tuning.Tuned`)."""
        from envs.nested_tuning import tune_candidate

        return tune_candidate(build, self.data(), self.train_config(epochs), self.tune_trials, seed,
                              (self.tune_lr_min, self.tune_lr_max), self.tune_weight_decay, self.tune_prune)

    def rung_epochs(self) -> list[int]:
        """The training budget of each successive-halving rung, the last one `epochs`."""
        return sorted({max(1, round(self.epochs / self.eta ** (self.rungs - 1 - r))) for r in range(self.rungs)})

    # -- search ---------------------------------------------------------------------------------------------------
    def evaluate_batch(self, genomes: list[Any], seeds: list[int]) -> list[EvalResult]:
        from envs.training import train

        data = self.data()
        budgets = self.rung_epochs()
        results: dict[int, Any] = {}
        tuned: dict[int, dict[str, float]] = {i: {} for i in range(len(genomes))}
        spent = dict.fromkeys(range(len(genomes)), 0)  # epochs trained: the rung budgets, or the trials' epochs
        alive = list(range(len(genomes)))
        for rung, epochs in enumerate(budgets):
            for i in alive:
                candidate = f"candidate {i + 1}/{len(genomes)}, " if len(genomes) > 1 else ""
                with progress_scope(f"{candidate}rung {rung + 1}/{len(budgets)}"):
                    if rung == 0 and self.tune_trials > 0:
                        study = self.tune(genomes[i].to_module, epochs, seeds[i])
                        model, result, tuned[i] = study.model, study.result, study.params
                        spent[i] += study.epochs
                    else:
                        model, result = train(genomes[i].to_module, data, self.train_config(epochs, **tuned[i]),
                                              seeds[i])
                        spent[i] += epochs
                results[i] = (epochs, result, latency_ms(model, data))
            if rung < len(budgets) - 1:
                keep = max(1, math.ceil(len(alive) / self.eta))
                alive = sorted(alive, key=lambda i: (-results[i][1].val_score, i))[:keep]
        out = []
        for i in range(len(genomes)):
            budget, result, latency = results[i]
            fitness = (result.val_score - self.params_penalty * math.log10(max(result.params, 1))
                       - self.latency_penalty * latency)
            metrics = {"val_score": result.val_score, "params": float(result.params), "fidelity": float(budget),
                       "train_epochs": float(spent[i]), "latency_ms": latency, **self._tuned_metrics(tuned[i])}
            out.append(EvalResult(float(fitness), metrics))
        return out

    def _tuned_metrics(self, tuned: dict[str, float]) -> dict[str, float]:
        """The hyperparameters a candidate trained with, when a nested study chose them."""
        if self.tune_trials == 0:
            return {}
        return {"lr": float(tuned["lr"]), "weight_decay": float(tuned.get("weight_decay", self.weight_decay))}

    def evaluate(self, network: Any, rng: np.random.Generator) -> EvalResult:
        raise NotImplementedError("the supervised task trains cell genomes (evaluate_batch), not compiled networks")

    def verify(self, network: Any, rng: np.random.Generator) -> EvalResult:
        return EvalResult(0.0, {}, solved=False)

    # -- final report ---------------------------------------------------------------------------------------------
    def final_report(self, genome: Any, seed: int, out_dir: Path | None) -> dict[str, Any]:
        """Retrain `genome` from scratch for `final_epochs`, save its weights in `out_dir` (when given), train the
        baselines with the same budget (and the same nested tuning, when on), and score everything on the test split
        (the only time it is read)."""
        from safetensors.torch import save_model

        from envs.baselines import baselines

        data = self.data()
        final_seed = derived_seed(seed, TAG_FINAL_TRAINING)
        report_progress(f"final retraining of the best genome ({self.final_epochs} epochs)", milestone=True)
        with progress_scope("final retraining"):
            model, searched, tuning = self._final_training(genome.to_module, final_seed)
        report: dict[str, Any] = {}
        if out_dir is not None:
            write_path_atomic(out_dir / WEIGHTS_FILE, lambda path: save_model(model.cpu(), str(path)))
            report["weights"] = WEIGHTS_FILE
        report.update({**_scores(searched, data.regression), **tuning, "latency_ms": latency_ms(model, data)})
        trained = {}
        builders = baselines(data.kind, data.input_shape, data.num_classes or 1, self.baseline_width)
        for k, (name, build) in enumerate(builders.items()):
            report_progress(f"baseline {name} ({k + 1}/{len(builders)}, {self.final_epochs} epochs)", milestone=True)
            with progress_scope(f"baseline {name}"):
                _, result, tuning = self._final_training(build, final_seed)
            trained[name] = {**_scores(result, data.regression), **tuning}
        best = max(trained, key=lambda name: trained[name]["val_score"])  # chosen on validation, like the search
        report.update({"baseline": best, **{f"baseline_{k}": v for k, v in trained[best].items()},
                       "baselines": trained})
        return report

    def _final_training(self, build: Any, seed: int) -> tuple[Any, Any, dict[str, float]]:
        """Train a network for `final_epochs` with the test split scored; with tuning on, first run its nested study
        at the first-rung budget and train with the chosen values (also returned, with the study's epochs)."""
        from envs.training import train

        tuned: dict[str, float] = {}
        report: dict[str, float] = {}
        if self.tune_trials > 0:
            study = self.tune(build, self.rung_epochs()[0], seed)
            tuned = study.params
            report = {**self._tuned_metrics(tuned), "tune_epochs": study.epochs}
        model, result = train(build, self.data(), self.train_config(self.final_epochs, **tuned), seed, test=True)
        return model, result, report


def _scores(result: Any, regression: bool) -> dict[str, Any]:
    """A trained network's figures; classification also reports its test score as test_accuracy."""
    scores = {"val_score": result.val_score, "test_score": result.test_score, "params": result.params,
              "train_seconds": result.seconds, "trained_epochs": result.epochs}
    if not regression:
        scores["test_accuracy"] = result.test_score
    return scores


def latency_ms(model: Any, data: supervised.SupervisedData, repeats: int = 20) -> float:
    """Median milliseconds of one single-sample forward pass in inference mode."""
    import torch

    device = next(model.parameters()).device
    x = torch.as_tensor(data.val.x[:1], device=device)
    model.eval()
    times = []
    with torch.no_grad():
        model(x)
        for _ in range(repeats):
            started = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - started)
    return float(np.median(times) * 1000.0)
