"""NEAT mutation operators. Each takes a genome and returns a new one; structural operators consult the
population's innovation tracker so identical structural changes share historical markings."""

from __future__ import annotations

import bisect

import numpy as np

from genomes.base import MutationContext
from genomes.gene_pool import GenePool
from genomes.genes import ConnectionGenes, NodeGenes
from genomes.neat_add_connections import add_connections
from genomes.reachability import creates_cycle, successors_of
from genomes.neat_config import NeatGenomeConfig
from genomes.neat_genome import NeatGenome


def mutate(genome: NeatGenome, rng: np.random.Generator, ctx: MutationContext) -> NeatGenome:
    """Structural mutations (each with its own probability, or one at most), then attribute mutations (skipped
    after a structural change unless `attributes_after_structural`). The strategy does the same for a whole
    generation at once: structure child by child, then `mutate_attributes_where` over all of them."""
    structured = mutate_structure(genome, rng, ctx)
    return mutate_attributes_where([structured], [structured is genome], rng, ctx.config)[0]


def mutate_attributes_where(
    genomes: list[NeatGenome], unchanged: list[bool], rng: np.random.Generator, config: NeatGenomeConfig,
    offspring: list[bool] | None = None,
) -> list[NeatGenome]:
    """Attribute mutations for the offspring whose structure did not change (all offspring when
    `attributes_after_structural`): as in the NEAT reference implementation, an offspring that gains structure
    keeps its inherited weights, so the new structure is judged on its own. `offspring` flags the genomes that are
    offspring (default: all); the others, elites, are kept as they are. Returns every genome, in order."""
    chosen = np.asarray(unchanged, dtype=bool) | config.attributes_after_structural
    if offspring is not None:
        chosen &= np.asarray(offspring, dtype=bool)
    return mutate_attributes_of(genomes, chosen, rng, config)


def mutate_structure(genome: NeatGenome, rng: np.random.Generator, ctx: MutationContext) -> NeatGenome:
    return mutate_structure_all([genome], rng, ctx)[0]


def mutate_structure_all(genomes: list[NeatGenome], rng: np.random.Generator, ctx: MutationContext) -> list[NeatGenome]:
    """Structural mutations for each genome: add node, add connection, delete node, delete connection, each with
    its own probability (which ones drawn for all genomes at once), or at most one of them. Connections are added
    to all the genomes that draw it at once (`genomes.neat_add_connections`)."""
    config: NeatGenomeConfig = ctx.config
    structural = [
        (config.node_add_prob, add_node),
        (config.conn_add_prob, add_connection),
        (config.node_delete_prob, delete_node),
        (config.conn_delete_prob, delete_connection),
    ]
    if config.single_structural_mutation:
        probs = np.array([p for p, _ in structural])
        total = probs.sum()
        out = []
        for genome in genomes:
            if total > 0 and rng.random() < min(1.0, total):
                genome = structural[rng.choice(len(structural), p=probs / total)][1](genome, rng, ctx)
            out.append(genome)
        return out
    # Which operators each genome gets, drawn for all; then each operator over its genomes, in the order above (a
    # genome's own mutations keep that order). Adding connections, the most frequent, runs on all genomes at once.
    chosen = rng.random((len(genomes), len(structural))) < [p for p, _ in structural]
    out = list(genomes)
    for column, (_, operator) in enumerate(structural):
        picked = np.flatnonzero(chosen[:, column]).tolist()
        if operator is add_connection:
            for i, genome in zip(picked, add_connections([out[i] for i in picked], rng, ctx)):
                out[i] = genome
            continue
        for i in picked:
            out[i] = operator(out[i], rng, ctx)
    return out


