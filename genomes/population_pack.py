"""A population of NEAT genomes flattened into one level-ordered graph: the layout the population network runs.

Value columns: column 0 is reserved (zero), then every genome's inputs (genome p's input i is column
1 + p * n_in + i), then every evaluated node of every genome. Nodes are ordered level-major (all genomes' level-0
nodes, then level 1, ...) and within a level by activation function, so that each level is one contiguous column
range and each activation function one contiguous run inside it. A level's incoming connections form a sparse
(nodes x columns) matrix, so evaluating a level is one sparse-dense product whatever the population's size. A
recurrent population is a single level whose sources are the previous step's values. Built with numpy, no Python
loop over connections.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from genomes.gene_pool import GenePool
from genomes.neat_genome import NeatGenome


@dataclass(frozen=True)
class LevelPack:
    start: int  # value column of the level's first node
    size: int  # nodes in the level
    # The level's incoming connections as a CSR (nodes x columns) matrix, entries sorted by node, then by source:
    indptr: np.ndarray  # (size + 1,) node i's connections are entries indptr[i]:indptr[i + 1]
    sources: np.ndarray  # (E,) value column feeding each connection
    weights: np.ndarray  # (E,)
    bias: np.ndarray  # (size,)
    response: np.ndarray  # (size,)
    groups: tuple[tuple[str, int, int], ...]  # (activation, first, end) node runs, relative to `start`
    genome: np.ndarray  # (size,) the genome of each node


@dataclass(frozen=True)
class PopulationPack:
    num_inputs: int
    num_outputs: int
    recurrent: bool
    size: int
    num_columns: int
    levels: tuple[LevelPack, ...]
    outputs: np.ndarray  # (P, n_out) value column of each output node
    node_columns: np.ndarray  # the value column of every genome's evaluated nodes, genome by genome, in key order
    node_counts: np.ndarray  # (P,) evaluated nodes per genome

    def columns_of(self, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        """The value columns of genomes `rows`' evaluated nodes, in that order."""
        rows = np.asarray(rows, dtype=np.int64)
        counts = self.node_counts[rows]
        first = (np.cumsum(self.node_counts) - self.node_counts)[rows]  # each genome's first entry
        return self.node_columns[np.repeat(first - (np.cumsum(counts) - counts), counts) + np.arange(counts.sum())]

    def select(self, rows: np.ndarray) -> PopulationPack:
        """The pack of genomes `rows` (ascending) alone, cut out of this one: equal to packing those genomes,
        since a genome's levels do not depend on the others and every ordering key survives the renumbering.
        Lock-step loops shrink their network this way as genomes finish."""
        rows = np.asarray(rows, dtype=np.int64)
        n_in, kept = self.num_inputs, np.zeros(self.size, dtype=bool)
        kept[rows] = True
        base, new_base = 1 + self.size * n_in, 1 + len(rows) * n_in
        column = np.zeros(self.num_columns, dtype=np.int64)  # old value column -> new, for the columns kept
        column[1 + (rows[:, None] * n_in + np.arange(n_in)).ravel()] = 1 + np.arange(len(rows) * n_in)
        node_kept = np.concatenate([kept[lv.genome] for lv in self.levels]) if self.levels else np.zeros(0, bool)
        column[base + np.flatnonzero(node_kept)] = new_base + np.arange(np.count_nonzero(node_kept))
        genome = np.cumsum(kept) - 1  # old genome index -> new
        levels, start = [], new_base
        for lv in self.levels:
            keep = kept[lv.genome]
            if not keep.any():
                continue
            counts = np.diff(lv.indptr)
            entries = np.repeat(keep, counts)
            activation = np.repeat(np.arange(len(lv.groups)), [end - first for _, first, end in lv.groups])
            levels.append(LevelPack(
                start=start, size=int(np.count_nonzero(keep)),
                indptr=np.concatenate([[0], np.cumsum(counts[keep])]), sources=column[lv.sources[entries]],
                weights=lv.weights[entries], bias=lv.bias[keep], response=lv.response[keep],
                groups=_runs(activation[keep], [name for name, _, _ in lv.groups]), genome=genome[lv.genome[keep]],
            ))
            start += levels[-1].size
        return PopulationPack(
            num_inputs=n_in, num_outputs=self.num_outputs, recurrent=self.recurrent, size=len(rows),
            num_columns=start, levels=tuple(levels), outputs=column[self.outputs[rows]],
            node_columns=column[self.node_columns[np.repeat(kept, self.node_counts)]], node_counts=self.node_counts[rows],
        )


