"""Genetic operators of the recurrent cell genome: mutations, NEAT-aligned crossover and compatibility distance.

Every operator returns a new genome that keeps the invariants `RnnCellGenome.validate` checks: the graph stays
acyclic, each node keeps an input count its op takes, x_t feeds only linear ops and no (source, target) pair repeats.
An operator with nothing valid to do returns the genome unchanged.
"""

from __future__ import annotations

import numpy as np

from genomes.base import MutationContext
from genomes.rnn_cell import FIRST_HIDDEN, X, Edge, RnnCellConfig, RnnCellGenome, op_class


def mutate(genome: RnnCellGenome, rng: np.random.Generator, ctx: MutationContext) -> RnnCellGenome:
    """Each mutation applies independently with its own probability, in a fixed order."""
    config: RnnCellConfig = ctx.config
    operators = [
        (config.node_add_prob, add_node),
        (config.op_mutate_prob, mutate_op),
        (config.rewire_prob, rewire_edge),
        (config.edge_add_prob, add_edge),
        (config.width_mutate_prob, mutate_width),
    ]
    for draw, (prob, operator) in zip(rng.random(len(operators)).tolist(), operators):
        if draw < prob:
            genome = operator(genome, rng, ctx)
    return genome


def add_node(genome: RnnCellGenome, rng: np.random.Generator, ctx: MutationContext) -> RnnCellGenome:
    """Split an edge s->t into s->n->t; n takes a unary or linear op (linear if s is x_t), so t's arity holds.
    The new edge n->t takes the old edge's place in t's inputs only up to innovation order (order matters only
    for the column layout of a linear node, whose weights are trained anyway)."""
    config: RnnCellConfig = ctx.config
    unary = [op for op in config.ops if op_class(op) in ("unary", "linear")]
    linear = [op for op in config.ops if op_class(op) == "linear"]
    candidates = [e for e in genome.edges if (linear if e.source == X else unary)]
    if not candidates:
        return genome
    edge = candidates[int(rng.integers(len(candidates)))]
    choices = linear if edge.source == X else unary
    op = choices[int(rng.integers(len(choices)))]
    tracker = ctx.innovations
    # A tracker that never saw this genome's keys (a fresh one, a loaded genome) must not hand out one of them.
    tracker.next_node_key = max(tracker.next_node_key, FIRST_HIDDEN, max(genome.ops) + 1)
    node = tracker.split_node(edge.innovation, taken=set(genome.ops))
    edges = [e for e in genome.edges if e != edge] + [
        Edge(tracker.connection(edge.source, node), edge.source, node),
        Edge(tracker.connection(node, edge.target), node, edge.target),
    ]
    return genome.replace(ops={**genome.ops, node: op}, edges=edges)


def mutate_op(genome: RnnCellGenome, rng: np.random.Generator, ctx: MutationContext) -> RnnCellGenome:
    """Give a random node another op of the same arity class (from config.ops)."""
    config: RnnCellConfig = ctx.config
    options = {
        key: [o for o in config.ops if op_class(o) == op_class(op) and o != op] for key, op in genome.ops.items()
    }
    keys = [k for k, o in options.items() if o]
    if not keys:
        return genome
    key = keys[int(rng.integers(len(keys)))]
    op = options[key][int(rng.integers(len(options[key])))]
    return genome.replace(ops={**genome.ops, key: op})


