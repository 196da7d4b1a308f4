"""Many NEAT phenotypes evaluated together as one flattened graph in torch tensors, on CPU or CUDA.

The population is packed level by level (`genomes.population_pack`): a feed-forward pass makes a fixed handful of
tensor operations per topological level for all genomes at once (gather the sources, weigh, sum, activate), so
its cost grows with the deepest genome and the number of connections, never with a Python loop over genomes; a
recurrent step is one such level over every node, reading the previous step's values. Inputs are (batch, n_in)
shared by every genome or (population, batch, n_in), e.g. P genomes x E environments stepped in lock step.
Genomes with non-sum aggregations are not packable (`packable` says so); callers fall back to per-genome
phenotypes for them.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Sequence

import numpy as np
import scipy.sparse
import torch

from genomes.activations import NUMPY_ACTIVATIONS
from genomes.neat_genome import NeatGenome
from genomes.population_pack import LevelPack, PopulationPack, pack_population
from genomes.torch_ops import TORCH_ACTIVATIONS

_ACTIVATION_FNS = list(TORCH_ACTIVATIONS.values())

try:  # scipy's CSR-times-dense kernel without the `@` operator's dispatch, which costs more than the product itself
    # at lock-step sizes (a few nodes times a few episodes); the operator is the fallback if scipy moves it
    from scipy.sparse._sparsetools import csr_matvecs as _csr_matvecs
except ImportError:  # pragma: no cover - depends on the scipy version
    _csr_matvecs = None


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


_default_device = torch.device("cpu")
NUMPY_MAX_COLUMNS = 8192  # value columns (inputs and nodes of all genomes) up to which the CPU path uses numpy


def set_default_device(device: str | torch.device) -> torch.device:
    """The device population networks use when none is named: evaluator processes given a GPU set CUDA."""
    global _default_device
    _default_device = resolve_device(device)
    return _default_device


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """None or "" is this process's default device; "auto" is CUDA when this process sees a GPU, else the CPU."""
    if device is None or str(device) == "":
        return _default_device
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class PopulationNetwork:
    """A packed population; `activate` evaluates every genome on its inputs in one call."""

    def __init__(
        self,
        genomes: Sequence[NeatGenome],
        device: str | torch.device | None = None,
        dtype: torch.dtype = torch.float64,
        backend: str = "auto",
        pack: PopulationPack | None = None,
    ) -> None:
        """`backend` "auto" evaluates float64 on the CPU with numpy/scipy up to NUMPY_MAX_COLUMNS value columns
        and everything else with torch; "torch" forces torch (sparse CSR products; the path CUDA takes). `pack`
        is the genomes' pack where the caller has it already."""
        if backend not in ("auto", "torch"):
            raise ValueError(f"unknown backend {backend!r} (auto or torch)")
        if pack is None and not packable(genomes):
            raise ValueError("genomes must share inputs, outputs and mode, and use only sum aggregation")
        self.genomes = list(genomes)
        self.pack = pack = pack or pack_population(self.genomes)
        self.device, self.dtype = resolve_device(device), dtype
        self.num_inputs, self.num_outputs, self.recurrent = pack.num_inputs, pack.num_outputs, pack.recurrent
        self.size, self.num_columns = pack.size, pack.num_columns

        # float64 on the CPU runs in numpy and scipy unless the population is large: a scipy CSR product per level
        # costs a fraction of torch's per-call overhead, which dominates when lock-step loops call a small network
        # hundreds of times per generation; on large populations torch's multithreaded kernels win.
        self.backend = backend
        self.uses_numpy = (backend == "auto" and self.device.type == "cpu" and dtype == torch.float64
                           and pack.num_columns <= NUMPY_MAX_COLUMNS)
        if self.uses_numpy:
            self._levels: list[_NumpyLevel | _TorchLevel] = [_NumpyLevel(lv, pack.num_columns) for lv in pack.levels]
            self._output_index: np.ndarray | torch.Tensor = pack.outputs.ravel()
        else:
            self._levels = [_TorchLevel(lv, self._sparse(lv), self._tensor) for lv in pack.levels]
            self._output_index = torch.as_tensor(pack.outputs.ravel(), device=self.device)
        # recurrent: (columns, batch) values of the previous step, a numpy array or a tensor like the levels
        self.state: np.ndarray | torch.Tensor | None = None
        self._buffer: np.ndarray | torch.Tensor | None = None  # feed-forward: the last step's value array

    def _tensor(self, a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(a, dtype=self.dtype, device=self.device)

    def _sparse(self, level: LevelPack) -> torch.Tensor:
        """The level's connections as a torch CSR (nodes x columns) matrix."""
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
            return torch.sparse_csr_tensor(
                torch.as_tensor(level.indptr, device=self.device), torch.as_tensor(level.sources, device=self.device),
                self._tensor(level.weights), (level.size, self.num_columns), check_invariants=False,
            )

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
            old, new = self.pack.columns_of(rows), sub.pack.node_columns
            if self.uses_numpy:
                sub.state = np.zeros((sub.num_columns, self.state.shape[1]))
            else:
                old, new = torch.as_tensor(old, device=self.device), torch.as_tensor(new, device=self.device)
                sub.state = torch.zeros((sub.num_columns, self.state.shape[1]), dtype=self.dtype, device=self.device)
            sub.state[new] = self.state[old]
        return sub

    def activate(self, inputs: np.ndarray | torch.Tensor) -> torch.Tensor:
        """inputs (batch, n_in) or (population, batch, n_in); returns (population, batch, n_out) on the network's
        device. Recurrent populations advance one time step per call."""
        out = self._forward(self._population_inputs(inputs))
        return torch.from_numpy(out) if self.uses_numpy else out

    def activate_numpy(self, inputs: np.ndarray | torch.Tensor) -> np.ndarray:
        """`activate` as a numpy array: lock-step loops that act on the outputs with numpy skip the tensor wrapper
        on the numpy path and get one device-to-host copy on the torch path."""
        out = self._forward(self._population_inputs(inputs))
        return out if self.uses_numpy else out.numpy(force=True)

    def _forward(self, x: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
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

    def _values(self, batch: int) -> np.ndarray | torch.Tensor:
        """The (columns, batch) value array a step writes: the recurrent state, or a buffer that feed-forward steps
        reuse (every step writes all input and node columns; the others stay zero)."""
        if self.recurrent and self.state is not None and self.state.shape[1] == batch:
            return self.state
        if not self.recurrent and self._buffer is not None and self._buffer.shape[1] == batch:
            return self._buffer
        if self.uses_numpy:
            values = np.zeros((self.num_columns, batch))
        else:
            values = torch.zeros((self.num_columns, batch), dtype=self.dtype, device=self.device)
        if not self.recurrent:
            self._buffer = values
        return values

    def _population_inputs(self, inputs: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
        """The inputs as this network's array kind, (batch, n_in) shared by every genome broadcast to
        (population, batch, n_in)."""
        if self.uses_numpy:
            x = np.asarray(inputs.numpy(force=True) if isinstance(inputs, torch.Tensor) else inputs, dtype=np.float64)
            return np.broadcast_to(x, (self.size, *x.shape)) if x.ndim == 2 else x
        x = torch.as_tensor(inputs, dtype=self.dtype, device=self.device)
        return x.expand(self.size, *x.shape) if x.ndim == 2 else x


class _TorchLevel:
    """One level evaluated with torch: a sparse CSR product, on the CPU or CUDA."""

    def __init__(self, level: LevelPack, matrix: torch.Tensor, tensor: Callable[[np.ndarray], torch.Tensor]) -> None:
        self.start, self.matrix = level.start, matrix
        self.bias, self.response = tensor(level.bias)[:, None], tensor(level.response)[:, None]
        self.groups = [(TORCH_ACTIVATIONS[name], first, end) for name, first, end in level.groups]

    def run(self, values: torch.Tensor) -> None:
        # Feed-forward levels read only earlier levels; the recurrent level reads the previous step, since the
        # product is complete before any node is written.
        z = self.bias + self.response * torch.sparse.mm(self.matrix, values)
        for fn, first, end in self.groups:
            values[self.start + first : self.start + end] = fn(z[first:end])


class _NumpyLevel:
    """One level evaluated with numpy and scipy: a sparse-dense product with its connections as a scipy CSR
    (nodes x columns) matrix."""

    def __init__(self, level: LevelPack, num_columns: int) -> None:
        # The CSR arrays as scipy's kernel takes them (one index dtype); building a scipy matrix validates them
        # again, which costs more than a generation's products on a small population.
        self.indptr = np.ascontiguousarray(level.indptr, dtype=np.int64)
        self.indices = np.ascontiguousarray(level.sources, dtype=np.int64)
        self.data = np.ascontiguousarray(level.weights, dtype=np.float64)
        self.size, self.num_columns, self.start = level.size, num_columns, level.start
        self.bias = level.bias[:, None]
        # response * sum is the sum itself when every response is 1, so the product is skipped then
        self.response = None if np.all(level.response == 1.0) else level.response[:, None]
        self.groups = [(NUMPY_ACTIVATIONS[name], first, end) for name, first, end in level.groups]

    def run(self, values: np.ndarray) -> None:
        # Feed-forward levels read only earlier levels; the recurrent level reads the previous step, since the
        # product is complete before any node is written.
        z = self.product(values)
        if self.response is not None:
            z *= self.response
        z += self.bias
        for fn, first, end in self.groups:
            values[self.start + first : self.start + end] = fn(z[first:end])

    @functools.cached_property
    def matrix(self) -> scipy.sparse.csr_matrix:
        """The connections as a scipy CSR (nodes x columns) matrix."""
        return scipy.sparse.csr_matrix((self.data, self.indices, self.indptr), shape=(self.size, self.num_columns))

    def product(self, values: np.ndarray) -> np.ndarray:
        """The level's weighted input sums, matrix @ values, for a C-contiguous (columns, batch) values array."""
        if _csr_matvecs is None:
            return self.matrix @ values
        batch = values.shape[1]
        z = np.zeros((self.size, batch))
        _csr_matvecs(self.size, self.num_columns, batch, self.indptr, self.indices, self.data, values.ravel(),
                     z.ravel())
        return z