def add_connection(genome: NeatGenome, rng: np.random.Generator, ctx: MutationContext) -> NeatGenome:
    """Connect a random (source, target) pair; re-enables the gene if it exists disabled. In feed-forward mode,
    pairs that would close a cycle (over all genes, so a later re-enable stays acyclic) are rejected. Runs for
    every other offspring, on a few genes, so it works on Python lists."""
    config: NeatGenomeConfig = ctx.config
    conns = genome.connections
    keys = genome.nodes.key.tolist()
    n_in, n_out, feed_forward = genome.num_inputs, genome.num_outputs, genome.feed_forward
    attempts = config.add_connection_attempts
    # Sources are the inputs (keys -1..-n_in) and the nodes; targets the nodes. One uniform draw per index, scaled
    # (a bounded-integer draw costs several times more, and most calls try many pairs); u * n < n for u < 1.
    source_keys = [-(i + 1) for i in range(n_in)] + keys
    n_sources, n_targets = len(source_keys), len(keys)
    draws = iter(rng.random(2 * attempts).tolist())
    sources, targets = conns.source.tolist(), conns.target.tolist()
    existing = dict(zip(zip(sources, targets), range(len(sources))))
    successors = None
    for u_source, u_target in zip(draws, draws):
        source, target = source_keys[int(u_source * n_sources)], keys[int(u_target * n_targets)]
        index = existing.get((source, target))
        if index is not None:
            if conns.enabled[index]:
                continue
            enabled = conns.enabled.copy()
            enabled[index] = True
            return genome.with_genes(connections=conns.replace(enabled=enabled))
        if feed_forward and source >= 0:  # an input has no incoming edge, so it cannot close a cycle
            if source < n_out and target < n_out:
                continue  # output -> output
            if successors is None:
                successors = successors_of(sources, targets)
            if creates_cycle(source, target, successors):
                continue
        weight = _draw_weight(rng, config)
        innovation = ctx.innovations.connection(source, target)
        innovations = conns.innovation.tolist()
        # Genes stay sorted by innovation: a new innovation goes last, one the population already knows in place.
        at = bisect.bisect(innovations, innovation)
        columns = {"innovation": innovations, "source": sources, "target": targets,
                   "weight": conns.weight.tolist(), "enabled": conns.enabled.tolist()}
        for name, value in zip(columns, (innovation, source, target, weight, True)):
            columns[name].insert(at, value)
        return genome.with_genes(connections=ConnectionGenes.build(**columns))
    return genome


def add_node(genome: NeatGenome, rng: np.random.Generator, ctx: MutationContext) -> NeatGenome:
    """Split an enabled connection a->b: disable it, add node n with a->n (weight 1) and n->b (the old weight)."""
    config: NeatGenomeConfig = ctx.config
    conns, nodes = genome.connections, genome.nodes
    candidates = np.flatnonzero(conns.enabled)
    if len(candidates) == 0:
        return genome
    index = int(candidates[rng.integers(len(candidates))])
    source, target = int(conns.source[index]), int(conns.target[index])
    node = ctx.innovations.split_node(int(conns.innovation[index]), set(nodes.key.tolist()))
    enabled = conns.enabled.copy()
    enabled[index] = False
    innovations = [ctx.innovations.connection(source, node), ctx.innovations.connection(node, target)]
    new_conns = ConnectionGenes.from_columns({
        "innovation": np.append(conns.innovation, innovations), "source": np.append(conns.source, [source, node]),
        "target": np.append(conns.target, [node, target]), "weight": np.append(conns.weight, [1.0, conns.weight[index]]),
        "enabled": np.append(enabled, [True, True]),
    })
    new_nodes = NodeGenes.from_columns({
        "key": np.append(nodes.key, node), "bias": np.append(nodes.bias, 0.0),
        "response": np.append(nodes.response, 1.0),
        "activation": np.append(nodes.activation, np.array([config.activation_default], dtype=nodes.activation.dtype)),
        "aggregation": np.append(nodes.aggregation, np.array([config.aggregation_default], dtype=nodes.aggregation.dtype)),
    })
    if node < nodes.key[-1]:  # a node key reused for the same split elsewhere in the population
        new_nodes = new_nodes.sorted()
    if innovations[0] < conns.innovation[-1] or innovations[1] < innovations[0]:
        new_conns = new_conns.sorted()
    return genome.with_genes(nodes=new_nodes, connections=new_conns)


def delete_connection(genome: NeatGenome, rng: np.random.Generator, ctx: MutationContext) -> NeatGenome:
    conns = genome.connections
    if len(conns) == 0:
        return genome
    keep = np.ones(len(conns), dtype=bool)
    keep[rng.integers(len(conns))] = False
    return prune_dangling(genome.with_genes(connections=conns.take(keep)))


def delete_node(genome: NeatGenome, rng: np.random.Generator, ctx: MutationContext) -> NeatGenome:
    """Remove a random hidden node with all its connections, then prune what was left dangling."""
    hidden = genome.hidden_keys
    if not hidden:
        return genome
    node = hidden[rng.integers(len(hidden))]
    conns = genome.connections
    return prune_dangling(
        genome.with_genes(
            nodes=genome.nodes.take(genome.nodes.key != node),
            connections=conns.take((conns.source != node) & (conns.target != node)),
        )
    )


def prune_dangling(genome: NeatGenome) -> NeatGenome:
    """Drop hidden nodes a deletion left hanging: no incoming or no outgoing connection gene (self-loops aside),
    repeated until none is left."""
    nodes, conns = genome.nodes, genome.connections
    while True:
        hidden = nodes.key >= genome.num_outputs
        proper = conns.source != conns.target
        has_out = np.isin(nodes.key, conns.source[proper])
        has_in = np.isin(nodes.key, conns.target[proper])
        dangling = hidden & ~(has_out & has_in)
        if not dangling.any():
            return genome.with_genes(nodes=nodes, connections=conns)
        dead = nodes.key[dangling]
        nodes = nodes.take(~dangling)
        conns = conns.take(~np.isin(conns.source, dead) & ~np.isin(conns.target, dead))


