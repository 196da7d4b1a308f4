"""Where trials run: in this process, or one trial per Ray worker, with lost workers reported, not hidden.

`submit(trial, payload)` starts a trial on an idle worker; `next_result()` waits for any trial to end and returns
(trial, outcome), the outcome an exception when the trial's worker died (the driver fails and re-enqueues the trial:
Optuna, not the pool, decides what runs next). Workers are the evaluator actors of `evolve.ray_executor`: long-lived
processes that keep their datasets and CUDA contexts between trials.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

from search.objectives import run_trial

log = logging.getLogger(__name__)


class SerialTrialPool:
    def __init__(self) -> None:
        self._queue: deque[tuple[Any, dict[str, Any]]] = deque()

    def has_idle(self) -> bool:
        return not self._queue

    def submit(self, trial: Any, payload: dict[str, Any]) -> None:
        self._queue.append((trial, payload))

    def next_result(self) -> tuple[Any, dict[str, Any]]:
        trial, payload = self._queue.popleft()
        return trial, run_trial(payload)

    def close(self) -> None:
        pass


class RayTrialPool:
    def __init__(self, workers: int, address: str, num_cpus: float, num_gpus: float, max_failures: int) -> None:
        import ray

        from evolve.ray_executor import ensure_ray

        self._ray = ray
        self._owns_ray = ensure_ray(address, workers, num_cpus)
        self._options = {"num_cpus": num_cpus, "num_gpus": num_gpus, "max_restarts": 0}
        self.max_failures = max_failures
        self.failures = 0
        self._idle: deque[Any] = deque(self._spawn() for _ in range(workers))
        self._running: dict[Any, tuple[Any, Any]] = {}  # object ref -> (trial, actor)

    def _spawn(self) -> Any:
        from evolve.ray_executor import Evaluator

        cpus, gpus = self._options["num_cpus"], self._options["num_gpus"]
        return Evaluator.options(**self._options).remote(max(1, int(cpus)), gpus)

    def has_idle(self) -> bool:
        return bool(self._idle)

    def submit(self, trial: Any, payload: dict[str, Any]) -> None:
        actor = self._idle.popleft()
        self._running[actor.evaluate.remote(run_trial, payload, 0)] = (trial, actor)

    def busy_workers(self) -> list[Any]:
        return [actor for _, actor in self._running.values()]

    def next_result(self) -> tuple[Any, dict[str, Any] | Exception]:
        from evolve.ray_executor import WORKER_LOST
        from search.tune import TrialWorkerLostError

        (ref,), _ = self._ray.wait(list(self._running), num_returns=1)
        trial, actor = self._running.pop(ref)
        try:
            outcome = self._ray.get(ref)
        except WORKER_LOST as exc:
            self.failures += 1
            if self.failures > self.max_failures:
                raise TrialWorkerLostError(f"{self.failures} trials lost their worker (tune.max_failures = "
                                           f"{self.max_failures}); the study is consistent, run again to go on") from exc
            self._idle.append(self._spawn())
            return trial, exc
        self._idle.append(actor)
        return trial, outcome

    def close(self) -> None:
        for actor in [*self._idle, *(a for _, a in self._running.values())]:
            self._ray.kill(actor)
        self._idle.clear()
        self._running.clear()
        if self._owns_ray:
            self._ray.shutdown()
