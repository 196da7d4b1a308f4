"""The island model as a strategy wrapper: K populations evolving side by side, exchanging their best genomes.

Each island is a whole population of the inner strategy with its own seed (`genomes.streams.island_seed`),
innovation tracker and species. `ask` concatenates the islands' populations into one, so the Runner evaluates all
K of them through its executor in one generation: every worker and GPU evaluator serves every island. Every
`migration_interval` generations, before asking, each island sends copies of its `migrants` fittest genomes of the
last generation to its destination (ring: the next island; random: a seeded draw among the others). Migrants are
re-marked in the destination's innovation numbers (`genomes.innovation.translate`) and replace the last offspring of
its next generation. Genome ids of the combined population are `local id * K + island`; evaluation seeds come from
each island's seed and local id.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np

from evolve.speciated import NeatState, SpeciatedStrategy
from evolve.strategy import Evaluations, Metrics, Population, Strategy, StrategyState
from genomes.innovation import translate
from genomes.streams import STREAM_MIGRATE, evaluation_seeds, generation_rng, island_seed

STATE_VERSION = 2  # 2: islands of one Runner (1 was one Ray actor per island, not resumable here)


@dataclass(kw_only=True)
class IslandState(StrategyState):
    islands: list[NeatState]


def destinations(count: int, topology: str, run_seed: int, generation: int) -> list[int]:
    """Where each island's migrants go: the next island (ring) or a seeded draw among the others (random)."""
    if topology == "ring":
        return [(i + 1) % count for i in range(count)]
    rng = generation_rng(run_seed, generation, STREAM_MIGRATE)
    return [int((i + 1 + rng.integers(count - 1)) % count) for i in range(count)]


class IslandStrategy(Strategy[IslandState]):
    name = "islands"

    def __init__(self, inner: SpeciatedStrategy, count: int, migration_interval: int, migrants: int,
                 topology: str) -> None:
        self.inner, self.count = inner, count
        self.migration_interval, self.migrants, self.topology = migration_interval, migrants, topology
        self.family = inner.family
        self.population_size = inner.population_size

    def _init(self, seed: int) -> IslandState:
        return IslandState(seed=seed, islands=[self.inner.init(island_seed(seed, i)) for i in range(self.count)])

    def _ask(self, state: IslandState) -> tuple[list[Any], list[int], list[list[int]], IslandState]:
        arriving = self._migration(state)
        genomes: list[Any] = []
        ids: list[int] = []
        parents: list[list[int]] = []
        islands = []
        for index, island in enumerate(state.islands):
            population, island = self.inner.ask(island)
            if arriving[index]:
                island = self.inner.immigrate(island, [
                    translate(genome, tracker, island.innovations) for genome, tracker in arriving[index]
                ][: self.population_size])
            islands.append(island)
            local = list(island.genomes)
            genomes += island.genomes.values()
            ids += [gid * self.count + index for gid in local]
            parents += [[p * self.count + index for p in island.parents.get(gid, [])] for gid in local]
        new_state = copy.copy(state)
        new_state.islands = islands
        return genomes, ids, parents, new_state

    def _migration(self, state: IslandState) -> list[list[tuple[Any, Any]]]:
        """Per island, the (genome, source tracker) pairs arriving before this generation (none most generations)."""
        arriving: list[list[tuple[Any, Any]]] = [[] for _ in range(self.count)]
        generation = state.generation
        if self.count < 2 or self.migrants == 0 or generation == 0 or generation % self.migration_interval:
            return arriving
        to = destinations(self.count, self.topology, state.seed, generation)
        for source, island in enumerate(state.islands):
            fitness = island.fitness or {}
            ranked = sorted(fitness, key=lambda gid: (-fitness[gid], gid))[: self.migrants]
            arriving[to[source]] += [(island.genomes[gid], island.innovations) for gid in ranked]
        return arriving

    def _evaluation_seeds(self, state: IslandState, ids: list[int]) -> list[int]:
        seeds = np.empty(len(ids), dtype=np.int64)
        ids_array = np.asarray(ids, dtype=np.int64)
        for index, island in enumerate(state.islands):
            mine = np.flatnonzero(ids_array % self.count == index)
            seeds[mine] = evaluation_seeds(island.seed, island.generation, (ids_array[mine] // self.count).tolist())
        return seeds.tolist()

    def _tell(self, state: IslandState, population: Population, evaluations: Evaluations) -> tuple[IslandState,
                                                                                                   Metrics]:
        islands, lines = [], []
        start = 0
        for index, island in enumerate(state.islands):
            size = len(island.genomes)
            part = slice(start, start + size)
            start += size
            local_ids = list(island.genomes)
            local = Population(population.genomes[part], local_ids,
                               [island.parents.get(gid, []) for gid in local_ids], population.seeds[part])
            results = Evaluations(evaluations.fitness[part],
                                  None if evaluations.objectives is None else evaluations.objectives[part],
                                  None if evaluations.descriptors is None else evaluations.descriptors[part],
                                  evaluations.metrics[part])
            island, metrics = self.inner.tell(island, local, results)
            islands.append(island)
            lines.append(metrics)
        new_state = copy.copy(state)
        new_state.islands = islands
        best_island = max(range(self.count), key=lambda i: (lines[i]["best_fitness"], -i))
        return new_state, {
            "n_species": sum(m["n_species"] for m in lines),
            "best_island": best_island,
            "islands": lines,
        }

    def summary(self, state: IslandState) -> dict[str, Any]:
        return {"islands": [
            {"island": i, "seed": island.seed, "generations": island.generation,
             "best_fitness": island.best["fitness"] if island.best else None}
            for i, island in enumerate(state.islands)
        ]}

    def _state_to_dict(self, state: IslandState) -> dict[str, Any]:
        return {"version": STATE_VERSION, "islands": [self.inner.state_to_dict(s) for s in state.islands]}

    def _state_from_dict(self, data: dict[str, Any]) -> IslandState:
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"not an island state of version {STATE_VERSION}")
        islands = data["islands"]
        if not isinstance(islands, list) or len(islands) != self.count:
            raise ValueError(f"not a state of {self.count} islands")
        states = []
        for index, island in enumerate(islands):
            try:
                states.append(self.inner.state_from_dict(island))
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"island {index}: {exc}") from None
        return IslandState(seed=int(data["seed"]), islands=states)
