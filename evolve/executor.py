"""Executors map an evaluation function over genome payloads. Serial and Ray executors return identical results:
the function is pure and every payload carries its own seed."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from evolve.config import RunConfig

EvalFn = Callable[[dict[str, Any], int], Any]


class Executor(Protocol):
    name: str
    workers: int
    in_process: bool  # payloads may carry live genome objects instead of their JSON documents
    failures: list[dict[str, Any]]  # chunks that lost their worker and were evaluated again

    def map(self, fn: EvalFn, payloads: Sequence[dict[str, Any]], seeds: Sequence[int],
            done: Callable[[int], None] | None = None) -> list[Any]:
        """`fn(payload, seed)` for every payload, results in payload order; `done(index)` is called in this process
        as each payload's result arrives (for progress). Executors written before `done` existed, without the
        argument, still work: progress then shows whole generations only."""
        ...

    def close(self) -> None: ...


class SerialExecutor:
    """Evaluates in the calling process, in order, on one core like one Ray evaluator: torch's intra-op threads
    only contend on the small per-step tensors of population evaluation (and thrash when the machine is busy)."""

    name = "serial"
    workers = 0
    in_process = True

    def __init__(self) -> None:
        self.failures: list[dict[str, Any]] = []

    def map(self, fn: EvalFn, payloads: Sequence[dict[str, Any]], seeds: Sequence[int],
            done: Callable[[int], None] | None = None) -> list[Any]:
        torch = sys.modules.get("torch")  # pinned only where something imported it: never imported for this
        threads = torch.get_num_threads() if torch is not None else 0
        if torch is not None:
            torch.set_num_threads(1)
        try:
            results = []
            for index, (payload, seed) in enumerate(zip(payloads, seeds, strict=True)):
                results.append(fn(payload, seed))
                if done is not None:
                    done(index)
            return results
        finally:
            if torch is not None:
                torch.set_num_threads(threads)

    def close(self) -> None:
        pass


def make_executor(config: RunConfig) -> Executor:
    """Serial for `run.workers = 0` or `run.executor = "serial"`; Ray for an address, N workers or
    `run.executor = "ray"` (embedded, or the cluster at the address); otherwise auto (`evolve.auto_executor`)."""
    run, ray = config.run, config.ray
    if run.address or run.workers > 0 or (run.executor == "ray" and run.workers != 0):
        from evolve.ray_executor import RayExecutor

        return RayExecutor(run.workers, run.address, ray.num_cpus, ray.num_gpus, ray.max_attempts)
    if run.workers == 0 or run.executor == "serial":
        return SerialExecutor()
    from evolve.auto_executor import AutoExecutor

    return AutoExecutor(ray.num_cpus, ray.num_gpus, ray.max_attempts, ray.start_after)
