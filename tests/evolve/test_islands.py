"""The island model: migrants keep their structure across innovation trackers, serial and Ray islands agree, and
an island run resumes exactly."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np
import pytest
import ray
from hypothesis import given, settings
from hypothesis import strategies as st

import evolve
from envs.xor import XorTask
from evolve.checkpoint import CheckpointError, checkpoint_path, load_checkpoint
from evolve.islands import destinations
from genomes.base import MutationContext
from genomes.innovation import InnovationTracker, translate
from tests.neat_helpers import busy_config, grow
from tests.run_helpers import resume_run, run_config, start_run

VOLATILE = {"wall_seconds"}


def _strip(value):
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _lines(run_dir):
    return [_strip(json.loads(line)) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31), other=st.integers(0, 2**31), feed_forward=st.booleans())
def test_translated_migrant_computes_the_same_function_and_translates_back(seed, other, feed_forward):
    config = busy_config(feed_forward=feed_forward, aggregation_options=["sum"], aggregation_mutate_rate=0.0)
    home, away = InnovationTracker(), InnovationTracker()
    for s in range(3):  # the destination island discovered other structure first: different markings
        grow(config, other + s, 15, MutationContext(config, away))
    genome = grow(config, seed, 20, MutationContext(config, home))
    migrant = translate(genome, home, away)
    migrant.validate()
    x = np.random.default_rng(seed).normal(size=(4, config.num_inputs))
    original_net, migrant_net = genome.phenotype(), migrant.phenotype()
    for _ in range(1 if feed_forward else 3):
        np.testing.assert_allclose(migrant_net.activate(x), original_net.activate(x), rtol=1e-12, atol=1e-12)
    assert migrant.distance(translate(genome, home, away), config) == 0.0
    back = translate(migrant, away, home)  # every node's origin is on record both ways
    assert back.nodes.key.tolist() == genome.nodes.key.tolist()
    assert back.connections.innovation.tolist() == genome.connections.innovation.tolist()


def test_destinations_follow_the_topology():
    assert destinations(4, "ring", 0, 10) == [1, 2, 3, 0]
    for generation in range(20):
        to = destinations(5, "random", 3, generation)
        assert all(t != i and 0 <= t < 5 for i, t in enumerate(to))
        assert to == destinations(5, "random", 3, generation)


def _island_config(generations: int, *extra: str):
    return run_config(
        "xor", "run.seed=7", f"run.generations={generations}", "run.stop_on_solve=false", "population.size=40",
        "islands.count=3", "islands.migration_interval=2", "islands.migrants=2", *extra,
    )


@dataclass(frozen=True)
class PidXor(XorTask):
    """XOR whose results name the process that evaluated them."""

    def evaluate_batch(self, genomes, seeds):
        results = super().evaluate_batch(genomes, seeds)
        for result in results:
            result.metrics["pid"] = os.getpid()
        return results


class Pids(evolve.Callback):
    def __init__(self):
        self.seen = set()

    def on_generation(self, record):
        self.seen.update(r["metrics"]["pid"] for r in record.results)


def test_islands_exchange_migrants_and_resume_exactly(tmp_path):
    full, part = tmp_path / "full", tmp_path / "part"
    summary = start_run(_island_config(6, "run.workers=0"), full)
    assert summary["executor"] == "serial" and len(summary["islands"]) == 3
    assert len({island["seed"] for island in summary["islands"]}) == 3
    lines = _lines(full)
    assert len(lines) == 6 and all(len(m["islands"]) == 3 for m in lines)
    assert lines[-1]["evaluations"] == 3 * 40 * 6
    start_run(_island_config(4, "run.workers=0"), part)
    resume_run(_island_config(5, "run.workers=0"), part)  # migrates at 4, then evolves generation 4
    for island in load_checkpoint(checkpoint_path(part, 5))["state"]["islands"]:
        assert island["generation"] == 5
        arrived = [gid for gid, parents in island["parents"] if parents == []]  # immigrants have none
        assert len(arrived) == 2
    resume_run(_island_config(6, "run.workers=0"), part)
    assert _lines(part) == lines
    assert json.loads((part / "best.json").read_text()) == json.loads((full / "best.json").read_text())


def test_a_damaged_island_is_a_clear_error_before_any_worker_starts(tmp_path):
    start_run(_island_config(2, "run.workers=0"), tmp_path)
    checkpoint_path(tmp_path, 1).unlink(missing_ok=True)  # only the damaged one: an older one would be resumed from
    path = checkpoint_path(tmp_path, 2)
    document = json.loads(path.read_text())
    document["state"]["islands"][1]["genomes"]["node_counts"][0] += 1
    path.write_text(json.dumps(document))
    ray_before = ray.is_initialized()
    with pytest.raises(CheckpointError, match="island 1"):
        resume_run(_island_config(4, "run.workers=2"), tmp_path)
    assert ray.is_initialized() == ray_before
    document["state"]["islands"][1]["genomes"]["node_counts"][0] -= 1
    del document["state"]["islands"][2]
    path.write_text(json.dumps(document))
    with pytest.raises(CheckpointError, match="not a state of 3 islands"):
        resume_run(_island_config(4, "run.workers=0"), tmp_path)


def test_islands_on_ray_match_serial_islands_and_use_every_worker(tmp_path):
    task = PidXor()
    serial_pids, ray_pids = Pids(), Pids()
    serial = evolve.run(_island_config(4), task=task, workers=0, out=tmp_path / "serial", callbacks=[serial_pids])
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    try:
        on_ray = evolve.run(_island_config(4), task=task, workers=2, out=tmp_path / "ray", callbacks=[ray_pids])
    finally:
        ray.shutdown()
    assert on_ray.summary["executor"] == "ray" and on_ray.summary["workers"] == 2
    assert serial_pids.seen == {os.getpid()}
    assert len(ray_pids.seen) == 2 and os.getpid() not in ray_pids.seen  # 3 islands, 12 chunks, both workers
    no_pid = [_strip({k: v for k, v in m.items() if k != "pid"}) for m in on_ray.metrics]
    assert no_pid == [_strip({k: v for k, v in m.items() if k != "pid"}) for m in serial.metrics]
    assert on_ray.best_fitness == serial.best_fitness
