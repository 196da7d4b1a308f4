"""NEAT as an ask/tell strategy over explicit state (Stanley & Miikkulainen 2002).

`tell` speciates the evaluated population, records species progress and steers the compatibility threshold;
`ask` breeds the next population from those species. Every random draw comes from a generator derived from
(seed, generation, purpose), and the state round-trips through JSON, so a resumed run continues bit for bit.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from evolve.neat_params import ReproductionConfig, SpeciesConfig
from evolve.reproduction import allocate_offspring, plan_offspring, surviving_species
from evolve.species import Species, speciate, steer_threshold
from evolve.strategy import Metrics, generation_rng
from genomes.base import MutationContext
from genomes.families import GenomeFamily, load_document
from genomes.innovation import InnovationTracker

STATE_VERSION = 2  # 2: the population as one document of its family (genome_ids + genomes)
STREAM_INIT, STREAM_BREED, STREAM_SPECIATE = 0, 1, 3


@dataclass
class NeatState:
    seed: int
    generation: int  # generations told so far; the population in `genomes` belongs to this generation
    genomes: dict[int, Any]
    fitness: dict[int, float] | None  # None until the current population has been told
    parents: dict[int, list[int]]
    species: list[Species]
    threshold: float
    innovations: InnovationTracker
    next_genome_id: int
    next_species_key: int
    best: dict[str, Any] | None = None  # {"id", "generation", "fitness", "genome"} of the best genome so far
    extra: dict[str, Any] = field(default_factory=dict)


class NeatStrategy:
    """NEAT over any genome family (NEAT graphs, CNN or recurrent cells): `family` supplies the genome-specific parts."""

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

    # -- ask/tell -------------------------------------------------------------------------------------------------
    def init(self, seed: int) -> NeatState:
        rng = np.random.default_rng(np.random.SeedSequence([seed, STREAM_INIT]))
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

    def ask(self, state: NeatState) -> tuple[list[Any], NeatState]:
        if state.fitness is None:
            return list(state.genomes.values()), state
        return self._breed(state)

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

    def genome_ids(self, state: NeatState) -> list[int]:
        return list(state.genomes)

    def tell(self, state: NeatState, genomes: list[Any], fitness: np.ndarray) -> tuple[NeatState, Metrics]:
        ids = list(state.genomes)
        if len(fitness) != len(ids):
            raise ValueError(f"told {len(fitness)} fitness values for a population of {len(ids)}")
        fit = {gid: float(f) for gid, f in zip(ids, np.asarray(fitness, dtype=np.float64))}
        species, next_key = speciate(
            [copy.copy(s) for s in state.species], state.genomes, state.threshold, self.family,
            state.generation, state.next_species_key, generation_rng(state.seed, state.generation, STREAM_SPECIATE),
        )
        for s in species:
            s.fitness = max(fit[g] for g in s.members)
            if s.fitness > s.best_fitness:
                s.best_fitness, s.last_improved = s.fitness, state.generation
        best_id = max(ids, key=lambda g: (fit[g], -g))
        best = state.best
        if best is None or fit[best_id] > best["fitness"]:
            best = {
                "id": best_id,
                "generation": state.generation,
                "fitness": fit[best_id],
                "genome": state.genomes[best_id],
                "parents": state.parents.get(best_id, []),
            }
        threshold = steer_threshold(
            state.threshold, len(species), self.species_config.target_species,
            self.species_config.threshold_step, self.species_config.threshold_min,
        )
        champion = self.family.describe(state.genomes[best_id])
        values = np.array(list(fit.values()))
        metrics: Metrics = {
            "generation": state.generation,
            "evaluations": len(ids),
            "best_fitness": fit[best_id],
            "mean_fitness": float(values.mean()),
            "std_fitness": float(values.std()),
            "n_species": len(species),
            "compatibility_threshold": state.threshold,
            **{f"best_{k}": v for k, v in champion.items()},
            "mean_hidden": float(np.mean([self.family.hidden_count(g) for g in state.genomes.values()])),
            "best_id": best_id,
        }
        new_state = copy.copy(state)
        new_state.fitness, new_state.species, new_state.next_species_key = fit, species, next_key
        new_state.threshold, new_state.best = threshold, best
        new_state.generation = state.generation + 1
        return new_state, metrics

    # -- breeding -------------------------------------------------------------------------------------------------
    def _breed(self, state: NeatState) -> tuple[list[Any], NeatState]:
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
        for elites, pairs in plan_offspring(rng, ranked, counts, self.reproduction_config):
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
        unchanged = [after is before for after, before in zip(structured, children)]
        # NEAT's attribute mutations for every offspring at once: one set of random draws over all their genes.
        mutated = self.family.finish_offspring(structured, unchanged, rng, ctx)
        genomes.update(zip(offspring, mutated))
        new_state = copy.copy(state)
        new_state.genomes, new_state.parents, new_state.fitness = genomes, parents, None
        new_state.innovations, new_state.next_genome_id = innovations, next_id
        return list(genomes.values()), new_state

    # -- serialization --------------------------------------------------------------------------------------------
    def state_to_dict(self, state: NeatState) -> dict[str, Any]:
        best = state.best
        return {
            "strategy": "neat",
            "version": STATE_VERSION,
            "seed": state.seed,
            "generation": state.generation,
            "genome_ids": list(state.genomes),
            "genomes": self.family.population_to_dict(list(state.genomes.values())),
            "fitness": None if state.fitness is None else [[gid, f] for gid, f in state.fitness.items()],
            "parents": [[gid, p] for gid, p in state.parents.items()],
            "species": [s.to_dict() for s in state.species],
            "threshold": state.threshold,
            "innovations": state.innovations.to_dict(),
            "next_genome_id": state.next_genome_id,
            "next_species_key": state.next_species_key,
            "best": None if best is None else {**best, "genome": best["genome"].shared_dict()},
            "extra": state.extra,
        }

    def state_from_dict(self, data: dict[str, Any]) -> NeatState:
        if data.get("strategy") != "neat" or data.get("version") not in (1, STATE_VERSION):
            raise ValueError(f"not a NEAT state of version 1 or {STATE_VERSION}")
        if data["version"] == 1:  # genome by genome: [[id, document], ...]
            genomes = {int(gid): load_document(g) for gid, g in data["genomes"]}
        else:
            genomes = dict(zip([int(gid) for gid in data["genome_ids"]],
                               self.family.population_from_dict(data["genomes"]), strict=True))
        best = data["best"]
        return NeatState(
            seed=int(data["seed"]),
            generation=int(data["generation"]),
            genomes=genomes,
            fitness=None if data["fitness"] is None else {int(gid): float(f) for gid, f in data["fitness"]},
            parents={int(gid): [int(p) for p in ps] for gid, ps in data["parents"]},
            species=[Species.from_dict(s) for s in data["species"]],
            threshold=float(data["threshold"]),
            innovations=InnovationTracker.from_dict(data["innovations"]),
            next_genome_id=int(data["next_genome_id"]),
            next_species_key=int(data["next_species_key"]),
            best=None if best is None else {**best, "genome": load_document(best["genome"])},
            extra=dict(data.get("extra", {})),
        )
