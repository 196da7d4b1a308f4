"""Ray done right: the default command joins a cluster started with `ray start` on this machine once its job is
heavy enough for Ray, and an embedded Ray prints no warning lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.run_helpers import REPO

BIN = Path(sys.executable).parent


def _evolve(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "evolve"), "run", str(REPO / "configs" / "xor.toml"), "--generations", "2",
                           "--set", "run.progress=false", *args], capture_output=True, text=True, cwd=tmp_path,
                          timeout=300)


SLOW_PARITY = """
import itertools, time
import numpy as np

BITS = np.array(list(itertools.product([0.0, 1.0], repeat=3)))


def slow_parity(net):
    time.sleep(0.015)  # a fitness function that takes its time, as a simulation does
    return 8.0 - float(np.abs(net(BITS)[:, 0] - BITS.sum(axis=1) % 2).sum())


def task():
    import evolve

    return evolve.FunctionTask(slow_parity, 3, 1)
"""


def test_an_embedded_ray_run_prints_nothing_but_its_result(tmp_path):
    done = _evolve(tmp_path, "--out", "run", "--set", "run.executor=ray")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr.strip() == "", done.stderr[-2000:]
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["executor"] == "ray"
    token = Path.home() / ".ray" / "auth_token"
    assert token.stat().st_mode & 0o777 == 0o600, "the cluster token is readable by its owner alone"


LISTENING = """
import json, os, psutil
from evolve.ray_executor import RayExecutor

executor = RayExecutor(2)
assert executor.map(lambda payload, seed: payload, [1, 2], [0, 0]) == [1, 2]
ours = {os.getpid(), *(child.pid for child in psutil.Process().children(recursive=True))}
print(json.dumps(sorted({c.laddr.ip for c in psutil.net_connections("inet") if c.status == "LISTEN" and c.pid in ours})))
executor.close()
"""


def test_an_embedded_ray_listens_on_loopback_only(tmp_path):
    done = subprocess.run([sys.executable, "-c", LISTENING], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    addresses = json.loads(done.stdout.strip().splitlines()[-1])
    assert addresses and all(a in ("127.0.0.1", "::ffff:127.0.0.1") for a in addresses), addresses


def test_the_default_command_joins_a_ray_cluster_started_on_this_machine(tmp_path):
    env = {**os.environ, "RAY_AUTH_MODE": "token"}
    started = subprocess.run([str(BIN / "ray"), "start", "--head", "--num-cpus", "3", "--include-dashboard=false",
                              "--disable-usage-stats"], capture_output=True, text=True, env=env, timeout=180)
    assert started.returncode == 0, started.stderr[-2000:]
    (tmp_path / "slow_parity.py").write_text(SLOW_PARITY)
    try:
        # 20 genomes in 4 chunks, 0.3 s a generation: auto moves to Ray at once (start_after 0) and finds the cluster
        done = _evolve(tmp_path, "--out", "run", "--set", "env.id=slow_parity:task", "--set", "population.size=20",
                       "--set", "run.chunk_size=5", "--set", "ray.start_after=0", "--set", "run.stop_on_solve=false",
                       "--generations", "40")
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stderr.strip() == "", done.stderr[-2000:]
        summary = json.loads((tmp_path / "run" / "summary.json").read_text())
        assert summary["executor"] == "auto" and summary["workers"] == 3  # one evaluator per CPU of that cluster
        assert summary["executor_chunks"]["ray"] > 0
    finally:
        subprocess.run([str(BIN / "ray"), "stop", "--force"], capture_output=True, env=env, timeout=180)
