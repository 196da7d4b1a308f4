"""Operators that align two NEAT genomes by innovation number: crossover and compatibility distance."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from genomes.gene_pool import GenePool
from genomes.genes import ConnectionGenes, NodeGenes
from genomes.reachability import creates_cycle, successors_of
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
    when `equal`, as far as they fit: no duplicate pair, no cycle in feed-forward mode). A gene disabled in either
    parent that has it is disabled in the child with probability `disable_inherited_rate`, enabled otherwise."""
    return crossover_many([(fitter, other, equal)], rng, config)[0]


def crossover_many(
    pairs: Sequence[tuple[NeatGenome, NeatGenome, bool]], rng: np.random.Generator, config: NeatGenomeConfig
) -> list[NeatGenome]:
    """`crossover(fitter, other, equal)` for many triples at once: the pairs' genes are concatenated and aligned by
    (pair, innovation) codes, so a generation's crossovers cost a fixed handful of numpy calls plus slicing the
    children out, instead of a dozen calls per child. Each kind of random draw is made for all genes together
    (one pair alone draws what `crossover` draws)."""
    if not pairs:
        return []
    fitter_pool, other_pool = GenePool.of([f for f, _, _ in pairs]), GenePool.of([o for _, o, _ in pairs])
    first = pairs[0][0]
    a, b = fitter_pool.connections, other_pool.connections
    (_, a_owner), (_, b_owner) = fitter_pool.owners(), other_pool.owners()
    stride = 1 + int(max(a.innovation.max(initial=0), b.innovation.max(initial=0)))
    a_code, b_code = a_owner * stride + a.innovation, b_owner * stride + b.innovation
    conns, owner = _inherit_connections(a, b, a_code, b_code, rng, config), a_owner
    equal = np.array([e for _, _, e in pairs], dtype=bool)
    if equal.any():
        # An equally fit pair's child also takes the other parent's disjoint and excess genes that fit.
        _, in_a = sorted_rows(a_code, b_code)
        rows = _fitting(conns, a_owner, b, b_owner, np.flatnonzero(~in_a & equal[b_owner]), first.feed_forward)
        keep_disabled = rng.random(len(rows)) < config.disable_inherited_rate
        extra = b.take(rows).replace(enabled=~(~b.enabled[rows] & keep_disabled))
        owner = np.concatenate([a_owner, b_owner[rows]])
        order = np.argsort(owner * stride + np.concatenate([conns.innovation, extra.innovation]), kind="stable")
        conns, owner = ConnectionGenes.concat(conns, extra).take(order), owner[order]
    nodes, node_counts = _inherit_nodes(fitter_pool, other_pool, conns, owner, rng)
    children = GenePool(first.num_inputs, first.num_outputs, first.feed_forward, nodes, conns, node_counts,
                        np.bincount(owner, minlength=len(pairs)))
    return children.genomes()


def _inherit_connections(
    a: ConnectionGenes, b: ConnectionGenes, a_code: np.ndarray, b_code: np.ndarray, rng: np.random.Generator,
    config: NeatGenomeConfig,
) -> ConnectionGenes:
    """The fitter parents' genes (`a`) with the other parents' (`b`) matching genes aligned by their (child,
    innovation) codes (ascending): a matching gene's weight from either parent at random, and a gene disabled in
    either parent that has it disabled with probability `disable_inherited_rate`."""
    row_b, matched = sorted_rows(b_code, a_code)
    b_weight, b_enabled = (b.weight[row_b], b.enabled[row_b]) if len(b) else (a.weight, a.enabled)
    draws = rng.random((2, len(a)))
    from_b = matched & (draws[0] < 0.5)
    disabled = ~a.enabled | (matched & ~b_enabled)
    keep_disabled = draws[1] < config.disable_inherited_rate
    return a.replace(weight=np.where(from_b, b_weight, a.weight), enabled=~(disabled & keep_disabled))


