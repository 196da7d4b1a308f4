"""What the population manager evaluates genomes against: the `Task` base class and its result type.

A task turns a compiled network into an `EvalResult`. `Task` declares the one required method, `evaluate`, and every
optional hook with its default, so the engine calls hooks without probing for them:

- `evaluate_batch(genomes, seeds)`: score a whole chunk at once (a packed population, vectorized environments);
  by default each genome is compiled and evaluated on its own.
- `verify(network, rng)`: the stricter test a champion must also pass for the run to count as solved (a longer
  episode, generalization); by default the evaluation itself.
- `prepare()`: acquire what the task needs before a run (a ROM, a dataset) in the driver, so a problem surfaces as
  a `TaskSetupError` before any worker starts; by default nothing.
- `final_report(genome, seed, out_dir)`: figures on the run's best genome once evolution is over (a cell search
  retrains it and scores the test split); by default none.
- `replay(network, rng, sink)`: play one episode, feeding every frame to `sink`, for `evolve replay`; by default a
  task cannot draw itself (`can_replay()` is False).
- `genome_kinds`: the genome kinds the task evaluates (NEAT graphs only by default); `run_metrics`: the task's
  metrics reported for the whole population, each with its reduction ("max" or "sum"); none by default.

The built-in tasks are frozen dataclasses whose fields (declared with `genomes.params.param`) are the `[env]`
section of a run config, validated like every other section. A task object is its settings only; what it builds to
evaluate (emulators, environments) lives apart, per process, in `envs.live`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from genomes.phenotype import Network


class TaskSetupError(ValueError):
    """The task cannot be set up as configured (a missing ROM, an unreachable download); one line that says how to
    fix it. The command line reports it with exit status 2."""


@dataclass
class EvalResult:
    """Fitness of one genome plus task metrics (JSON numbers). `solved` marks an evaluation that meets the task's
    goal on its own; the run confirms it with `Task.verify` on the generation's champion. `objectives` (a vector
    for multi-objective selection) and `descriptor` (a behaviour descriptor for novelty search) are optional and
    reach the strategy's `tell`."""

    fitness: float
    metrics: dict[str, float] = field(default_factory=dict)
    solved: bool = False
    objectives: list[float] | None = None
    descriptor: list[float] | None = None

    def to_dict(self) -> dict[str, Any]:
        metrics = {k: v.item() if isinstance(v, np.generic) else v for k, v in self.metrics.items()}
        data: dict[str, Any] = {"fitness": float(self.fitness), "metrics": metrics, "solved": bool(self.solved)}
        if self.objectives is not None:
            data["objectives"] = [float(v) for v in self.objectives]
        if self.descriptor is not None:
            data["descriptor"] = [float(v) for v in self.descriptor]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvalResult:
        return cls(float(data["fitness"]), dict(data.get("metrics", {})), bool(data.get("solved", False)),
                   data.get("objectives"), data.get("descriptor"))


class Task(ABC):
    """A problem genomes are evaluated on. Required: `num_inputs`, `num_outputs` (attributes or properties) and
    `evaluate`; every other hook has the default the module docstring describes."""

    genome_kinds: ClassVar[tuple[str, ...]] = ("neat",)
    run_metrics: ClassVar[dict[str, str]] = {}
    replay_fps: ClassVar[float] = 60.0  # frames per second of the video `replay` draws
    num_inputs: int
    num_outputs: int

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The shape of one sample (channels, length) or (channels, height, width) for cell genomes; a flat vector of
        `num_inputs` by default."""
        return (self.num_inputs,)

    @abstractmethod
    def evaluate(self, network: Network, rng: np.random.Generator) -> EvalResult:
        """Score one compiled network; every random draw comes from `rng`."""

    def evaluate_batch(self, genomes: Sequence[Any], seeds: Sequence[int]) -> list[EvalResult]:
        """Score a chunk of genomes; must equal `evaluate` with `np.random.default_rng(seed)` for each genome."""
        return [self.evaluate(g.phenotype(), np.random.default_rng(s)) for g, s in zip(genomes, seeds, strict=True)]

    def verify(self, network: Network, rng: np.random.Generator) -> EvalResult:
        return self.evaluate(network, rng)

    def prepare(self) -> None:
        """Acquire what the task needs (raise TaskSetupError when it cannot)."""

    def final_report(self, genome: Any, seed: int, out_dir: Path | None) -> dict[str, Any]:
        """Figures on the run's best genome once evolution is over; files go to `out_dir` (None: write nothing)."""
        return {}

    def interface(self) -> dict[str, Any]:
        """How to use an evolved network outside this engine: `inputs` and `outputs` (a name per value),
        `preprocessing` (what turns the raw observation into the inputs) and `decode` (what turns the outputs into
        the answer or action). Exports carry it."""
        return {"inputs": [f"input {i}" for i in range(self.num_inputs)],
                "outputs": [f"output {i}" for i in range(self.num_outputs)],
                "preprocessing": "none", "decode": "the outputs as they are"}

    def replay(self, network: Network, rng: np.random.Generator, sink: Callable[[np.ndarray], None]) -> EvalResult:
        """Play one episode of an evaluation with `rng`, handing every frame (RGB, uint8) to `sink`."""
        raise NotImplementedError(f"{type(self).__name__} cannot be replayed as video")

    @classmethod
    def can_replay(cls) -> bool:
        return cls.replay is not Task.replay
