"""A speciated population over explicit state: what NEAT and random search share (Stanley & Miikkulainen 2002).

`tell` speciates the evaluated population, records species progress and steers the compatibility threshold;
`ask` makes the next population with the subclass's `_breed`. Every random draw comes from a generator derived from
(seed, generation, purpose), and the state round-trips through JSON, so a resumed run continues bit for bit.
"""

from __future__ import annotations

import copy
from abc import abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from evolve.neat_params import ReproductionConfig, SpeciesConfig
from evolve.species import Species, speciate, steer_threshold
from evolve.strategy import Evaluations, Metrics, Population, Strategy, StrategyState
from genomes.base import MutationContext
from genomes.families import GenomeFamily, load_document
from genomes.innovation import InnovationTracker
from genomes.streams import STREAM_SPECIATE, generation_rng, init_rng

STATE_VERSION = 2  # 2: the population as one document of its family (genome_ids + genomes)


def species_record(species: Species, fitness: dict[int, float]) -> list[float]:
    """[key, size, best fitness, mean fitness] of a species this generation: a metrics line's `species` entry."""
    values = [fitness[g] for g in species.members]
    return [species.key, len(values), max(values), sum(values) / len(values)]


@dataclass(kw_only=True)
class NeatState(StrategyState):
    genomes: dict[int, Any]  # the population of generation `generation`
    fitness: dict[int, float] | None  # None until the current population has been told
    parents: dict[int, list[int]]
    species: list[Species]
    threshold: float
    innovations: InnovationTracker
    next_genome_id: int
    next_species_key: int
    extra: dict[str, Any] = field(default_factory=dict)


class SpeciatedStrategy(Strategy[NeatState]):
    """Speciation, species records and the compatibility threshold over any genome family (NEAT graphs, CNN or
    recurrent cells; `family` supplies the genome-specific parts). Subclasses make each next population in
    `_breed`: NeatStrategy by NEAT's reproduction, RandomSearch by fresh samples."""

    def __init__(
        self,
        family: GenomeFamily,
        species_config: SpeciesConfig,
        reproduction_config: ReproductionConfig,
        population_size: int,
    ) -> None:
        self.family = family
        self.genome_config = family.config
        self.species_config = species_config
        self.reproduction_config = reproduction_config
        self.population_size = population_size

    @classmethod
    def from_config(cls, family: GenomeFamily, config: Any) -> SpeciatedStrategy:
        """The strategy a run config describes ([species], [reproduction], population.size)."""
        return cls(family, config.species, config.reproduction, config.population.size)

    # -- ask/tell steps -------------------------------------------------------------------------------------------
    def _init(self, seed: int) -> NeatState:
        rng = init_rng(seed)
        ctx = MutationContext(self.genome_config, InnovationTracker())
        genomes = dict(enumerate(self.family.initial_population(self.population_size, rng, ctx)))
        return NeatState(
            seed=seed,
            generation=0,
            genomes=genomes,
            fitness=None,
            parents={i: [] for i in genomes},
            species=[],
            threshold=self.species_config.compatibility_threshold,
            innovations=ctx.innovations,
            next_genome_id=len(genomes),
            next_species_key=0,
        )

    def _ask(self, state: NeatState) -> tuple[list[Any], list[int], list[list[int]], NeatState]:
        if state.fitness is not None:
            state = self._breed(state)
        ids = list(state.genomes)
        return list(state.genomes.values()), ids, [state.parents.get(g, []) for g in ids], state

    def immigrate(self, state: NeatState, immigrants: list[Any]) -> NeatState:
        """Replace the last offspring of an asked (not yet told) population with `immigrants`, which must use this
        state's innovation numbers (`genomes.innovation.translate`). They are evaluated and speciated like any
        offspring; their parents list is empty."""
        if state.fitness is not None:
            raise ValueError("immigrants join an asked population, before it is told")
        ids = list(state.genomes)[len(state.genomes) - len(immigrants):]
        new_state = copy.copy(state)
        new_state.genomes, new_state.parents = dict(state.genomes), dict(state.parents)
        for gid, genome in zip(ids, immigrants, strict=True):
            new_state.genomes[gid], new_state.parents[gid] = genome, []
        return new_state

    def _tell(self, state: NeatState, population: Population, evaluations: Evaluations) -> tuple[NeatState, Metrics]:
        ids = list(state.genomes)
        fit = {gid: float(f) for gid, f in zip(ids, np.asarray(evaluations.fitness, dtype=np.float64))}
        species, next_key = speciate(
            [copy.copy(s) for s in state.species], state.genomes, state.threshold, self.family,
            state.generation, state.next_species_key, generation_rng(state.seed, state.generation, STREAM_SPECIATE),
        )
        for s in species:
            s.fitness = max(fit[g] for g in s.members)
            if s.fitness > s.best_fitness:
                s.best_fitness, s.last_improved = s.fitness, state.generation
        best_id = max(ids, key=lambda g: (fit[g], -g))
        threshold = steer_threshold(
            state.threshold, len(species), self.species_config.target_species,
            self.species_config.threshold_step, self.species_config.threshold_min,
        )
        champion = self.family.describe(state.genomes[best_id])
        metrics: Metrics = {
            "n_species": len(species),
            "species": [species_record(s, fit) for s in species],
            "compatibility_threshold": state.threshold,
            **{f"best_{k}": v for k, v in champion.items()},
            "mean_hidden": self.family.mean_hidden(list(state.genomes.values())),
        }
        new_state = copy.copy(state)
        new_state.fitness, new_state.species, new_state.next_species_key = fit, species, next_key
        new_state.threshold = threshold
        return new_state, metrics

    @abstractmethod
    def _breed(self, state: NeatState) -> NeatState:
        """The next population (not yet evaluated, `fitness` None) made from the told one."""

    # -- serialization --------------------------------------------------------------------------------------------
    def _state_to_dict(self, state: NeatState) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "genome_ids": list(state.genomes),
            "genomes": self.family.population_to_dict(list(state.genomes.values())),
            "fitness": None if state.fitness is None else [[gid, f] for gid, f in state.fitness.items()],
            "parents": [[gid, p] for gid, p in state.parents.items()],
            "species": [s.to_dict() for s in state.species],
            "threshold": state.threshold,
            "innovations": state.innovations.to_dict(),
            "next_genome_id": state.next_genome_id,
            "next_species_key": state.next_species_key,
            "extra": state.extra,
        }

    def _state_from_dict(self, data: dict[str, Any]) -> NeatState:
        if data.get("version") not in (1, STATE_VERSION):
            raise ValueError(f"not a NEAT state of version 1 or {STATE_VERSION}")
        if data["version"] == 1:  # genome by genome: [[id, document], ...]
            genomes = {int(gid): load_document(g) for gid, g in data["genomes"]}
        else:
            genomes = dict(zip([int(gid) for gid in data["genome_ids"]],
                               self.family.population_from_dict(data["genomes"]), strict=True))
        return NeatState(
            seed=int(data["seed"]),
            genomes=genomes,
            fitness=None if data["fitness"] is None else {int(gid): float(f) for gid, f in data["fitness"]},
            parents={int(gid): [int(p) for p in ps] for gid, ps in data["parents"]},
            species=[Species.from_dict(s) for s in data["species"]],
            threshold=float(data["threshold"]),
            innovations=InnovationTracker.from_dict(data["innovations"]),
            next_genome_id=int(data["next_genome_id"]),
            next_species_key=int(data["next_species_key"]),
            extra=dict(data.get("extra", {})),
        )
