"""Genome families: what the NEAT strategy needs to know about a kind of genome, and loading any genome document.

The NEAT strategy (speciation, fitness sharing, crossover of the fitter parent, mutation) is the same for every
genome that satisfies the Genome protocol; a family adds the few things that differ: how the first population is
made, how one representative's distance to the whole population is computed (vectorized for NEAT graphs), how a
child is mutated, and which figures describe a genome. Kinds: "neat" (genomes.neat_genome), "cnn" (CNN cells,
genomes.cnn_cell) and "rnn" (recurrent cells, genomes.rnn_cell).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from genomes.base import GenomeError, MutationContext
from genomes.kinds import KINDS, SCHEMAS
from genomes.neat_mutation import mutate_attributes_where, mutate_structure_all


def genome_class(schema: str) -> type:
    return SCHEMAS[schema].genome_class()


def load_document(data: Any, validate: bool = True) -> Any:
    """The genome a JSON document describes, of whichever family its `schema` names; raises GenomeError."""
    if not isinstance(data, dict):
        raise GenomeError("genome document must be a JSON object")
    schema = data.get("schema")
    if schema not in SCHEMAS:
        raise GenomeError(f"unknown genome schema {schema!r} (known: {', '.join(SCHEMAS)})")
    return genome_class(schema).from_dict(data, validate=validate)


class DistanceIndex(Protocol):
    def distances(self, representatives: Sequence[Any], config: Any) -> np.ndarray:
        """(representatives, genomes) compatibility distances."""
        ...


class GenomeFamily(Protocol):
    kind: str
    config: Any

    def initial(self, rng: np.random.Generator, ctx: MutationContext) -> Any: ...

    def initial_population(self, size: int, rng: np.random.Generator, ctx: MutationContext) -> list[Any]:
        """`size` starting genomes, as `initial` called `size` times would make them."""
        ...

    def index(self, genomes: Sequence[Any]) -> DistanceIndex:
        """An object whose `distances(representatives, config)` gives each representative's distance to every genome."""
        ...

    def crossover_many(self, pairs: list[tuple[Any, Any, bool]], rng: np.random.Generator,
                       ctx: MutationContext) -> list[Any]:
        """The child of each (fitter parent, other parent, equally fit) triple."""
        ...

    def mutate_children(self, children: list[Any], rng: np.random.Generator, ctx: MutationContext) -> list[Any]:
        """Each child after its structural mutation (the same object when nothing changed)."""
        ...

    def finish_offspring(self, population: list[Any], offspring: list[bool], unchanged: list[bool],
                         rng: np.random.Generator, ctx: MutationContext) -> list[Any]:
        """The next population, in order, after a last pass over its offspring at once (NEAT's attribute
        mutations): `offspring[i]` says whether genome i is an offspring (not an elite), `unchanged[i]` whether
        its structure is as it was bred."""
        ...

    def population_to_dict(self, genomes: list[Any]) -> Any:
        """The genomes, in order, as JSON (a checkpoint's population)."""
        ...

    def population_from_dict(self, data: Any) -> list[Any]:
        """The genomes `population_to_dict` wrote, validated; raises GenomeError."""
        ...

    def hidden_count(self, genome: Any) -> int:
        """Hidden nodes (or cell nodes) of one genome."""
        ...

    def mean_hidden(self, genomes: list[Any]) -> float:
        """The genomes' mean `hidden_count`, for every generation's metrics."""
        ...

    def describe(self, genome: Any) -> dict[str, float]:
        """Short figures of one genome for metrics and summaries (hidden nodes, connections, ...)."""
        ...


