"""The default executor: evaluate in this process while that is fast, move to an embedded Ray when it pays.

Starting Ray costs seconds of CPU and every chunk sent to an actor pays a dispatch, so a job whose generations take
milliseconds (XOR, CartPole, pole balancing) runs fastest without it. The rule:
- chunks are evaluated in this process, in order, as `SerialExecutor` does;
- once generations of two or more chunks have spent `start_after` seconds evaluating here in total, at no less than
  MIN_GENERATION_SECONDS each on average, and the machine has two or more CPUs, an embedded Ray starts in a
  background thread (one evaluator per CPU) while evaluation goes on here;
- from the first chunk after its evaluators are ready, Ray evaluates every generation of two or more chunks
  (a single chunk stays here: nothing would run beside it).
Results are identical either way: chunks are cut the same, and every genome carries its own seed. Mario, Atari and
cell search cross the threshold within their first generation; a generation of a single chunk (the XOR and CartPole
configs pack the population into one) never starts Ray. If Ray fails to start, evaluation stays here, with a warning.

The starting thread lives until `close`: Ray starts its GCS and raylet with PR_SET_PDEATHSIG, which Linux fires when
the *thread* that forked them exits, so a thread that returned after `ray.init` would take the cluster with it (the
driver then aborts a minute later, when its GCS client gives up).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from evolve.evaluation import remote_payload
from genomes.cpu_share import allowed_cpus
from evolve.executor import EvalFn, SerialExecutor

log = logging.getLogger(__name__)

MIN_GENERATION_SECONDS = 0.2  # below this per generation, the chunks' dispatch to actors eats what parallelism saves


class AutoExecutor:
    """In process until Ray pays (see the module docstring); `chunks` counts where each chunk was evaluated."""

    name = "auto"

    def __init__(self, num_cpus: float = 1.0, num_gpus: float = 0.0, max_attempts: int = 4,
                 start_after: float = 3.0, cpus: int | None = None) -> None:
        self._serial = SerialExecutor()
        self._ray_options = {"num_cpus": num_cpus, "num_gpus": num_gpus, "max_attempts": max_attempts}
        self.start_after = start_after
        self._cpus = allowed_cpus() if cpus is None else cpus
        self._ray: Any = None  # the RayExecutor, once its evaluators are ready
        self._starter: threading.Thread | None = None
        self._started: dict[str, Any] = {}  # what the starter thread left: "executor" or "error"
        self._start_finished = threading.Event()  # the starter has put its executor or error in _started
        self._release = threading.Event()  # set by close: the starter thread may end (Ray is shut down by then)
        self._spent, self._generations = 0.0, 0  # in-process seconds and count of generations of several chunks
        self.chunks = {"in_process": 0, "ray": 0}

    @property
    def in_process(self) -> bool:
        return self._ray is None

    @property
    def workers(self) -> int:
        return self._ray.workers if self._ray is not None else 0

    @property
    def failures(self) -> list[dict[str, Any]]:
        return [*self._serial.failures, *(self._ray.failures if self._ray is not None else [])]

    @property
    def detail(self) -> dict[str, Any]:
        """Where the chunks went, for the run's summary."""
        return {**self.chunks, "ray_started": self._starter is not None}

    def map(self, fn: EvalFn, payloads: Sequence[dict[str, Any]], seeds: Sequence[int],
            done: Callable[[int], None] | None = None) -> list[Any]:
        if len(payloads) != len(seeds):
            raise ValueError("payloads and seeds differ in length")
        several = len(payloads) >= 2
        results: list[Any] = [None] * len(payloads)
        for i in range(len(payloads)):
            ray_executor = self._ready() if several else None
            if ray_executor is not None:
                rest = [remote_payload(p) for p in payloads[i:]]
                offset = i
                results[i:] = ray_executor.map(fn, rest, seeds[i:],
                                               None if done is None else lambda index: done(offset + index))
                self.chunks["ray"] += len(rest)
                return results
            started = time.perf_counter()
            results[i] = self._serial.map(fn, [payloads[i]], [seeds[i]])[0]
            self.chunks["in_process"] += 1
            if done is not None:
                done(i)
            if several:
                self._spent += time.perf_counter() - started
                self._maybe_start(self._generations + 1)
        if several:
            self._generations += 1
        return results

    def _maybe_start(self, generations: int) -> None:
        if self._starter is not None or self._cpus < 2 or self._spent < self.start_after:
            return
        if self._spent / generations < MIN_GENERATION_SECONDS:
            return
        log.info("evaluation has taken %.1f s in this process: starting Ray in the background", self._spent)
        self._starter = threading.Thread(target=self._start_ray, name="evolve-ray-start", daemon=True)
        self._starter.start()

    def _start_ray(self) -> None:
        from evolve.ray_executor import RayExecutor, quiet_thread_notice

        try:
            with quiet_thread_notice():
                executor = RayExecutor(-1, "", **self._ray_options)
            executor.wait_ready()
            self._started["executor"] = executor
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread, which goes on without Ray
            self._started["error"] = exc
        finally:
            self._start_finished.set()
        self._release.wait()  # Ray's processes die with this thread (see the module docstring)

    def _ready(self) -> Any:
        """The Ray executor once its start has finished; None while it starts, or if it never will."""
        if self._ray is not None or self._starter is None or not self._start_finished.is_set():
            return self._ray
        if "error" in self._started:
            error = self._started.pop("error")
            log.warning("Ray failed to start (%s); evaluating in this process", str(error).splitlines()[0]
                        if str(error) else type(error).__name__)
        elif "executor" in self._started:
            self._ray = self._started.pop("executor")
            from evolve.ray_executor import reclaim_sigterm

            reclaim_sigterm()  # Ray started in the background thread; this is the main thread
            log.info("Ray is ready with %d evaluators; it evaluates from the next chunk on", self._ray.workers)
        return self._ray

    def close(self) -> None:
        if self._starter is not None:
            self._start_finished.wait()  # a Ray still starting must finish before it can shut down
            self._ready()
        try:
            if self._ray is not None:
                self._ray.close()
        finally:
            self._release.set()
            if self._starter is not None:
                self._starter.join()
            self._serial.close()
