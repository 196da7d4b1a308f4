"""Unit tests pinning the paper's operator semantics."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from genomes.base import GenomeError, MutationContext
from genomes.gene_pool import initial_population
from genomes.genes import ConnectionGenes, NodeGenes
from genomes.innovation import InnovationTracker
from genomes.neat_alignment import crossover, distance, normaliser
from genomes.neat_config import NeatGenomeConfig
from genomes.neat_genome import NeatGenome
from genomes.neat_mutation import add_connection, add_node, delete_node, prune_dangling
from tests.neat_helpers import busy_config, grow


def _minimal(config=None, seed=0):
    config = config or NeatGenomeConfig(num_inputs=2, num_outputs=1)
    ctx = MutationContext(config, InnovationTracker())
    return NeatGenome.initial(config, np.random.default_rng(seed), ctx), ctx


def test_initial_genome_is_fully_connected_inputs_to_outputs():
    genome, ctx = _minimal(NeatGenomeConfig(num_inputs=3, num_outputs=2))
    assert genome.connections.pairs() == {(i, o) for i in (-1, -2, -3) for o in (0, 1)}
    assert genome.hidden_keys == []
    assert ctx.innovations.next_innovation == 6


@pytest.mark.parametrize("overrides", [
    {},
    {"num_hidden": 2, "response_init_stdev": 0.3},
    {"initial_connection": "none"},
    {"initial_connection": "partial", "num_hidden": 1},
    {"weight_init_stdev": 0.0, "bias_init_stdev": 0.0, "weight_init_mean": 40.0},
])
def test_an_initial_population_made_at_once_equals_one_made_genome_by_genome(overrides):
    config = NeatGenomeConfig(num_inputs=4, num_outputs=3, **overrides)
    at_once = MutationContext(config, InnovationTracker())
    one_by_one = MutationContext(config, InnovationTracker())
    rng_a, rng_b = np.random.default_rng(7), np.random.default_rng(7)
    population = initial_population(config, 20, rng_a, at_once)
    expected = [NeatGenome.initial(config, rng_b, one_by_one) for _ in range(20)]
    assert [g.to_dict() for g in population] == [g.to_dict() for g in expected]
    assert at_once.innovations.to_dict() == one_by_one.innovations.to_dict()
    assert rng_a.random() == rng_b.random()  # the generators are left in the same state


def test_add_node_splits_a_connection_as_in_the_paper():
    genome, ctx = _minimal()
    child = add_node(genome, np.random.default_rng(1), ctx)
    (new_node,) = child.hidden_keys
    old = genome.connections
    split = [i for i in range(len(old)) if not child.connections.enabled[child.connections.innovation == old.innovation[i]][0]]
    assert len(split) == 1
    source, target, weight = int(old.source[split[0]]), int(old.target[split[0]]), float(old.weight[split[0]])
    c = child.connections
    into = (c.source == source) & (c.target == new_node)
    out_of = (c.source == new_node) & (c.target == target)
    assert c.weight[into][0] == 1.0 and c.enabled[into][0]
    assert c.weight[out_of][0] == weight and c.enabled[out_of][0]
    assert len(genome.connections) == 2 and genome.connections.enabled.all(), "parent must be untouched"


def test_same_split_in_two_genomes_gets_same_node_and_innovations():
    config = NeatGenomeConfig(num_inputs=1, num_outputs=1)
    ctx = MutationContext(config, InnovationTracker())
    rng = np.random.default_rng(0)
    a, b = NeatGenome.initial(config, rng, ctx), NeatGenome.initial(config, rng, ctx)
    a2, b2 = add_node(a, rng, ctx), add_node(b, rng, ctx)
    assert a2.hidden_keys == b2.hidden_keys
    assert a2.connections.innovation.tolist() == b2.connections.innovation.tolist()


def test_resplitting_inside_one_genome_gets_a_fresh_node():
    config = NeatGenomeConfig(num_inputs=1, num_outputs=1)
    genome, ctx = _minimal(config)
    rng = np.random.default_rng(0)
    once = add_node(genome, rng, ctx)
    original = once.connections.innovation == genome.connections.innovation[0]
    reenabled = once.with_genes(connections=once.connections.replace(enabled=once.connections.enabled | original))
    # Force the split of the original connection again: disable the others so it is the only candidate.
    only = reenabled.with_genes(connections=reenabled.connections.replace(enabled=original))
    twice = add_node(only, rng, ctx)
    assert len(twice.hidden_keys) == 2
    twice.validate()


def test_a_tracker_copy_has_the_same_records_and_is_independent():
    config = busy_config()
    ctx = MutationContext(config, InnovationTracker())
    grow(config, seed=4, steps=25, ctx=ctx)
    copy = ctx.innovations.copy()
    assert copy.to_dict() == ctx.innovations.to_dict()
    copy.connection(-1, 10**6)
    copy.split_node(next(iter(copy.splits)), taken={n for nodes in copy.splits.values() for n in nodes})
    assert copy.to_dict() != ctx.innovations.to_dict()
    assert InnovationTracker.from_dict(ctx.innovations.to_dict()).to_dict() == ctx.innovations.to_dict()


def test_add_connection_feed_forward_never_creates_cycles_or_output_to_output():
    config = busy_config(conn_add_prob=1.0, node_add_prob=0.5)
    ctx = MutationContext(config, InnovationTracker())
    genome = grow(config, seed=3, steps=30, ctx=ctx)
    rng = np.random.default_rng(0)
    for _ in range(200):
        genome = add_connection(genome, rng, ctx)
        genome.validate()
    c = genome.connections
    assert not np.any((c.source >= 0) & (c.source < 2) & (c.target < 2))


def test_add_connection_reenables_an_existing_disabled_gene():
    config = NeatGenomeConfig(num_inputs=1, num_outputs=1, add_connection_attempts=50)
    genome, ctx = _minimal(config)
    disabled = genome.with_genes(connections=genome.connections.replace(enabled=np.array([False])))
    again = add_connection(disabled, np.random.default_rng(0), ctx)
    assert again.connections.enabled.tolist() == [True]
    assert len(again.connections) == 1


def test_delete_node_prunes_dangling_hidden_nodes():
    nodes = NodeGenes.build([0, 1, 2], [0, 0, 0], [1, 1, 1], ["tanh"] * 3, ["sum"] * 3)
    # -1 -> 1 -> 2 -> 0 : deleting node 2 leaves node 1 with no way to the output.
    conns = ConnectionGenes.build([0, 1, 2], [-1, 1, 2], [1, 2, 0], [1.0, 1.0, 1.0], [True] * 3)
    genome = NeatGenome(1, 1, True, nodes, conns)
    ctx = MutationContext(NeatGenomeConfig(num_inputs=1, num_outputs=1), InnovationTracker())
    for seed in range(20):
        child = delete_node(genome, np.random.default_rng(seed), ctx)
        assert child.hidden_keys == [], "deleting either hidden node strands the other"
        assert len(child.connections) == 0
        child.validate()
    assert prune_dangling(genome).hidden_keys == [1, 2]


def test_disable_rule_applies_with_the_configured_rate():
    config = NeatGenomeConfig(num_inputs=4, num_outputs=1, disable_inherited_rate=0.75)
    genome, ctx = _minimal(config)
    off = genome.with_genes(connections=genome.connections.replace(enabled=np.array([False, True, True, True])))
    on = genome
    rng = np.random.default_rng(0)
    disabled = []
    for _ in range(4000):
        child = crossover(on, off, rng, config)
        disabled.append(not child.connections.enabled[0])
        assert child.connections.enabled[1:].all(), "genes enabled in both parents stay enabled"
    assert abs(np.mean(disabled) - 0.75) < 0.03


def test_crossover_takes_disjoint_and_excess_from_fitter_parent_only():
    config = busy_config(enabled_mutate_rate=0.0)
    ctx = MutationContext(config, InnovationTracker())
    a, b = grow(config, 1, 15, ctx), grow(config, 2, 15, ctx)
    rng = np.random.default_rng(0)
    child = crossover(a, b, rng, config)
    assert child.connections.innovation.tolist() == a.connections.innovation.tolist()
    both = crossover(a, b, rng, config, equal=True)
    union = set(a.connections.innovation.tolist()) | set(b.connections.innovation.tolist())
    assert set(a.connections.innovation.tolist()) <= set(both.connections.innovation.tolist()) <= union


def test_crossover_with_a_parent_that_lost_every_connection():
    config = busy_config(enabled_mutate_rate=0.0)
    ctx = MutationContext(config, InnovationTracker())
    a = grow(config, 1, 15, ctx)
    bare = a.with_genes(nodes=a.nodes.take(a.nodes.key < a.num_outputs), connections=ConnectionGenes.empty())
    rng = np.random.default_rng(0)
    child = crossover(a, bare, rng, config)  # every gene of the fitter parent is disjoint or excess
    assert child.connections.innovation.tolist() == a.connections.innovation.tolist()
    np.testing.assert_array_equal(child.connections.weight, a.connections.weight)
    assert len(crossover(bare, a, rng, config).connections) == 0
    both = crossover(bare, a, rng, config, equal=True)
    assert set(both.connections.innovation.tolist()) <= set(a.connections.innovation.tolist())
    both.validate()


def test_distance_counts_excess_disjoint_and_weights():
    config = NeatGenomeConfig(num_inputs=1, num_outputs=1, compatibility_excess=1.0, compatibility_disjoint=2.0,
                              compatibility_weight=0.5, compatibility_normalize_min=1)
    nodes = NodeGenes.build([0], [0.0], [1.0], ["tanh"], ["sum"])

    def genome(innovations, weights):
        n = len(innovations)
        return NeatGenome(1, 1, False, nodes, ConnectionGenes.build(innovations, [-1] * n, [0] * n, weights, [True] * n))

    # Pairs must be unique within a genome, so give each innovation its own (fake) source via recurrence-free ids.
    a = genome([1], [1.0])
    b = genome([1], [3.0])
    assert distance(a, b, config) == pytest.approx(0.5 * 2.0)
    a = NeatGenome(2, 1, True, nodes, ConnectionGenes.build([1, 2, 5], [-1, -2, -1], [0, 0, 0], [0.0, 0.0, 0.0], [True] * 3))
    b = NeatGenome(2, 1, True, nodes, ConnectionGenes.build([1, 3], [-1, -2], [0, 0], [1.0, 0.0], [True] * 2))
    # matching {1} (weight diff 1), disjoint {2, 3}, excess {5}; N = 3
    assert distance(a, b, config) == pytest.approx(1.0 * 1 / 3 + 2.0 * 2 / 3 + 0.5 * 1.0)


@given(st.integers(0, 10_000), st.integers(1, 100))
def test_the_distance_normaliser_is_one_for_small_genomes_and_grows_one_per_gene(genes, small):
    n = int(normaliser(genes, small))
    assert n == (1 if genes < small else genes - small + 1)
    # Continuous: one gene more never multiplies N by more than 2 (the paper's N jumps from 1 to `small`).
    assert int(normaliser(genes + 1, small)) - n in (0, 1)


@pytest.mark.parametrize(
    "mutilate, message",
    [
        (lambda d: d.update(version=99), "version"),
        (lambda d: d["connections"]["target"].__setitem__(0, 42), "does not exist"),
        (lambda d: d["nodes"]["activation"].__setitem__(0, "warp"), "activation"),
        (lambda d: d["connections"]["weight"].__setitem__(0, float("nan")), "finite"),
        (lambda d: d.pop("nodes"), "malformed"),
    ],
)
def test_from_dict_rejects_malformed_documents(mutilate, message):
    genome, _ = _minimal()
    document = genome.to_dict()
    mutilate(document)
    with pytest.raises(GenomeError, match=message):
        NeatGenome.from_dict(document)


def test_from_dict_rejects_a_cycle_in_feed_forward_mode():
    nodes = NodeGenes.build([0, 1], [0, 0], [1, 1], ["tanh"] * 2, ["sum"] * 2)
    conns = ConnectionGenes.build([0, 1, 2], [-1, 1, 0], [1, 0, 1], [1.0] * 3, [True] * 3)
    document = NeatGenome(1, 1, True, nodes, conns).to_dict()
    with pytest.raises(GenomeError, match="cycle"):
        NeatGenome.from_dict(document)
    document["feed_forward"] = False
    NeatGenome.from_dict(document)  # recurrent genomes may loop


def test_recurrent_network_keeps_state_between_steps_and_resets():
    config = busy_config(feed_forward=False)
    genome = grow(config, seed=5, steps=20)
    net = genome.phenotype()
    x = np.ones((2, 3))
    first = [net.activate(x).copy() for _ in range(3)]
    net.reset()
    again = [net.activate(x).copy() for _ in range(3)]
    for u, v in zip(first, again):
        np.testing.assert_array_equal(u, v)
