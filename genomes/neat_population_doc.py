"""A whole NEAT population as one JSON document: every genome's gene columns concatenated, with per-genome counts.

A run checkpoints its population after every generation. Encoded genome by genome that is ten small column
conversions and two objects per genome; as one table it is ten conversions for the population. Reading splits the
columns back into genome documents, validates each one like a genome file, and returns them as views of one pool
of genes (`genomes.gene_pool`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from genomes.base import GenomeError
from genomes.gene_pool import GenePool
from genomes.genes import GeneTable
from genomes.neat_genome import CONNECTION_COLUMNS, NODE_COLUMNS, SCHEMA, SCHEMA_VERSION, NeatGenome

POPULATION_SCHEMA = "neat-population"
POPULATION_VERSION = 1
NODE_NAMES = tuple(NODE_COLUMNS)  # the genome document's gene columns, in its order
CONNECTION_NAMES = tuple(CONNECTION_COLUMNS)


def population_to_dict(genomes: list[NeatGenome]) -> dict[str, Any]:
    """The genomes, in order, as one document (they share their input, output and feed-forward settings)."""
    shape = {(g.num_inputs, g.num_outputs, g.feed_forward) for g in genomes}
    if len(shape) > 1:
        raise ValueError(f"a population document needs genomes of one shape, got {sorted(shape)}")
    n_in, n_out, feed_forward = shape.pop() if shape else (1, 1, True)
    pool = GenePool.of(genomes) if genomes else None
    return {
        "schema": POPULATION_SCHEMA,
        "version": POPULATION_VERSION,
        "num_inputs": n_in,
        "num_outputs": n_out,
        "feed_forward": feed_forward,
        "node_counts": pool.node_counts.tolist() if genomes else [],
        "connection_counts": pool.conn_counts.tolist() if genomes else [],
        "nodes": _columns(pool.nodes if genomes else None, NODE_NAMES),
        "connections": _columns(pool.connections if genomes else None, CONNECTION_NAMES),
    }


def population_from_dict(data: Any) -> list[NeatGenome]:
    """The genomes of a population document, each validated; raises GenomeError naming the first problem."""
    if not isinstance(data, dict) or data.get("schema") != POPULATION_SCHEMA:
        raise GenomeError(f"not a NEAT population document (expected schema {POPULATION_SCHEMA!r})")
    if data.get("version") != POPULATION_VERSION:
        raise GenomeError(f"unsupported population version {data.get('version')!r} (this build reads "
                          f"{POPULATION_VERSION})")
    node_parts = _split(data, "nodes", "node_counts", NODE_NAMES)
    conn_parts = _split(data, "connections", "connection_counts", CONNECTION_NAMES)
    if len(node_parts) != len(conn_parts):
        raise GenomeError("malformed population: node_counts and connection_counts differ in length")
    shared = {"schema": SCHEMA, "version": SCHEMA_VERSION,
              **{k: data.get(k) for k in ("num_inputs", "num_outputs", "feed_forward")}}
    genomes = [NeatGenome.from_dict({**shared, "nodes": nodes, "connections": conns})
               for nodes, conns in zip(node_parts, conn_parts)]
    if not genomes:
        return []
    return GenePool.from_tables(genomes[0].num_inputs, genomes[0].num_outputs, genomes[0].feed_forward,
                                [(g.nodes, g.connections) for g in genomes]).genomes()


def _columns(table: GeneTable | None, names: tuple[str, ...]) -> dict[str, list[Any]]:
    if table is None:
        return {name: [] for name in names}
    return {name: table.__dict__[name].tolist() for name in names}


def _split(data: dict[str, Any], key: str, counts_key: str, names: tuple[str, ...]) -> list[dict[str, list[Any]]]:
    """Per-genome column dicts of data[key], cut at data[counts_key]."""
    table, counts = data.get(key), data.get(counts_key)
    if not isinstance(counts, list) or not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0
                                                for c in counts):
        raise GenomeError(f"malformed population: {counts_key} must be a list of non-negative integers")
    if not isinstance(table, dict) or not all(isinstance(table.get(n), list) for n in names):
        raise GenomeError(f"malformed population: {key} must be an object of the gene columns {', '.join(names)}")
    total = sum(counts)
    if any(len(table[n]) != total for n in names):
        raise GenomeError(f"malformed population: every {key} column must hold sum({counts_key}) = {total} values")
    bounds = np.concatenate([[0], np.cumsum(counts)]).tolist()
    return [{n: table[n][a:b] for n in names} for a, b in zip(bounds[:-1], bounds[1:])]

