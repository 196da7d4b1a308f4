"""Operators that align two NEAT genomes by innovation number: crossover and compatibility distance."""

from __future__ import annotations

import numpy as np

from genomes.genes import ConnectionGenes, NodeGenes
from genomes.graph import creates_cycle
from genomes.neat_config import NeatGenomeConfig
from genomes.neat_genome import NeatGenome


def crossover(
    fitter: NeatGenome,
    other: NeatGenome,
    rng: np.random.Generator,
    config: NeatGenomeConfig,
    equal: bool = False,
) -> NeatGenome:
    """Matching genes come from either parent at random; disjoint and excess genes from the fitter parent (from both
    when `equal`). A gene disabled in either parent that has it is disabled in the child with probability
    `disable_inherited_rate`, enabled otherwise."""
    a, b = fitter.connections, other.connections
    # Walk the fitter parent's genes (already in innovation order) and look each up in the other parent.
    row_b, matched = sorted_rows(b.innovation, a.innovation)
    b_weight, b_enabled = (b.weight[row_b], b.enabled[row_b]) if len(b) else (a.weight, a.enabled)
    from_b = matched & (rng.random(len(a)) < 0.5)
    disabled = ~a.enabled | (matched & ~b_enabled)
    keep_disabled = rng.random(len(a)) < config.disable_inherited_rate
    child = a.replace(weight=np.where(from_b, b_weight, a.weight), enabled=~(disabled & keep_disabled))
    if equal:
        _, in_a = sorted_rows(a.innovation, b.innovation)
        extra = _compatible(child, b.take(~in_a), fitter.feed_forward)
        keep_disabled = rng.random(len(extra)) < config.disable_inherited_rate
        extra = extra.replace(enabled=~(~extra.enabled & keep_disabled))
        child = ConnectionGenes.concat(child, extra).sorted()
    nodes = _inherit_nodes(fitter, other, child, rng)
    return NeatGenome(fitter.num_inputs, fitter.num_outputs, fitter.feed_forward, nodes, child)


