"""The Strategy base class: evosax-style ask/tell over explicit, JSON-serializable state.

The public `ask` and `tell` are the same for every strategy: `ask` returns a `Population` (genomes, their ids, parents
and evaluation seeds), `tell` takes that population's `Evaluations` (fitness, and optionally an objective vector and
a behaviour descriptor per genome), keeps the generation count and the best genome so far, and returns the
generation's metrics. A strategy implements the private steps `_init`, `_ask`, `_tell`, `_state_to_dict` and
`_state_from_dict`; its state extends `StrategyState`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np

from genomes.families import GenomeFamily, load_document
from genomes.streams import evaluation_seeds

Metrics = dict[str, Any]


@dataclass(kw_only=True)
class StrategyState:
    """What every strategy state holds: the seed that drives it, the generations told so far (the asked population
    belongs to generation `generation`), and the best genome so far."""

    seed: int
    generation: int = 0
    best: dict[str, Any] | None = None  # {"id", "generation", "fitness", "genome", "parents"}


@dataclass(frozen=True)
class Population:
    """One generation to evaluate: genomes with their ids (unique in the run), parents and evaluation seeds."""

    genomes: list[Any]
    ids: list[int]
    parents: list[list[int]]
    seeds: list[int]

    def __len__(self) -> int:
        return len(self.genomes)


@dataclass
class Evaluations:
    """Per-genome results of one population: fitness (P,), optional objectives (P, M) and descriptors (P, D)."""

    fitness: np.ndarray
    objectives: np.ndarray | None = None
    descriptors: np.ndarray | None = None
    metrics: list[dict[str, float]] = field(default_factory=list)

    @classmethod
    def from_results(cls, results: list[dict[str, Any]]) -> Evaluations:
        """From evaluation result dicts ({"fitness", "metrics", "objectives"?, "descriptor"?})."""
        fitness = np.array([r["fitness"] for r in results], dtype=np.float64)
        objectives = [r.get("objectives") for r in results]
        descriptors = [r.get("descriptor") for r in results]
        return cls(
            fitness,
            np.array(objectives, dtype=np.float64) if all(o is not None for o in objectives) and results else None,
            np.array(descriptors, dtype=np.float64) if all(d is not None for d in descriptors) and results else None,
            [r.get("metrics", {}) for r in results],
        )


S = TypeVar("S", bound=StrategyState)


class Strategy(ABC, Generic[S]):
    """Ask/tell over explicit state. Subclasses fill in the private steps; `family` describes the genomes."""

    name: ClassVar[str]
    family: GenomeFamily
    population_size: int  # genomes per population (per island for the island model)

    # -- public, the same for every strategy ------------------------------------------------------------------------
    def init(self, seed: int) -> S:
        return self._init(seed)

    def ask(self, state: S) -> tuple[Population, S]:
        """The genomes to evaluate next (offspring of the last told generation, or the initial population)."""
        genomes, ids, parents, state = self._ask(state)
        return Population(genomes, ids, parents, self._evaluation_seeds(state, ids)), state

    def tell(self, state: S, population: Population, evaluations: Evaluations) -> tuple[S, Metrics]:
        """Take the asked population's results; returns the next state (one generation later) and the metrics."""
        fitness = np.asarray(evaluations.fitness, dtype=np.float64)
        if len(fitness) != len(population):
            raise ValueError(f"told {len(fitness)} fitness values for a population of {len(population)}")
        generation = state.generation
        new_state, specific = self._tell(state, population, evaluations)
        best_index = max(range(len(fitness)), key=lambda i: (fitness[i], -population.ids[i]))
        best = state.best
        if best is None or fitness[best_index] > best["fitness"]:
            best = {
                "id": population.ids[best_index],
                "generation": generation,
                "fitness": float(fitness[best_index]),
                "genome": population.genomes[best_index],
                "parents": population.parents[best_index],
            }
        new_state.best, new_state.generation = best, generation + 1
        metrics: Metrics = {
            "generation": generation,
            "evaluations": len(fitness),
            "best_fitness": float(fitness[best_index]),
            "mean_fitness": float(fitness.mean()),
            "std_fitness": float(fitness.std()),
            **specific,
            "best_id": population.ids[best_index],
        }
        return new_state, metrics

    def state_to_dict(self, state: S) -> dict[str, Any]:
        best = state.best
        return {
            "strategy": self.name,
            **self._state_to_dict(state),
            "seed": state.seed,
            "generation": state.generation,
            "best": None if best is None else {**best, "genome": best["genome"].shared_dict()},
        }

    def state_from_dict(self, data: dict[str, Any]) -> S:
        """The state `state_to_dict` wrote; a foreign or damaged document raises ValueError (or KeyError/TypeError)."""
        if data.get("strategy") != self.name:
            raise ValueError(f"not a {self.name!r} strategy state (found {data.get('strategy')!r})")
        state = self._state_from_dict(data)
        best = data["best"]
        state.seed, state.generation = int(data["seed"]), int(data["generation"])
        state.best = None if best is None else {**best, "genome": load_document(best["genome"])}
        return state

    def summary(self, state: S) -> dict[str, Any]:
        """Figures of the final state for summary.json beyond the run's own (per-island results, ...)."""
        return {}

    # -- private steps ------------------------------------------------------------------------------------------------
    @abstractmethod
    def _init(self, seed: int) -> S:
        """The state of generation 0, its population drawn but not yet evaluated."""

    @abstractmethod
    def _ask(self, state: S) -> tuple[list[Any], list[int], list[list[int]], S]:
        """(genomes, ids, parents, state) of the population to evaluate in generation `state.generation`."""

    @abstractmethod
    def _tell(self, state: S, population: Population, evaluations: Evaluations) -> tuple[S, Metrics]:
        """A copy of the state updated with the results, and the strategy's own metrics (best-so-far and the
        generation count are the base class's)."""

    @abstractmethod
    def _state_to_dict(self, state: S) -> dict[str, Any]: ...

    @abstractmethod
    def _state_from_dict(self, data: dict[str, Any]) -> S: ...

    def _evaluation_seeds(self, state: S, ids: list[int]) -> list[int]:
        return evaluation_seeds(state.seed, state.generation, ids)
