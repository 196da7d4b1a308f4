"""Torch twins of the numpy activations and aggregations in `genomes.activations` (kept apart so that numpy-only
processes never import torch)."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

TORCH_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "identity": lambda x: x,
    "sigmoid": torch.sigmoid,
    "steep_sigmoid": lambda x: torch.sigmoid(4.9 * x),
    "tanh": torch.tanh,
    "relu": torch.relu,
    "sin": torch.sin,
    "gauss": lambda x: torch.exp(-x * x),
    "abs": torch.abs,
    "clamped": lambda x: torch.clamp(x, -1.0, 1.0),
    "softplus": lambda x: F.softplus(x, beta=1.0, threshold=30.0),
}


def torch_reduce(name: str, terms: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """Torch twin of `genomes.activations.numpy_reduce`."""
    if name == "sum":
        out = terms.sum(dim=-1)
    elif name == "product":
        out = terms.prod(dim=-1)
    elif name == "max":
        out = terms.amax(dim=-1)
    elif name == "min":
        out = terms.amin(dim=-1)
    elif name == "mean":
        out = terms.sum(dim=-1) / torch.clamp(counts, min=1)
    else:
        raise ValueError(f"unknown aggregation {name!r}")
    return torch.where(counts > 0, out, torch.zeros_like(out))
