"""Architecture search on offline supervised benchmarks: a cell genome's fitness is its trained network's
validation score.

A chunk of candidates is trained by successive halving (Jamieson & Talwalkar 2016): every candidate for a short
budget, then the best 1/eta of them from scratch for eta times longer, up to `epochs`; a candidate's fitness is its
validation score at the longest budget it reached, minus optional size and latency penalties. The test split is
never touched during the search: after the last generation the run retrains the best genome from scratch for
`final_epochs`, trains the hand-designed baselines with the same budget, and scores all of them on the test split
(`final_report`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from envs import supervised
from envs.task import EvalResult
from genomes.params import param

WEIGHTS_FILE = "best_weights.safetensors"


@lru_cache(maxsize=4)
def _dataset(name: str, seed: int, length: int) -> supervised.SupervisedData:
    return supervised.load(name, seed, length)


@dataclass
class SupervisedTask:
    env_id: ClassVar[str] = "supervised"
    genome_kinds: ClassVar[tuple[str, ...]] = ("cnn", "rnn")
    run_metrics: ClassVar[dict[str, str]] = {"train_epochs": "sum"}
    dataset: str = param("mnist1d", choices=supervised.NAMES)
    length: int = param(50, ge=2, doc="steps of the generated sequence tasks (adding, recall)")
    data_seed: int = param(0, ge=0, doc="seed of the train/validation/test split")
    epochs: int = param(6, ge=1, doc="training budget of a candidate at the highest search fidelity")
    rungs: int = param(2, ge=1, doc="successive-halving rungs (1: every candidate trained for `epochs`)")
    eta: int = param(3, ge=2, doc="successive halving keeps the best 1/eta per rung and trains them eta times longer")
    batch_size: int = param(128, ge=1)
    lr: float = param(3e-3, gt=0.0, doc="one-cycle maximum learning rate")
    weight_decay: float = param(1e-4, ge=0.0)
    patience: int = param(5, ge=1, doc="epochs without a better validation score before stopping")
    params_penalty: float = param(0.0, ge=0.0, doc="fitness minus this x log10(parameters)")
    latency_penalty: float = param(0.0, ge=0.0, doc="fitness minus this x milliseconds per sample (timing-dependent)")
    final_epochs: int = param(20, ge=1, doc="budget of the final retraining of the best genome and of the baselines")
    baseline_width: int = param(32, ge=1, doc="channels of the baseline CNN, hidden units of the baseline LSTM/GRU")
    device: str = param("auto", choices=("auto", "cpu", "cuda"), doc="auto: CUDA when the process sees a GPU")
    amp: bool = param(True, doc="bfloat16 autocast on CUDA")

    @property
    def input_shape(self) -> tuple[int, ...]:
        return supervised.input_shape(self.dataset, self.length)

    @property
    def num_outputs(self) -> int:
        return supervised.num_outputs(self.dataset)

    @property
    def num_inputs(self) -> int:
        return math.prod(self.input_shape)

    def data(self) -> supervised.SupervisedData:
        return _dataset(self.dataset, self.data_seed, self.length)

    def prepare(self) -> None:
        self.data()

    def train_config(self, epochs: int):
        from search.train import TrainConfig

        return TrainConfig(epochs=epochs, batch_size=self.batch_size, lr=self.lr, weight_decay=self.weight_decay,
                           patience=self.patience, device=self.device, amp=self.amp)

    def rung_epochs(self) -> list[int]:
        """The training budget of each successive-halving rung, the last one `epochs`."""
        return sorted({max(1, round(self.epochs / self.eta ** (self.rungs - 1 - r))) for r in range(self.rungs)})

    # -- search ---------------------------------------------------------------------------------------------------
    def evaluate_batch(self, genomes: list[Any], seeds: list[int]) -> list[EvalResult]:
        from search.train import train

        data = self.data()
        budgets = self.rung_epochs()
        results: dict[int, Any] = {}
        alive = list(range(len(genomes)))
        for rung, epochs in enumerate(budgets):
            for i in alive:
                model, result = train(genomes[i].to_module, data, self.train_config(epochs), seeds[i])
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
                       "train_epochs": float(sum(e for e in budgets if e <= budget)), "latency_ms": latency}
            out.append(EvalResult(float(fitness), metrics))
        return out

    def evaluate(self, network: Any, rng: np.random.Generator) -> EvalResult:
        raise TypeError("the supervised task trains genomes (evaluate_batch), not compiled NEAT networks")

    def verify(self, network: Any, rng: np.random.Generator) -> EvalResult:
        return EvalResult(0.0, {}, solved=False)

    # -- final report ---------------------------------------------------------------------------------------------
    def final_report(self, genome: Any, seed: int, run_dir: Path) -> dict[str, Any]:
        """Retrain `genome` from scratch for `final_epochs`, save its weights, train the baselines with the same
        budget, and score everything on the test split (the only time it is read)."""
        from safetensors.torch import save_model

        from search.baselines import baselines
        from search.train import train

        data = self.data()
        config = self.train_config(self.final_epochs)
        final_seed = int(np.random.SeedSequence([seed, 7]).generate_state(1)[0] >> 1)
        model, searched = train(genome.to_module, data, config, final_seed, test=True)
        save_model(model.cpu(), str(run_dir / WEIGHTS_FILE))
        report = {"weights": WEIGHTS_FILE, **_scores(searched, data.regression),
                  "latency_ms": latency_ms(model, data)}
        trained = {}
        for name, build in baselines(data.kind, data.input_shape, data.num_classes or 1, self.baseline_width).items():
            _, result = train(build, data, config, final_seed, test=True)
            trained[name] = _scores(result, data.regression)
        best = max(trained, key=lambda name: trained[name]["val_score"])  # chosen on validation, like the search
        report.update({"baseline": best, **{f"baseline_{k}": v for k, v in trained[best].items()},
                       "baselines": trained})
        return report


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
