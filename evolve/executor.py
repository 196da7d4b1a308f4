"""Executors map an evaluation function over genome payloads. Serial and Ray executors return identical results:
the function is pure and every payload carries its own seed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

EvalFn = Callable[[dict[str, Any], int], Any]


class Executor(Protocol):
    name: str
    workers: int
    chunks: int  # how many chunks a generation is split into (serial: one, the whole population)

    def map(self, fn: EvalFn, payloads: Sequence[dict[str, Any]], seeds: Sequence[int]) -> list[Any]: ...

    def close(self) -> None: ...


class SerialExecutor:
    """Evaluates in the calling process, in order."""

    name = "serial"
    workers = 0
    chunks = 1

    def map(self, fn: EvalFn, payloads: Sequence[dict[str, Any]], seeds: Sequence[int]) -> list[Any]:
        return [fn(payload, seed) for payload, seed in zip(payloads, seeds, strict=True)]

    def close(self) -> None:
        pass


def make_executor(workers: int, address: str = "") -> Executor:
    from evolve.config import ConfigError

    if workers == 0 and not address:
        return SerialExecutor()
    raise ConfigError("run.workers > 0 and --address need the Ray executor, which this build does not have yet")
