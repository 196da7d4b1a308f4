"""The Ray executor: the same trajectory as serial evaluation on 1 and 2 workers, and a killed worker's chunk is
evaluated again elsewhere."""

from __future__ import annotations

import json
import os
import signal

import pytest
import ray

from evolve.executor import SerialExecutor
from evolve.ray_executor import RayExecutor
from tests.run_helpers import start_run
from tests.run_helpers import run_config, run_metrics, when_busy


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield
    ray.shutdown()


def _run(config, run_dir, executor) -> dict:
    try:
        return start_run(config, run_dir, executor)
    finally:
        executor.close()


@pytest.mark.parametrize(
    "name, overrides",
    [
        ("xor", ("run.generations=8", "run.stop_on_solve=false", "population.size=60", "run.chunk_size=7")),
        ("cartpole", ("run.generations=3", "population.size=30", "run.chunk_size=4")),
        ("mario-1-1", ("run.generations=2", "population.size=8", "run.chunk_size=2", "env.stall_frames=40")),
        ("atari-boxing-ram", ("run.generations=2", "population.size=6", "run.chunk_size=2", "env.max_frames=600")),
    ],
)
def test_serial_and_one_or_two_ray_workers_give_the_same_trajectory(tmp_path, name, overrides):
    config = run_config(name, "run.seed=4", *overrides)
    serial = _run(config, tmp_path / "serial", SerialExecutor())
    for workers in (1, 2):
        run_dir = tmp_path / f"ray{workers}"
        summary = _run(config, run_dir, RayExecutor(workers))
        assert summary["executor"] == "ray" and summary["workers"] == workers
        assert run_metrics(run_dir) == run_metrics(tmp_path / "serial")
        best = json.loads((run_dir / "best.json").read_text())
        assert best == json.loads((tmp_path / "serial" / "best.json").read_text())
        assert summary["best_fitness"] == serial["best_fitness"]


def test_architecture_search_trains_identically_on_ray_workers(tmp_path):
    config = run_config(
        "nas-cnn-mnist1d", "env.dataset=digits", "cnn.width=8", "cnn.widths=[8]", "cnn.cells=2",
        "cnn.cells_options=[2]", "population.size=4", "run.generations=2", "run.chunk_size=2", "env.epochs=1",
        "env.rungs=1", "env.final_epochs=1", "env.batch_size=256", "env.baseline_width=8",
    )
    serial = _run(config, tmp_path / "serial", SerialExecutor())
    summary = _run(config, tmp_path / "ray", RayExecutor(2))
    assert run_metrics(tmp_path / "ray") == run_metrics(tmp_path / "serial")
    for key in ("best_fitness", "test_accuracy", "baseline_test_accuracy", "params"):
        assert summary[key] == serial[key], key


def test_a_killed_worker_process_has_its_chunk_evaluated_again(tmp_path):
    config = run_config(
        "cartpole", "run.seed=2", "run.generations=2", "population.size=24", "env.episodes=40", "run.chunk_size=4"
    )
    _run(config, tmp_path / "serial", SerialExecutor())
    executor = RayExecutor(2)
    with when_busy(executor, lambda busy: busy[0] if busy else None, lambda w: os.kill(w[1], signal.SIGKILL)) as killed:
        summary = _run(config, tmp_path / "ray", executor)
    assert killed, "the run finished before any worker could be killed"
    assert summary["worker_failures"] >= 1 and executor.failures[0]["error"]
    assert summary["evaluations"] == 2 * 24
    assert run_metrics(tmp_path / "ray") == run_metrics(tmp_path / "serial")


def test_an_island_run_survives_a_killed_evaluator_with_the_serial_trajectory(tmp_path):
    """Islands have no actors of their own: every island's chunks go through the evaluators, so a killed evaluator
    costs a retried chunk, never an island."""
    config = run_config(
        "cartpole", "run.seed=3", "run.generations=3", "population.size=16", "env.episodes=30", "run.chunk_size=4",
        "islands.count=3", "islands.migration_interval=1", "islands.migrants=1", "run.stop_on_solve=false",
    )
    _run(config, tmp_path / "serial", SerialExecutor())
    executor = RayExecutor(2)
    with when_busy(executor, lambda busy: busy[-1] if busy else None, lambda w: os.kill(w[1], signal.SIGKILL)) as killed:
        summary = _run(config, tmp_path / "ray", executor)
    assert killed, "the run finished before any worker could be killed"
    assert summary["worker_failures"] >= 1 and len(summary["islands"]) == 3
    assert summary["evaluations"] == 3 * 3 * 16
    assert run_metrics(tmp_path / "ray") == run_metrics(tmp_path / "serial")
