"""NEAT reproduction: stagnation, offspring allocation by shared fitness, elitism and breeding within species."""

from __future__ import annotations

import math

import numpy as np

from evolve.neat_params import ReproductionConfig, SpeciesConfig
from evolve.species import Species


def surviving_species(species: list[Species], generation: int, config: SpeciesConfig) -> list[Species]:
    """Species that improved within `max_stagnation` generations, plus the `species_elitism` best regardless."""
    ranked = sorted(species, key=lambda s: (-s.fitness, s.key))
    protected = {s.key for s in ranked[: config.species_elitism]}
    alive = [s for s in species if s.key in protected or generation - s.last_improved < config.max_stagnation]
    return alive or ranked[:1]


def allocate_offspring(
    species: list[Species], fitness: dict[int, float], population_size: int, min_size: int
) -> list[int]:
    """Offspring per species proportional to its explicitly shared fitness (mean member fitness shifted so the
    worst genome scores 0), at least `min_size` each, summing exactly to population_size (largest remainder)."""
    floor = min(fitness[g] for s in species for g in s.members)
    shares = np.array([sum(fitness[g] - floor for g in s.members) / len(s.members) for s in species])
    if shares.sum() <= 0:
        shares = np.ones(len(species))
    n = len(species)
    guaranteed = min(min_size, population_size // n)
    spare = population_size - guaranteed * n
    exact = spare * shares / shares.sum()
    counts = np.floor(exact).astype(int)
    remainder = spare - counts.sum()
    order = np.lexsort((np.arange(n), -(exact - counts)))  # largest fractional part first, ties by position
    counts[order[:remainder]] += 1
    return (counts + guaranteed).tolist()


def breed_species(
    rng: np.random.Generator,
    ranked: list[int],
    spawn: int,
    config: ReproductionConfig,
    foreign_parents: list[int],
) -> tuple[list[int], list[tuple[int, int | None]]]:
    """Plan one species' offspring from its members `ranked` best first: ids copied as elites, then (parent,
    second parent or None) pairs.

    Parents are the top `survival_threshold` fraction (at least two where the species has two); a second parent
    comes from another species with probability `interspecies_crossover_rate`.
    """
    n_elite = min(config.elitism, spawn) if len(ranked) >= config.elitism_min_species_size else 0
    elites = ranked[:n_elite]
    n_parents = max(math.ceil(config.survival_threshold * len(ranked)), min(2, len(ranked)))
    parents = ranked[:n_parents]
    # Each child's draws, made for the whole species at once: its parent, whether it is crossed, whether across
    # species, and a second parent from either pool (the one not needed goes unused).
    k = max(spawn - n_elite, 0)
    first = rng.integers(len(parents), size=k).tolist()
    crossed, across = (rng.random((2, k)) < [[config.crossover_rate], [config.interspecies_crossover_rate]]).tolist()
    local = rng.integers(len(parents), size=k).tolist()
    abroad = rng.integers(len(foreign_parents), size=k).tolist() if foreign_parents else [None] * k
    pairs: list[tuple[int, int | None]] = []
    for i in range(k):
        second: int | None = None
        if crossed[i]:
            second = foreign_parents[abroad[i]] if foreign_parents and across[i] else parents[local[i]]
        pairs.append((parents[first[i]], second))
    return elites, pairs
