"""Shared builders for tests: random NEAT genomes grown by real mutation sequences."""

from __future__ import annotations

import numpy as np

from genomes.base import MutationContext
from genomes.innovation import InnovationTracker
from genomes.neat_config import NeatGenomeConfig
from genomes.neat_genome import NeatGenome

ALL_ACTIVATIONS = ["tanh", "sigmoid", "steep_sigmoid", "relu", "gauss", "sin", "identity", "abs", "clamped", "softplus"]
ALL_AGGREGATIONS = ["sum", "product", "max", "min", "mean"]


def busy_config(feed_forward: bool = True, num_inputs: int = 3, num_outputs: int = 2, **overrides) -> NeatGenomeConfig:
    """A config with high structural mutation rates and every activation/aggregation in play."""
    params = dict(
        num_inputs=num_inputs,
        num_outputs=num_outputs,
        feed_forward=feed_forward,
        node_add_prob=0.3,
        conn_add_prob=0.5,
        node_delete_prob=0.05,
        conn_delete_prob=0.1,
        enabled_mutate_rate=0.05,
        activation_options=ALL_ACTIVATIONS,
        activation_mutate_rate=0.1,
        aggregation_options=ALL_AGGREGATIONS,
        aggregation_mutate_rate=0.05,
        response_mutate_rate=0.1,
        response_mutate_power=0.2,
    )
    params.update(overrides)
    return NeatGenomeConfig(**params)


def grow(config: NeatGenomeConfig, seed: int, steps: int, ctx: MutationContext | None = None) -> NeatGenome:
    rng = np.random.default_rng(seed)
    ctx = ctx or MutationContext(config, InnovationTracker())
    genome = NeatGenome.initial(config, rng, ctx)
    for _ in range(steps):
        genome = genome.mutate(rng, ctx)
    return genome
