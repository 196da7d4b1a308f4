"""The compiled form of a NEAT genome shared by the numpy phenotype and the torch module.

Nodes are laid out as columns of one value matrix: the inputs first, then the evaluated nodes. A feed-forward plan
orders nodes in layers by longest path from the inputs (only nodes an output depends on are kept) and evaluates
each layer from the columns before it; a recurrent plan has one layer that computes every node from the inputs and
the previous step's node values. Within a layer, nodes sharing activation and aggregation form a block: sum blocks
are one dense matrix product, other aggregations gather their inputs into a padded (nodes x fan-in) array.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
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
    c = genome.connections
    on = c.enabled
    sources, targets, weights = c.source[on].tolist(), c.target[on].tolist(), c.weight[on].tolist()
    incoming: dict[int, list[int]] = defaultdict(list)  # target -> indices into the enabled connections
    for i, t in enumerate(targets):
        incoming[t].append(i)
    n = genome.nodes
    keys = n.key.tolist()
    row = {k: i for i, k in enumerate(keys)}
    if genome.feed_forward:
        layer_keys = _feed_forward_layers(genome.output_keys, sources, incoming)
    else:
        layer_keys = [keys]
    activation, aggregation = n.activation.tolist(), n.aggregation.tolist()
    column = {k: i for i, k in enumerate(genome.input_keys)}
    ordered_layers = []
    for layer in layer_keys:
        layer = sorted(layer, key=lambda k: (activation[row[k]], aggregation[row[k]], k))
        ordered_layers.append(layer)
        for key in layer:
            column[key] = len(column)
    layers = []
    n_sources = genome.num_inputs if genome.feed_forward else len(column)
    for layer in ordered_layers:
        groups: dict[tuple[str, str], list[int]] = {}
        for key in layer:
            groups.setdefault((activation[row[key]], aggregation[row[key]]), []).append(key)
        blocks = []
        for (act, agg), members in groups.items():
            rows = np.array([row[k] for k in members], dtype=np.int64)
            edges = [(j, i) for j, k in enumerate(members) for i in incoming.get(k, ())]
            blocks.append(
                _block(act, agg, n.bias[rows], n.response[rows], edges, sources, weights, column, n_sources, len(members))
            )
        layers.append(tuple(blocks))
        if genome.feed_forward:
            n_sources += len(layer)
    return NetworkPlan(
        num_inputs=genome.num_inputs,
        recurrent=not genome.feed_forward,
        layers=tuple(layers),
        node_keys=tuple(k for layer in ordered_layers for k in layer),
        output_columns=np.array([column[k] for k in genome.output_keys], dtype=np.int64),
    )


def feed_forward_order(genome: NeatGenome) -> list[list[int]]:
    """The layers of nodes a feed-forward genome's outputs depend on, by longest path from the inputs."""
    c = genome.connections
    on = c.enabled
    sources, targets = c.source[on].tolist(), c.target[on].tolist()
    incoming: dict[int, list[int]] = defaultdict(list)
    for i, t in enumerate(targets):
        incoming[t].append(i)
    return _feed_forward_layers(genome.output_keys, sources, incoming)


def _feed_forward_layers(outputs: list[int], sources: list[int], incoming: dict[int, list[int]]) -> list[list[int]]:
    """Nodes the outputs depend on, grouped by longest path from the inputs (outputs may share a layer with
    hidden nodes). Depths are relaxed over the required edges until they settle: as many passes as the network is
    deep, which for NEAT-sized graphs beats a general topological sort."""
    required: set[int] = set()
    stack = list(outputs)
    edges: list[tuple[int, int]] = []
    while stack:
        node = stack.pop()
        if node in required:
            continue
        required.add(node)
        for i in incoming.get(node, ()):
            source = sources[i]
            if source >= 0:
                edges.append((source, node))
                if source not in required:
                    stack.append(source)
    depth = dict.fromkeys(required, 1)
    changed = True
    while changed:
        changed = False
        for source, target in edges:
            if depth[source] >= depth[target]:
                depth[target] = depth[source] + 1
                changed = True
    layers: dict[int, list[int]] = defaultdict(list)
    for node, d in depth.items():
        layers[d].append(node)
    return [layers[d] for d in sorted(layers)]


def _block(act, agg, bias, response, edges, sources, weights, column, n_sources, k) -> Block:
    """One block; `edges` pairs each member's position j with the index i of an incoming enabled connection."""
    member = np.array([j for j, _ in edges], dtype=np.int64)
    source_col = np.array([column[sources[i]] for _, i in edges], dtype=np.int64)
    weight_of = np.array([weights[i] for _, i in edges], dtype=np.float64)
    count = np.bincount(member, minlength=k).astype(np.int64)
    if agg == "sum":
        weight = np.zeros((n_sources, k))
        np.add.at(weight, (source_col, member), weight_of)
        return Block(act, agg, bias, response, weight, _EMPTY_INDEX, _EMPTY_MASK, count)
    fan_in = max(int(count.max()) if k else 0, 1)
    slot = np.zeros(len(edges), dtype=np.int64)
    seen = np.zeros(k, dtype=np.int64)
    for e, j in enumerate(member.tolist()):
        slot[e], seen[j] = seen[j], seen[j] + 1
    weight = np.zeros((k, fan_in))
    index = np.zeros((k, fan_in), dtype=np.int64)
    mask = np.zeros((k, fan_in), dtype=bool)
    weight[member, slot], index[member, slot], mask[member, slot] = weight_of, source_col, True
    return Block(act, agg, bias, response, weight, index, mask, count)


_EMPTY_INDEX = np.zeros((0, 0), dtype=np.int64)
_EMPTY_MASK = np.zeros((0, 0), dtype=bool)
