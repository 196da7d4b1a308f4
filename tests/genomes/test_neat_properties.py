"""Property tests: NEAT operator invariants over thousands of random operation sequences."""

from __future__ import annotations

import json

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from genomes.base import MutationContext
from genomes.reachability import has_cycle
from genomes.innovation import InnovationTracker
from genomes import neat_alignment
from genomes.neat_alignment import PopulationIndex, crossover, crossover_many
from genomes.neat_genome import NeatGenome
from tests.neat_helpers import busy_config

OPS = st.lists(st.sampled_from(["mutate", "cross", "cross_equal", "cross_reverse"]), min_size=1, max_size=25)


def _evolve(seed: int, ops: list[str], feed_forward: bool):
    """Apply a random sequence of mutations and crossovers to a small population sharing one tracker."""
    config = busy_config(feed_forward=feed_forward)
    ctx = MutationContext(config, InnovationTracker())
    rng = np.random.default_rng(seed)
    pop = [NeatGenome.initial(config, rng, ctx) for _ in range(4)]
    history = []
    for op in ops:
        i, j = rng.integers(len(pop), size=2)
        if op == "mutate":
            child = pop[i].mutate(rng, ctx)
        else:
            a, b = (pop[j], pop[i]) if op == "cross_reverse" else (pop[i], pop[j])
            child = a.crossover(b, rng, ctx, equal=op == "cross_equal")
            history.append((a, b, child, op == "cross_equal"))
        pop[int(rng.integers(len(pop)))] = child
    return config, ctx, pop, history


@settings(max_examples=1500, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), ops=OPS, feed_forward=st.booleans())
def test_operation_sequences_keep_every_invariant(seed, ops, feed_forward):
    config, ctx, pop, history = _evolve(seed, ops, feed_forward)
    pairs: dict[tuple[int, int], int] = {}
    for genome in pop:
        genome.validate()  # sorted unique keys/innovations, endpoints exist, no duplicate pairs, acyclic if FF
        if feed_forward:
            assert not has_cycle(genome.connections.source, genome.connections.target)
        for s, t, innov in zip(
            genome.connections.source.tolist(), genome.connections.target.tolist(), genome.connections.innovation.tolist()
        ):
            # Innovation consistency: one innovation number per (source, target), population-wide and in the tracker.
            assert pairs.setdefault((s, t), innov) == innov
            assert ctx.innovations.connections[(s, t)] == innov
    for fitter, other, child, equal in history:
        genes_a = dict(zip(fitter.connections.innovation.tolist(), fitter.connections.weight.tolist()))
        genes_b = dict(zip(other.connections.innovation.tolist(), other.connections.weight.tolist()))
        for innov, weight in zip(child.connections.innovation.tolist(), child.connections.weight.tolist()):
            assert innov in genes_a or innov in genes_b, "child gene from neither parent"
            assert weight in (genes_a.get(innov), genes_b.get(innov))
            if not equal:
                assert innov in genes_a, "disjoint/excess gene from the less fit parent"
        if not equal:
            assert set(child.connections.innovation.tolist()) == set(genes_a)
        else:
            assert set(child.connections.innovation.tolist()) >= set(genes_a)


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), ops=OPS, feed_forward=st.booleans())
def test_batched_crossover_follows_the_rule_of_crossover_pair_by_pair(seed, ops, feed_forward):
    config, _, pop, _ = _evolve(seed, ops, feed_forward)
    rng = np.random.default_rng(seed)
    triples = [(pop[i], pop[j], bool(e)) for i, j, e in rng.integers(len(pop), size=(8, 3)) % [len(pop), len(pop), 2]]
    for (fitter, other, equal), child in zip(triples, crossover_many(triples, rng, config)):
        child.validate()
        single = crossover(fitter, other, rng, config, equal=equal)  # the same structure, other draws
        for name in ("innovation", "source", "target"):
            assert getattr(child.connections, name).tolist() == getattr(single.connections, name).tolist()
        assert child.nodes.key.tolist() == single.nodes.key.tolist()
        if not equal:  # an unequal pair's child has exactly the fitter parent's genes
            for name in ("innovation", "source", "target"):
                assert getattr(child.connections, name).tolist() == getattr(fitter.connections, name).tolist()
        genes_b = dict(zip(other.connections.innovation.tolist(), other.connections.weight.tolist()))
        disabled_b = set(other.connections.innovation[~other.connections.enabled].tolist())
        in_child = {innov: (weight, on) for innov, weight, on in zip(child.connections.innovation.tolist(),
                                                                     child.connections.weight.tolist(),
                                                                     child.connections.enabled.tolist())}
        for innov, weight, was_on in zip(fitter.connections.innovation.tolist(), fitter.connections.weight.tolist(),
                                         fitter.connections.enabled.tolist()):
            assert in_child[innov][0] in (weight, genes_b.get(innov))
            if was_on and innov not in disabled_b:
                assert in_child[innov][1], "a gene enabled in every parent that has it stays enabled"
        for key, bias in zip(child.nodes.key.tolist(), child.nodes.bias.tolist()):
            parent_biases = [g.nodes.bias[g.nodes.key == key].tolist() for g in (fitter, other)]
            assert [bias] in parent_biases, "node attributes from a parent that has the node"


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), ops=OPS, feed_forward=st.booleans())
def test_distance_symmetric_zero_on_self_and_vectorized_agrees(seed, ops, feed_forward):
    config, _, pop, _ = _evolve(seed, ops, feed_forward)
    index = PopulationIndex(pop)
    matrix = index.distances(pop, config)
    assert matrix.shape == (len(pop), len(pop))
    saved, neat_alignment.MAX_LOOKUPS = neat_alignment.MAX_LOOKUPS, 1  # one representative per block
    try:
        np.testing.assert_array_equal(index.distances(pop, config), matrix)
    finally:
        neat_alignment.MAX_LOOKUPS = saved
    for i, a in enumerate(pop):
        assert a.distance(a, config) == 0.0
        np.testing.assert_array_equal(index.distances([a], config)[0], matrix[i])  # rows do not depend on the others
        for k, b in enumerate(pop):
            d = a.distance(b, config)
            assert d >= 0.0
            assert d == b.distance(a, config)
            assert np.isclose(matrix[i, k], d, rtol=1e-12, atol=1e-12)


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), ops=OPS, feed_forward=st.booleans())
def test_json_round_trip_is_exact(seed, ops, feed_forward):
    _, _, pop, _ = _evolve(seed, ops, feed_forward)
    for genome in pop:
        document = json.loads(json.dumps(genome.to_dict()))
        again = NeatGenome.from_dict(document)
        assert again.to_dict() == genome.to_dict()


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), ops=OPS, feed_forward=st.booleans(), batch=st.integers(1, 7))
def test_phenotype_and_torch_module_agree(seed, ops, feed_forward, batch):
    _, _, pop, _ = _evolve(seed, ops, feed_forward)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, 3))
    for genome in pop:
        network, module = genome.phenotype(), genome.to_module(torch.float64)
        if feed_forward:
            np.testing.assert_allclose(module(torch.from_numpy(x)).numpy(), network.activate(x), rtol=1e-12, atol=1e-12)
            single = network.activate(x[0])
            np.testing.assert_allclose(single, network.activate(x)[0], rtol=1e-12, atol=1e-12)
        else:
            state = module.initial_state(batch)
            for _ in range(4):
                expected = network.activate(x)
                got, state = module(torch.from_numpy(x), state)
                np.testing.assert_allclose(got.numpy(), expected, rtol=1e-10, atol=1e-12)
