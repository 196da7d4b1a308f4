"""The Genome protocol every genome type satisfies, and the context mutation needs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, Self

import numpy as np

from genomes.innovation import InnovationTracker

if TYPE_CHECKING:
    import networkx as nx
    import torch


class GenomeError(ValueError):
    """A genome document that fails validation (wrong schema, dangling reference, cycle, ...)."""


@dataclass
class MutationContext:
    """What a mutation may read (the genome family's config) and update (the population's innovation tracker)."""

    config: Any
    innovations: InnovationTracker


class SharedDocument:
    """`shared_dict()`: a genome's `to_dict()` computed once and shared, for read-only use on the hot path
    (payloads, checkpoints), where the same immutable genome is serialized several times per generation. The
    genome class declares a `_document` slot set to None on construction."""

    __slots__ = ()

    def shared_dict(self) -> dict[str, Any]:
        """Never modify the result."""
        if self._document is None:
            self._document = self.to_dict()
        return self._document


class Genome(Protocol):
    def mutate(self, rng: np.random.Generator, ctx: MutationContext) -> Self: ...

    def crossover(self, other: Self, rng: np.random.Generator, ctx: MutationContext, equal: bool = False) -> Self:
        """Child of self (the fitter parent) and other; `equal` when both parents are equally fit."""
        ...

    def distance(self, other: Self, config: Any) -> float: ...

    def to_dict(self) -> dict[str, Any]: ...

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self: ...

    def to_graph(self) -> nx.DiGraph: ...

    def to_module(self) -> torch.nn.Module: ...
