"""Structural mutations of one cell of a convolutional cell genome (`genomes.cnn_cell`).

Each operator takes the genome (for the keys both cells hold), the cell to change, the generator and the mutation
context, and returns a new `CellGenes`, or the same cell when no valid change exists. New edges take their
innovation number from the population's tracker; every operator keeps the cell acyclic (checked over all edge
genes, disabled ones included, as `CellGenes.validate` does), free of duplicate pairs, and every node fed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from genomes.base import MutationContext

if TYPE_CHECKING:
    from genomes.cnn_cell import CellGenes, CnnCellGenome


def pick(rng: np.random.Generator, options: Any) -> Any:
    """A uniformly random element of a non-empty sequence."""
    return options[int(rng.integers(len(options)))]


def _edge_gene(ctx: MutationContext, source: int, target: int, op: str):
    from genomes.cnn_cell import EdgeGene

    return EdgeGene(ctx.innovations.connection(source, target), source, target, op, True)


def add_node(genome: CnnCellGenome, cell: CellGenes, rng: np.random.Generator, ctx: MutationContext) -> CellGenes:
    """With probability `node_split_rate` split an enabled edge s->t into s->n (keeping the op) and n->t
    ("identity"), disabling s->t as NEAT does, with n from `tracker.split_node` so the same split aligns across
    genomes; otherwise add a fresh node fed by two distinct random nodes of the cell (it becomes a cell output).
    Nothing happens at `max_nodes`."""
    config = ctx.config
    if len(cell.nodes) >= config.max_nodes:
        return cell
    enabled = [e for e in cell.edges if e.enabled]
    if enabled and rng.random() < config.node_split_rate:
        edge = pick(rng, enabled)
        node = ctx.innovations.split_node(edge.innovation, taken=set(genome.hidden_keys))
        edges = [e._replace(enabled=False) if e == edge else e for e in cell.edges]
        edges += [_edge_gene(ctx, edge.source, node, edge.op), _edge_gene(ctx, node, edge.target, "identity")]
        return cell.replace(nodes=cell.nodes + (node,), edges=edges)
    node = ctx.innovations.new_node_key()
    candidates = list(cell.inputs) + list(cell.nodes)
    first, second = rng.choice(len(candidates), size=2, replace=False)
    new = [_edge_gene(ctx, candidates[int(i)], node, pick(rng, config.ops)) for i in (first, second)]
    return cell.replace(nodes=cell.nodes + (node,), edges=list(cell.edges) + new)


def _open_sources(cell: CellGenes, target: int, pairs: set[tuple[int, int]]) -> list[int]:
    """Nodes that may feed `target` through a new edge: no duplicate pair, no cycle."""
    return [s for s in list(cell.inputs) + list(cell.nodes)
            if s != target and (s, target) not in pairs and not cell.reaches(target, s)]


def add_edge(genome: CnnCellGenome, cell: CellGenes, rng: np.random.Generator, ctx: MutationContext) -> CellGenes:
    """A new enabled edge with a random op into a random node, from a node that keeps the cell acyclic."""
    pairs = cell.pairs()
    options = [(s, t) for t in cell.nodes for s in _open_sources(cell, t, pairs)]
    if not options:
        return cell
    source, target = pick(rng, options)
    return cell.replace(edges=list(cell.edges) + [_edge_gene(ctx, source, target, pick(rng, ctx.config.ops))])


def rewire(genome: CnnCellGenome, cell: CellGenes, rng: np.random.Generator, ctx: MutationContext) -> CellGenes:
    """Move the source of a random enabled edge s->t to another node s' (acyclic, no duplicate pair): the gene is
    replaced by s'->t with the same op and the innovation number of (s', t)."""
    enabled = [e for e in cell.edges if e.enabled]
    if not enabled:
        return cell
    edge = pick(rng, enabled)
    sources = [s for s in _open_sources(cell, edge.target, cell.pairs()) if s != edge.source]
    if not sources:
        return cell
    moved = _edge_gene(ctx, pick(rng, sources), edge.target, edge.op)
    return cell.replace(edges=[e for e in cell.edges if e != edge] + [moved])


def change_op(genome: CnnCellGenome, cell: CellGenes, rng: np.random.Generator, ctx: MutationContext) -> CellGenes:
    """Give a random enabled edge another op from `config.ops`."""
    enabled = [e for e in cell.edges if e.enabled]
    if not enabled:
        return cell
    edge = pick(rng, enabled)
    op = other_choice(rng, edge.op, ctx.config.ops)
    return cell.replace(edges=[e._replace(op=op) if e == edge else e for e in cell.edges])


def other_choice(rng: np.random.Generator, current: Any, options: list[Any]) -> Any:
    """A random option other than `current` (`current` when there is none)."""
    others = [o for o in dict.fromkeys(options) if o != current]
    return pick(rng, others) if others else current
