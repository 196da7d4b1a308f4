"""The networkx-free reachability checks agree with networkx on any directed graph."""

from __future__ import annotations

import networkx as nx
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from genomes.reachability import creates_cycle, has_cycle, successors_of

edges = st.lists(st.tuples(st.integers(-3, 8), st.integers(-3, 8)), max_size=30)


def _graph(pairs: list[tuple[int, int]]) -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.add_edges_from(pairs)
    return graph


@settings(max_examples=300, deadline=None)
@given(pairs=edges)
def test_has_cycle_agrees_with_networkx(pairs):
    source = np.array([s for s, _ in pairs], dtype=np.int64)
    target = np.array([t for _, t in pairs], dtype=np.int64)
    assert has_cycle(source, target) == (not nx.is_directed_acyclic_graph(_graph(pairs)))


@settings(max_examples=300, deadline=None)
@given(pairs=edges, new=st.tuples(st.integers(-3, 8), st.integers(-3, 8)))
def test_creates_cycle_agrees_with_networkx_on_an_acyclic_graph(pairs, new):
    acyclic = [(min(s, t), max(s, t)) for s, t in pairs if s != t]  # edges from lower to higher: a DAG
    successors = successors_of([s for s, _ in acyclic], [t for _, t in acyclic])
    expected = not nx.is_directed_acyclic_graph(_graph([*acyclic, new]))
    assert creates_cycle(new[0], new[1], successors) == expected
