"""A task from a fitness function: the shortest way to evolve networks for a problem of your own.

    def parity(net):
        error = np.abs(net(BITS)[:, 0] - (BITS.sum(axis=1) % 2))
        return float(4.0 - error.sum())

    evolve.run("configs/xor.toml", task=evolve.FunctionTask(parity, 3, 1, solve_fitness=3.9))

`fitness(net)` returns a float; `net(x)` maps an array (B, num_inputs) to (B, num_outputs). A fitness function
that takes a second argument receives the evaluation's `np.random.Generator` (the only randomness it may use, so
runs stay reproducible). With `batched=True`, `fitness(nets)` scores a whole chunk at once: `nets(x)` maps
(B, num_inputs), or (P, B, num_inputs) for inputs per genome, to (P, B, num_outputs), one row per genome, from one
packed evaluation of all P networks; it returns P fitness values. Recurrent networks start from zero state in every
call of `fitness` and advance one step per `net(x)` call.

The function travels to Ray workers with the task through Ray's serialization (code in transit, never a file a user
saves): a function defined in `__main__` or a notebook goes by value, one in a module by reference, so that module
must be importable on the workers (`ray.runtime_env`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from envs.task import EvalResult, Task
from genomes.phenotype import Network


class NetworkFunction:
    """A compiled network as a function of a batch of inputs."""

    def __init__(self, network: Network) -> None:
        self.network = network

    def __call__(self, x: Any) -> np.ndarray:
        return np.atleast_2d(self.network.activate(np.atleast_2d(np.asarray(x, dtype=np.float64))))


class OneNetworkPopulation:
    """One compiled network as a population of one: (B, n_in) or (1, B, n_in) -> (1, B, n_out)."""

    def __init__(self, network: Network) -> None:
        self.network = network

    def __len__(self) -> int:
        return 1

    def __call__(self, x: Any) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return np.atleast_2d(self.network.activate(np.atleast_2d(x[0] if x.ndim == 3 else x)))[None]


class PopulationFunction:
    """A chunk of genomes as a function of a batch of inputs, (B, n_in) or (P, B, n_in) -> (P, B, n_out): one packed
    network for all of them, or one compiled network each where they cannot be packed (other aggregations)."""

    def __init__(self, genomes: Sequence[Any]) -> None:
        from genomes.population_network import PopulationNetwork, packable

        self.size = len(genomes)
        self.network = PopulationNetwork(list(genomes)) if packable(genomes) else None
        self.networks = [] if self.network is not None else [g.phenotype() for g in genomes]

    def __len__(self) -> int:
        return self.size

    def __call__(self, x: Any) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self.network is not None:
            return self.network.activate(x)
        rows = x if x.ndim == 3 else [x] * self.size
        return np.stack([np.atleast_2d(net.activate(np.atleast_2d(r))) for net, r in zip(self.networks, rows)])


class FunctionTask(Task):
    """A fitness function as a task (see the module docstring). Solved when the fitness reaches `solve_fitness`."""

    def __init__(
        self,
        fitness: Callable[..., Any],
        num_inputs: int,
        num_outputs: int,
        *,
        batched: bool = False,
        solve_fitness: float | None = None,
    ) -> None:
        if not callable(fitness):
            raise TypeError(f"fitness must be callable, got {type(fitness).__name__}")
        if int(num_inputs) < 1 or int(num_outputs) < 1:
            raise ValueError(f"num_inputs and num_outputs must be >= 1, got {num_inputs} and {num_outputs}")
        self.fitness = fitness
        self.num_inputs, self.num_outputs = int(num_inputs), int(num_outputs)
        self.batched = batched
        self.solve_fitness = solve_fitness
        self._takes_rng = _positional_count(fitness) >= 2

    @property
    def name(self) -> str:
        return getattr(self.fitness, "__qualname__", type(self.fitness).__name__)

    def evaluate(self, network: Network, rng: np.random.Generator) -> EvalResult:
        network.reset()
        if self.batched:  # one network as a chunk of one
            values = self._batch_values(OneNetworkPopulation(network), rng)
            return self._result(float(values[0]))
        net = NetworkFunction(network)
        value = self.fitness(net, rng) if self._takes_rng else self.fitness(net)
        return self._result(_as_float(value, self.name))

    def evaluate_batch(self, genomes: Sequence[Any], seeds: Sequence[int]) -> list[EvalResult]:
        if not self.batched:
            return super().evaluate_batch(genomes, seeds)
        rng = np.random.default_rng(seeds[0] if seeds else 0)  # the chunk's first genome's: chunks never vary
        return [self._result(float(v)) for v in self._batch_values(PopulationFunction(genomes), rng)]

    def _batch_values(self, nets: Any, rng: np.random.Generator) -> np.ndarray:
        values = self.fitness(nets, rng) if self._takes_rng else self.fitness(nets)
        try:
            values = np.asarray(values, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise TypeError(f"batched fitness {self.name} must return numbers, got {type(values).__name__}") from None
        if len(values) != len(nets):
            raise ValueError(f"batched fitness {self.name} returned {len(values)} values for {len(nets)} genomes")
        return values

    def _result(self, fitness: float) -> EvalResult:
        solved = self.solve_fitness is not None and fitness >= self.solve_fitness
        return EvalResult(fitness, solved=solved)


def _positional_count(fn: Callable[..., Any]) -> int:
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 1
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(p.kind in kinds for p in parameters)


def _as_float(value: Any, name: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"fitness {name} must return a number, got {type(value).__name__}") from None
