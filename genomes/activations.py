"""Node activation and aggregation functions for the numpy phenotype, looked up by name.

`genomes.torch_ops` holds the torch twins of every name here, so a compiled phenotype and its torch module compute
the same function; `steep_sigmoid` is the NEAT paper's 1 / (1 + exp(-4.9 x)).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def _np_sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60.0, 60.0)))


NUMPY_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "identity": lambda x: x,
    "sigmoid": _np_sigmoid,
    "steep_sigmoid": lambda x: _np_sigmoid(4.9 * x),
    "tanh": np.tanh,
    "relu": lambda x: np.maximum(x, 0.0),
    "sin": np.sin,
    "gauss": lambda x: np.exp(-np.square(x)),
    "abs": np.abs,
    "clamped": lambda x: np.clip(x, -1.0, 1.0),
    "softplus": lambda x: np.logaddexp(0.0, x),
}

ACTIVATIONS: tuple[str, ...] = tuple(NUMPY_ACTIVATIONS)

# Aggregations combine a node's weighted inputs. The fill value is the identity element used to pad nodes with
# fewer inputs than the widest node of their block; a node with no inputs at all aggregates to 0.
AGGREGATION_FILL: dict[str, float] = {
    "sum": 0.0,
    "product": 1.0,
    "max": -np.inf,
    "min": np.inf,
    "mean": 0.0,
}

AGGREGATIONS: tuple[str, ...] = tuple(AGGREGATION_FILL)


def numpy_reduce(name: str, terms: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Reduce padded terms of shape (batch, nodes, fan_in) over the last axis; nodes with no inputs give 0."""
    if name == "sum":
        out = terms.sum(axis=-1)
    elif name == "product":
        out = terms.prod(axis=-1)
    elif name == "max":
        out = terms.max(axis=-1, initial=-np.inf)
    elif name == "min":
        out = terms.min(axis=-1, initial=np.inf)
    elif name == "mean":
        out = terms.sum(axis=-1) / np.maximum(counts, 1)
    else:
        raise ValueError(f"unknown aggregation {name!r}")
    return np.where(counts > 0, out, 0.0)
