"""Emulator states along the decision paths already played, shared by the episodes of one process.

Evolved players share long stretches of play: elites are evaluated again unchanged, and most offspring make their
parent's decisions until a mutation first changes one. An episode that takes a decision already taken at the same
point of a known path replays that step's outcome (the RAM after it) from memory instead of emulating its frames,
and restores the emulator's saved state only where it first leaves the known paths. The emulator is deterministic,
so the cache changes how long an evaluation takes and nothing else (tested against uncached play).

Memory is bounded by `capacity` steps (about 3.5 KB each: the 2 KiB RAM and the zlib-compressed emulator state);
a full cache is emptied between episodes.
"""

from __future__ import annotations

import zlib

import numpy as np


class PathNode:
    """The outcome of one decision: RAM and emulator state after it, and the decisions taken from here so far."""

    __slots__ = ("ram", "state", "children")

    def __init__(self, ram: np.ndarray, state: bytes) -> None:
        self.ram = ram
        self.state = zlib.compress(state, 1)
        self.children: dict[int, PathNode] = {}

    def emulator_state(self) -> bytes:
        return zlib.decompress(self.state)


class PathCache:
    """Trees of PathNodes, one per episode start (the number of idle frames before the first decision)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.roots: dict[int, PathNode] = {}
        self.size = 0
        self.replayed = 0  # steps served from memory
        self.emulated = 0  # steps emulated (and stored)

    def root(self, start: int) -> PathNode | None:
        return self.roots.get(start)

    def add_root(self, start: int, ram: np.ndarray, state: bytes) -> PathNode:
        node = self.roots[start] = PathNode(ram, state)
        self.size += 1
        return node

    def extend(self, node: PathNode, choice: int, ram: np.ndarray, state: bytes) -> PathNode:
        child = node.children[choice] = PathNode(ram, state)
        self.size += 1
        self.emulated += 1
        return child

    def trim(self) -> None:
        """Empty the cache if it has outgrown its capacity (call between episodes, never during one)."""
        if self.size > self.capacity:
            self.roots.clear()
            self.size = 0
