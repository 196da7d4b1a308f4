"""`to_module()`: a NEAT phenotype as a torch.nn.Module computing the same function as the numpy network.

The module walks the same NetworkPlan with its matrices held as buffers, so it traces to TorchScript and exports to
ONNX as a fixed graph. Feed-forward: forward(x) -> y. Recurrent: forward(x, state) -> (y, new_state), one time step,
with `initial_state(batch)` giving the zero state the numpy network starts from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from genomes.activations import AGGREGATION_FILL
from genomes.torch_ops import TORCH_ACTIVATIONS, torch_reduce
from genomes.network_plan import Block, NetworkPlan, build_plan

if TYPE_CHECKING:
    from genomes.neat_genome import NeatGenome


class _BlockModule(nn.Module):
    def __init__(self, block: Block, dtype: torch.dtype) -> None:
        super().__init__()
        self.activation = block.activation
        self.aggregation = block.aggregation

        def buf(name: str, value: np.ndarray, as_dtype: torch.dtype | None = dtype) -> None:
            self.register_buffer(name, torch.as_tensor(value, dtype=as_dtype) if as_dtype else torch.as_tensor(value))

        buf("bias", block.bias)
        buf("response", block.response)
        buf("weight", block.weight)
        if block.aggregation != "sum":  # a sum is a matrix product; only the other aggregations gather and mask
            buf("index", block.index, torch.long)
            buf("mask", block.mask, torch.bool)
            buf("count", block.count)

    def forward(self, sources: torch.Tensor) -> torch.Tensor:
        if self.aggregation == "sum":
            pre = sources @ self.weight
        else:
            terms = sources[:, self.index] * self.weight
            fill = torch.full_like(terms, AGGREGATION_FILL[self.aggregation])
            pre = torch_reduce(self.aggregation, torch.where(self.mask, terms, fill), self.count)
        return TORCH_ACTIVATIONS[self.activation](self.bias + self.response * pre)


class FeedForwardModule(nn.Module):
    def __init__(self, plan: NetworkPlan, dtype: torch.dtype) -> None:
        super().__init__()
        self.num_inputs = plan.num_inputs
        self.layers = nn.ModuleList(nn.ModuleList(_BlockModule(b, dtype) for b in layer) for layer in plan.layers)
        self.register_buffer("output_columns", torch.as_tensor(plan.output_columns, dtype=torch.long))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values = x
        for layer in self.layers:
            values = torch.cat([values] + [block(values) for block in layer], dim=1)
        return values[:, self.output_columns]


class RecurrentModule(nn.Module):
    def __init__(self, plan: NetworkPlan, dtype: torch.dtype) -> None:
        super().__init__()
        self.num_inputs = plan.num_inputs
        self.num_nodes = len(plan.node_keys)
        self.dtype = dtype
        self.blocks = nn.ModuleList(_BlockModule(b, dtype) for b in (plan.layers[0] if plan.layers else ()))
        self.register_buffer(
            "output_columns", torch.as_tensor(plan.output_columns - plan.num_inputs, dtype=torch.long)
        )

    def initial_state(self, batch: int) -> torch.Tensor:
        return torch.zeros(batch, self.num_nodes, dtype=self.dtype)

    def forward(self, x: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        sources = torch.cat([x, state], dim=1)
        new_state = torch.cat([block(sources) for block in self.blocks], dim=1) if len(self.blocks) else state
        return new_state[:, self.output_columns], new_state


def network_module(genome: NeatGenome, dtype: torch.dtype | None = None) -> nn.Module:
    dtype = dtype or torch.float32
    plan = build_plan(genome)
    module = RecurrentModule(plan, dtype) if plan.recurrent else FeedForwardModule(plan, dtype)
    return module.eval()
