"""Gene tables: NEAT node and connection genes stored column-wise in numpy arrays.

A table is immutable by convention: operators build new tables with `take`, `concat` and `replace`, so a parent
genome is never changed by its offspring. Column storage makes alignment by innovation number (crossover,
compatibility distance) a handful of vectorized numpy calls instead of per-gene Python loops.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Self

import numpy as np


@dataclass(frozen=True, eq=False)
class GeneTable:
    """Columns of equal length; subclasses declare the columns as fields."""

    # The operators below run for every offspring of every generation on tables of a few genes, so they work on
    # the instance __dict__ (the fields, in declaration order) rather than through dataclasses' generic helpers.
    def __len__(self) -> int:
        return len(next(iter(self.__dict__.values())))

    def columns(self) -> dict[str, np.ndarray]:
        return dict(self.__dict__)

    @classmethod
    def from_columns(cls, columns: dict[str, np.ndarray]) -> Self:
        """A table of ready-made columns (every field, in declaration order, already of the right dtype)."""
        table = object.__new__(cls)
        table.__dict__.update(columns)
        return table

    def take(self, index: np.ndarray) -> Self:
        """Rows selected by an integer index or boolean mask."""
        return self.from_columns({name: col[index] for name, col in self.__dict__.items()})

    def replace(self, **columns: np.ndarray) -> Self:
        return self.from_columns({**self.__dict__, **columns})

    @classmethod
    def concat(cls, *tables: Self) -> Self:
        if len(tables) == 1:
            return tables[0]  # tables are immutable, so one needs no copy
        columns = [t.__dict__ for t in tables]
        return cls.from_columns({name: np.concatenate([c[name] for c in columns]) for name in columns[0]})

    @staticmethod
    def concat_columns(tables: Sequence[GeneTable], *names: str) -> tuple[np.ndarray, ...]:
        """The named columns of many tables, each concatenated (cheaper than `concat` when few are needed)."""
        columns = [t.__dict__ for t in tables]
        return tuple(np.concatenate([c[name] for c in columns]) for name in names)

    def to_dict(self) -> dict[str, list[Any]]:
        return {name: col.tolist() for name, col in self.__dict__.items()}


@dataclass(frozen=True, eq=False)
class NodeGenes(GeneTable):
    """Output and hidden nodes (inputs are implicit keys -1..-num_inputs), sorted by key."""

    key: np.ndarray  # int64; outputs are 0..num_outputs-1, hidden nodes come after
    bias: np.ndarray  # float64
    response: np.ndarray  # float64, multiplies the aggregated input
    activation: np.ndarray  # str
    aggregation: np.ndarray  # str

    @classmethod
    def build(cls, key, bias, response, activation, aggregation) -> NodeGenes:
        return cls(
            key=np.asarray(key, dtype=np.int64),
            bias=np.asarray(bias, dtype=np.float64),
            response=np.asarray(response, dtype=np.float64),
            activation=np.asarray(activation, dtype=np.str_).astype("<U16"),
            aggregation=np.asarray(aggregation, dtype=np.str_).astype("<U16"),
        )

    def __len__(self) -> int:
        return len(self.key)

    def sorted(self) -> NodeGenes:
        return self.take(np.argsort(self.key, kind="stable"))


@dataclass(frozen=True, eq=False)
class ConnectionGenes(GeneTable):
    """Connection genes sorted by innovation number; (source, target) pairs are unique."""

    innovation: np.ndarray  # int64
    source: np.ndarray  # int64 node key
    target: np.ndarray  # int64 node key
    weight: np.ndarray  # float64
    enabled: np.ndarray  # bool

    @classmethod
    def build(cls, innovation, source, target, weight, enabled) -> ConnectionGenes:
        return cls(
            innovation=np.asarray(innovation, dtype=np.int64),
            source=np.asarray(source, dtype=np.int64),
            target=np.asarray(target, dtype=np.int64),
            weight=np.asarray(weight, dtype=np.float64),
            enabled=np.asarray(enabled, dtype=bool),
        )

    @classmethod
    def empty(cls) -> ConnectionGenes:
        return cls.build([], [], [], [], [])

    def __len__(self) -> int:
        return len(self.innovation)

    def sorted(self) -> ConnectionGenes:
        return self.take(np.argsort(self.innovation, kind="stable"))

    def pairs(self) -> set[tuple[int, int]]:
        return set(zip(self.source.tolist(), self.target.tolist()))
