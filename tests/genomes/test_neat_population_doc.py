"""The population document a checkpoint holds: an exact round trip, and corrupted documents fail cleanly."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genomes.base import GenomeError, MutationContext
from genomes.gene_pool import initial_population
from genomes.innovation import InnovationTracker
from genomes.neat_genome import NeatGenome
from genomes.neat_population_doc import population_from_dict, population_to_dict
from tests.neat_helpers import busy_config

JSON_VALUES = st.none() | st.booleans() | st.integers(-5, 10**6) | st.floats(allow_nan=True) | st.text(max_size=4)


def _population(seed: int, size: int, steps: int, feed_forward: bool) -> list[NeatGenome]:
    config = busy_config(feed_forward=feed_forward)
    ctx = MutationContext(config, InnovationTracker())
    rng = np.random.default_rng(seed)
    pop = initial_population(config, size, rng, ctx)
    for _ in range(steps if size else 0):
        i, j = rng.integers(size, size=2)
        pop[int(i)] = pop[int(i)].crossover(pop[int(j)], rng, ctx).mutate(rng, ctx)
    return pop


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), size=st.integers(0, 6), steps=st.integers(0, 30), feed_forward=st.booleans())
def test_population_round_trip_is_exact_genome_by_genome(seed, size, steps, feed_forward):
    pop = _population(seed, size, steps, feed_forward)
    document = json.loads(json.dumps(population_to_dict(pop)))
    again = population_from_dict(document)
    assert [g.to_dict() for g in again] == [g.to_dict() for g in pop]


BASE = population_to_dict(_population(seed=5, size=3, steps=12, feed_forward=True))
PATHS = [("version",), ("schema",), ("num_inputs",), ("feed_forward",), ("node_counts",), ("connection_counts",),
         ("nodes", "key"), ("nodes", "activation"), ("connections", "source"), ("connections", "weight"),
         ("connections", "enabled")]


@settings(max_examples=300, deadline=None)
@given(path=st.sampled_from(PATHS), value=JSON_VALUES | st.lists(JSON_VALUES, max_size=3), position=st.integers(0, 9))
def test_corrupted_population_documents_load_or_fail_cleanly(path, value, position):
    document = json.loads(json.dumps(BASE))
    *parents, last = path
    target = document
    for key in parents:
        target = target[key]
    column = target[last]
    if isinstance(column, list) and position < len(column) and not isinstance(value, list):
        column[position] = value  # one corrupted cell
    else:
        target[last] = value  # a whole field replaced
    try:
        genomes = population_from_dict(document)
    except GenomeError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        for genome in genomes:
            genome.validate()


def test_count_mismatches_name_the_problem():
    document = json.loads(json.dumps(BASE))
    document["node_counts"][0] += 1
    with pytest.raises(GenomeError, match="sum\\(node_counts\\)"):
        population_from_dict(document)
    document = json.loads(json.dumps(BASE))
    document["connection_counts"].append(0)
    with pytest.raises(GenomeError, match="differ in length|sum\\(connection_counts\\)"):
        population_from_dict(document)


def test_mixed_shapes_are_refused():
    a = _population(seed=1, size=1, steps=0, feed_forward=True)
    b = _population(seed=1, size=1, steps=0, feed_forward=False)
    with pytest.raises(ValueError, match="one shape"):
        population_to_dict(a + b)
