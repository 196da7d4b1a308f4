"""A whole Ray node lost mid-run: its chunks are evaluated on the surviving node, every genome exactly once, and the
trajectory is the one a serial run takes."""

from __future__ import annotations

import threading
import time

import ray
from ray.cluster_utils import Cluster

from evolve.executor import SerialExecutor
from evolve.ray_executor import RayExecutor
from evolve.run import start_run
from tests.run_helpers import run_config, run_metrics


def _remove_node_when_busy(cluster: Cluster, node, executor: RayExecutor, removed: list, stop: threading.Event):
    while not stop.is_set():
        if any(node_id == node.node_id for node_id, _ in executor.busy_workers()):
            cluster.remove_node(node)
            removed.append(node.node_id)
            return
        time.sleep(0.002)


def test_run_survives_losing_a_node_mid_generation(tmp_path):
    config = run_config(
        "cartpole", "run.seed=5", "run.generations=3", "population.size=24", "env.episodes=40", "run.chunk_size=4"
    )
    start_run(config, tmp_path / "serial", SerialExecutor())
    if ray.is_initialized():
        ray.shutdown()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    worker_node = cluster.add_node(num_cpus=1)
    removed: list[str] = []
    stop = threading.Event()
    try:
        ray.init(address=cluster.address, logging_level="WARNING")
        executor = RayExecutor(2)
        assert executor.workers == 2
        remover = threading.Thread(target=_remove_node_when_busy, args=(cluster, worker_node, executor, removed, stop))
        remover.start()
        try:
            summary = start_run(config, tmp_path / "ray", executor)
        finally:
            stop.set()
            remover.join()
            executor.close()
    finally:
        ray.shutdown()
        cluster.shutdown()
    assert removed, "the run finished before the node could be removed"
    assert summary["worker_failures"] >= 1
    assert {f["node"] for f in executor.failures} == {worker_node.node_id}
    assert summary["evaluations"] == 3 * 24
    assert run_metrics(tmp_path / "ray") == run_metrics(tmp_path / "serial")
