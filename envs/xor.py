"""XOR, the NEAT paper's first test: fitness (4 - sum |error|)^2, solved when every output rounds correctly."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from envs.task import EvalResult
from genomes.params import param
from genomes.phenotype import Network

XOR_INPUTS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_TARGETS = np.array([0.0, 1.0, 1.0, 0.0])


@dataclass
class XorTask:
    env_id: ClassVar[str] = "xor"
    margin: float = param(0.5, gt=0.0, le=0.5, doc="solved when every |output - target| < margin")

    num_inputs: ClassVar[int] = 2
    num_outputs: ClassVar[int] = 1

    def evaluate(self, network: Network, rng: np.random.Generator) -> EvalResult:
        network.reset()
        outputs = network.activate(XOR_INPUTS)[:, 0]  # all four patterns in one batched call
        error = np.abs(outputs - XOR_TARGETS)
        fitness = float((4.0 - error.sum()) ** 2)
        return EvalResult(fitness, {"max_error": float(error.max())}, solved=bool(np.all(error < self.margin)))

    def verify(self, network: Network, rng: np.random.Generator) -> EvalResult:
        return self.evaluate(network, rng)
