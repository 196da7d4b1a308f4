"""The Strategy protocol: evosax-style ask/tell over explicit, JSON-serializable state."""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

import numpy as np

State = TypeVar("State")
Metrics = dict[str, Any]


class Strategy(Protocol[State]):
    def init(self, seed: int) -> State: ...

    def ask(self, state: State) -> tuple[list[Any], State]:
        """The genomes to evaluate next (offspring of the last told generation, or the initial population)."""
        ...

    def tell(self, state: State, genomes: list[Any], fitness: np.ndarray) -> tuple[State, Metrics]: ...

    def state_to_dict(self, state: State) -> dict[str, Any]: ...

    def state_from_dict(self, data: dict[str, Any]) -> State: ...


def generation_rng(seed: int, generation: int, stream: int) -> np.random.Generator:
    """The generator for one purpose (stream) in one generation, derived from the run seed alone."""
    return np.random.default_rng(np.random.SeedSequence([seed, generation, stream]))
