"""NEAT's add-connection mutation for many genomes at once, on their genes concatenated (structure of arrays).

Each genome tries `add_connection_attempts` random (source, target) pairs and takes the first that may be added:
a pair it lacks (in feed-forward mode neither output -> output nor one that closes a cycle, over all its genes, so
a later re-enable stays acyclic), or a pair it has disabled, which is enabled again. Exactly what
`genomes.neat_mutation.add_connection` does genome by genome, with the same random draws in the same order for a
single genome; for many, the pairs' draws come as one (genomes, 2 * attempts) block, and the whole generation's
existence checks, cycle searches and gene insertions are a fixed number of numpy calls: the breadth-first searches
for cycles run for every candidate pair at once, one frontier per step of depth.
"""

from __future__ import annotations

import numpy as np

from genomes.base import MutationContext
from genomes.gene_pool import GenePool
from genomes.genes import ConnectionGenes
from genomes.neat_genome import NeatGenome


def add_connections(genomes: list[NeatGenome], rng: np.random.Generator, ctx: MutationContext) -> list[NeatGenome]:
    """`add_connection` for every genome (sharing inputs, outputs and mode), in order; a genome with no pair to add
    is returned as it was."""
    if not genomes:
        return []
    config = ctx.config
    attempts = config.add_connection_attempts
    first = genomes[0]
    n_in, n_out, feed_forward = first.num_inputs, first.num_outputs, first.feed_forward
    count = len(genomes)
    pool = GenePool.of(genomes)
    node_counts, keys, conns = pool.node_counts, pool.nodes.key, pool.connections
    node_start = pool.node_ptr[:-1]
    _, owner = pool.owners()

    # The candidate pairs: sources the inputs (-1..-n_in) then the nodes, targets the nodes; u * n < n for u < 1.
    draws = rng.random((count, 2 * attempts))
    source_index = (draws[:, 0::2] * (n_in + node_counts)[:, None]).astype(np.int64)
    target_index = (draws[:, 1::2] * node_counts[:, None]).astype(np.int64)
    from_node = source_index >= n_in
    node_row = node_start[:, None] + np.where(from_node, source_index - n_in, 0)
    source = np.where(from_node, keys[node_row], -(source_index + 1))
    target = keys[node_start[:, None] + target_index]

    # Existing genes, found by (genome, source, target) codes.
    span = int(max(keys.max(initial=0), 0)) + n_in + 1
    gene_code = (owner * span + (conns.source + n_in)) * span + conns.target
    order = np.argsort(gene_code, kind="stable")
    genome_of = np.broadcast_to(np.arange(count)[:, None], source.shape)
    pair_code = (genome_of * span + (source + n_in)) * span + target
    at = np.minimum(np.searchsorted(gene_code[order], pair_code), max(len(order) - 1, 0))
    exists = (gene_code[order][at] == pair_code) if len(order) else np.zeros(source.shape, dtype=bool)
    row = order[at] if len(order) else np.zeros(source.shape, dtype=np.int64)
    enabled = conns.enabled[row] if len(order) else exists

    possible = ~(exists & enabled)
    if feed_forward:
        new_from_node = ~exists & (source >= 0)  # an input has no incoming edge, so it cannot close a cycle
        possible &= ~(new_from_node & (source < n_out) & (target < n_out))  # output -> output
        check = possible & new_from_node
        if check.any():
            flat = np.flatnonzero(check)
            cycles = _reaches(genome_of.ravel()[flat], target.ravel()[flat], source.ravel()[flat], keys,
                              node_start, node_counts, conns, owner)
            possible.ravel()[flat[cycles]] = False
    has = possible.any(axis=1)
    choice = np.argmax(possible, axis=1)

    picked = np.flatnonzero(has)
    if len(picked) == 0:
        return list(genomes)
    reenable = picked[exists[picked, choice[picked]]]
    added = picked[~exists[picked, choice[picked]]]
    flags = conns.enabled
    if len(reenable):
        flags = flags.copy()
        flags[row[reenable, choice[reenable]]] = True
    new_conns = conns.replace(enabled=flags)
    if len(added):
        new_source, new_target = source[added, choice[added]], target[added, choice[added]]
        weights = np.clip(rng.normal(config.weight_init_mean, config.weight_init_stdev, size=len(added)),
                          config.weight_min, config.weight_max)
        innovations = np.array([ctx.innovations.connection(s, t)
                                for s, t in zip(new_source.tolist(), new_target.tolist())], dtype=np.int64)
        # Genes stay sorted by innovation within each genome: a new innovation goes last, one the population
        # already knows in place.
        new_conns = ConnectionGenes.concat(new_conns, ConnectionGenes.build(
            innovations, new_source, new_target, weights, np.ones(len(added), dtype=bool)))
        new_owner = np.concatenate([owner, added])
        new_conns = new_conns.take(np.lexsort((new_conns.innovation, new_owner)))
    conn_counts = pool.conn_counts.copy()
    conn_counts[added] += 1
    views = GenePool(pool.num_inputs, pool.num_outputs, pool.feed_forward, pool.nodes, new_conns, node_counts,
                     conn_counts).genomes()
    out = list(genomes)
    for g in picked.tolist():
        out[g] = views[g]
    return out


def _reaches(genome: np.ndarray, start: np.ndarray, goal: np.ndarray, keys: np.ndarray, node_start: np.ndarray,
             node_counts: np.ndarray, conns: ConnectionGenes, owner: np.ndarray) -> np.ndarray:
    """For each query i: whether node `goal[i]` can be reached from node `start[i]` (keys, not inputs) along the
    genes of genome `genome[i]`, enabled or not; a node reaches itself. All queries advance together, one level of
    a breadth-first search per step."""
    queries = len(genome)
    widest = int(node_counts.max(initial=1))

    def local(g: np.ndarray, key: np.ndarray) -> np.ndarray:
        """The index of node `key` among genome g's nodes (keys are sorted within a genome)."""
        code = g * span + key
        return np.searchsorted(node_code, code) - node_start[g]

    span = int(max(keys.max(initial=0), 0)) + 1
    node_code = np.repeat(np.arange(len(node_counts)), node_counts) * span + keys
    # Successors of each node (global index), from the genes whose source is a node.
    from_node = conns.source >= 0
    edge_genome = owner[from_node]
    edge_from = node_start[edge_genome] + local(edge_genome, conns.source[from_node])
    edge_to = local(edge_genome, conns.target[from_node])  # a local index: the query's genome is the edge's
    order = np.argsort(edge_from, kind="stable")
    edge_from, edge_to = edge_from[order], edge_to[order]
    first_edge = np.searchsorted(edge_from, np.arange(len(keys) + 1))

    found = start == goal
    goal_local = local(genome, goal)
    visited = np.zeros((queries, widest), dtype=bool)
    query = np.flatnonzero(~found)
    node = local(genome[query], start[query])
    visited[query, node] = True
    while len(query):
        at = node_start[genome[query]] + node
        begin, count = first_edge[at], first_edge[at + 1] - first_edge[at]
        query = np.repeat(query, count)
        edge = np.repeat(begin - np.cumsum(count) + count, count) + np.arange(int(count.sum()))
        node = edge_to[edge]
        hit = node == goal_local[query]
        found[query[hit]] = True
        fresh = ~visited[query, node] & ~found[query]
        query, node = query[fresh], node[fresh]
        if len(query):
            visited[query, node] = True  # duplicates within a step are harmless: they are marked together
            keep = np.unique(query * widest + node, return_index=True)[1]
            query, node = query[keep], node[keep]
    return found
