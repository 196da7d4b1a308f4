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


def plan_offspring(
    rng: np.random.Generator,
    ranked: list[list[int]],
    counts: list[int],
    config: ReproductionConfig,
    champion: int | None = None,
) -> list[tuple[list[int], list[tuple[int, int | None]]]]:
    """Plan each species' offspring from its members `ranked` best first and its offspring count: the ids copied
    as elites, then (parent, second parent or None) pairs. `champion`, the position of the species holding the
    population's best genome, copies that genome whatever the species' size (`keep_champion`).

    Parents are a species' top `survival_threshold` fraction (at least two where it has two); a child is crossed
    with probability `crossover_rate`, its second parent coming from another species' two best with probability
    `interspecies_crossover_rate`. The whole generation's choices come from one block of uniform draws, four per
    child (parent, crossed, across, second parent), each scaled to its pool.
    """
    sizes = [len(members) for members in ranked]
    n_elites = [min(config.elitism, spawn) if size >= config.elitism_min_species_size else 0
                for size, spawn in zip(sizes, counts)]
    if champion is not None:
        n_elites[champion] = max(n_elites[champion], min(1, counts[champion]))
    children = [max(spawn - n, 0) for spawn, n in zip(counts, n_elites)]
    first, crossed, across, second = rng.random((4, sum(children))).tolist()
    tops = [g for members in ranked for g in members[:2]]  # another species' share of these is its foreign pool
    ends = np.cumsum([min(2, size) for size in sizes]).tolist()
    plans, at = [], 0
    for i, (members, n_elite, k) in enumerate(zip(ranked, n_elites, children)):
        parents = members[: max(math.ceil(config.survival_threshold * len(members)), min(2, len(members)))]
        foreign = tops[: ends[i - 1] if i else 0] + tops[ends[i]:]
        pairs: list[tuple[int, int | None]] = []
        for j in range(at, at + k):
            mate = None
            if crossed[j] < config.crossover_rate:
                pool = foreign if foreign and across[j] < config.interspecies_crossover_rate else parents
                mate = pool[int(second[j] * len(pool))]
            pairs.append((parents[int(first[j] * len(parents))], mate))
        plans.append((members[:n_elite], pairs))
        at += k
    return plans


def champion_species(
    ranked: list[list[int]], fitness: dict[int, float], counts: list[int]
) -> tuple[int, list[int]]:
    """The position of the species whose best member is the population's best (the first such), and the offspring
    counts with one for that species to hold the copy: taken, if it had none, from the species with the most."""
    best = max(range(len(ranked)), key=lambda i: (fitness[ranked[i][0]], -i))
    counts = list(counts)
    if counts[best] == 0:
        donor = max(range(len(counts)), key=lambda i: (counts[i], -i))
        counts[donor] -= 1
        counts[best] += 1
    return best, counts
