"""The small reachability checks that breeding runs on every offspring, in plain Python (no networkx: a run that
never draws a graph never imports it)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import numpy as np


def successors_of(source: Iterable[int], target: Iterable[int]) -> dict[int, list[int]]:
    """Adjacency lists of the edges (source, target), for repeated `creates_cycle` checks."""
    successors: dict[int, list[int]] = defaultdict(list)
    for s, t in zip(source, target):
        successors[s].append(t)
    return successors


def creates_cycle(new_source: int, new_target: int, successors: dict[int, list[int]]) -> bool:
    """Whether adding new_source -> new_target to the edges whose adjacency lists are `successors` (from
    `successors_of`, reusable across attempts) closes a directed cycle: a depth-first search from new_target looking
    for new_source."""
    if new_source == new_target:
        return True
    stack, seen = [new_target], {new_target}
    while stack:
        node = stack.pop()
        for nxt in successors.get(node, ()):
            if nxt == new_source:
                return True
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return False


def has_cycle(source: np.ndarray, target: np.ndarray) -> bool:
    """Whether the directed edges (source, target) contain a cycle (self-loops included): Kahn's algorithm, which
    removes nodes with no incoming edge until none is left or only cycles remain."""
    nodes, edges = np.unique(np.concatenate([source, target]), return_inverse=True)
    src, dst = edges[: len(source)], edges[len(source):]
    indegree = np.bincount(dst, minlength=len(nodes))
    successors = successors_of(src.tolist(), dst.tolist())
    ready = np.flatnonzero(indegree == 0).tolist()
    removed = 0
    while ready:
        node = ready.pop()
        removed += 1
        for nxt in successors.get(node, ()):
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                ready.append(nxt)
    return removed < len(nodes)
