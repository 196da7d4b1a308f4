"""The compiled form of a NEAT genome shared by the numpy phenotype and the torch module.

Nodes are laid out as columns of one value matrix: the inputs first, then the evaluated nodes. A feed-forward plan
orders nodes in layers by longest path from the inputs (only nodes an output depends on are kept) and evaluates
each layer from the columns before it; a recurrent plan has one layer that computes every node from the inputs and
the previous step's node values. Within a layer, nodes sharing activation and aggregation form a block: sum blocks
are one dense matrix product, other aggregations gather their inputs into a padded (nodes x fan-in) array.
"""

from __future__ import annotations

import graphlib
from collections import defaultdict
from dataclasses import dataclass
from itertools import groupby
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from genomes.neat_genome import NeatGenome


@dataclass(frozen=True)
class Block:
    activation: str
    aggregation: str
    bias: np.ndarray  # (k,)
    response: np.ndarray  # (k,)
    weight: np.ndarray  # sum: dense (n_sources, k); otherwise padded (k, fan_in)
    index: np.ndarray  # padded (k, fan_in) source columns (unused for sum)
    mask: np.ndarray  # padded (k, fan_in) real-input flags (unused for sum)
    count: np.ndarray  # (k,) number of inputs per node


@dataclass(frozen=True)
class NetworkPlan:
    num_inputs: int
    recurrent: bool
    layers: tuple[tuple[Block, ...], ...]
    node_keys: tuple[int, ...]  # node of each column after the inputs
    output_columns: np.ndarray  # columns (in the full value matrix) of the outputs, in output order

    @property
    def num_columns(self) -> int:
        return self.num_inputs + len(self.node_keys)


def build_plan(genome: NeatGenome) -> NetworkPlan:
    conns = genome.connections.take(genome.connections.enabled)
    incoming: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for s, t, w in zip(conns.source.tolist(), conns.target.tolist(), conns.weight.tolist()):
        incoming[t].append((s, w))
    attrs = {
        k: (a, g, b, r)
        for k, a, g, b, r in zip(
            genome.nodes.key.tolist(),
            genome.nodes.activation.tolist(),
            genome.nodes.aggregation.tolist(),
            genome.nodes.bias.tolist(),
            genome.nodes.response.tolist(),
        )
    }
    column = {key: i for i, key in enumerate(genome.input_keys)}
    if genome.feed_forward:
        layer_keys = _feed_forward_layers(genome, incoming)
    else:
        layer_keys = [list(attrs)]
    ordered_layers = [sorted(keys, key=lambda k: (attrs[k][0], attrs[k][1], k)) for keys in layer_keys]
    for keys in ordered_layers:
        for key in keys:
            column[key] = len(column)
    layers = []
    n_sources = genome.num_inputs
    for keys in ordered_layers:
        if not genome.feed_forward:
            n_sources = len(column)
        blocks = []
        for (act, agg), group in groupby(keys, key=lambda k: attrs[k][:2]):
            blocks.append(_block(list(group), act, agg, attrs, incoming, column, n_sources))
        layers.append(tuple(blocks))
        if genome.feed_forward:
            n_sources += len(keys)
    node_keys = tuple(k for keys in ordered_layers for k in keys)
    return NetworkPlan(
        num_inputs=genome.num_inputs,
        recurrent=not genome.feed_forward,
        layers=tuple(layers),
        node_keys=node_keys,
        output_columns=np.array([column[k] for k in genome.output_keys], dtype=np.int64),
    )


def _feed_forward_layers(genome: NeatGenome, incoming: dict[int, list[tuple[int, float]]]) -> list[list[int]]:
    """Nodes the outputs depend on, grouped by longest path from the inputs (outputs may share a layer with
    hidden nodes)."""
    required: set[int] = set()
    stack = list(genome.output_keys)
    while stack:
        node = stack.pop()
        if node in required:
            continue
        required.add(node)
        stack.extend(s for s, _ in incoming.get(node, ()) if s >= 0)
    sorter = graphlib.TopologicalSorter({n: [s for s, _ in incoming.get(n, ()) if s >= 0] for n in required})
    depth: dict[int, int] = {}
    for node in sorter.static_order():
        depth[node] = 1 + max((depth[s] for s, _ in incoming.get(node, ()) if s >= 0), default=0)
    layers: dict[int, list[int]] = defaultdict(list)
    for node, d in depth.items():
        layers[d].append(node)
    return [layers[d] for d in sorted(layers)]


def _block(keys, act, agg, attrs, incoming, column, n_sources) -> Block:
    k = len(keys)
    bias = np.array([attrs[n][2] for n in keys], dtype=np.float64)
    response = np.array([attrs[n][3] for n in keys], dtype=np.float64)
    count = np.array([len(incoming.get(n, ())) for n in keys], dtype=np.int64)
    if agg == "sum":
        weight = np.zeros((n_sources, k))
        for j, node in enumerate(keys):
            for s, w in incoming.get(node, ()):
                weight[column[s], j] += w
        index = mask = np.zeros((k, 0), dtype=np.int64)
    else:
        fan_in = max(int(count.max()), 1)
        weight = np.zeros((k, fan_in))
        index = np.zeros((k, fan_in), dtype=np.int64)
        mask = np.zeros((k, fan_in), dtype=bool)
        for j, node in enumerate(keys):
            for m, (s, w) in enumerate(incoming.get(node, ())):
                weight[j, m], index[j, m], mask[j, m] = w, column[s], True
    return Block(act, agg, bias, response, weight, index, mask, count)
