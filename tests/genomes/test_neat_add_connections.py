"""Adding connections to many genomes at once (genomes/neat_add_connections.py) is the genome-by-genome operator:
bit for bit on one genome with the same draws, and on many it keeps every invariant and shares innovations."""

from __future__ import annotations

import copy

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from genomes.base import MutationContext
from genomes.innovation import InnovationTracker
from genomes.neat_add_connections import add_connections
from genomes.neat_mutation import add_connection
from genomes.reachability import has_cycle
from tests.neat_helpers import busy_config, grow


def _same(a, b) -> bool:
    return a.to_dict() == b.to_dict()


@settings(max_examples=120, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), steps=st.integers(0, 40), feed_forward=st.booleans(),
       attempts=st.sampled_from([1, 3, 20]), disable=st.floats(0.0, 1.0))
def test_one_genome_equals_the_genome_by_genome_operator(seed, steps, feed_forward, attempts, disable):
    config = busy_config(feed_forward=feed_forward, add_connection_attempts=attempts)
    ctx = MutationContext(config, InnovationTracker())
    genome = grow(config, seed, steps, ctx)
    off = np.random.default_rng(seed).random(len(genome.connections)) < disable  # disabled genes to re-enable
    genome = genome.with_genes(connections=genome.connections.replace(enabled=genome.connections.enabled & ~off))
    ctx_a, ctx_b = MutationContext(config, copy.deepcopy(ctx.innovations)), MutationContext(
        config, copy.deepcopy(ctx.innovations))
    expected = add_connection(genome, np.random.default_rng(seed + 1), ctx_a)
    (got,) = add_connections([genome], np.random.default_rng(seed + 1), ctx_b)
    assert _same(got, expected)
    assert (got is genome) == (expected is genome)
    assert ctx_a.innovations.to_dict() == ctx_b.innovations.to_dict()


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), size=st.integers(1, 30), feed_forward=st.booleans())
def test_many_genomes_keep_every_invariant_and_share_innovations(seed, size, feed_forward):
    config = busy_config(feed_forward=feed_forward)
    ctx = MutationContext(config, InnovationTracker())
    rng = np.random.default_rng(seed)
    genomes = [grow(config, int(s), int(rng.integers(0, 30)), ctx) for s in rng.integers(0, 2**31, size=size)]
    out = add_connections(genomes, np.random.default_rng(seed), ctx)
    assert len(out) == len(genomes)
    for before, after in zip(genomes, out):
        after.validate()
        c = after.connections
        assert np.all(np.diff(c.innovation) > 0), "genes stay sorted by innovation"
        assert len(c) - len(before.connections) in (0, 1)
        assert len(after.connections.pairs()) == len(c), "no pair twice"
        if feed_forward:
            assert not has_cycle(c.source[c.source >= 0], c.target[c.source >= 0])
            assert not np.any((c.source >= 0) & (c.source < config.num_outputs) & (c.target < config.num_outputs))
        grown = before.connections.pairs() ^ after.connections.pairs()
        flipped = int(np.sum(after.connections.enabled)) - int(np.sum(before.connections.enabled))
        assert len(grown) == 1 or (not grown and flipped in (0, 1)), "one new gene, one re-enabled, or none"
    known = ctx.innovations.connections
    for genome in out:
        for s, t, i in zip(genome.connections.source.tolist(), genome.connections.target.tolist(),
                           genome.connections.innovation.tolist()):
            assert known[(s, t)] == i, "the same pair has the same innovation in every genome"
