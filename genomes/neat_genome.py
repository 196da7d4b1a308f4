"""The NEAT genome (Stanley & Miikkulainen 2002): node genes and connection genes with historical markings.

Inputs are implicit nodes with keys -1..-num_inputs; outputs are nodes 0..num_outputs-1; hidden nodes take keys
from the innovation tracker. Each node carries a bias, a response multiplier, an activation and an aggregation
(the neat-python refinement of the paper's bias input). Operators return new genomes; a genome is never modified.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from genomes.activations import ACTIVATIONS, AGGREGATIONS
from genomes.base import GenomeError, MutationContext, SharedDocument
from genomes.genes import ConnectionGenes, NodeGenes
from genomes.neat_config import NeatGenomeConfig

if TYPE_CHECKING:
    import networkx as nx
    import torch

    from genomes.gene_pool import GenePool

SCHEMA = "neat-genome"
SCHEMA_VERSION = 1
# Bounds on what a genome file may hold, so a hostile or mistaken document cannot exhaust memory or time (an
# evolved NEAT network has hundreds to a few thousand genes; a fully connected Atari RAM genome 2,304 connections).
MAX_IO = 100_000  # inputs, outputs
MAX_GENES = 200_000  # node genes, connection genes


class NeatGenome(SharedDocument):
    # A genome made by breeding views its generation's GenePool (`_pool`, `_row`) and cuts its gene tables out of
    # the pool's columns the first time they are read; one built from tables holds them from the start.
    __slots__ = ("num_inputs", "num_outputs", "feed_forward", "_nodes", "_connections", "_pool", "_row", "_document")

    def __init__(
        self, num_inputs: int, num_outputs: int, feed_forward: bool, nodes: NodeGenes, connections: ConnectionGenes
    ) -> None:
        self.num_inputs = int(num_inputs)
        self.num_outputs = int(num_outputs)
        self.feed_forward = bool(feed_forward)
        self._nodes: NodeGenes | None = nodes
        self._connections: ConnectionGenes | None = connections
        self._pool: GenePool | None = None
        self._row = 0
        self._document: dict[str, Any] | None = None

    @classmethod
    def view(cls, pool: GenePool, row: int) -> NeatGenome:
        """Genome `row` of `pool`."""
        genome = object.__new__(cls)
        genome.num_inputs, genome.num_outputs, genome.feed_forward = pool.num_inputs, pool.num_outputs, pool.feed_forward
        genome._nodes = genome._connections = genome._document = None
        genome._pool, genome._row = pool, row
        return genome

    @property
    def nodes(self) -> NodeGenes:
        if self._nodes is None:
            self._nodes = self._pool.node_table(self._row)
        return self._nodes

    @property
    def connections(self) -> ConnectionGenes:
        if self._connections is None:
            self._connections = self._pool.connection_table(self._row)
        return self._connections

    # -- construction ---------------------------------------------------------------------------------------------
    @classmethod
    def initial(cls, config: NeatGenomeConfig, rng: np.random.Generator, ctx: MutationContext) -> NeatGenome:
        """A minimal starting genome: outputs (plus `num_hidden` hidden nodes) wired per `initial_connection`."""
        keys, pairs = initial_layout(config, ctx)
        bias = _draw(rng, len(keys), config.bias_init_mean, config.bias_init_stdev, config.bias_min, config.bias_max)
        response = _draw(rng, len(keys), config.response_init_mean, config.response_init_stdev,
                         config.response_min, config.response_max)
        if config.initial_connection == "partial":
            keep = rng.random(len(pairs)) < config.initial_connection_fraction
            pairs = [p for p, k in zip(pairs, keep) if k]
        weight = _draw(rng, len(pairs), config.weight_init_mean, config.weight_init_stdev, config.weight_min,
                       config.weight_max)
        return cls.wired(config, ctx, keys, pairs, bias, response, weight)

    @classmethod
    def wired(cls, config: NeatGenomeConfig, ctx: MutationContext, keys: list[int], pairs: list[tuple[int, int]],
               bias: np.ndarray, response: np.ndarray, weight: np.ndarray) -> NeatGenome:
        nodes = NodeGenes.build(
            key=keys, bias=bias, response=response, activation=[config.activation_default] * len(keys),
            aggregation=[config.aggregation_default] * len(keys),
        )
        conns = ConnectionGenes.build(
            innovation=[ctx.innovations.connection(s, t) for s, t in pairs], source=[s for s, _ in pairs],
            target=[t for _, t in pairs], weight=weight, enabled=[True] * len(pairs),
        ).sorted()
        return cls(config.num_inputs, config.num_outputs, config.feed_forward, nodes, conns)

    def with_genes(self, nodes: NodeGenes | None = None, connections: ConnectionGenes | None = None) -> NeatGenome:
        return NeatGenome(
            self.num_inputs,
            self.num_outputs,
            self.feed_forward,
            self.nodes if nodes is None else nodes,
            self.connections if connections is None else connections,
        )

    # -- properties -----------------------------------------------------------------------------------------------
    @property
    def input_keys(self) -> list[int]:
        return [-(i + 1) for i in range(self.num_inputs)]

    @property
    def output_keys(self) -> list[int]:
        return list(range(self.num_outputs))

    @property
    def hidden_keys(self) -> list[int]:
        return [k for k in self.nodes.key.tolist() if k >= self.num_outputs]

    def num_enabled(self) -> int:
        return int(self.connections.enabled.sum())

    # -- genetic operators ----------------------------------------------------------------------------------------
    def mutate(self, rng: np.random.Generator, ctx: MutationContext) -> NeatGenome:
        from genomes.neat_mutation import mutate

        return mutate(self, rng, ctx)

    def crossover(
        self, other: NeatGenome, rng: np.random.Generator, ctx: MutationContext, equal: bool = False
    ) -> NeatGenome:
        from genomes.neat_alignment import crossover

        return crossover(self, other, rng, ctx.config, equal=equal)

    def distance(self, other: NeatGenome, config: NeatGenomeConfig) -> float:
        from genomes.neat_alignment import distance

        return distance(self, other, config)

    # -- views ----------------------------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """Short figures for `evolve inspect`: node counts, connections, depth and trainable parameters."""
        from genomes.graph import summary

        return summary(self)

    def to_graph(self) -> nx.DiGraph:
        from genomes.graph import genome_graph

        return genome_graph(self)

    def to_module(self, dtype: torch.dtype | None = None) -> torch.nn.Module:
        from genomes.torch_module import network_module

        return network_module(self, dtype=dtype)

    def phenotype(self):
        from genomes.phenotype import compile_network

        return compile_network(self)

    # -- serialization --------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "version": SCHEMA_VERSION,
            "num_inputs": self.num_inputs,
            "num_outputs": self.num_outputs,
            "feed_forward": self.feed_forward,
            "nodes": self.nodes.to_dict(),
            "connections": self.connections.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Any, validate: bool = True) -> NeatGenome:
        """Build a genome from its JSON document, validated unless it comes from a trusted source (the run's own
        evaluation payloads); raises GenomeError naming the first problem."""
        if not isinstance(data, dict):
            raise GenomeError("genome document must be a JSON object")
        if data.get("schema") != SCHEMA:
            raise GenomeError(f"not a NEAT genome (schema {data.get('schema')!r}, expected {SCHEMA!r})")
        if data.get("version") != SCHEMA_VERSION:
            raise GenomeError(f"unsupported genome version {data.get('version')!r} (this build reads {SCHEMA_VERSION})")
        for name, first in (("nodes", "key"), ("connections", "innovation")):
            columns = data.get(name)
            if isinstance(columns, dict) and isinstance(column := columns.get(first), list) and len(column) > MAX_GENES:
                raise GenomeError(f"malformed genome: {len(column):,} {name} genes, more than {MAX_GENES:,}")
        try:
            n_in, n_out, ff = data["num_inputs"], data["num_outputs"], data["feed_forward"]
            nodes, conns = data["nodes"], data["connections"]
            if validate:
                _check_columns("nodes", nodes, NODE_COLUMNS)
                _check_columns("connections", conns, CONNECTION_COLUMNS)
            node_genes = NodeGenes.build(**{k: nodes[k] for k in NODE_COLUMNS})
            conn_genes = ConnectionGenes.build(**{k: conns[k] for k in CONNECTION_COLUMNS})
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise GenomeError(f"malformed genome: {exc.__class__.__name__}: {exc}") from None
        if not (isinstance(n_in, int) and isinstance(n_out, int) and isinstance(ff, bool)):
            raise GenomeError("malformed genome: num_inputs/num_outputs must be integers, feed_forward a bool")
        if not (1 <= n_in <= MAX_IO and 1 <= n_out <= MAX_IO):
            raise GenomeError(f"malformed genome: num_inputs/num_outputs must be between 1 and {MAX_IO:,}")
        genome = cls(n_in, n_out, ff, node_genes, conn_genes)
        if validate:
            genome.validate()
        return genome

    def validate(self) -> None:
        """Check every structural invariant; raises GenomeError."""
        nodes, conns = self.nodes, self.connections
        if len({len(c) for c in nodes.columns().values()}) > 1 or len({len(c) for c in conns.columns().values()}) > 1:
            raise GenomeError("gene columns have different lengths")
        keys = nodes.key
        if np.any(np.diff(keys) <= 0):
            raise GenomeError("node keys must be unique and sorted")
        if not set(self.output_keys) <= set(keys.tolist()) or np.any(keys < 0):
            raise GenomeError("every output node must be present and node keys must be non-negative")
        if not (np.all(np.isfinite(nodes.bias)) and np.all(np.isfinite(nodes.response))):
            raise GenomeError("node bias and response must be finite")
        if bad := set(nodes.activation.tolist()) - set(ACTIVATIONS):
            raise GenomeError(f"unknown activation {sorted(bad)[0]!r}")
        if bad := set(nodes.aggregation.tolist()) - set(AGGREGATIONS):
            raise GenomeError(f"unknown aggregation {sorted(bad)[0]!r}")
        if np.any(np.diff(conns.innovation) <= 0):
            raise GenomeError("connection innovations must be unique and sorted")
        if len(conns.pairs()) != len(conns):
            raise GenomeError("duplicate connection between the same pair of nodes")
        if not np.all(np.isfinite(conns.weight)):
            raise GenomeError("connection weights must be finite")
        valid_sources = set(keys.tolist()) | set(self.input_keys)
        if not set(conns.source.tolist()) <= valid_sources:
            raise GenomeError("a connection starts at a node that does not exist")
        if not set(conns.target.tolist()) <= set(keys.tolist()):
            raise GenomeError("a connection ends at a node that does not exist (or at an input)")
        if self.feed_forward:
            from genomes.reachability import has_cycle

            if has_cycle(conns.source, conns.target):
                raise GenomeError("feed-forward genome contains a cycle")

    def __repr__(self) -> str:
        return (
            f"NeatGenome(inputs={self.num_inputs}, outputs={self.num_outputs}, hidden={len(self.hidden_keys)}, "
            f"connections={self.num_enabled()}/{len(self.connections)})"
        )


NODE_COLUMNS = {"key": int, "bias": float, "response": float, "activation": str, "aggregation": str}
CONNECTION_COLUMNS = {"innovation": int, "source": int, "target": int, "weight": float, "enabled": bool}


def _check_columns(where: str, table: Any, kinds: dict[str, type]) -> None:
    """Every gene column must be a flat JSON list of the right kind (ints stay ints: no silent truncation)."""
    if not isinstance(table, dict):
        raise GenomeError(f"malformed genome: {where} must be an object of gene columns")
    for name, kind in kinds.items():
        column = table.get(name)
        if not isinstance(column, list):
            raise GenomeError(f"malformed genome: {where}.{name} must be a list")
        if kind is float:
            ok = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in column)
        elif kind is int:
            ok = all(isinstance(v, int) and not isinstance(v, bool) for v in column)
        else:
            ok = all(isinstance(v, kind) for v in column)
        if not ok:
            raise GenomeError(f"malformed genome: {where}.{name} must hold only {kind.__name__} values")


def initial_layout(config: NeatGenomeConfig, ctx: MutationContext) -> tuple[list[int], list[tuple[int, int]]]:
    """The node keys of a starting genome and its candidate connections (all of them, before partial wiring)."""
    tracker = ctx.innovations
    # Initial hidden nodes are the same nodes in every genome of the population, so their keys are fixed.
    hidden = list(range(config.num_outputs, config.num_outputs + config.num_hidden))
    tracker.next_node_key = max(tracker.next_node_key, config.num_outputs + config.num_hidden)
    inputs, outputs = [-(i + 1) for i in range(config.num_inputs)], list(range(config.num_outputs))
    if config.initial_connection == "none":
        pairs = []
    elif hidden:
        pairs = [(i, h) for i in inputs for h in hidden] + [(h, o) for h in hidden for o in outputs]
    else:
        pairs = [(i, o) for i in inputs for o in outputs]
    return outputs + hidden, pairs


def _draw(rng: np.random.Generator, n: int, mean: float, stdev: float, lo: float, hi: float) -> np.ndarray:
    return np.clip(rng.normal(mean, stdev, size=n), lo, hi) if stdev > 0 else np.full(n, float(np.clip(mean, lo, hi)))
