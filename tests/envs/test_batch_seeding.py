"""Seeded uniform draws for many seeds at once equal numpy's Generator seed by seed."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from envs.batch_seeding import uniform_per_seed


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
