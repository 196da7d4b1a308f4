"""Random search: the baseline every architecture search must beat (Li & Talwalkar 2019).

Each generation is a fresh sample: the family's initial genome after `mutations` random mutations, drawn anew for
every member, with no selection, crossover or inheritance. Evaluation, speciation figures, the best-so-far record,
checkpoints and resume are the NEAT strategy's, so a random-search run costs exactly what a NEAT run of the same
population and generations costs.
"""

from __future__ import annotations

import copy
from typing import Any

from evolve.neat_params import ReproductionConfig, SpeciesConfig
from evolve.speciated import NeatState, SpeciatedStrategy
from genomes.base import MutationContext
from genomes.families import GenomeFamily
from genomes.streams import STREAM_BREED, generation_rng


class RandomSearch(SpeciatedStrategy):
    """Each generation `population_size` fresh samples: the initial genome after `mutations` random mutations."""

    name = "random"

    def __init__(
        self,
        family: GenomeFamily,
        species_config: SpeciesConfig,
        reproduction_config: ReproductionConfig,
        population_size: int,
        mutations: int,
    ) -> None:
        super().__init__(family, species_config, reproduction_config, population_size)
        self.mutations = mutations

    @classmethod
    def from_config(cls, family: GenomeFamily, config: Any) -> RandomSearch:
        return cls(family, config.species, config.reproduction, config.population.size, config.run.random_mutations)

    def _breed(self, state: NeatState) -> NeatState:
        rng = generation_rng(state.seed, state.generation, STREAM_BREED)
        ctx = MutationContext(self.genome_config, state.innovations.copy())
        genomes: dict[int, Any] = {}
        for gid in range(state.next_genome_id, state.next_genome_id + self.population_size):
            genome = self.family.initial(rng, ctx)
            for _ in range(self.mutations):
                genome = genome.mutate(rng, ctx)
            genomes[gid] = genome
        new_state = copy.copy(state)
        new_state.genomes, new_state.parents, new_state.fitness = genomes, {g: [] for g in genomes}, None
        new_state.innovations = ctx.innovations
        new_state.next_genome_id = state.next_genome_id + self.population_size
        return new_state
