"""Where trials run: in this process, or one trial per Ray worker, with lost workers reported, not hidden.

`submit(trial, payload)` starts a trial on an idle worker; `next_result()` waits for any trial to end and returns
(trial, outcome), the outcome an exception when the trial's worker died (the driver fails and re-enqueues the trial:
Optuna, not the pool, decides what runs next). On Ray the workers are the evaluator pool of
`evolve.ray_executor.RayExecutor`, the one every run uses: long-lived processes that keep their datasets and CUDA
contexts between trials.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from search.objectives import run_trial


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
    """Trials on the evaluators of an `evolve.ray_executor.RayExecutor`: the same actor pool that evaluates a run's
    chunks, driven one call at a time."""

    def __init__(self, workers: int, address: str, num_cpus: float, num_gpus: float, max_failures: int) -> None:
        from evolve.ray_executor import RayExecutor

        self.executor = RayExecutor(workers, address, num_cpus, num_gpus)
        self.max_failures = max_failures
        self.failures = 0
        self._trials: dict[int, Any] = {}  # ticket -> trial

    def has_idle(self) -> bool:
        return self.executor.has_capacity()

    def submit(self, trial: Any, payload: dict[str, Any]) -> None:
        self._trials[self.executor.submit(run_trial, payload, 0)] = trial

    def busy_workers(self) -> list[Any]:
        return self.executor.running_actors()

    def next_result(self) -> tuple[Any, dict[str, Any] | Exception]:
        from search.tune import TrialWorkerLostError

        while (event := self.executor.next_event()) is None:
            pass
        ticket, outcome, lost = event
        trial = self._trials.pop(ticket)
        if lost is None:
            return trial, outcome
        self.failures += 1
        if self.failures > self.max_failures:
            raise TrialWorkerLostError(f"{self.failures} trials lost their worker (tune.max_failures = "
                                       f"{self.max_failures}); the study is consistent, run again to go on") from lost
        return trial, lost

    def close(self) -> None:
        self.executor.close()