def crossover_many(
    pairs: list[tuple[NeatGenome, NeatGenome]], rng: np.random.Generator, config: NeatGenomeConfig
) -> list[NeatGenome]:
    """`crossover(fitter, other)` (unequal fitness) for many pairs at once: the pairs' genes are concatenated and
    aligned by (pair, innovation) codes, so a generation's crossovers cost a fixed handful of numpy calls plus
    slicing the children out, instead of a dozen calls per child. The rule is crossover's; the random draws are
    made for all genes together."""
    if not pairs:
        return []
    fitter = [f for f, _ in pairs]
    a = ConnectionGenes.concat(*(f.connections for f in fitter))
    b = ConnectionGenes.concat(*(o.connections for _, o in pairs))
    a_sizes = np.array([len(f.connections) for f in fitter])
    a_owner = np.repeat(np.arange(len(pairs)), a_sizes)
    b_owner = np.repeat(np.arange(len(pairs)), [len(o.connections) for _, o in pairs])
    stride = 1 + int(max(a.innovation.max(initial=0), b.innovation.max(initial=0)))
    row_b, matched = sorted_rows(b_owner * stride + b.innovation, a_owner * stride + a.innovation)
    b_weight, b_enabled = (b.weight[row_b], b.enabled[row_b]) if len(b) else (a.weight, a.enabled)
    draws = rng.random((2, len(a)))
    from_b = matched & (draws[0] < 0.5)
    disabled = ~a.enabled | (matched & ~b_enabled)
    weight = np.where(from_b, b_weight, a.weight)
    enabled = ~(disabled & (draws[1] < config.disable_inherited_rate))

    # Nodes: each child's outputs and the nodes its (the fitter parent's) connection genes reference.
    a_nodes = NodeGenes.concat(*(f.nodes for f in fitter))
    b_nodes = NodeGenes.concat(*(o.nodes for _, o in pairs))
    node_stride = 1 + int(max(a_nodes.key.max(initial=0), b_nodes.key.max(initial=0)))
    n_out = fitter[0].num_outputs
    outputs = np.arange(n_out)
    from_node = a.source >= 0
    codes = np.unique(np.concatenate([
        (np.arange(len(pairs))[:, None] * node_stride + outputs).ravel(),
        a_owner[from_node] * node_stride + a.source[from_node],
        a_owner * node_stride + a.target,
    ]))
    a_node_owner = np.repeat(np.arange(len(pairs)), [len(f.nodes) for f in fitter])
    b_node_owner = np.repeat(np.arange(len(pairs)), [len(o.nodes) for _, o in pairs])
    row_na, in_a = sorted_rows(a_node_owner * node_stride + a_nodes.key, codes)
    row_nb, in_b = sorted_rows(b_node_owner * node_stride + b_nodes.key, codes)
    use_b = ~in_a | (in_b & (rng.random(len(codes)) < 0.5))
    node_columns = {
        name: np.where(use_b, b_nodes.__dict__[name][row_nb], column[row_na])
        for name, column in a_nodes.__dict__.items()
    }
    conn_columns = {**a.__dict__, "weight": weight, "enabled": enabled}
    conn_bounds = np.concatenate([[0], np.cumsum(a_sizes)]).tolist()
    node_bounds = np.concatenate([[0], np.cumsum(np.bincount(codes // node_stride, minlength=len(pairs)))]).tolist()
    children = []
    for i, f in enumerate(fitter):
        c0, c1, n0, n1 = conn_bounds[i], conn_bounds[i + 1], node_bounds[i], node_bounds[i + 1]
        conns = ConnectionGenes.from_columns({k: v[c0:c1] for k, v in conn_columns.items()})
        nodes = NodeGenes.from_columns({k: v[n0:n1] for k, v in node_columns.items()})
        children.append(NeatGenome(f.num_inputs, f.num_outputs, f.feed_forward, nodes, conns))
    return children


def _compatible(child: ConnectionGenes, extra: ConnectionGenes, feed_forward: bool) -> ConnectionGenes:
    """The other parent's disjoint genes that can join the child one by one without duplicating a (source,
    target) pair or, in feed-forward mode, closing a cycle."""
    pairs = child.pairs()
    keep = np.zeros(len(extra), dtype=bool)
    source, target = child.source, child.target
    for i in range(len(extra)):
        s, t = int(extra.source[i]), int(extra.target[i])
        if (s, t) in pairs or (feed_forward and creates_cycle(source, target, s, t)):
            continue
        keep[i] = True
        pairs.add((s, t))
        source, target = np.append(source, s), np.append(target, t)
    return extra.take(keep)


def _inherit_nodes(
    fitter: NeatGenome, other: NeatGenome, conns: ConnectionGenes, rng: np.random.Generator
) -> NodeGenes:
    """Outputs plus every node the child's connections reference; a node both parents have takes its attributes
    from either at random, otherwise from the parent that has it."""
    keys = np.unique(
        np.concatenate([np.arange(fitter.num_outputs, dtype=np.int64), conns.source[conns.source >= 0], conns.target])
    )
    a, b = fitter.nodes, other.nodes
    row_a, in_a = sorted_rows(a.key, keys)
    row_b, in_b = sorted_rows(b.key, keys)
    use_b = ~in_a | (in_b & (rng.random(len(keys)) < 0.5))
    return NodeGenes(
        **{
            name: np.where(use_b, getattr(b, name)[row_b], getattr(a, name)[row_a])
            for name in NodeGenes.names()
        }
    )


def sorted_rows(sorted_keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row of each value in a sorted unique key array (clipped to a valid row) and whether it is present; a
    searchsorted membership test, much cheaper than np.isin on the small arrays genomes hold."""
    rows = np.minimum(np.searchsorted(sorted_keys, values), len(sorted_keys) - 1)
    return rows, sorted_keys[rows] == values if len(sorted_keys) else np.zeros(len(values), dtype=bool)


def distance(a: NeatGenome, b: NeatGenome, config: NeatGenomeConfig) -> float:
    """Compatibility distance c1*E/N + c2*D/N + c3*W over connection genes (Stanley & Miikkulainen 2002, eq. 1).

    E counts excess genes (innovations beyond the other genome's newest), D disjoint genes, W is the mean absolute
    weight difference of matching genes, N the larger genome's gene count, taken as 1 below
    `compatibility_normalize_min` genes as in the paper.
    """
    ia, ib = a.connections.innovation, b.connections.innovation
    _, ma, mb = np.intersect1d(ia, ib, assume_unique=True, return_indices=True)
    matching = len(ma)
    if len(ia) and len(ib):
        excess = int(np.count_nonzero(ia > ib[-1]) + np.count_nonzero(ib > ia[-1]))
    else:
        excess = len(ia) + len(ib)
    disjoint = len(ia) + len(ib) - 2 * matching - excess
    weight = float(np.mean(np.abs(a.connections.weight[ma] - b.connections.weight[mb]))) if matching else 0.0
    n = max(len(ia), len(ib))
    if n < config.compatibility_normalize_min:
        n = 1
    n = max(n, 1)
    return (
        config.compatibility_excess * excess / n
        + config.compatibility_disjoint * disjoint / n
        + config.compatibility_weight * weight
    )


class PopulationIndex:
    """Connection genes of many genomes concatenated, for distances from one genome to all of them at once."""

    def __init__(self, genomes: list[NeatGenome]) -> None:
        sizes = np.array([len(g.connections) for g in genomes], dtype=np.int64)
        self.size = len(genomes)
        self.sizes = sizes
        self.owner = np.repeat(np.arange(len(genomes)), sizes)
        empty = np.zeros(0, dtype=np.int64)
        self.innovation = np.concatenate([g.connections.innovation for g in genomes] + [empty])
        self.weight = np.concatenate([g.connections.weight for g in genomes] + [np.zeros(0)])
        self.newest = np.array(
            [g.connections.innovation[-1] if len(g.connections) else -1 for g in genomes], dtype=np.int64
        )

    def distances(self, genome: NeatGenome, config: NeatGenomeConfig) -> np.ndarray:
        """`distance(genome, g)` for every indexed genome g, vectorized over the population."""
        ref_innov, ref_weight = genome.connections.innovation, genome.connections.weight
        n_ref = len(ref_innov)
        pos = np.searchsorted(ref_innov, self.innovation)
        pos_c = np.minimum(pos, max(n_ref - 1, 0))
        matched = (pos < n_ref) & (ref_innov[pos_c] == self.innovation) if n_ref else np.zeros(len(pos), bool)
        n_match = np.bincount(self.owner[matched], minlength=self.size)
        weight_diff = np.bincount(
            self.owner[matched], weights=np.abs(self.weight[matched] - ref_weight[pos_c[matched]]), minlength=self.size
        )
        ref_newest = ref_innov[-1] if n_ref else -1
        # Excess: genes of g newer than the reference's newest, plus reference genes newer than g's newest.
        excess_g = np.bincount(self.owner[self.innovation > ref_newest], minlength=self.size)
        excess_ref = n_ref - np.searchsorted(ref_innov, self.newest, side="right")
        both = (self.sizes > 0) & (n_ref > 0)
        excess = np.where(both, excess_g + excess_ref, self.sizes + n_ref)
        disjoint = self.sizes + n_ref - 2 * n_match - excess
        mean_weight = np.where(n_match > 0, weight_diff / np.maximum(n_match, 1), 0.0)
        n = np.maximum(self.sizes, n_ref)
        n = np.where(n < config.compatibility_normalize_min, 1, np.maximum(n, 1))
        return (
            config.compatibility_excess * excess / n
            + config.compatibility_disjoint * disjoint / n
            + config.compatibility_weight * mean_weight
        )
