"""Phenotypes: a NEAT genome compiled once into a network that evaluates a whole batch of inputs per call.

`FeedForwardNetwork.activate` maps (batch, inputs) to (batch, outputs) layer by layer. `RecurrentNetwork` keeps
its node values between calls (one call is one time step, every node reading the previous step's values, as in
neat-python); `reset` zeroes them. Both accept a single input vector too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from genomes.activations import AGGREGATION_FILL, NUMPY_ACTIVATIONS, numpy_reduce
from genomes.network_plan import Block, NetworkPlan, build_plan

if TYPE_CHECKING:
    from genomes.neat_genome import NeatGenome


def evaluate_block(block: Block, sources: np.ndarray) -> np.ndarray:
    """Node values of one block from the source columns, shape (batch, k)."""
    if block.aggregation == "sum":
        pre = sources @ block.weight
    else:
        terms = np.where(block.mask, sources[:, block.index] * block.weight, AGGREGATION_FILL[block.aggregation])
        pre = numpy_reduce(block.aggregation, terms, block.count)
    return NUMPY_ACTIVATIONS[block.activation](block.bias + block.response * pre)


def _as_batch(inputs: np.ndarray, num_inputs: int) -> tuple[np.ndarray, bool]:
    """Inputs as a float64 (batch, num_inputs) array, and whether a single vector was given."""
    x = np.asarray(inputs, dtype=np.float64)
    single = x.ndim == 1
    x = np.atleast_2d(x)
    if x.shape[1] != num_inputs:
        raise ValueError(f"expected {num_inputs} inputs, got {x.shape[1]}")
    return x, single


class FeedForwardNetwork:
    def __init__(self, plan: NetworkPlan) -> None:
        self.plan = plan

    def activate(self, inputs: np.ndarray) -> np.ndarray:
        x, single = _as_batch(inputs, self.plan.num_inputs)
        values = np.empty((x.shape[0], self.plan.num_columns))
        values[:, : x.shape[1]] = x
        start = x.shape[1]
        for layer in self.plan.layers:
            sources = values[:, :start]
            for block in layer:
                k = len(block.bias)
                values[:, start : start + k] = evaluate_block(block, sources)
                start += k
        out = values[:, self.plan.output_columns]
        return out[0] if single else out

    def reset(self) -> None:
        """Feed-forward networks hold no state."""


class RecurrentNetwork:
    def __init__(self, plan: NetworkPlan) -> None:
        self.plan = plan
        self.state: np.ndarray | None = None  # (batch, nodes), the previous step's node values

    def reset(self) -> None:
        self.state = None

    def activate(self, inputs: np.ndarray) -> np.ndarray:
        x, single = _as_batch(inputs, self.plan.num_inputs)
        n_nodes = len(self.plan.node_keys)
        if self.state is None or self.state.shape[0] != x.shape[0]:
            self.state = np.zeros((x.shape[0], n_nodes))
        sources = np.concatenate([x, self.state], axis=1)
        new_state = np.empty_like(self.state)
        start = 0
        for block in self.plan.layers[0] if self.plan.layers else ():
            k = len(block.bias)
            new_state[:, start : start + k] = evaluate_block(block, sources)
            start += k
        self.state = new_state
        out = new_state[:, self.plan.output_columns - self.plan.num_inputs]
        return out[0] if single else out


Network = FeedForwardNetwork | RecurrentNetwork


def compile_network(genome: NeatGenome) -> Network:
    plan = build_plan(genome)
    return RecurrentNetwork(plan) if plan.recurrent else FeedForwardNetwork(plan)