class NeatFamily:
    """NEAT graphs: vectorized distances, structural mutation per child and attribute mutation over all at once."""

    kind = "neat"

    def __init__(self, config: Any) -> None:
        self.config = config

    def initial(self, rng: np.random.Generator, ctx: MutationContext) -> Any:
        from genomes.neat_genome import NeatGenome

        return NeatGenome.initial(self.config, rng, ctx)

    def initial_population(self, size: int, rng: np.random.Generator, ctx: MutationContext) -> list[Any]:
        from genomes.gene_pool import initial_population

        return initial_population(self.config, size, rng, ctx)

    def index(self, genomes: Sequence[Any]) -> DistanceIndex:
        from genomes.neat_alignment import PopulationIndex

        return PopulationIndex(list(genomes))

    def crossover_many(self, pairs: list[tuple[Any, Any, bool]], rng: np.random.Generator,
                       ctx: MutationContext) -> list[Any]:
        from genomes.neat_alignment import crossover_many

        return crossover_many(pairs, rng, ctx.config)

    def mutate_children(self, children: list[Any], rng: np.random.Generator, ctx: MutationContext) -> list[Any]:
        return mutate_structure_all(children, rng, ctx)

    def finish_offspring(self, population: list[Any], offspring: list[bool], unchanged: list[bool],
                         rng: np.random.Generator, ctx: MutationContext) -> list[Any]:
        return mutate_attributes_where(population, unchanged, rng, ctx.config, offspring)

    def population_to_dict(self, genomes: list[Any]) -> Any:
        from genomes.neat_population_doc import population_to_dict

        return population_to_dict(genomes)

    def population_from_dict(self, data: Any) -> list[Any]:
        from genomes.neat_population_doc import population_from_dict

        return population_from_dict(data)

    def hidden_count(self, genome: Any) -> int:
        return len(genome.nodes) - genome.num_outputs  # node genes are the outputs and the hidden nodes

    def mean_hidden(self, genomes: list[Any]) -> float:
        from genomes.gene_pool import GenePool

        return float(GenePool.of(genomes).node_counts.mean()) - genomes[0].num_outputs

    def describe(self, genome: Any) -> dict[str, float]:
        return {"hidden": self.hidden_count(genome), "connections": genome.num_enabled()}


class PairwiseIndex:
    """Distances computed genome by genome (cell genomes are few and small)."""

    def __init__(self, genomes: Sequence[Any]) -> None:
        self.genomes = list(genomes)

    def distances(self, representatives: Sequence[Any], config: Any) -> np.ndarray:
        return np.array([[r.distance(g, config) for g in self.genomes] for r in representatives],
                        dtype=np.float64).reshape(len(representatives), len(self.genomes))


class CellFamily:
    """CNN or recurrent cell genomes: each genome mutates itself; figures come from its `summary()`."""

    def __init__(self, kind: str, config: Any) -> None:
        self.kind, self.config = kind, config
        self.genome_class = KINDS[kind].genome_class()

    def initial(self, rng: np.random.Generator, ctx: MutationContext) -> Any:
        return self.genome_class.initial(self.config, rng, ctx)

    def initial_population(self, size: int, rng: np.random.Generator, ctx: MutationContext) -> list[Any]:
        return [self.initial(rng, ctx) for _ in range(size)]

    def index(self, genomes: Sequence[Any]) -> DistanceIndex:
        return PairwiseIndex(genomes)

    def crossover_many(self, pairs: list[tuple[Any, Any, bool]], rng: np.random.Generator,
                       ctx: MutationContext) -> list[Any]:
        return [fitter.crossover(other, rng, ctx, equal=equal) for fitter, other, equal in pairs]

    def mutate_children(self, children: list[Any], rng: np.random.Generator, ctx: MutationContext) -> list[Any]:
        return [child.mutate(rng, ctx) for child in children]

    def finish_offspring(self, population: list[Any], offspring: list[bool], unchanged: list[bool],
                         rng: np.random.Generator, ctx: MutationContext) -> list[Any]:
        return population

    def population_to_dict(self, genomes: list[Any]) -> Any:
        return [g.shared_dict() for g in genomes]

    def population_from_dict(self, data: Any) -> list[Any]:
        if not isinstance(data, list):
            raise GenomeError("a cell population must be a list of genome documents")
        return [load_document(d) for d in data]

    def hidden_count(self, genome: Any) -> int:
        return len(genome.hidden_keys)

    def mean_hidden(self, genomes: list[Any]) -> float:
        return sum(map(self.hidden_count, genomes)) / len(genomes)

    def describe(self, genome: Any) -> dict[str, float]:
        figures = genome.summary()
        return {"hidden": self.hidden_count(genome), "connections": figures["edges"], "params": figures["params"]}


def make_family(kind: str, config: Any) -> GenomeFamily:
    if kind not in KINDS:
        raise ValueError(f"unknown genome kind {kind!r} (known: {', '.join(KINDS)})")
    return KINDS[kind].make_family(config)


def neat_family(config: Any) -> NeatFamily:
    return NeatFamily(config)


def cnn_family(config: Any) -> CellFamily:
    return CellFamily("cnn", config)


def rnn_family(config: Any) -> CellFamily:
    return CellFamily("rnn", config)
