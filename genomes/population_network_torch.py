"""The torch side of `genomes.population_network`: a level as a torch sparse CSR product, and the value arrays as
tensors, on the CPU or CUDA. Imported only when a network takes this path (a GPU, a large population, a dtype
other than float64, or backend "torch")."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

from genomes.cpu_share import usable_cpus
from genomes.population_pack import LevelPack
from genomes.torch_ops import TORCH_ACTIVATIONS


class TorchArrays:
    """Value arrays as torch tensors of one dtype on one device."""

    def __init__(self, device: str, dtype: Any) -> None:
        self.device = torch.device(device)
        self.dtype = dtype if isinstance(dtype, torch.dtype) else getattr(torch, str(dtype or "float64"))
        # On the CPU, no more intra-op threads than the cores other processes leave free now (decided once per
        # network, which lives one generation): surplus threads spin and thrash (4x slower on a busy 2-core machine)
        self._threads = min(torch.get_num_threads(), usable_cpus()) if self.device.type == "cpu" else 0

    @contextmanager
    def threads(self) -> Iterator[None]:
        """Run torch's kernels on this network's share of threads, then restore the process's setting."""
        before = torch.get_num_threads()
        if not self._threads or self._threads == before:
            yield
            return
        torch.set_num_threads(self._threads)
        try:
            yield
        finally:
            torch.set_num_threads(before)

    def zeros(self, shape: tuple[int, ...]) -> torch.Tensor:
        return torch.zeros(shape, dtype=self.dtype, device=self.device)

    def index(self, a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(a, device=self.device)

    def inputs(self, x: Any) -> torch.Tensor:
        return torch.as_tensor(x, dtype=self.dtype, device=self.device)

    @staticmethod
    def broadcast(x: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
        return x.expand(*shape)

    def level(self, level: LevelPack, num_columns: int) -> TorchLevel:
        return TorchLevel(level, num_columns, self)

    @staticmethod
    def to_numpy(a: torch.Tensor) -> np.ndarray:
        return a.numpy(force=True)

    @staticmethod
    def to_tensor(a: torch.Tensor) -> torch.Tensor:
        return a


class TorchLevel:
    """One level evaluated with torch: a sparse CSR product, on the CPU or CUDA."""

    def __init__(self, level: LevelPack, num_columns: int, arrays: TorchArrays) -> None:
        self.start = level.start
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
            self.matrix = torch.sparse_csr_tensor(
                arrays.index(level.indptr), arrays.index(level.sources), arrays.inputs(level.weights),
                (level.size, num_columns), check_invariants=False,
            )
        self.bias, self.response = arrays.inputs(level.bias)[:, None], arrays.inputs(level.response)[:, None]
        self.groups = [(TORCH_ACTIVATIONS[name], first, end) for name, first, end in level.groups]

    def run(self, values: torch.Tensor) -> None:
        # Feed-forward levels read only earlier levels; the recurrent level reads the previous step, since the
        # product is complete before any node is written.
        z = self.bias + self.response * torch.sparse.mm(self.matrix, values)
        for fn, first, end in self.groups:
            values[self.start + first : self.start + end] = fn(z[first:end])