def _descendants(genome: RnnCellGenome, start: int) -> set[int]:
    """Nodes reachable from `start` (itself included): sources that would close a cycle into `start`."""
    users: dict[int, list[int]] = {}
    for edge in genome.edges:
        users.setdefault(edge.source, []).append(edge.target)
    seen, stack = {start}, [start]
    while stack:
        for nxt in users.get(stack.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def _new_sources(genome: RnnCellGenome, target: int) -> list[int]:
    """Sources that may newly feed `target`: not already its input, no cycle, x_t only into a linear op."""
    banned = _descendants(genome, target) | {e.source for e in genome.edges if e.target == target}
    if op_class(genome.ops[target]) != "linear":
        banned.add(X)
    return [k for k in genome.input_keys + list(genome.ops) if k not in banned]


def rewire_edge(genome: RnnCellGenome, rng: np.random.Generator, ctx: MutationContext) -> RnnCellGenome:
    """Give a random edge s->t a new source s' (a new gene s'->t replaces it); s may be left dead."""
    if not genome.edges:
        return genome
    edge = genome.edges[int(rng.integers(len(genome.edges)))]
    sources = _new_sources(genome, edge.target)
    if not sources:
        return genome
    source = sources[int(rng.integers(len(sources)))]
    new = Edge(ctx.innovations.connection(source, edge.target), source, edge.target)
    return genome.replace(edges=[e for e in genome.edges if e != edge] + [new])


def add_edge(genome: RnnCellGenome, rng: np.random.Generator, ctx: MutationContext) -> RnnCellGenome:
    """Add a new input to a random linear node that can take one."""
    options = {k: _new_sources(genome, k) for k, op in genome.ops.items() if op_class(op) == "linear"}
    keys = [k for k, sources in options.items() if sources]
    if not keys:
        return genome
    target = keys[int(rng.integers(len(keys)))]
    source = options[target][int(rng.integers(len(options[target])))]
    new = Edge(ctx.innovations.connection(source, target), source, target)
    return genome.replace(edges=list(genome.edges) + [new])


def mutate_width(genome: RnnCellGenome, rng: np.random.Generator, ctx: MutationContext) -> RnnCellGenome:
    """Pick another hidden size from config.hidden_sizes."""
    sizes = sorted({int(w) for w in ctx.config.hidden_sizes} - {genome.hidden_size})
    if not sizes:
        return genome
    return genome.replace(hidden_size=sizes[int(rng.integers(len(sizes)))])


def crossover(
    fitter: RnnCellGenome, other: RnnCellGenome, rng: np.random.Generator, equal: bool = False
) -> RnnCellGenome:
    """NEAT alignment by innovation: the child has the fitter parent's nodes and edges; a node both parents have
    takes its op from either at random when the other's op is in the same arity class; the width comes from
    either parent. Disjoint and excess genes come from the fitter parent also when `equal`: the union of both
    parents' edges would change the input counts of shared nodes and could break their arity."""
    del equal  # same child either way, see above
    ops = dict(fitter.ops)
    draws = rng.random(len(ops)).tolist()
    for (key, op), draw in zip(fitter.ops.items(), draws):
        theirs = other.ops.get(key)
        if theirs is not None and op_class(theirs) == op_class(op) and draw < 0.5:
            ops[key] = theirs
    width = other.hidden_size if rng.random() < 0.5 else fitter.hidden_size
    return fitter.replace(ops=ops, hidden_size=width)


def distance(a: RnnCellGenome, b: RnnCellGenome, config: RnnCellConfig) -> float:
    """c_excess*E/N + c_disjoint*D/N over edge innovations (N the larger edge count), plus c_op times the share of
    matching nodes whose op differs, plus c_width * |H1 - H2| / max(H1, H2)."""
    ia = {e.innovation for e in a.edges}
    ib = {e.innovation for e in b.edges}
    if ia and ib:
        newest_a, newest_b = max(ia), max(ib)
        excess = sum(i > newest_b for i in ia) + sum(i > newest_a for i in ib)
    else:
        excess = len(ia) + len(ib)
    disjoint = len(ia ^ ib) - excess
    n = max(len(ia), len(ib), 1)
    matching = [k for k in a.ops if k in b.ops]
    op_share = sum(a.ops[k] != b.ops[k] for k in matching) / len(matching) if matching else 0.0
    width = abs(a.hidden_size - b.hidden_size) / max(a.hidden_size, b.hidden_size)
    return (
        config.compatibility_excess * excess / n
        + config.compatibility_disjoint * disjoint / n
        + config.compatibility_op * op_share
        + config.compatibility_width * width
    )
