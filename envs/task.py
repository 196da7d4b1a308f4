"""What the population manager evaluates genomes against.

A task turns a compiled network into an EvalResult. Tasks are dataclasses whose fields (declared with
`genomes.params.param`) are the `[env]` section of a run config, so they are validated like every other section.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import numpy as np

from genomes.phenotype import Network


class TaskSetupError(ValueError):
    """The task cannot be set up as configured (a missing ROM, an unreachable download); one line that says how to
    fix it. The command line reports it with exit status 2."""


@dataclass
class EvalResult:
    """Fitness of one genome plus task metrics (JSON numbers). `solved` marks an evaluation that meets the task's
    goal on its own; the run confirms it with `Task.verify` on the generation's champion."""

    fitness: float
    metrics: dict[str, float] = field(default_factory=dict)
    solved: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"fitness": float(self.fitness), "metrics": dict(self.metrics), "solved": bool(self.solved)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvalResult:
        return cls(float(data["fitness"]), dict(data.get("metrics", {})), bool(data.get("solved", False)))


class Task(Protocol):
    env_id: ClassVar[str]

    @property
    def num_inputs(self) -> int: ...

    @property
    def num_outputs(self) -> int: ...

    def evaluate(self, network: Network, rng: np.random.Generator) -> EvalResult: ...

    # Optional: tasks that can score many genomes at once (a packed population, vectorized environments) also
    # define `evaluate_batch(genomes, seeds) -> list[EvalResult]`, giving the same results as `evaluate` with
    # `np.random.default_rng(seed)` for each genome.

    # Optional: `prepare()` acquires what the task needs before a run (a ROM, a dataset) and raises TaskSetupError
    # when it cannot; the run calls it once in the driver so the problem surfaces before any worker starts.

    def verify(self, network: Network, rng: np.random.Generator) -> EvalResult:
        """The stricter test a champion must also pass for the run to count as solved (e.g. generalization)."""
        ...