def _inherit_nodes(
    fitter: GenePool, other: GenePool, conns: ConnectionGenes, owner: np.ndarray, rng: np.random.Generator,
) -> tuple[NodeGenes, np.ndarray]:
    """Each child's nodes (child `owner[i]` has connection gene i; child i's parents are genome i of each pool):
    its outputs plus every node its connections reference; a node both parents have takes its attributes from
    either at random, otherwise from the parent that has it. Returns the children's node tables concatenated and
    each child's node count."""
    a, b = fitter.nodes, other.nodes
    from_node = conns.source >= 0
    outputs = np.arange(fitter.num_outputs)
    stride = 1 + int(max(a.key.max(initial=0), b.key.max(initial=0)))
    children = np.arange(fitter.size)
    codes = np.unique(np.concatenate([
        (children[:, None] * stride + outputs).ravel(),
        owner[from_node] * stride + conns.source[from_node],
        owner * stride + conns.target,
    ]))
    a_owner, b_owner = fitter.owners()[0], other.owners()[0]
    row_a, in_a = sorted_rows(a_owner * stride + a.key, codes)
    row_b, in_b = sorted_rows(b_owner * stride + b.key, codes)
    counts = np.bincount(codes // stride, minlength=fitter.size)
    use_b = ~in_a | (in_b & (rng.random(len(codes)) < 0.5))
    columns = {name: np.where(use_b, b.__dict__[name][row_b], column[row_a]) for name, column in a.__dict__.items()}
    return NodeGenes.from_columns(columns), counts


def _fitting(
    child: ConnectionGenes, child_owner: np.ndarray, extra: ConnectionGenes, extra_owner: np.ndarray,
    candidates: np.ndarray, feed_forward: bool,
) -> np.ndarray:
    """The rows of `extra` among `candidates` (ascending) that can join their child (the same owner; `child_owner`
    ascending) one by one, in order, without duplicating a (source, target) pair or, in feed-forward mode, closing
    a cycle."""
    owners = extra_owner[candidates]
    firsts, ends = np.searchsorted(child_owner, owners, "left").tolist(), np.searchsorted(child_owner, owners, "right")
    sources, targets = extra.source[candidates].tolist(), extra.target[candidates].tolist()
    child_source, child_target = child.source.tolist(), child.target.tolist()
    keep, current, pairs, successors = [], -1, set(), successors_of([], [])
    for row, owner, first, end, s, t in zip(candidates.tolist(), owners.tolist(), firsts, ends.tolist(), sources,
                                            targets):
        if owner != current:  # the next child: start from its own genes
            current = owner
            pairs = set(zip(child_source[first:end], child_target[first:end]))
            successors = successors_of(child_source[first:end], child_target[first:end])
        if (s, t) in pairs or (feed_forward and creates_cycle(s, t, successors)):
            continue
        keep.append(row)
        pairs.add((s, t))
        successors[s].append(t)
    return np.array(keep, dtype=np.int64)


def sorted_rows(sorted_keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row of each value in a sorted unique key array (clipped to a valid row) and whether it is present; a
    searchsorted membership test, much cheaper than np.isin on the small arrays genomes hold."""
    rows = np.minimum(np.searchsorted(sorted_keys, values), len(sorted_keys) - 1)
    return rows, sorted_keys[rows] == values if len(sorted_keys) else np.zeros(len(values), dtype=bool)


def distance(a: NeatGenome, b: NeatGenome, config: NeatGenomeConfig) -> float:
    """Compatibility distance c1*E/N + c2*D/N + c3*W over connection genes (Stanley & Miikkulainen 2002, eq. 1).

    E counts excess genes (innovations beyond the other genome's newest), D disjoint genes, W is the mean absolute
    weight difference of matching genes and N from the larger gene count (see `normaliser`).
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
    return float(_compatibility(excess, disjoint, weight, len(ia), len(ib), config))


def normaliser(genes: ArrayLike, small: int) -> np.ndarray:
    """N of the distance for a larger genome of `genes` genes: 1 up to `small` - 1 genes as in the paper, then
    growing by one per gene (`genes - small + 1`).

    The paper's own rule, N = the gene count from `small` genes on, is discontinuous: one gene more multiplies N by
    `small` (1 to 20), so a representative that reaches `small` genes is suddenly close to every genome, and since
    genomes try the oldest species first, the whole population joins it (CartPole seed 2 went from 41 species to 1
    in one generation). This rule is continuous and approaches the gene count for large genomes.
    """
    return np.maximum(np.asarray(genes) - small + 1, 1)


def _compatibility(
    excess: ArrayLike, disjoint: ArrayLike, mean_weight: ArrayLike, size_a: ArrayLike, size_b: ArrayLike,
    config: NeatGenomeConfig,
) -> np.ndarray:
    """c1·E/N + c2·D/N + c3·W̄ elementwise, N from the larger gene count by `normaliser`."""
    n = normaliser(np.maximum(size_a, size_b), config.compatibility_normalize_min)
    return (
        config.compatibility_excess * excess / n
        + config.compatibility_disjoint * disjoint / n
        + config.compatibility_weight * mean_weight
    )


MAX_LOOKUPS = 1 << 19  # (gene, representative) entries per block of `PopulationIndex.distances`


class PopulationIndex:
    """Connection genes of many genomes concatenated, for distances from representatives to all of them at once."""

    def __init__(self, genomes: list[NeatGenome]) -> None:
        self.size = len(genomes)
        if genomes:
            pool = GenePool.of(genomes)
            sizes, self.innovation, self.weight = pool.conn_counts, pool.connections.innovation, pool.connections.weight
        else:
            sizes, self.innovation, self.weight = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
        self.sizes = sizes
        self.nonempty = sizes > 0
        self.first = np.cumsum(sizes) - sizes  # where each genome's genes begin
        self.newest = _newest(self.innovation, self.first, sizes)
        self.owner = np.repeat(np.arange(self.size), sizes)

    def distances(self, representatives: Sequence[NeatGenome], config: NeatGenomeConfig) -> np.ndarray:
        """`distance(r, g)` for every representative r (rows) and indexed genome g (columns), to rounding the values
        `distance` gives pair by pair; a row does not depend on the other representatives."""
        block = max(1, MAX_LOOKUPS // max(len(self.innovation), 1))
        parts = [self._distances(representatives[i : i + block], config)
                 for i in range(0, len(representatives), block)]
        return np.vstack(parts) if parts else np.zeros((0, self.size))

    def _distances(self, representatives: Sequence[NeatGenome], config: NeatGenomeConfig) -> np.ndarray:
        refs = GenePool.of(representatives)
        n_refs, n = refs.size, self.size
        ref_sizes, ref_innovation, ref_weight = refs.conn_counts, refs.connections.innovation, refs.connections.weight
        _, ref_owner = refs.owners()
        span = 1 + max(int(self.innovation.max(initial=-1)), int(ref_innovation.max(initial=-1)))
        # table[innovation] holds each representative's weight of that gene (0 without it) and then whether it has
        # it (1.0 or 0.0), so one gather of the population's innovations, gene by gene, aligns every gene with every
        # representative; the sums per genome over its contiguous genes then run down the rows.
        table = np.zeros((span, 2 * n_refs))
        table[ref_innovation, ref_owner] = ref_weight
        table[ref_innovation, n_refs + ref_owner] = 1.0
        sums = np.zeros((n, 2 * n_refs))
        if len(self.innovation):
            looked = table[self.innovation]  # (genes, 2 R)
            gap = looked[:, :n_refs]
            np.subtract(gap, self.weight[:, None], out=gap)
            np.abs(gap, out=gap)
            gap *= looked[:, n_refs:]  # matching genes only
            sums[self.nonempty] = np.add.reduceat(looked, self.first[self.nonempty], axis=0)
        weight_diff, n_match = sums[:, :n_refs].T, sums[:, n_refs:].T.astype(np.int64)  # (R, n)
        # Excess genes: those of g newer than r's newest, and those of r newer than g's newest, each counted as a
        # genome's size less its genes up to the other's newest (gene codes owner * stride + innovation ascend).
        stride = span + 1
        ref_first = refs.conn_ptr[:-1]
        ref_newest = _newest(ref_innovation, ref_first, ref_sizes)
        g_upto = np.searchsorted(self.owner * stride + self.innovation,
                                 np.arange(n)[None, :] * stride + ref_newest[:, None], side="right")
        r_upto = np.searchsorted(ref_owner * stride + ref_innovation,
                                 np.arange(n_refs)[:, None] * stride + self.newest[None, :], side="right")
        sizes, ref_sizes = self.sizes[None, :], ref_sizes[:, None]
        excess_g = sizes - (g_upto - self.first[None, :])
        excess_ref = ref_sizes - (r_upto - ref_first[:, None])
        both = (sizes > 0) & (ref_sizes > 0)
        excess = np.where(both, excess_g + excess_ref, sizes + ref_sizes)
        disjoint = sizes + ref_sizes - 2 * n_match - excess
        mean_weight = np.where(n_match > 0, weight_diff / np.maximum(n_match, 1), 0.0)
        return _compatibility(excess, disjoint, mean_weight, sizes, ref_sizes, config)


def _newest(innovation: np.ndarray, first: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Each genome's newest innovation (its last gene; -1 without genes), genome i's genes being
    innovation[first[i]:first[i] + sizes[i]]."""
    if not len(innovation):
        return np.full(len(sizes), -1, dtype=np.int64)
    return np.where(sizes > 0, innovation[np.maximum(first + sizes - 1, 0)], -1)
