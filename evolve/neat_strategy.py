"""NEAT as an ask/tell strategy (Stanley & Miikkulainen 2002): offspring allocated to species by shared fitness,
elites kept, crossover aligned by innovation numbers, structural and attribute mutation."""

from __future__ import annotations

import copy
from typing import Any

from evolve.reproduction import allocate_offspring, champion_species, plan_offspring, surviving_species
from evolve.speciated import NeatState, SpeciatedStrategy
from genomes.base import MutationContext
from genomes.streams import STREAM_BREED, generation_rng


class NeatStrategy(SpeciatedStrategy):
    """NEAT over any genome family (NEAT graphs, CNN or recurrent cells)."""

    name = "neat"

    # -- breeding ------------------------------------------------------------------------------------------------
    def _breed(self, state: NeatState) -> NeatState:
        """The next population (not yet evaluated) bred from the told one."""
        rng = generation_rng(state.seed, state.generation, STREAM_BREED)
        innovations = state.innovations.copy()
        ctx = MutationContext(self.genome_config, innovations)
        fit = state.fitness
        assert fit is not None
        alive = surviving_species(state.species, state.generation, self.species_config)
        counts = allocate_offspring(
            alive, fit, self.population_size, self.reproduction_config.min_species_size
        )
        genomes: dict[int, Any] = {}
        parents: dict[int, list[int]] = {}
        offspring: list[int] = []
        crosses: list[tuple[int, int, int, bool]] = []  # (child id, fitter parent, other parent, equally fit)
        next_id = state.next_genome_id
        ranked = [sorted(s.members, key=lambda g: (-fit[g], g)) for s in alive]
        champion = None
        if self.reproduction_config.keep_champion:
            champion, counts = champion_species(ranked, fit, counts)
        for elites, pairs in plan_offspring(rng, ranked, counts, self.reproduction_config, champion):
            for gid in elites:
                genomes[next_id], parents[next_id] = state.genomes[gid], [gid]
                next_id += 1
            for first, second in pairs:
                if second is None or second == first:
                    genomes[next_id], parents[next_id] = state.genomes[first], [first]
                else:
                    if fit[second] > fit[first]:
                        first, second = second, first
                    crosses.append((next_id, first, second, fit[first] == fit[second]))
                    genomes[next_id], parents[next_id] = None, [first, second]
                offspring.append(next_id)
                next_id += 1
        # The generation's crossovers at once, then the structural mutations (which ones drawn for all children).
        children = self.family.crossover_many(
            [(state.genomes[first], state.genomes[second], equal) for _, first, second, equal in crosses], rng, ctx
        )
        genomes.update((child_id, child) for (child_id, *_), child in zip(crosses, children))
        children = [genomes[child_id] for child_id in offspring]
        structured = self.family.mutate_children(children, rng, ctx)
        genomes.update(zip(offspring, structured))
        # NEAT's attribute mutations for every offspring at once (one set of random draws over all their genes),
        # over the whole population, which comes out in one pool of genes.
        ids, bred = list(genomes), set(offspring)
        changed = {child_id for child_id, after, before in zip(offspring, structured, children) if after is not before}
        population = self.family.finish_offspring([genomes[g] for g in ids], [g in bred for g in ids],
                                                  [g not in changed for g in ids], rng, ctx)
        genomes = dict(zip(ids, population))
        new_state = copy.copy(state)
        new_state.genomes, new_state.parents, new_state.fitness = genomes, parents, None
        new_state.innovations, new_state.next_genome_id = innovations, next_id
        return new_state
