"""The strategy registry: `run.strategy` names one; `islands.count > 1` wraps it in the island model.

A new strategy is one file with a `Strategy` subclass that has a `from_config(family, config)` class method, plus
one entry here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from genomes.families import GenomeFamily, make_family

if TYPE_CHECKING:
    from evolve.strategy import Strategy

RunConfig = Any  # evolve.config.RunConfig, which names its strategy choices after this registry

# name -> "module:Class"; modules are imported on first use.
STRATEGIES: dict[str, str] = {
    "neat": "evolve.neat_strategy:NeatStrategy",
    "random": "evolve.random_search:RandomSearch",
}


def build_strategy(config: RunConfig) -> Strategy[Any]:
    """The strategy a run config describes (the island model around it when islands.count > 1)."""
    module, _, name = STRATEGIES[config.run.strategy].partition(":")
    strategy = getattr(importlib.import_module(module), name).from_config(genome_family(config), config)
    if config.islands.count > 1:
        from evolve.islands import IslandStrategy

        islands = config.islands
        return IslandStrategy(strategy, islands.count, islands.migration_interval, islands.migrants,
                              islands.topology)
    return strategy


def genome_family(config: RunConfig) -> GenomeFamily:
    return make_family(config.genome.kind, config.family_config())
