"""The default executor: small jobs stay in the process, slow ones move to Ray once it is ready, and the metrics are
those of a serial run either way."""

from __future__ import annotations

import itertools
import time

import numpy as np

import evolve
from evolve.auto_executor import MIN_GENERATION_SECONDS, AutoExecutor
from tests.run_helpers import REPO

XOR = REPO / "configs" / "xor.toml"
BITS = np.array(list(itertools.product([0.0, 1.0], repeat=3)))
SLOW = {"population.size": 24, "run.chunk_size": 6, "run.progress": False, "run.stop_on_solve": False}


def slow_parity(net) -> float:
    time.sleep(0.01)  # a fitness function that takes its time, as a simulation does
    return float(8.0 - np.abs(net(BITS)[:, 0] - BITS.sum(axis=1) % 2).sum())


def _timeless(metrics):
    return [{k: v for k, v in m.items() if k != "wall_seconds"} for m in metrics]


class StopAfterRayChunks(evolve.Callback):
    """Stops the run once Ray has evaluated `chunks` chunks (it starts in the background, ready when it is)."""

    def __init__(self, executor: AutoExecutor, chunks: int) -> None:
        self.executor, self.chunks = executor, chunks

    def on_generation(self, record) -> bool:
        return self.executor.chunks["ray"] >= self.chunks


def test_a_slow_job_moves_to_ray_and_keeps_the_serial_metrics():
    task = evolve.FunctionTask(slow_parity, 3, 1)
    auto = AutoExecutor(start_after=0.2)
    stop = StopAfterRayChunks(auto, 12)
    try:
        result = evolve.run(XOR, task=task, seed=3, generations=200, overrides=SLOW, executor=auto, callbacks=[stop])
        # Ray's GCS and raylet die with the thread that started them (PR_SET_PDEATHSIG): it must outlive the run
        import ray

        assert ray._private.worker._global_node.dead_processes() == []
    finally:
        auto.close()  # an executor passed in is the caller's to close
    assert auto.chunks["in_process"] > 0 and auto.chunks["ray"] >= 12, auto.chunks
    assert result.summary["executor"] == "auto" and result.summary["workers"] >= 1
    serial = evolve.run(XOR, task=task, seed=3, generations=result.generations, overrides=SLOW, workers=0)
    assert serial.summary["executor"] == "serial"
    assert _timeless(result.metrics) == _timeless(serial.metrics)


def test_cheap_generations_never_start_ray():
    """Many chunks, but milliseconds a generation: below MIN_GENERATION_SECONDS Ray's dispatch would eat the gain,
    whatever the total."""
    auto = AutoExecutor(start_after=0.0)
    result = evolve.run(XOR, seed=0, generations=30, executor=auto,
                        overrides={"run.chunk_size": 38, "run.progress": False, "run.stop_on_solve": False})
    assert result.generations == 30 and auto.detail == {"in_process": 120, "ray": 0, "ray_started": False}
    assert result.summary["wall_seconds"] / 30 < MIN_GENERATION_SECONDS


def test_one_chunk_or_one_cpu_stays_in_the_process():
    task = evolve.FunctionTask(slow_parity, 3, 1)
    one_chunk = AutoExecutor(start_after=0.0)
    evolve.run(XOR, task=task, generations=2, executor=one_chunk, overrides={**SLOW, "run.chunk_size": 24})
    one_cpu = AutoExecutor(start_after=0.0, cpus=1)
    evolve.run(XOR, task=task, generations=2, executor=one_cpu, overrides=SLOW)
    assert one_chunk.detail == {"in_process": 2, "ray": 0, "ray_started": False}
    assert one_cpu.detail == {"in_process": 8, "ray": 0, "ray_started": False}
