"""Offline supervised benchmarks: shapes, labels, splits fixed by the seed, and what each task asks."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envs.supervised import NAMES, RECALL_SYMBOLS, load

SHAPES = {"mnist1d": (1, 40), "digits": (1, 8, 8), "digits_rows": (8, 8), "adding": (20, 2), "recall": (20, 8)}


@pytest.mark.parametrize("name", NAMES)
def test_shapes_labels_and_determinism(name):
    data = load(name, seed=3, length=20)
    assert data.input_shape == SHAPES[name]
    for split in (data.train, data.val, data.test):
        assert split.x.dtype == np.float32 and np.isfinite(split.x).all() and len(split) > 100
        if not data.regression:
            assert split.y.dtype == np.int64 and 0 <= split.y.min() and split.y.max() < data.num_classes
    again = load(name, seed=3, length=20)
    assert np.array_equal(data.train.x, again.train.x) and np.array_equal(data.val.y, again.val.y)


def test_mnist1d_is_generated_offline_without_touching_global_rngs():
    random.seed(5), np.random.seed(5)
    expected = (random.random(), np.random.random())
    random.seed(5), np.random.seed(5)
    data = load("mnist1d", seed=0)
    assert (random.random(), np.random.random()) == expected
    assert len(data.train) + len(data.val) == 4000 and len(data.test) == 1000


def _all_images(seed: int) -> np.ndarray:
    data = load("digits", seed)
    rows = np.concatenate([s.x.reshape(len(s), -1) for s in (data.train, data.val, data.test)])
    return rows[np.lexsort(rows.T)]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_digits_splits_partition_the_set_by_seed(seed):
    data = load("digits", seed)
    assert (len(data.train), len(data.val), len(data.test)) == (1078, 359, 360)
    assert np.array_equal(_all_images(seed), _all_images(0)), "every seed splits the same 1,797 images"
    train = {r.tobytes() for r in data.train.x.reshape(len(data.train), -1)}
    test = [r.tobytes() for r in data.test.x.reshape(len(data.test), -1)]
    assert sum(r in train for r in test) < 10, "train and test hold different images (digits has a few duplicates)"


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), length=st.integers(2, 60))
def test_generated_sequence_tasks_mean_what_they_say(seed, length):
    adding = load("adding", seed, length).test
    values, markers = adding.x[..., 0], adding.x[..., 1]
    assert (markers.sum(axis=1) == 2).all()
    assert np.allclose((values * markers).sum(axis=1), adding.y, atol=1e-6)
    recall = load("recall", seed, length).val
    assert (recall.x.sum(axis=2) == 1).all() and recall.x.shape[2] == RECALL_SYMBOLS
    assert np.array_equal(recall.x[:, 0].argmax(axis=1), recall.y)
