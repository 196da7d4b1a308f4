"""Seeded uniform and integer draws for many seeds at once equal numpy's Generator seed by seed."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from envs.batch_seeding import integers_per_seed, uniform_per_seed


def _numpy(seeds, low, high, n):
    return np.stack([np.random.default_rng(s).uniform(low, high, n) for s in seeds])


@settings(max_examples=200, deadline=None)
@given(seeds=st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=20), n=st.integers(1, 6),
       low=st.floats(-10, 0), span=st.floats(0, 10))
def test_draws_equal_numpys_generator_for_each_seed(seeds, n, low, span):
    np.testing.assert_array_equal(uniform_per_seed(seeds, low, low + span, n), _numpy(seeds, low, low + span, n))


def test_edge_seeds_and_seeds_beyond_one_word():
    seeds = [0, 1, 2**31 - 1, 2**32 - 1]
    np.testing.assert_array_equal(uniform_per_seed(seeds, -0.05, 0.05, 4), _numpy(seeds, -0.05, 0.05, 4))
    wide = [2**32, 2**40 + 7]  # numpy's own path
    np.testing.assert_array_equal(uniform_per_seed(wide, 0.0, 1.0, 3), _numpy(wide, 0.0, 1.0, 3))
    assert uniform_per_seed([], 0.0, 1.0, 4).shape == (0, 4)


@settings(max_examples=200, deadline=None)
@given(seeds=st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=20), n=st.integers(1, 7),
       high=st.one_of(st.integers(2, 50), st.integers(2, 2**32 - 1), st.just(2**31 - 1)))
def test_integers_equal_numpys_generator_for_each_seed(seeds, n, high):
    expected = np.stack([np.random.default_rng(s).integers(0, high, n) for s in seeds])
    np.testing.assert_array_equal(integers_per_seed(seeds, high, n), expected)


def test_integer_draws_numpy_rejects_come_from_numpy():
    """Lemire's method redraws when a word's low product half falls below (2**32 - high) % high: with high = 2**32 - 1
    that is 1 in 2**32 words, so a row is forced through the rejection by choosing high where it is likely."""
    high = 2**31 + 2**30  # threshold 2**30: a quarter of all words are rejected
    seeds = list(range(200))
    expected = np.stack([np.random.default_rng(s).integers(0, high, 3) for s in seeds])
    np.testing.assert_array_equal(integers_per_seed(seeds, high, 3), expected)
    assert integers_per_seed([2**40], 10, 2).tolist() == [np.random.default_rng(2**40).integers(0, 10, 2).tolist()]
