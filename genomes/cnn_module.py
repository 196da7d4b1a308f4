"""The network a convolutional cell genome encodes: stem, stacked normal and reduction cells, pooling, dropout,
classifier.

Layout as in DARTS (Liu et al. 2019): a stem convolution to C channels, then `cells` cells, each reading the two
previous cell outputs; reduction cells sit at 1/3 and 2/3 of the depth, halve the resolution and double the
channels. A reduction is skipped (the cell becomes a normal cell) once the input is smaller than
`MIN_REDUCE_SIZE` along some axis, so tiny inputs (8x8 images) work at every depth. Each cell first brings both
inputs to its channel count and resolution (`Resample`), runs its DAG there, and maps the concatenation of its
unconsumed nodes back to its channel count with a 1x1 ReLU-Conv-BN. The pooled features pass an nn.Dropout
(`head_dropout`, built with p = 0: the training loop sets its rate) before the classifier.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
import torch
from torch import nn

from genomes.cnn_cell import CELL_KINDS, NORMAL_INPUTS, REDUCTION_INPUTS, CellGenes, CnnCellGenome
from genomes.cnn_ops import ReLUConvBN, Resample, bn_class, conv_class, make_op, reduced_size

MIN_REDUCE_SIZE = 4  # a reduction needs every spatial axis at least this long (so it leaves at least 2)


@dataclass(frozen=True)
class CellPlan:
    """Where one cell sits: its kind, the channels and sizes of its two inputs, its own channels and size."""

    reduction: bool
    in_channels: tuple[int, int]  # (cell before the previous, previous cell)
    in_sizes: tuple[tuple[int, ...], tuple[int, ...]]
    channels: int
    size: tuple[int, ...]


def reduction_positions(cells: int) -> set[int]:
    """DARTS's placement of the reduction cells: at 1/3 and 2/3 of the depth."""
    return {cells // 3, 2 * cells // 3}


def plan_cells(input_shape: tuple[int, ...], width: int, cells: int) -> list[CellPlan]:
    """The plan of every cell for inputs of `input_shape` (channels first) and stem width `width`."""
    stem = (width, tuple(input_shape[1:]))
    states = [stem, stem]  # (channels, spatial size) of every cell output so far, the stem counted twice
    positions = reduction_positions(cells)
    plans = []
    for i in range(cells):
        (c_pp, size_pp), (c_p, size_p) = states[-2], states[-1]
        reduce = i in positions and min(size_p) >= MIN_REDUCE_SIZE
        channels, size = (2 * c_p, reduced_size(size_p)) if reduce else (c_p, size_p)
        plans.append(CellPlan(reduce, (c_pp, c_p), (size_pp, size_p), channels, size))
        states.append((channels, size))
    return plans


class CellModule(nn.Module):
    """One cell: preprocessing of both inputs, the DAG of summed edge ops, concatenation and a 1x1 projection."""

    def __init__(self, genes: CellGenes, inputs: tuple[int, int], plan: CellPlan) -> None:
        super().__init__()
        c, dims = plan.channels, len(plan.size)
        self.inputs = inputs
        self.pre0 = Resample(plan.in_channels[0], c, plan.in_sizes[0], plan.size)
        self.pre1 = Resample(plan.in_channels[1], c, plan.in_sizes[1], plan.size)
        enabled = [e for e in genes.edges if e.enabled]
        self.ops = nn.ModuleDict({str(e.innovation): make_op(e.op, c, dims) for e in enabled})
        self.steps = [(node, [(e.source, str(e.innovation)) for e in enabled if e.target == node])
                      for node in genes.order()]
        self.outputs = genes.output_nodes()
        self.post = ReLUConvBN(len(self.outputs) * c, c, 1, dims)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = {self.inputs[0]: self.pre0(s0), self.inputs[1]: self.pre1(s1)}
        for node, incoming in self.steps:
            total = None
            for source, key in incoming:
                term = self.ops[key](states[source])
                total = term if total is None else total + term
            states[node] = total
        return self.post(torch.cat([states[n] for n in self.outputs], dim=1))


class CellNetwork(nn.Module):
    """Stem, stacked cells, global average pooling, dropout and a linear classifier: (batch, *input_shape) ->
    logits."""

    def __init__(self, genome: CnnCellGenome) -> None:
        super().__init__()
        channels, dims = genome.input_shape[0], len(genome.input_shape) - 1
        self.input_shape = tuple(genome.input_shape)
        self.stem = nn.Sequential(
            conv_class(dims)(channels, genome.width, 3, padding=1, bias=False), bn_class(dims)(genome.width)
        )
        self.plans = plan_cells(self.input_shape, genome.width, genome.cells)
        self.cells = nn.ModuleList(
            CellModule(genome.reduction, REDUCTION_INPUTS, plan) if plan.reduction
            else CellModule(genome.normal, NORMAL_INPUTS, plan)
            for plan in self.plans
        )
        self.head_dropout = nn.Dropout(0.0)  # an identity (no random draws) until the training loop sets its rate
        self.classifier = nn.Linear(self.plans[-1].channels, genome.num_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self.classifier(self.head_dropout(s1.mean(dim=tuple(range(2, s1.dim())))))


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def summary(genome: CnnCellGenome) -> dict[str, Any]:
    """Intermediate nodes and enabled edges (in all and per cell, with the cell's enabled ops), width, depth, how
    many cells reduce, and trainable parameters (`params`)."""
    plans = plan_cells(genome.input_shape, genome.width, genome.cells)
    cells = {}
    for kind in CELL_KINDS:
        cell = genome.cell(kind)
        enabled = [e.op for e in cell.edges if e.enabled]
        cells[kind] = {"nodes": len(cell.nodes), "edges": len(enabled),
                       "disabled_edges": len(cell.edges) - len(enabled), "ops": sorted(enabled)}
    return {"nodes": sum(c["nodes"] for c in cells.values()), "edges": sum(c["edges"] for c in cells.values()),
            "width": genome.width, "cells": genome.cells, "reduction_cells": sum(p.reduction for p in plans),
            "input_shape": list(genome.input_shape), "outputs": genome.num_outputs, **cells,
            "params": count_parameters(CellNetwork(genome))}