def mutate_attributes_all(
    genomes: list[NeatGenome], rng: np.random.Generator, config: NeatGenomeConfig
) -> list[NeatGenome]:
    """Perturb or replace weights, biases and responses gene by gene, toggle enabled flags and change activations
    and aggregations, for many genomes with one set of random draws over all their genes."""
    return mutate_attributes_of(genomes, np.ones(len(genomes), dtype=bool), rng, config)


def mutate_attributes_of(
    genomes: list[NeatGenome], chosen: np.ndarray, rng: np.random.Generator, config: NeatGenomeConfig
) -> list[NeatGenome]:
    """`mutate_attributes_all` for the genomes flagged in `chosen`, on the columns of the genomes' pool: the draws
    are those of the chosen genomes' genes in order, whatever lies between them. Returns every genome, in order,
    as views of one pool (the chosen ones mutated)."""
    if not genomes:
        return []
    pool = GenePool.of(genomes)
    if not chosen.any():
        return pool.genomes()
    c = config
    conns, nodes = pool.connections, pool.nodes
    whole = bool(chosen.all())
    conn_rows = slice(None) if whole else np.repeat(chosen, pool.conn_counts)
    node_rows = slice(None) if whole else np.repeat(chosen, pool.node_counts)

    weight = _mutate_values(
        rng, conns.weight[conn_rows], c.weight_mutate_rate, c.weight_replace_rate, c.weight_mutate_power,
        c.weight_init_mean, c.weight_init_stdev, c.weight_min, c.weight_max,
    )
    enabled = conns.enabled[conn_rows]
    if c.enabled_mutate_rate > 0:
        enabled = enabled ^ (rng.random(len(enabled)) < c.enabled_mutate_rate)
    bias = _mutate_values(
        rng, nodes.bias[node_rows], c.bias_mutate_rate, c.bias_replace_rate, c.bias_mutate_power,
        c.bias_init_mean, c.bias_init_stdev, c.bias_min, c.bias_max,
    )
    response = _mutate_values(
        rng, nodes.response[node_rows], c.response_mutate_rate, c.response_replace_rate, c.response_mutate_power,
        c.response_init_mean, c.response_init_stdev, c.response_min, c.response_max,
    )
    node_columns = {"bias": _put(nodes.bias, node_rows, bias), "response": _put(nodes.response, node_rows, response)}
    for name, rate, options in (("activation", c.activation_mutate_rate, c.activation_options),
                                ("aggregation", c.aggregation_mutate_rate, c.aggregation_options)):
        if rate > 0 and options:
            column = nodes.__dict__[name]
            node_columns[name] = _put(column, node_rows, _mutate_choice(rng, column[node_rows], rate, options))
    new_conns = conns.replace(weight=_put(conns.weight, conn_rows, weight),
                              enabled=_put(conns.enabled, conn_rows, enabled))
    return pool.replace(nodes=nodes.replace(**node_columns), connections=new_conns).genomes()


def _put(column: np.ndarray, rows: slice | np.ndarray, values: np.ndarray) -> np.ndarray:
    """`column` with `values` at `rows` (a copy; `values` itself when rows are all of them)."""
    if isinstance(rows, slice):
        return values
    out = column.copy()
    out[rows] = values
    return out


def _mutate_values(
    rng: np.random.Generator,
    values: np.ndarray,
    rate: float,
    replace_rate: float,
    power: float,
    init_mean: float,
    init_stdev: float,
    lo: float,
    hi: float,
) -> np.ndarray:
    """Each value mutates with probability `rate`: replaced by a fresh draw (share `replace_rate`), else perturbed
    by N(0, power); results are clipped to [lo, hi]."""
    n = len(values)
    if n == 0 or rate <= 0:
        return values
    mutate = np.flatnonzero(rng.random(n) < rate)
    if len(mutate) == 0:
        return values
    replace = rng.random(len(mutate)) < replace_rate
    noise = rng.standard_normal(len(mutate))
    out = values.copy()
    out[mutate] = np.clip(
        np.where(replace, init_mean + init_stdev * noise, values[mutate] + power * noise), lo, hi
    )
    return out


def _mutate_choice(rng: np.random.Generator, values: np.ndarray, rate: float, options: list[str]) -> np.ndarray:
    if rate <= 0 or len(values) == 0 or not options:
        return values
    change = rng.random(len(values)) < rate
    if not change.any():
        return values
    out = values.copy()
    out[change] = np.asarray(options, dtype=values.dtype)[rng.integers(len(options), size=int(change.sum()))]
    return out


def _draw_weight(rng: np.random.Generator, config: NeatGenomeConfig) -> float:
    weight = float(rng.normal(config.weight_init_mean, config.weight_init_stdev))
    return min(max(weight, config.weight_min), config.weight_max)
