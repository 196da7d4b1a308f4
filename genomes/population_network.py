"""Many NEAT phenotypes evaluated together as one flattened graph, in numpy or in torch tensors on CPU or CUDA.

The population is packed level by level (`genomes.population_pack`): a feed-forward pass makes a fixed handful of
array operations per topological level for all genomes at once (gather the sources, weigh, sum, activate), so
its cost grows with the deepest genome and the number of connections, never with a Python loop over genomes; a
recurrent step is one such level over every node, reading the previous step's values. Inputs are (batch, n_in)
shared by every genome or (population, batch, n_in), e.g. P genomes x E environments stepped in lock step.
Genomes with non-sum aggregations are not packable (`packable` says so); callers fall back to per-genome
phenotypes for them. float64 on the CPU runs in numpy alone (no torch, no scipy) unless the population is large;
everything else runs in torch (`genomes.population_network_torch`, imported only then).
"""

from __future__ import annotations

import contextlib

from collections.abc import Sequence
from typing import Any

import numpy as np

from genomes.activations import NUMPY_ACTIVATIONS
from genomes.devices import device_type, resolve_device, set_default_device
from genomes.gene_pool import GenePool
from genomes.neat_genome import NeatGenome
from genomes.population_pack import LevelPack, PopulationPack, pack_population

__all__ = ["NUMPY_MAX_COLUMNS", "PopulationNetwork", "packable", "resolve_device", "set_default_device"]


def packable(genomes: Sequence[NeatGenome]) -> bool:
    """Whether the genomes share a shape and mode and use only sum aggregation."""
    if not genomes:
        return False
    first = genomes[0]
    same_shape = all(
        g.num_inputs == first.num_inputs and g.num_outputs == first.num_outputs and g.feed_forward == first.feed_forward
        for g in genomes
    )
    return same_shape and bool(np.all(GenePool.of(genomes).nodes.aggregation == "sum"))


NUMPY_MAX_COLUMNS = 8192  # value columns (inputs and nodes of all genomes) up to which the CPU path uses numpy


class PopulationNetwork:
    """A packed population; `activate` evaluates every genome on its inputs in one call."""

    def __init__(
        self,
        genomes: Sequence[NeatGenome],
        device: Any = None,
        dtype: Any = None,
        backend: str = "auto",
        pack: PopulationPack | None = None,
    ) -> None:
        """`device` a name or torch.device (None: this process's default); `dtype` a torch dtype or its name
        (None: float64). `backend` "auto" evaluates float64 on the CPU with numpy up to NUMPY_MAX_COLUMNS value
        columns and everything else with torch; "torch" forces torch (sparse CSR products; the path CUDA takes).
        `pack` is the genomes' pack where the caller has it already."""
        if backend not in ("auto", "torch"):
            raise ValueError(f"unknown backend {backend!r} (auto or torch)")
        if pack is None and not packable(genomes):
            raise ValueError("genomes must share inputs, outputs and mode, and use only sum aggregation")
        self.genomes = list(genomes)
        self.pack = pack = pack or pack_population(self.genomes)
        self.device, self.dtype = resolve_device(device), dtype
        self.num_inputs, self.num_outputs, self.recurrent = pack.num_inputs, pack.num_outputs, pack.recurrent
        self.size, self.num_columns = pack.size, pack.num_columns

        # A numpy product per level costs a fraction of torch's per-call overhead, which dominates when lock-step
        # loops call a small network hundreds of times per generation; on large populations torch's multithreaded
        # kernels win.
        self.backend = backend
        float64 = dtype is None or str(dtype) in ("float64", "torch.float64")
        self.uses_numpy = (backend == "auto" and device_type(self.device) == "cpu" and float64
                           and pack.num_columns <= NUMPY_MAX_COLUMNS)
        if self.uses_numpy:
            self._arrays: Any = NumpyArrays()
        else:
            from genomes.population_network_torch import TorchArrays

            self._arrays = TorchArrays(self.device, dtype)
        self._levels = [self._arrays.level(lv, pack.num_columns) for lv in pack.levels]
        self._output_index = self._arrays.index(pack.outputs.ravel())
        # recurrent: (columns, batch) values of the previous step, a numpy array or a tensor like the levels
        self.state: Any = None
        self._buffer: Any = None  # feed-forward: the last step's value array

    def reset(self) -> None:
        self.state = None

    def subset(self, rows: Sequence[int] | np.ndarray) -> PopulationNetwork:
        """The network of genomes `rows` only, carrying their recurrent state: lock-step loops shrink the batch
        as genomes finish, so late steps cost what the remaining genomes cost. Ascending rows are cut out of this
        network's pack; any other order is packed anew."""
        rows = np.asarray(rows, dtype=np.int64)
        pack = self.pack.select(rows) if np.all(np.diff(rows) > 0) else None
        sub = PopulationNetwork([self.genomes[r] for r in rows.tolist()], self.device, self.dtype, self.backend,
                                pack=pack)
        if self.state is not None:
            old, new = self._arrays.index(self.pack.columns_of(rows)), self._arrays.index(sub.pack.node_columns)
            sub.state = self._arrays.zeros((sub.num_columns, self.state.shape[1]))
            sub.state[new] = self.state[old]
        return sub

    def activate(self, inputs: Any) -> np.ndarray:
        """inputs (batch, n_in) or (population, batch, n_in), a numpy array or a tensor; returns (population, batch,
        n_out) as a numpy array. Recurrent populations advance one time step per call."""
        with self._arrays.threads():
            return self._arrays.to_numpy(self._forward(self._population_inputs(inputs)))

    def activate_tensor(self, inputs: Any) -> Any:
        """`activate` as a torch tensor on the network's device (no device-to-host copy on the torch path)."""
        with self._arrays.threads():
            return self._arrays.to_tensor(self._forward(self._population_inputs(inputs)))

    def _forward(self, x: Any) -> Any:
        if x.ndim != 3 or x.shape[0] != self.size or x.shape[2] != self.num_inputs:
            raise ValueError(f"expected inputs (batch, {self.num_inputs}) or ({self.size}, batch, {self.num_inputs}),"
                             f" got {tuple(x.shape)}")
        batch = x.shape[1]
        values = self._values(batch)
        values[1 : 1 + self.size * self.num_inputs] = x.swapaxes(1, 2).reshape(-1, batch)
        for level in self._levels:
            level.run(values)
        if self.recurrent:
            self.state = values
        return values[self._output_index].reshape(self.size, self.num_outputs, batch).swapaxes(1, 2)

    def _values(self, batch: int) -> Any:
        """The (columns, batch) value array a step writes: the recurrent state, or a buffer that feed-forward steps
        reuse (every step writes all input and node columns; the others stay zero)."""
        if self.recurrent and self.state is not None and self.state.shape[1] == batch:
            return self.state
        if not self.recurrent and self._buffer is not None and self._buffer.shape[1] == batch:
            return self._buffer
        values = self._arrays.zeros((self.num_columns, batch))
        if not self.recurrent:
            self._buffer = values
        return values

    def _population_inputs(self, inputs: Any) -> Any:
        """The inputs as this network's array kind, (batch, n_in) shared by every genome broadcast to
        (population, batch, n_in)."""
        x = self._arrays.inputs(inputs)
        return self._arrays.broadcast(x, (self.size, *x.shape)) if x.ndim == 2 else x


