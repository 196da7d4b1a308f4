"""A generation's NEAT genes in shared arrays (structure of arrays).

A pool holds the node and connection genes of many genomes of one shape (inputs, outputs, mode) as two gene tables
concatenated genome by genome, with each genome's row range. Breeding, speciation, packing and checkpoints read and
write the columns whole, a fixed number of numpy calls per generation; the genomes a pool hands out are views that
cut their own tables out only when something reads them (`NeatGenome.nodes`), which on the XOR path is only the
champion.

`GenePool.of(genomes)` is the meeting point: the pool that a list of genomes already is (all of one pool, in order,
or a contiguous run of it: free), or their genes gathered from the pools they view (a handful of numpy calls).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from genomes.base import MutationContext
from genomes.genes import ConnectionGenes, NodeGenes
from genomes.neat_config import NeatGenomeConfig
from genomes.neat_genome import NeatGenome, initial_layout


class GenePool:
    """Genes of `size` genomes: genome i's nodes are rows node_ptr[i]:node_ptr[i + 1] of `nodes` (sorted by key),
    its connections rows conn_ptr[i]:conn_ptr[i + 1] of `connections` (sorted by innovation)."""

    __slots__ = ("num_inputs", "num_outputs", "feed_forward", "nodes", "connections", "node_counts", "conn_counts",
                 "node_ptr", "conn_ptr", "_views")

    def __init__(self, num_inputs: int, num_outputs: int, feed_forward: bool, nodes: NodeGenes,
                 connections: ConnectionGenes, node_counts: np.ndarray, conn_counts: np.ndarray) -> None:
        self.num_inputs, self.num_outputs, self.feed_forward = num_inputs, num_outputs, feed_forward
        self.nodes, self.connections = nodes, connections
        self.node_counts = np.asarray(node_counts, dtype=np.int64)  # genes per genome
        self.conn_counts = np.asarray(conn_counts, dtype=np.int64)
        self.node_ptr = _pointers(self.node_counts)  # where each genome's genes begin, and the total last
        self.conn_ptr = _pointers(self.conn_counts)
        self._views: list[NeatGenome] | None = None

    @property
    def size(self) -> int:
        return len(self.node_counts)

    def genomes(self) -> list[NeatGenome]:
        """One view per genome, in order: the same objects on every call, in a new list (the caller's to change)."""
        return list(self._genome_views())

    def _genome_views(self) -> list[NeatGenome]:
        if self._views is None:
            self._views = [NeatGenome.view(self, row) for row in range(self.size)]
        return self._views

    def node_table(self, row: int) -> NodeGenes:
        a, b = int(self.node_ptr[row]), int(self.node_ptr[row + 1])
        return NodeGenes.from_columns({name: column[a:b] for name, column in self.nodes.__dict__.items()})

    def connection_table(self, row: int) -> ConnectionGenes:
        a, b = int(self.conn_ptr[row]), int(self.conn_ptr[row + 1])
        return ConnectionGenes.from_columns({name: column[a:b] for name, column in self.connections.__dict__.items()})

    def owners(self) -> tuple[np.ndarray, np.ndarray]:
        """The genome of every node row and of every connection row."""
        genome = np.arange(self.size)
        return np.repeat(genome, self.node_counts), np.repeat(genome, self.conn_counts)

    def replace(self, nodes: NodeGenes | None = None, connections: ConnectionGenes | None = None) -> GenePool:
        """The same genomes with new gene values (the same row counts)."""
        return GenePool(self.num_inputs, self.num_outputs, self.feed_forward,
                        self.nodes if nodes is None else nodes,
                        self.connections if connections is None else connections, self.node_counts, self.conn_counts)

    def take(self, rows: Sequence[int] | np.ndarray) -> GenePool:
        """The pool of genomes `rows`, in that order."""
        rows = np.asarray(rows, dtype=np.int64)
        node_counts, conn_counts = self.node_counts[rows], self.conn_counts[rows]
        return GenePool(self.num_inputs, self.num_outputs, self.feed_forward,
                        self.nodes.take(_ranges(self.node_ptr[rows], node_counts)),
                        self.connections.take(_ranges(self.conn_ptr[rows], conn_counts)), node_counts, conn_counts)

    @classmethod
    def from_tables(cls, num_inputs: int, num_outputs: int, feed_forward: bool,
                    tables: Sequence[tuple[NodeGenes, ConnectionGenes]]) -> GenePool:
        """A pool of genomes given by their tables (sharing the shape)."""
        node_tables, conn_tables = [n for n, _ in tables], [c for _, c in tables]
        return cls(num_inputs, num_outputs, feed_forward, NodeGenes.concat(*node_tables),
                   ConnectionGenes.concat(*conn_tables), np.array([len(t) for t in node_tables], dtype=np.int64),
                   np.array([len(t) for t in conn_tables], dtype=np.int64))

    @classmethod
    def of(cls, genomes: Sequence[NeatGenome]) -> GenePool:
        """The genes of `genomes` (at least one, sharing the shape), in order, as one pool: the pool they view when
        they are all of it in order, a slice of it for a contiguous run, else gathered from the pools they view
        (a genome that views none counts as a pool of its own)."""
        first = genomes[0]
        pool, start, count = first._pool, first._row, len(genomes)
        if pool is not None and start + count <= pool.size:
            views = pool._genome_views()
            if all(g is v for g, v in zip(genomes, views[start : start + count])):
                return pool if count == pool.size else pool.take(np.arange(start, start + count))
        parts: list[GenePool] = []
        index: dict[int, int] = {}
        part_of, rows = [], []
        loose: list[NeatGenome] = []  # the genomes that view no pool: one more part, made of their tables
        for g in genomes:
            source, row = g._pool, g._row
            if source is None:
                source, row = None, len(loose)
                loose.append(g)
            k = index.get(id(source))
            if k is None:
                k = index[id(source)] = len(parts)
                parts.append(source)
            part_of.append(k)
            rows.append(row)
        if loose:
            parts[index[id(None)]] = cls.from_tables(first.num_inputs, first.num_outputs, first.feed_forward,
                                                     [(g.nodes, g.connections) for g in loose])
            if len(parts) == 1:
                return parts[0]
        if len(parts) == 1:
            return parts[0].take(rows)
        # Every part's genomes numbered one after the other: genome `rows[j]` of part `part_of[j]` is number
        # first_genome[part] + row of the parts' tables concatenated.
        sizes = np.array([p.size for p in parts])
        number = (np.cumsum(sizes) - sizes)[part_of] + np.asarray(rows, dtype=np.int64)
        node_counts = np.concatenate([p.node_counts for p in parts])
        conn_counts = np.concatenate([p.conn_counts for p in parts])
        joined = cls(first.num_inputs, first.num_outputs, first.feed_forward,
                     NodeGenes.concat(*(p.nodes for p in parts)),
                     ConnectionGenes.concat(*(p.connections for p in parts)), node_counts, conn_counts)
        return joined.take(number)


def initial_population(
    config: NeatGenomeConfig, size: int, rng: np.random.Generator, ctx: MutationContext
) -> list[NeatGenome]:
    """`[NeatGenome.initial(config, rng, ctx) for _ in range(size)]`, the same genomes from the same draws, made in
    one pass as views of one pool: every genome's values come from one block of standard normals, row by row in
    the order `initial` draws them, and the pool tiles the shared structure's columns."""
    if size == 0:
        return []
    if config.initial_connection == "partial":  # partial wiring draws between the values
        genomes = [NeatGenome.initial(config, rng, ctx) for _ in range(size)]
        return GenePool.from_tables(config.num_inputs, config.num_outputs, config.feed_forward,
                                    [(g.nodes, g.connections) for g in genomes]).genomes()
    keys, pairs = initial_layout(config, ctx)
    spans = {"bias": len(keys), "response": len(keys), "weight": len(pairs)}
    drawn = [name for name in spans if getattr(config, f"{name}_init_stdev") > 0]
    normal = rng.standard_normal((size, sum(spans[name] for name in drawn)))
    values, first = {}, 0
    for name in spans:
        mean, lo, hi = (getattr(config, f"{name}_{what}") for what in ("init_mean", "min", "max"))
        if name in drawn:  # what rng.normal(mean, stdev) computes from each standard normal
            block = normal[:, first : first + spans[name]]
            values[name] = np.clip(mean + getattr(config, f"{name}_init_stdev") * block, lo, hi)
            first += spans[name]
        else:
            values[name] = np.full((size, spans[name]), float(np.clip(mean, lo, hi)))
    template = NeatGenome.wired(config, ctx, keys, pairs, values["bias"][0], values["response"][0],
                                values["weight"][0])
    order = np.argsort([ctx.innovations.connection(s, t) for s, t in pairs], kind="stable")
    nodes, conns = template.nodes, template.connections
    tiled_nodes = NodeGenes.from_columns({name: np.tile(column, size) for name, column in nodes.__dict__.items()})
    tiled_conns = ConnectionGenes.from_columns({name: np.tile(column, size) for name, column in conns.__dict__.items()})
    pool = GenePool(config.num_inputs, config.num_outputs, config.feed_forward,
                    tiled_nodes.replace(bias=values["bias"].ravel(), response=values["response"].ravel()),
                    tiled_conns.replace(weight=values["weight"][:, order].ravel()),
                    np.full(size, len(nodes)), np.full(size, len(conns)))
    return pool.genomes()


def _pointers(counts: np.ndarray) -> np.ndarray:
    pointers = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=pointers[1:])
    return pointers


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The concatenated index ranges starts[i]:starts[i] + counts[i]."""
    offsets = np.cumsum(counts) - counts
    return np.repeat(starts - offsets, counts) + np.arange(int(counts.sum()))
