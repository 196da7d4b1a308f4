"""Speciation: grouping genomes by compatibility distance to each species' representative."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from genomes.families import GenomeFamily, load_document


@dataclass
class Species:
    key: int
    created: int
    representative: Any
    members: list[int] = field(default_factory=list)  # genome ids of the current population
    # `representative` is the genome new genomes are compared with: a random member of the last generation
    best_fitness: float = float("-inf")  # best member fitness ever seen
    last_improved: int = 0
    fitness: float = float("-inf")  # best member fitness of the current population

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "created": self.created,
            "representative": self.representative.shared_dict(),
            "members": list(self.members),
            "best_fitness": _json_float(self.best_fitness),
            "last_improved": self.last_improved,
            "fitness": _json_float(self.fitness),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Species:
        return cls(
            key=int(data["key"]),
            created=int(data["created"]),
            representative=load_document(data["representative"]),
            members=[int(m) for m in data["members"]],
            best_fitness=_float(data["best_fitness"]),
            last_improved=int(data["last_improved"]),
            fitness=_float(data["fitness"]),
        )


def speciate(
    species: list[Species],
    genomes: dict[int, Any],
    threshold: float,
    family: GenomeFamily,
    generation: int,
    next_key: int,
    rng: np.random.Generator,
) -> tuple[list[Species], int]:
    """Assign every genome to a species as in the NEAT paper; returns the non-empty species and the next free key.

    Each genome, in id order, joins the first species (oldest first) whose representative — a random member of that
    species in the previous generation — is within the threshold, or founds a new species with itself as
    representative. (Joining the first rather than the closest is what lets a rising threshold merge species.)
    Species left without members vanish; each survivor then draws a random member as its representative for the
    next generation. Old species come first, so a genome one of them accepts joins it; only the others can found
    or join new species, and their distances to each other are computed together: two vectorized passes a
    generation, however many species are founded.
    """
    ids = list(genomes)
    index, config = family.index([genomes[g] for g in ids]), family.config
    for s in species:
        s.members = []
    compatible = index.distances([s.representative for s in species], config) < threshold  # [old species, genome]
    accepted = compatible.any(axis=0)
    if species:
        for j, k in zip(np.flatnonzero(accepted).tolist(), compatible.argmax(axis=0)[accepted].tolist()):
            species[k].members.append(ids[j])  # the first compatible species, as in the paper
    candidates = list(species)
    rest = [ids[j] for j in np.flatnonzero(~accepted).tolist()]
    if rest:
        # among[a, b]: genome rest[a], as the founder of a species, to genome rest[b]
        among = family.index([genomes[g] for g in rest]).distances([genomes[g] for g in rest], config) < threshold
        founders: list[int] = []  # positions in `rest` of the genomes that founded species, oldest first
        for b, gid in enumerate(rest):
            joined = np.flatnonzero(among[founders, b]) if founders else ()
            if len(joined):
                candidates[len(species) + int(joined[0])].members.append(gid)
                continue
            founders.append(b)
            candidates.append(Species(key=next_key, created=generation, representative=genomes[gid],
                                      last_improved=generation, members=[gid]))
            next_key += 1
    survivors = [s for s in candidates if s.members]
    for s in survivors:
        s.representative = genomes[s.members[int(rng.integers(len(s.members)))]]
    return survivors, next_key


def steer_threshold(threshold: float, n_species: int, target: int, step: float, minimum: float) -> float:
    """Move the compatibility threshold one step toward producing `target` species (0 leaves it fixed)."""
    if target <= 0:
        return threshold
    if n_species < target:
        threshold -= step
    elif n_species > target:
        threshold += step
    return max(threshold, minimum)


def _json_float(x: float) -> float | None:
    return None if x == float("-inf") else float(x)


def _float(x: float | None) -> float:
    return float("-inf") if x is None else float(x)