class NumpyArrays:
    """Value arrays as float64 numpy arrays on the CPU."""

    @staticmethod
    def threads() -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    @staticmethod
    def zeros(shape: tuple[int, ...]) -> np.ndarray:
        return np.zeros(shape)

    @staticmethod
    def index(a: np.ndarray) -> np.ndarray:
        return a

    @staticmethod
    def inputs(x: Any) -> np.ndarray:
        if not isinstance(x, np.ndarray) and hasattr(x, "numpy"):  # a torch tensor
            x = x.numpy(force=True)
        return np.asarray(x, dtype=np.float64)

    @staticmethod
    def broadcast(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        return np.broadcast_to(x, shape)

    @staticmethod
    def level(level: LevelPack, num_columns: int) -> NumpyLevel:
        return NumpyLevel(level)

    @staticmethod
    def to_numpy(a: np.ndarray) -> np.ndarray:
        return a

    @staticmethod
    def to_tensor(a: np.ndarray) -> Any:
        import torch

        return torch.from_numpy(a)


class NumpyLevel:
    """One level evaluated with numpy: each connection's weighted source value, summed per node and batch column
    with one `np.bincount`, which adds in connection order from 0.0 exactly as a sequential CSR product does."""

    def __init__(self, level: LevelPack) -> None:
        self.sources = np.ascontiguousarray(level.sources, dtype=np.intp)
        self.weights = np.ascontiguousarray(level.weights, dtype=np.float64)[:, None]
        self.rows = np.repeat(np.arange(level.size, dtype=np.intp), np.diff(level.indptr))  # each entry's node
        self.size, self.start = level.size, level.start
        self.bias = level.bias[:, None]
        # response * sum is the sum itself when every response is 1, so the product is skipped then
        self.response = None if np.all(level.response == 1.0) else level.response[:, None]
        self.groups = [(NUMPY_ACTIVATIONS[name], first, end) for name, first, end in level.groups]
        self._bins: tuple[int, np.ndarray] = (1, self.rows)  # (batch, flat (node, column) index of each term)

    def run(self, values: np.ndarray) -> None:
        # Feed-forward levels read only earlier levels; the recurrent level reads the previous step, since the
        # product is complete before any node is written.
        z = self.product(values)
        if self.response is not None:
            z *= self.response
        z += self.bias
        for fn, first, end in self.groups:
            values[self.start + first : self.start + end] = fn(z[first:end])

    def product(self, values: np.ndarray) -> np.ndarray:
        """The level's weighted input sums (nodes, batch) for a (columns, batch) values array."""
        batch = values.shape[1]
        if self._bins[0] != batch:
            self._bins = (batch, (self.rows[:, None] * batch + np.arange(batch)).ravel())
        terms = values[self.sources]
        terms *= self.weights
        return np.bincount(self._bins[1], terms.ravel(), self.size * batch).reshape(self.size, batch)
