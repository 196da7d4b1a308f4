"""Many NEAT phenotypes evaluated together: a population packed into padded torch tensors, on CPU or CUDA.

As in TensorNEAT, every genome's evaluated nodes get slots (feed-forward: in topological order, layer by layer;
recurrent: in key order) and its enabled connections become a dense masked adjacency `weight[p, column, slot]`
whose columns are the inputs followed by the slots. A feed-forward pass runs one batched matrix product per
topological level over the whole population, so its cost grows with the deepest genome, not with the population;
a recurrent step is one batched product over all slots. Inputs are (batch, n_in) shared by every genome or
(population, batch, n_in), e.g. P genomes x E environments stepped in lock step. Padding slots have no outgoing
weights and never reach an output. Genomes with non-sum aggregations are not packable (`packable` says so);
callers fall back to per-genome phenotypes for them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from genomes.neat_genome import NeatGenome
from genomes.network_plan import feed_forward_order
from genomes.population_pack import PopulationPack, pack_population
from genomes.torch_ops import TORCH_ACTIVATIONS

_ACTIVATION_FNS = list(TORCH_ACTIVATIONS.values())


def packable(genomes: Sequence[NeatGenome]) -> bool:
    """Whether the genomes share a shape and mode and use only sum aggregation."""
    if not genomes:
        return False
    first = genomes[0]
    same_shape = all(
        g.num_inputs == first.num_inputs and g.num_outputs == first.num_outputs and g.feed_forward == first.feed_forward
        for g in genomes
    )
    return same_shape and bool(np.all(np.concatenate([g.nodes.aggregation for g in genomes]) == "sum"))


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """"auto" is CUDA when this process sees a GPU, else the CPU."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class PopulationNetwork:
    """A packed population; `activate` evaluates every genome on its inputs in one call."""

    def __init__(
        self,
        genomes: Sequence[NeatGenome],
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float64,
    ) -> None:
        if not packable(genomes):
            raise ValueError("genomes must share inputs, outputs and mode, and use only sum aggregation")
        pack = pack_population(genomes, [_slot_order(g) for g in genomes], list(TORCH_ACTIVATIONS))
        self.device, self.dtype = resolve_device(device), dtype
        self.num_inputs, self.num_outputs, self.recurrent = pack.num_inputs, pack.num_outputs, pack.recurrent
        self.size = pack.weight.shape[0]

        def tensor(a: np.ndarray, dtype: torch.dtype | None = None) -> torch.Tensor:
            return torch.as_tensor(a, dtype=dtype or self.dtype, device=self.device)

        self.weight = tensor(pack.weight)
        self.bias = tensor(pack.bias)[:, None, :]
        self.response = tensor(pack.response)[:, None, :]
        self.outputs = tensor(pack.outputs, torch.int64)
        self._steps = [self._step(pack, lo, hi, level) for lo, hi, level in _level_ranges(pack)]
        self.state: torch.Tensor | None = None

    def _step(self, pack: PopulationPack, lo: int, hi: int, level: int | None):
        """What one level (or the recurrent update) needs: its slot range, the slots it writes, and per
        activation function the slots using it (None when one function covers the whole range)."""
        activation = pack.activation[:, lo:hi]
        ids = np.unique(activation).tolist()
        groups = [(_ACTIVATION_FNS[i], None if len(ids) == 1 else
                   torch.as_tensor(activation == i, device=self.device)[:, None, :]) for i in ids]
        writes = None if level is None else torch.as_tensor(pack.level[:, lo:hi] == level, device=self.device)
        return lo, hi, groups, None if writes is None else writes[:, None, :]

    def reset(self) -> None:
        self.state = None

    def activate(self, inputs: np.ndarray | torch.Tensor) -> torch.Tensor:
        """inputs (batch, n_in) or (population, batch, n_in); returns (population, batch, n_out) on the network's
        device. Recurrent populations advance one time step per call."""
        x = torch.as_tensor(inputs, dtype=self.dtype, device=self.device)
        if x.ndim == 2:
            x = x.expand(self.size, *x.shape)
        if x.ndim != 3 or x.shape[0] != self.size or x.shape[2] != self.num_inputs:
            raise ValueError(f"expected inputs (batch, {self.num_inputs}) or ({self.size}, batch, {self.num_inputs}),"
                             f" got {tuple(x.shape)}")
        nodes = self._recurrent_step(x) if self.recurrent else self._feed_forward(x)
        index = self.outputs[:, None, :].expand(-1, x.shape[1], -1)
        return torch.gather(nodes, 2, index)

    def _feed_forward(self, x: torch.Tensor) -> torch.Tensor:
        n_in = self.num_inputs
        full = torch.zeros((*x.shape[:2], n_in + self.weight.shape[2]), dtype=self.dtype, device=self.device)
        full[:, :, :n_in] = x
        for lo, hi, groups, writes in self._steps:
            # Slots of level d read only columns before slot `hi`: inputs and earlier levels.
            pre = torch.bmm(full[:, :, : n_in + hi], self.weight[:, : n_in + hi, lo:hi])
            values = _activate(self.bias[:, :, lo:hi] + self.response[:, :, lo:hi] * pre, groups)
            target = full[:, :, n_in + lo : n_in + hi]
            target.copy_(torch.where(writes, values, target))
        return full[:, :, n_in:]

    def _recurrent_step(self, x: torch.Tensor) -> torch.Tensor:
        slots = self.weight.shape[2]
        if self.state is None or self.state.shape[1] != x.shape[1]:
            self.state = torch.zeros((self.size, x.shape[1], slots), dtype=self.dtype, device=self.device)
        pre = torch.bmm(torch.cat([x, self.state], dim=2), self.weight)
        (_, _, groups, _), = self._steps
        self.state = _activate(self.bias + self.response * pre, groups)
        return self.state


def _activate(z: torch.Tensor, groups) -> torch.Tensor:
    (fn, mask), *rest = groups
    out = fn(z)
    for fn, mask in rest:
        out = torch.where(mask, fn(z), out)
    return out


def _slot_order(genome: NeatGenome) -> list[list[int]]:
    """Slots level by level: topological layers (feed-forward) or one level of every node (recurrent)."""
    if genome.feed_forward:
        return feed_forward_order(genome)
    return [genome.nodes.key.tolist()]


def _level_ranges(pack: PopulationPack) -> list[tuple[int, int, int | None]]:
    """(first slot, end slot, level) of each level's span over the population; recurrent: one span, no level."""
    slots = pack.weight.shape[2]
    if pack.recurrent:
        return [(0, slots, None)]
    ranges = []
    for level in range(int(pack.level.max()) + 1 if pack.level.size else 0):
        at = pack.level == level
        columns = np.flatnonzero(at.any(axis=0))
        if len(columns):
            ranges.append((int(columns[0]), int(columns[-1]) + 1, level))
    return ranges
