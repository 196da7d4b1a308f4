"""Offline supervised benchmarks with fixed train / validation / test splits drawn from a seed.

- "mnist1d": MNIST-1D (Greydanus 2020) generated in code by `mnist1d.data.make_dataset` with its canonical arguments
  (never its download path): 4,000 training signals of length 40 (split here into train and validation) and the
  canonical 1,000 test signals; 10 classes; input shape (1, 40).
- "digits": scikit-learn's bundled 8x8 digits (1,797 images, no download), split 60/20/20; input shape (1, 8, 8).
- "digits_rows": the same digits read row by row, a sequence of 8 steps of 8 features.
- "adding": the adding problem (Hochreiter & Schmidhuber 1997): `length` steps of (value, marker); the target is
  the sum of the two marked values (regression, mean squared error).
- "recall": the first of `length` random symbols must be named at the end (long-term memory, classification).

The test split is for final reports only; searches select on validation.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

NAMES = ("mnist1d", "digits", "digits_rows", "adding", "recall")
PREPROCESSING = {  # what an exported network expects of raw data (Task.interface)
    "mnist1d": "MNIST-1D signals as generated (float32), shape (1, 40)",
    "digits": "scikit-learn digits images divided by 16 (pixels 0..16 to 0..1), shape (1, 8, 8)",
    "digits_rows": "scikit-learn digits images divided by 16, read row by row: 8 steps of 8 features",
    "adding": "steps of (value in [0, 1), marker 0 or 1)",
    "recall": "steps of one-hot symbols",
}
SEQUENCE_SAMPLES = (4000, 1000, 1000)  # generated tasks: train, validation, test


@dataclass(frozen=True)
class Split:
    x: np.ndarray  # float32; (n, channels, length), (n, channels, h, w) or (n, steps, features)
    y: np.ndarray  # int64 class labels, or float32 regression targets

    def __len__(self) -> int:
        return len(self.y)


@dataclass(frozen=True)
class SupervisedData:
    name: str
    kind: str  # "image1d", "image2d" or "sequence"
    train: Split
    val: Split
    test: Split
    num_classes: int  # 0 for regression

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.train.x.shape[1:])

    @property
    def regression(self) -> bool:
        return self.num_classes == 0


def input_shape(name: str, length: int = 50) -> tuple[int, ...]:
    """The shape of one sample of benchmark `name`, known without generating the data."""
    shapes = {"mnist1d": (1, 40), "digits": (1, 8, 8), "digits_rows": (8, 8), "adding": (length, 2),
              "recall": (length, RECALL_SYMBOLS)}
    return shapes[name]


def num_outputs(name: str) -> int:
    """Network outputs for benchmark `name`: its classes, or 1 for the regression task."""
    return {"mnist1d": 10, "digits": 10, "digits_rows": 10, "adding": 1, "recall": RECALL_SYMBOLS}[name]


def load(name: str, seed: int, length: int = 50) -> SupervisedData:
    """The benchmark `name` with splits drawn from `seed` (`length`: steps of the generated sequence tasks)."""
    if name not in NAMES:
        raise ValueError(f"unknown dataset {name!r} (known: {', '.join(NAMES)})")
    rng = np.random.default_rng(seed)
    if name == "mnist1d":
        return _mnist1d(rng)
    if name in ("digits", "digits_rows"):
        return _digits(rng, rows=name == "digits_rows")
    if name == "adding":
        train, val, test = (_adding(rng, n, length) for n in SEQUENCE_SAMPLES)
        return SupervisedData(name, "sequence", train, val, test, 0)
    train, val, test = (_recall(rng, n, length) for n in SEQUENCE_SAMPLES)
    return SupervisedData(name, "sequence", train, val, test, RECALL_SYMBOLS)


def _mnist1d(rng: np.random.Generator) -> SupervisedData:
    from mnist1d.data import get_dataset_args, make_dataset

    # make_dataset seeds the global `random` and `np.random` (with the canonical seed 42): keep ours untouched.
    py_state, np_state = random.getstate(), np.random.get_state()
    try:
        data = make_dataset(get_dataset_args())
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
    x, y = data["x"].astype(np.float32)[:, None, :], data["y"].astype(np.int64)
    train, val = _split(rng, x, y, 0.8)
    test = Split(data["x_test"].astype(np.float32)[:, None, :], data["y_test"].astype(np.int64))
    return SupervisedData("mnist1d", "image1d", train, val, test, 10)


def _digits(rng: np.random.Generator, rows: bool) -> SupervisedData:
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)
    x = images if rows else images[:, None, :, :]
    y = digits.target.astype(np.int64)
    order = rng.permutation(len(y))
    n_train, n_val = int(0.6 * len(y)), int(0.2 * len(y))
    parts = np.split(order, [n_train, n_train + n_val])
    train, val, test = (Split(x[p], y[p]) for p in parts)
    return SupervisedData("digits_rows" if rows else "digits", "sequence" if rows else "image2d", train, val, test, 10)


def _split(rng: np.random.Generator, x: np.ndarray, y: np.ndarray, fraction: float) -> tuple[Split, Split]:
    order = rng.permutation(len(y))
    cut = int(fraction * len(y))
    return Split(x[order[:cut]], y[order[:cut]]), Split(x[order[cut:]], y[order[cut:]])


def _adding(rng: np.random.Generator, n: int, length: int) -> Split:
    values = rng.random((n, length), dtype=np.float32)
    markers = np.zeros((n, length), dtype=np.float32)
    half = max(1, length // 2)
    first = rng.integers(0, half, size=n)
    second = rng.integers(half, length, size=n)
    rows = np.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    target = values[rows, first] + values[rows, second]
    return Split(np.stack([values, markers], axis=-1), target.astype(np.float32))


RECALL_SYMBOLS = 8


def _recall(rng: np.random.Generator, n: int, length: int) -> Split:
    symbols = rng.integers(0, RECALL_SYMBOLS, size=(n, length))
    x = np.eye(RECALL_SYMBOLS, dtype=np.float32)[symbols]
    return Split(x, symbols[:, 0].astype(np.int64))
