"""A generation's genes in one pool: views, gathers and attribute mutation over masked rows."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from genomes.base import MutationContext
from genomes.gene_pool import GenePool, initial_population
from genomes.innovation import InnovationTracker
from genomes.neat_alignment import crossover_many
from genomes.neat_mutation import mutate_attributes_all, mutate_attributes_where
from tests.neat_helpers import busy_config


def _pools(seed: int, size: int, feed_forward: bool = True):
    """Two generations bred from one initial population (so three pools), and their context."""
    config = busy_config(feed_forward=feed_forward)
    ctx = MutationContext(config, InnovationTracker())
    rng = np.random.default_rng(seed)
    first = initial_population(config, size, rng, ctx)
    pairs = [(first[i], first[j], bool(e)) for i, j, e in zip(rng.integers(size, size=size),
                                                              rng.integers(size, size=size), rng.random(size) < 0.3)]
    second = mutate_attributes_all([g.mutate(rng, ctx) for g in crossover_many(pairs, rng, config)], rng, config)
    return config, ctx, rng, first, second


def _tables(genomes):
    return [g.to_dict() for g in genomes]


def _standalone(genome):
    """The same genome built from its own tables, viewing no pool."""
    return type(genome)(genome.num_inputs, genome.num_outputs, genome.feed_forward, genome.nodes, genome.connections)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), size=st.integers(1, 8), picks=st.lists(st.tuples(st.integers(0, 2),
                                                                                        st.integers(0, 7)),
                                                                              min_size=1, max_size=12))
def test_a_pool_of_any_genomes_holds_exactly_their_genes_in_order(seed, size, picks):
    _, _, _, first, second = _pools(seed, size)
    loose = [_standalone(g) for g in second]
    genomes = [(first, second, loose)[source][row % size] for source, row in picks]
    pool = GenePool.of(genomes)
    assert pool.size == len(genomes)
    assert _tables(pool.genomes()) == _tables(genomes)
    for name, column in pool.connections.__dict__.items():
        expected = np.concatenate([g.connections.__dict__[name] for g in genomes])
        assert column.dtype == expected.dtype and np.array_equal(column, expected)
    assert pool.node_counts.tolist() == [len(g.nodes) for g in genomes]


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), size=st.integers(2, 8), data=st.data())
def test_a_whole_pool_or_a_run_of_it_is_taken_as_it_is(seed, size, data):
    _, _, _, _, second = _pools(seed, size)
    pool = GenePool.of(second)
    assert GenePool.of(list(second)) is pool  # the genomes of one pool, in order: the pool itself, no copy
    start = data.draw(st.integers(0, size - 1))
    end = data.draw(st.integers(start + 1, size))
    assert _tables(GenePool.of(second[start:end]).genomes()) == _tables(second[start:end])


def test_views_read_their_tables_only_when_asked():
    _, _, _, _, second = _pools(3, 5)
    genome = second[2]
    assert genome._nodes is None and genome._connections is None
    assert genome.to_dict() == _standalone(genome).to_dict()
    assert genome._nodes is not None and genome._connections is not None


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), size=st.integers(1, 8), flags=st.lists(st.booleans(), min_size=8, max_size=8),
       unchanged=st.lists(st.booleans(), min_size=8, max_size=8), feed_forward=st.booleans())
def test_attribute_mutation_of_some_offspring_draws_what_mutating_them_alone_draws(seed, size, flags, unchanged,
                                                                                     feed_forward):
    """Elites (not offspring) and offspring whose structure changed keep their genes; the others get exactly what
    `mutate_attributes_all` over them alone gives, from the same generator state."""
    config, _, rng, _, second = _pools(seed, size, feed_forward)
    offspring, unchanged = flags[:size], unchanged[:size]
    state = rng.bit_generator.state
    result = mutate_attributes_where(second, unchanged, rng, config, offspring)
    alone = np.random.default_rng()
    alone.bit_generator.state = state
    chosen = [i for i in range(size) if offspring[i] and unchanged[i]]
    expected = mutate_attributes_all([second[i] for i in chosen], alone, config)
    assert rng.random() == alone.random()  # the same draws, no more
    mutated = dict(zip(chosen, expected))
    assert _tables(result) == _tables([mutated.get(i, g) for i, g in enumerate(second)])


def test_changing_a_list_of_views_leaves_the_pool_as_it_was():
    _, _, _, first, second = _pools(4, 4)
    pool = GenePool.of(first)
    before = _tables(first)
    population = pool.genomes()
    population[1] = _standalone(second[0])  # a caller's list is the caller's to change
    gathered = GenePool.of(population)
    assert gathered is not pool
    assert np.array_equal(gathered.connections.weight,
                          np.concatenate([g.connections.weight for g in population]))
    assert _tables(pool.genomes()) == before
