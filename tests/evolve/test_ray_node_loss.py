"""A whole Ray node lost mid-run: its chunks are evaluated on the surviving node, every genome exactly once, and the
trajectory is the one a serial run takes."""

from __future__ import annotations

import ray
from ray.cluster_utils import Cluster

from evolve.executor import SerialExecutor
from evolve.ray_executor import RayExecutor
from tests.run_helpers import start_run
from tests.run_helpers import run_config, run_metrics, when_busy


def test_run_survives_losing_a_node_mid_generation(tmp_path):
    config = run_config(
        "cartpole", "run.seed=5", "run.generations=3", "population.size=24", "env.episodes=200", "run.chunk_size=4"
    )
    start_run(config, tmp_path / "serial", SerialExecutor())
    if ray.is_initialized():
        ray.shutdown()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    worker_node = cluster.add_node(num_cpus=1)
    try:
        ray.init(address=cluster.address, logging_level="WARNING")
        executor = RayExecutor(2)
        # Both evaluators must be up before the run starts; otherwise the head's evaluator can finish the whole
        # (short) run while the worker node's is still starting, and nothing is ever lost.
        assert executor.wait_ready(timeout=120) == 2

        def on_worker_node(busy):
            return next((w for w in busy if w[0] == worker_node.node_id), None)

        try:
            with when_busy(executor, on_worker_node, lambda _: cluster.remove_node(worker_node)) as removed:
                summary = start_run(config, tmp_path / "ray", executor)
        finally:
            executor.close()
    finally:
        ray.shutdown()
        cluster.shutdown()
    assert removed, "the run finished before the node could be removed"
    assert summary["worker_failures"] >= 1
    assert {f["node"] for f in executor.failures} == {worker_node.node_id}
    assert summary["evaluations"] == 3 * 24
    assert run_metrics(tmp_path / "ray") == run_metrics(tmp_path / "serial")
