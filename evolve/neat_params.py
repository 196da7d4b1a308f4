"""Parameters of NEAT's population dynamics: speciation, stagnation and reproduction."""

from __future__ import annotations

from dataclasses import dataclass

from genomes.params import param


@dataclass
class SpeciesConfig:
    compatibility_threshold: float = param(3.0, gt=0.0, doc="initial compatibility threshold")
    target_species: int = param(0, ge=0, le=100_000, doc="steer the threshold toward this many species (0: fixed threshold)")
    threshold_step: float = param(0.3, ge=0.0, doc="threshold change per generation when steering")
    threshold_min: float = param(0.3, gt=0.0)
    max_stagnation: int = param(15, ge=1, doc="generations without improvement before a species is dropped")
    species_elitism: int = param(2, ge=0, doc="the best species never dropped for stagnation")


@dataclass
class ReproductionConfig:
    elitism: int = param(1, ge=0, doc="champions copied unchanged per species")
    elitism_min_species_size: int = param(5, ge=1, doc="species smaller than this get no elites (paper: 5)")
    keep_champion: bool = param(
        False, doc="always copy the population's best genome unchanged, whatever its species' size (the paper copies "
        "only the champions of species of five or more, so a best genome in a small species can be lost)"
    )
    survival_threshold: float = param(0.2, gt=0.0, le=1.0, doc="fraction of each species allowed to reproduce")
    crossover_rate: float = param(0.75, ge=0.0, le=1.0, doc="offspring from crossover (the rest mutation only)")
    interspecies_crossover_rate: float = param(0.001, ge=0.0, le=1.0)
    min_species_size: int = param(
        2, ge=0, doc="offspring guaranteed to every surviving species (0: none, as in the paper, where a species "
        "that earns no offspring dies out)"
    )
