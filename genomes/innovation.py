"""The innovation tracker: historical markings shared by a whole population.

The tracker lives in the strategy state (never in a module global), so checkpoints carry it and a resumed run
hands out exactly the numbers the uninterrupted run would. The same structural mutation gets the same marking:
a connection (source, target) always receives the same innovation number, and splitting the same connection
reuses the same new node key, so identical structure that arose independently aligns in crossover and distance.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from genomes.neat_genome import NeatGenome


@dataclass
class InnovationTracker:
    next_innovation: int = 0
    next_node_key: int = 0
    connections: dict[tuple[int, int], int] = field(default_factory=dict)
    splits: dict[int, list[int]] = field(default_factory=dict)  # innovation -> nodes of its 1st, 2nd... split

    def connection(self, source: int, target: int) -> int:
        """Innovation number of the connection source -> target, allocating one the first time it appears."""
        key = (int(source), int(target))
        innovation = self.connections.get(key)
        if innovation is None:
            innovation = self.connections[key] = self.next_innovation
            self.next_innovation += 1
        return innovation

    def split_node(self, innovation: int, taken: Container[int]) -> int:
        """Key of the node that splits connection `innovation`: the first node recorded for that split that the
        genome does not have yet (`taken`), else a new one recorded as the next split of that connection."""
        nodes = self.splits.setdefault(int(innovation), [])
        for node in nodes:
            if node not in taken:
                return node
        nodes.append(self.new_node_key())
        return nodes[-1]

    def nth_split(self, innovation: int, n: int) -> int:
        """The node of the n-th (from 0) split of connection `innovation`, recording new ones as needed."""
        nodes = self.splits.setdefault(int(innovation), [])
        while len(nodes) <= n:
            nodes.append(self.new_node_key())
        return nodes[n]

    def new_node_key(self) -> int:
        node = self.next_node_key
        self.next_node_key += 1
        return node

    def copy(self) -> InnovationTracker:
        """An independent tracker with the same records (what `from_dict(to_dict())` gives, without the round trip)."""
        return InnovationTracker(self.next_innovation, self.next_node_key, dict(self.connections),
                                 {innovation: list(nodes) for innovation, nodes in self.splits.items()})

    def to_dict(self) -> dict[str, Any]:
        return {
            "next_innovation": self.next_innovation,
            "next_node_key": self.next_node_key,
            "connections": [[s, t, i] for (s, t), i in sorted(self.connections.items(), key=lambda kv: kv[1])],
            "splits": [[c, nodes] for c, nodes in sorted(self.splits.items())],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InnovationTracker:
        return cls(
            next_innovation=int(data["next_innovation"]),
            next_node_key=int(data["next_node_key"]),
            connections={(int(s), int(t)): int(i) for s, t, i in data["connections"]},
            splits={int(c): [int(n) for n in (nodes if isinstance(nodes, list) else [nodes])]
                    for c, nodes in data["splits"]},
        )


def translate(genome: NeatGenome, source: InnovationTracker, target: InnovationTracker) -> NeatGenome:
    """`genome`, whose markings come from tracker `source`, re-marked in tracker `target` (another island's).

    Markings describe structure, so they translate structurally: the node of the n-th split of connection (s, t)
    in `source` becomes the node of the n-th split of (s', t') in `target`, translated recursively (recorded there
    if new); every connection (s, t) takes `target`'s innovation number for (s', t'). Inputs and outputs keep
    their keys; a node the source tracker has no record of gets a fresh key.
    """
    pair_of = {innovation: pair for pair, innovation in source.connections.items()}
    origin = {node: (pair_of[innovation], n) for innovation, nodes in source.splits.items() if innovation in pair_of
              for n, node in enumerate(nodes)}
    num_outputs = genome.num_outputs
    mapped: dict[int, int] = {}

    def node(key: int) -> int:
        if key < num_outputs:  # inputs (negative) and outputs are the same in every population
            return key
        if key not in mapped:
            if key not in origin:
                mapped[key] = target.new_node_key()
            else:
                (s, t), n = origin[key]
                mapped[key] = target.nth_split(target.connection(node(s), node(t)), n)
        return mapped[key]

    keys = [node(int(k)) for k in genome.nodes.key.tolist()]
    c = genome.connections
    sources = [node(int(s)) for s in c.source.tolist()]
    targets = [node(int(t)) for t in c.target.tolist()]
    innovations = [target.connection(s, t) for s, t in zip(sources, targets)]
    nodes = genome.nodes.replace(key=np.array(keys, dtype=np.int64)).sorted()
    connections = c.replace(
        innovation=np.array(innovations, dtype=np.int64),
        source=np.array(sources, dtype=np.int64),
        target=np.array(targets, dtype=np.int64),
    ).sorted()
    return genome.with_genes(nodes, connections)
