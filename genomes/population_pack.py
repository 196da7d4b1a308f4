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

from genomes.neat_genome import NeatGenome


@dataclass(frozen=True)
class LevelPack:
    start: int  # value column of the level's first node
    size: int  # nodes in the level
    targets: np.ndarray  # (E,) node of each incoming connection, relative to `start`
    sources: np.ndarray  # (E,) value column feeding it
    weights: np.ndarray  # (E,)
    bias: np.ndarray  # (size,)
    response: np.ndarray  # (size,)
    groups: tuple[tuple[str, int, int], ...]  # (activation, first, end) node runs, relative to `start`


@dataclass(frozen=True)
class PopulationPack:
    num_inputs: int
    num_outputs: int
    recurrent: bool
    size: int
    num_columns: int
    levels: tuple[LevelPack, ...]
    outputs: np.ndarray  # (P, n_out) value column of each output node
    node_columns: tuple[np.ndarray, ...]  # per genome, the value column of each of its nodes in `levels` order


def pack_population(genomes: Sequence[NeatGenome], levels: Sequence[list[list[int]]]) -> PopulationPack:
    """Pack `genomes`; `levels[p]` lists genome p's evaluated node keys level by level (one level if recurrent)."""
    first = genomes[0]
    n_in, pop = first.num_inputs, len(genomes)
    base = 1 + pop * n_in
    # Every evaluated node: genome, key, level, and its row in the concatenated node table.
    counts = [sum(len(lv) for lv in genome_levels) for genome_levels in levels]
    genome = np.repeat(np.arange(pop), counts)
    keys = np.array([k for genome_levels in levels for lv in genome_levels for k in lv], dtype=np.int64)
    level = np.concatenate([np.repeat(np.arange(len(gl)), [len(lv) for lv in gl]) for gl in levels]).astype(np.int64)
    node_offsets = np.cumsum([0] + [len(g.nodes) for g in genomes[:-1]])
    table_rows = np.concatenate([
        np.searchsorted(g.nodes.key, keys[genome == p]) for p, g in enumerate(genomes)
    ]).astype(np.int64) + node_offsets[genome]
    activation_names = np.concatenate([g.nodes.activation for g in genomes])[table_rows]
    names, activation = np.unique(activation_names, return_inverse=True)
    bias = np.concatenate([g.nodes.bias for g in genomes])[table_rows]
    response = np.concatenate([g.nodes.response for g in genomes])[table_rows]

    order = np.lexsort((genome, activation, level))  # level-major, then activation, then genome
    column = np.empty(len(order), dtype=np.int64)
    column[order] = base + np.arange(len(order))
    stride = 1 + max(int(g.nodes.key.max(initial=0)) for g in genomes)  # codes genome * stride + key are unique
    codes = genome * stride + keys
    code_order = np.argsort(codes)

    def node_column(p: np.ndarray, k: np.ndarray) -> np.ndarray:
        return column[code_order[np.searchsorted(codes, p * stride + k, sorter=code_order)]]

    # Every enabled connection into an evaluated node; sources are inputs or evaluated nodes.
    conn_genome = np.repeat(np.arange(pop), [int(g.connections.enabled.sum()) for g in genomes])
    source = np.concatenate([g.connections.source[g.connections.enabled] for g in genomes]).astype(np.int64)
    target = np.concatenate([g.connections.target[g.connections.enabled] for g in genomes]).astype(np.int64)
    weight = np.concatenate([g.connections.weight[g.connections.enabled] for g in genomes])
    target_code = conn_genome * stride + target
    found = np.searchsorted(codes, target_code, sorter=code_order)
    evaluated = (found < len(codes)) & (target >= 0)
    evaluated[evaluated] = codes[code_order[found[evaluated]]] == target_code[evaluated]  # else feeds no output
    conn_genome, source = conn_genome[evaluated], source[evaluated]
    target, weight = target[evaluated], weight[evaluated]
    target_column = node_column(conn_genome, target)
    from_input = source < 0
    source_column = np.where(from_input, 1 + conn_genome * n_in + (-source - 1), 0)
    source_column[~from_input] = node_column(conn_genome[~from_input], source[~from_input])

    sorted_level, sorted_activation = level[order], activation[order]
    packed, start = [], 0
    for d in range(int(level.max(initial=-1)) + 1):
        end = start + int(np.count_nonzero(sorted_level == d))
        edges = (target_column >= base + start) & (target_column < base + end)
        runs = sorted_activation[start:end]
        bounds = np.flatnonzero(np.diff(runs)) + 1
        packed.append(LevelPack(
            start=base + start, size=end - start, targets=target_column[edges] - base - start,
            sources=source_column[edges], weights=weight[edges], bias=bias[order[start:end]],
            response=response[order[start:end]],
            groups=tuple((str(names[runs[a]]), int(a), int(b))
                         for a, b in zip([0, *bounds.tolist()], [*bounds.tolist(), end - start])),
        ))
        start = end
    splits = np.cumsum(counts)[:-1]
    output_keys = np.array([g.output_keys for g in genomes], dtype=np.int64)
    outputs = node_column(np.repeat(np.arange(pop), first.num_outputs), output_keys.ravel()).reshape(pop, -1)
    return PopulationPack(
        num_inputs=n_in, num_outputs=first.num_outputs, recurrent=not first.feed_forward, size=pop,
        num_columns=base + len(order), levels=tuple(packed), outputs=outputs,
        node_columns=tuple(np.split(column, splits)),
    )
