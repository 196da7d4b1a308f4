"""A population of NEAT genomes as padded numpy arrays: the layout the population network evaluates.

Genome p's evaluated nodes occupy slots 0..k-1 in the order given (level by level); `weight[p, column, slot]`
holds its enabled connections, where columns are the inputs followed by the slots (input -(i+1) is column i).
Padding slots have bias 0, response 1, the identity activation, level -1 and no weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from genomes.genes import NodeGenes
from genomes.neat_genome import NeatGenome


@dataclass(frozen=True)
class PopulationPack:
    num_inputs: int
    num_outputs: int
    recurrent: bool
    weight: np.ndarray  # (P, n_in + S, S)
    bias: np.ndarray  # (P, S)
    response: np.ndarray  # (P, S)
    activation: np.ndarray  # (P, S) index into the activation names given to `pack_population`
    level: np.ndarray  # (P, S) topological level of each slot, -1 for padding
    outputs: np.ndarray  # (P, n_out) slot of each output node


def pack_population(
    genomes: Sequence[NeatGenome], levels: Sequence[list[list[int]]], activation_names: Sequence[str]
) -> PopulationPack:
    """Pack `genomes`; `levels[p]` lists genome p's evaluated node keys level by level (one level if recurrent)."""
    first = genomes[0]
    n_in = first.num_inputs
    orders = [[k for level in genome_levels for k in level] for genome_levels in levels]
    pop, slots = len(genomes), max(max(len(o) for o in orders), 1)
    # Every genome's slots and enabled connections as flat index lists, scattered at once.
    edge_p, edge_col, edge_slot, edge_w, outputs = [], [], [], [], []
    level = np.full((pop, slots), -1, dtype=np.int64)
    for p, (genome, order, genome_levels) in enumerate(zip(genomes, orders, levels)):
        slot = dict(zip(order, range(len(order))))
        level[p, : len(order)] = np.repeat(np.arange(len(genome_levels)), [len(lv) for lv in genome_levels])
        c = genome.connections
        on = c.enabled
        for src, tgt, w in zip(c.source[on].tolist(), c.target[on].tolist(), c.weight[on].tolist()):
            j = slot.get(tgt)
            if j is None:
                continue  # feeds no output
            edge_p.append(p)
            edge_col.append(-src - 1 if src < 0 else slot[src] + n_in)
            edge_slot.append(j)
            edge_w.append(w)
        outputs.append([slot[k] for k in genome.output_keys])
    weight = np.zeros((pop, n_in + slots, slots))
    np.add.at(weight, tuple(np.array(a, dtype=np.int64) for a in (edge_p, edge_col, edge_slot)),
              np.array(edge_w, dtype=np.float64))

    node_p = np.repeat(np.arange(pop), [len(o) for o in orders])
    node_slot = np.concatenate([np.arange(len(o)) for o in orders]).astype(np.int64)
    all_nodes = NodeGenes.concat(*(g.nodes for g in genomes))
    offsets = np.cumsum([0] + [len(g.nodes) for g in genomes[:-1]])
    rows = np.concatenate(
        [np.searchsorted(g.nodes.key, np.array(o, dtype=np.int64)) for g, o in zip(genomes, orders)]
    ).astype(np.int64) + offsets[node_p]
    bias, response = np.zeros((pop, slots)), np.ones((pop, slots))
    bias[node_p, node_slot] = all_nodes.bias[rows]
    response[node_p, node_slot] = all_nodes.response[rows]
    ids = {name: i for i, name in enumerate(activation_names)}
    activation = np.full((pop, slots), ids["identity"], dtype=np.int64)
    names, inverse = np.unique(all_nodes.activation[rows], return_inverse=True)
    activation[node_p, node_slot] = np.array([ids[n] for n in names.tolist()], dtype=np.int64)[inverse]
    return PopulationPack(
        num_inputs=n_in,
        num_outputs=first.num_outputs,
        recurrent=not first.feed_forward,
        weight=weight,
        bias=bias,
        response=response,
        activation=activation,
        level=level,
        outputs=np.array(outputs, dtype=np.int64),
    )