def pack_population(genomes: Sequence[NeatGenome]) -> PopulationPack:
    """Pack `genomes` (sharing inputs, outputs and mode): their genes in one pool (`GenePool.of`: free for a
    generation bred on arrays) and every step below a numpy operation over the whole population."""
    first = genomes[0]
    n_in, n_out, pop = first.num_inputs, first.num_outputs, len(genomes)
    base = 1 + pop * n_in
    pool = GenePool.of(genomes)
    nodes, conns = pool.nodes, pool.connections
    key, node_bias, node_response, node_activation = nodes.key, nodes.bias, nodes.response, nodes.activation
    source, target, weight, enabled = conns.source, conns.target, conns.weight, conns.enabled
    node_genome, conn_genome = pool.owners()
    conn_genome = conn_genome[enabled]
    source, target, weight = source[enabled], target[enabled], weight[enabled]
    # Node codes genome * stride + key are unique and ascending (genome-major, keys sorted within a genome), so
    # a searchsorted finds the table row of any (genome, key).
    stride = 1 + int(key.max(initial=0))
    node_code = node_genome * stride + key
    target_row = np.searchsorted(node_code, conn_genome * stride + target)
    from_node = source >= 0
    source_row = np.full(len(source), -1, dtype=np.int64)
    source_row[from_node] = np.searchsorted(node_code, conn_genome[from_node] * stride + source[from_node])
    if first.feed_forward:
        evaluated, level = feed_forward_levels(key < n_out, source_row[from_node], target_row[from_node])
    else:  # one level of every node, reading the previous step
        evaluated, level = np.ones(len(key), dtype=bool), np.zeros(len(key), dtype=np.int64)

    rows = np.flatnonzero(evaluated)  # table rows of the evaluated nodes
    genome, level = node_genome[rows], level[rows]
    names, activation = _codes(node_activation[rows])
    order = np.lexsort((genome, activation, level))  # level-major, then activation, then genome
    column_of_row = np.zeros(len(key), dtype=np.int64)
    column_of_row[rows[order]] = base + np.arange(len(order))

    # Every enabled connection into an evaluated node; its sources are inputs or evaluated nodes.
    into = evaluated[target_row]
    conn_genome, source, weight = conn_genome[into], source[into], weight[into]
    target_column = column_of_row[target_row[into]]
    source_column = np.where(source < 0, 1 + conn_genome * n_in + (-source - 1), column_of_row[source_row[into]])

    sorted_level, sorted_activation, sorted_genome = level[order], activation[order], genome[order]
    bias, response = node_bias[rows][order], node_response[rows][order]
    packed, start = [], 0
    for d in range(int(level.max(initial=-1)) + 1):
        end = start + int(np.count_nonzero(sorted_level == d))
        edges = np.flatnonzero((target_column >= base + start) & (target_column < base + end))
        targets = target_column[edges] - base - start
        edges = edges[np.lexsort((source_column[edges], targets))]
        packed.append(LevelPack(
            start=base + start, size=end - start,
            indptr=np.concatenate([[0], np.cumsum(np.bincount(targets, minlength=end - start))]),
            sources=source_column[edges], weights=weight[edges], bias=bias[start:end], response=response[start:end],
            groups=_runs(sorted_activation[start:end], names), genome=sorted_genome[start:end],
        ))
        start = end
    output_rows = np.flatnonzero(key < n_out)  # every genome's outputs, in genome then key order
    return PopulationPack(
        num_inputs=n_in, num_outputs=n_out, recurrent=not first.feed_forward, size=pop,
        num_columns=base + len(order), levels=tuple(packed), outputs=column_of_row[output_rows].reshape(pop, n_out),
        node_columns=column_of_row[rows], node_counts=np.bincount(genome, minlength=pop),
    )


def feed_forward_levels(
    is_output: np.ndarray, source_row: np.ndarray, target_row: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For node rows and node-to-node edges (source_row -> target_row) of any number of acyclic graphs: which nodes
    the outputs depend on, and each one's level, its longest path from the inputs (0: fed by inputs only).
    Both are fixed points reached in as many vectorized passes as the deepest graph is deep."""
    evaluated = is_output.copy()
    while True:
        grown = evaluated.copy()
        grown[source_row[evaluated[target_row]]] = True
        if np.array_equal(grown, evaluated):
            break
        evaluated = grown
    needed = evaluated[target_row]
    source_row, target_row = source_row[needed], target_row[needed]
    level = np.zeros(len(is_output), dtype=np.int64)
    while True:
        deeper = level.copy()
        np.maximum.at(deeper, target_row, level[source_row] + 1)
        if np.array_equal(deeper, level):
            return evaluated, level
        level = deeper


def _runs(codes: np.ndarray, names: Sequence[str]) -> tuple[tuple[str, int, int], ...]:
    """(activation, first, end) for each run of equal activation codes (indices into `names`)."""
    bounds = (np.flatnonzero(np.diff(codes)) + 1).tolist()
    return tuple((str(names[codes[a]]), a, b) for a, b in zip([0, *bounds], [*bounds, len(codes)]))


def _codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """np.unique(values, return_inverse=True), without sorting strings when they are all the same (the usual case:
    one activation function for every node)."""
    if len(values) and (values == values[0]).all():
        return values[:1], np.zeros(len(values), dtype=np.int64)
    return np.unique(values, return_inverse=True)
