"""The innovation tracker: historical markings shared by a whole population.

The tracker lives in the strategy state (never in a module global), so checkpoints carry it and a resumed run
hands out exactly the numbers the uninterrupted run would. The same structural mutation gets the same marking:
a connection (source, target) always receives the same innovation number, and splitting the same connection
reuses the same new node key, so identical structure that arose independently aligns in crossover and distance.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass, field
from typing import Any


@dataclass
class InnovationTracker:
    next_innovation: int = 0
    next_node_key: int = 0
    connections: dict[tuple[int, int], int] = field(default_factory=dict)
    splits: dict[int, int] = field(default_factory=dict)

    def connection(self, source: int, target: int) -> int:
        """Innovation number of the connection source -> target, allocating one the first time it appears."""
        key = (int(source), int(target))
        innovation = self.connections.get(key)
        if innovation is None:
            innovation = self.connections[key] = self.next_innovation
            self.next_innovation += 1
        return innovation

    def split_node(self, innovation: int, taken: Container[int]) -> int:
        """Key of the node that splits connection `innovation`, reused across genomes unless `taken` has it."""
        node = self.splits.get(int(innovation))
        if node is not None and node not in taken:
            return node
        node = self.new_node_key()
        if int(innovation) not in self.splits:
            self.splits[int(innovation)] = node
        return node

    def new_node_key(self) -> int:
        node = self.next_node_key
        self.next_node_key += 1
        return node

    def to_dict(self) -> dict[str, Any]:
        return {
            "next_innovation": self.next_innovation,
            "next_node_key": self.next_node_key,
            "connections": [[s, t, i] for (s, t), i in sorted(self.connections.items(), key=lambda kv: kv[1])],
            "splits": [[c, n] for c, n in sorted(self.splits.items())],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InnovationTracker:
        return cls(
            next_innovation=int(data["next_innovation"]),
            next_node_key=int(data["next_node_key"]),
            connections={(int(s), int(t)): int(i) for s, t, i in data["connections"]},
            splits={int(c): int(n) for c, n in data["splits"]},
        )
