"""XOR, the NEAT paper's first test: fitness (4 - sum |error|)^2, solved when every output rounds correctly."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from envs.task import EvalResult, Task
from genomes.neat_genome import NeatGenome
from genomes.params import param
from genomes.phenotype import Network
from genomes.population_network import PopulationNetwork, packable

XOR_INPUTS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_TARGETS = np.array([0.0, 1.0, 1.0, 0.0])


@dataclass(frozen=True)
class XorTask(Task):
    env_id: ClassVar[str] = "xor"
    margin: float = param(0.5, gt=0.0, le=0.5, doc="solved when every |output - target| < margin")
    device: str = param("", choices=("", "cpu", "cuda", "auto"),
                        doc="where the packed population is evaluated (empty: the evaluator's device)")

    num_inputs: ClassVar[int] = 2
    num_outputs: ClassVar[int] = 1

    def interface(self) -> dict[str, Any]:
        return {"inputs": ["a", "b"], "outputs": ["a xor b"], "preprocessing": "none (inputs are 0 or 1)",
                "decode": "above 0.5 is 1, else 0"}

    def evaluate(self, network: Network, rng: np.random.Generator) -> EvalResult:
        network.reset()
        return self._score(network.activate(XOR_INPUTS)[None, :, 0])[0]

    def evaluate_batch(self, genomes: Sequence[NeatGenome], seeds: Sequence[int]) -> list[EvalResult]:
        """All four patterns for the whole population in one packed evaluation (XOR needs no randomness)."""
        if not packable(genomes):
            return super().evaluate_batch(genomes, seeds)
        outputs = PopulationNetwork(genomes, self.device).activate(XOR_INPUTS)[:, :, 0]
        return self._score(outputs)

    def verify(self, network: Network, rng: np.random.Generator) -> EvalResult:
        return self.evaluate(network, rng)

    def _score(self, outputs: np.ndarray) -> list[EvalResult]:
        """outputs: (genomes, 4 patterns)."""
        error = np.abs(outputs - XOR_TARGETS)
        fitness = (4.0 - error.sum(axis=1)) ** 2
        worst = error.max(axis=1)
        return [
            EvalResult(float(f), {"max_error": float(w)}, solved=bool(w < self.margin))
            for f, w in zip(fitness.tolist(), worst.tolist())
        ]
