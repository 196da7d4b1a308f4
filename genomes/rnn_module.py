"""Torch modules built from an RnnCellGenome: the cell (one step), and the network (cell unrolled, dropout, Linear
head; the dropout, `head_dropout`, is built with p = 0 and the training loop sets its rate).

Only live nodes (those that reach an output) are built. Linear nodes with the same input list are fused into one
nn.Linear (an LSTM's four gates become one matmul), and the x_t part of every linear is computed for all steps at
once before the time loop, as cuDNN does; the loop then does one matmul per fused group per step. Inside a fused
Linear, the members (sorted by op, then key, so that one activation call covers a run of equal ops) own H output
rows each; columns hold x_t first (if an input), then the other inputs in the node's order; `linear_params` finds
a node's block. `load_torch_cell` copies torch.nn.LSTMCell / GRUCell weights into a module of the initial cell.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from genomes.rnn_cell import C_OUT, C_PREV, GRU_CELL, H_OUT, H_PREV, LSTM_CELL, X, RnnCellGenome, op_class

Act = Callable[[torch.Tensor], torch.Tensor]
ACTIVATIONS: dict[str, Act] = {
    "linear": lambda v: v,
    "identity": lambda v: v,
    "linear_tanh": torch.tanh,
    "tanh": torch.tanh,
    "linear_sigmoid": torch.sigmoid,
    "sigmoid": torch.sigmoid,
    "linear_relu": torch.relu,
    "relu": torch.relu,
    "one_minus": lambda v: 1 - v,
}
BINARY: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {"add": torch.add, "mul": torch.mul}


class _Group(NamedTuple):
    """Linear nodes sharing one input list, computed by one nn.Linear."""

    members: tuple[int, ...]  # sorted by op, then key
    has_x: bool
    rest: tuple[int, ...]  # the inputs other than x_t, in order


class CellModule(nn.Module):
    """One step of the cell: forward(x_t, h, c) -> (h_t, c_t); c is None for cells without memory."""

    def __init__(self, genome: RnnCellGenome) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.memory = genome.input_size, genome.hidden_size, genome.memory
        live = genome.live_nodes()
        order = [k for k in genome.topological_order() if k in live]
        inputs = genome.inputs_of()
        self.ops = {k: genome.ops[k] for k in order}
        self.node_inputs = {k: tuple(inputs[k]) for k in order}
        shared: dict[tuple[int, ...], list[int]] = {}
        for key in order:
            if op_class(self.ops[key]) == "linear":
                shared.setdefault(self.node_inputs[key], []).append(key)
        self.groups: list[_Group] = []
        self.linears = nn.ModuleList()
        group_of: dict[int, int] = {}
        for sources, members in shared.items():
            members.sort(key=lambda m: (self.ops[m], m))  # same activations adjacent: one call per run of them
            rest = tuple(s for s in sources if s != X)
            has_x = X in sources
            width = (self.input_size if has_x else 0) + self.hidden_size * len(rest)
            self.linears.append(nn.Linear(width, self.hidden_size * len(members)))
            group_of.update({m: len(self.groups) for m in members})
            self.groups.append(_Group(tuple(members), has_x, rest))
        self.plan: list[tuple[str, int, tuple[int, ...]]] = []  # ("group", index, ()) or (op, key, inputs)
        emitted: set[int] = set()
        for key in order:  # a group runs where its first member comes in evaluation order (its inputs are ready)
            if key in group_of:
                if group_of[key] not in emitted:
                    emitted.add(group_of[key])
                    self.plan.append(("group", group_of[key], ()))
            else:
                self.plan.append((self.ops[key], key, self.node_inputs[key]))

    def linear_params(self, key: int) -> tuple[torch.Tensor, torch.Tensor, dict[int, slice]]:
        """Views of linear node `key`'s weight (H, in) and bias (H,) inside its fused Linear, and the columns of
        each of its inputs; write to them under torch.no_grad() to set the node's parameters."""
        for group, linear in zip(self.groups, self.linears):
            if key in group.members:
                first = group.members.index(key) * self.hidden_size
                rows = slice(first, first + self.hidden_size)
                columns, at = {}, 0
                for source in ((X,) if group.has_x else ()) + group.rest:
                    width = self.input_size if source == X else self.hidden_size
                    columns[source], at = slice(at, at + width), at + width
                return linear.weight[rows], linear.bias[rows], columns
        raise KeyError(f"node {key} is not a live linear node of this cell")

    def project(self, x: torch.Tensor) -> list[torch.Tensor | None]:
        """The x_t part (with the bias) of every group that reads x_t, for all steps: x (steps, batch, features)
        -> (steps, batch, rows) per group, None for the others."""
        return [
            F.linear(x, linear.weight[:, : self.input_size], linear.bias) if group.has_x else None
            for group, linear in zip(self.groups, self.linears)
        ]

    def step(
        self, projected: list[torch.Tensor | None], h: torch.Tensor, c: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """One step from this step's x projections (one (batch, rows) tensor or None per group) and the state."""
        values: dict[int, torch.Tensor] = {H_PREV: h}
        if c is not None:
            values[C_PREV] = c
        for op, key, sources in self.plan:
            if op == "group":
                self._run_group(key, projected[key], values)
            elif len(sources) == 1:
                values[key] = ACTIVATIONS[op](values[sources[0]])
            else:
                values[key] = BINARY[op](values[sources[0]], values[sources[1]])
        return values[H_OUT], values.get(C_OUT)

    def _run_group(self, index: int, pre: torch.Tensor | None, values: dict[int, torch.Tensor]) -> None:
        group, linear = self.groups[index], self.linears[index]
        if group.rest:
            rest = torch.cat([values[s] for s in group.rest], dim=1) if len(group.rest) > 1 else values[group.rest[0]]
            if pre is None:
                pre = F.linear(rest, linear.weight, linear.bias)
            else:
                pre = torch.addmm(pre, rest, linear.weight[:, self.input_size:].t())
        assert pre is not None
        if len(group.members) == 1:
            values[group.members[0]] = ACTIVATIONS[self.ops[group.members[0]]](pre)
            return
        h, start = self.hidden_size, 0
        for act, run in itertools.groupby(group.members, key=self.ops.__getitem__):
            keys = list(run)
            out = ACTIVATIONS[act](pre[:, start * h:(start + len(keys)) * h])
            values.update(zip(keys, out.split(h, dim=1)))
            start += len(keys)

    def forward(
        self, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        projected = [p[0] if p is not None else None for p in self.project(x.unsqueeze(0))]
        if self.memory and c is None:
            c = torch.zeros_like(h)
        return self.step(projected, h, c if self.memory else None)


class RnnNetwork(nn.Module):
    """The cell unrolled over x (batch, steps, features) from a zero state; a Linear head reads the final h_t
    through a dropout layer."""

    def __init__(self, genome: RnnCellGenome) -> None:
        super().__init__()
        self.cell = CellModule(genome)
        self.head_dropout = nn.Dropout(0.0)  # an identity (no random draws) until the training loop sets its rate
        self.head = nn.Linear(genome.hidden_size, genome.num_outputs)

    def run(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The final (h_t, c_t) after all steps (c_t None without memory)."""
        if x.dim() != 3 or x.shape[2] != self.cell.input_size:
            raise ValueError(f"expected input (batch, steps, {self.cell.input_size}), got {tuple(x.shape)}")
        batch = x.shape[0]
        h = x.new_zeros(batch, self.cell.hidden_size)
        c = x.new_zeros(batch, self.cell.hidden_size) if self.cell.memory else None
        # (steps, batch, rows) per group, unbound once: indexing each step instead would make autograd build a
        # full-size zero gradient per step (quadratic in the sequence length).
        projected = [p.unbind(0) if p is not None else None for p in self.cell.project(x.transpose(0, 1))]
        for t in range(x.shape[1]):
            h, c = self.cell.step([p[t] if p is not None else None for p in projected], h, c)
        return h, c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.head_dropout(self.run(x)[0]))


def network_module(genome: RnnCellGenome, dtype: torch.dtype | None = None) -> RnnNetwork:
    """`genome.to_module()`: parameters drawn from torch's default initialization (seed it around this call)."""
    return RnnNetwork(genome).to(dtype or torch.float32)


def load_torch_cell(module: RnnNetwork | CellModule, torch_cell: nn.LSTMCell | nn.GRUCell) -> None:
    """Copy a torch.nn.LSTMCell's or GRUCell's weights into a module built from the initial "lstm" or "gru"
    genome (same input and hidden sizes), so that both compute the same function; raises ValueError otherwise."""
    cell = module.cell if isinstance(module, RnnNetwork) else module
    h = torch_cell.hidden_size
    if (cell.input_size, cell.hidden_size) != (torch_cell.input_size, h):
        raise ValueError("the cell and the torch cell differ in input or hidden size")
    w_ih, w_hh = torch_cell.weight_ih, torch_cell.weight_hh
    zeros = torch.zeros(w_ih.shape[0], dtype=w_ih.dtype)
    b_ih = torch_cell.bias_ih if torch_cell.bias_ih is not None else zeros
    b_hh = torch_cell.bias_hh if torch_cell.bias_hh is not None else zeros
    rows = [slice(j * h, (j + 1) * h) for j in range(w_ih.shape[0] // h)]
    if isinstance(torch_cell, nn.LSTMCell):
        spec = LSTM_CELL
        blocks = {k: ({X: w_ih[r], H_PREV: w_hh[r]}, b_ih[r] + b_hh[r]) for k, r in zip(range(2, 6), rows)}  # i f g o
    elif isinstance(torch_cell, nn.GRUCell):
        spec = GRU_CELL
        blocks = {k: ({X: w_ih[r], H_PREV: w_hh[r]}, b_ih[r] + b_hh[r]) for k, r in zip((2, 3), rows)}
        blocks[4] = ({X: w_ih[rows[2]]}, b_ih[rows[2]])
        blocks[5] = ({H_PREV: w_hh[rows[2]]}, b_hh[rows[2]])
    else:
        raise ValueError(f"unsupported torch cell {type(torch_cell).__name__} (use LSTMCell or GRUCell)")
    if cell.ops != {k: op for k, op, _ in spec} or any(set(cell.node_inputs[k]) != set(s) for k, _, s in spec):
        raise ValueError(f"the module was not built from the initial {type(torch_cell).__name__} genome")
    with torch.no_grad():
        for key, (weights, bias) in blocks.items():
            weight, own_bias, columns = cell.linear_params(key)
            for source, block in weights.items():
                weight[:, columns[source]].copy_(block)
            own_bias.copy_(bias)
