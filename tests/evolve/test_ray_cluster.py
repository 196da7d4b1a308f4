"""Ray done right: the default command joins a cluster started with `ray start` on this machine once its job is
heavy enough for Ray, and an embedded Ray prints no warning lines."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import psutil

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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _stop_cluster(port: int) -> None:
    """Stop the `ray start` cluster whose GCS has `port`, and only it (`ray stop` ends every Ray of the machine,
    other runs' embedded ones too); its address file goes with it."""
    ours = [p for p in psutil.process_iter(["cmdline"])
            if any(arg.endswith((f":{port}", f"={port}")) for arg in p.info["cmdline"] or [])]
    for process in ours:
        process.terminate()
    _, alive = psutil.wait_procs(ours, timeout=30)
    for process in alive:
        process.kill()
    from ray._private.utils import get_ray_address_file

    address = Path(get_ray_address_file(None))
    if address.is_file() and address.read_text().strip().endswith(f":{port}"):
        address.unlink()


def test_the_default_command_joins_a_ray_cluster_started_on_this_machine(tmp_path):
    env = {**os.environ, "RAY_AUTH_MODE": "token"}
    port = _free_port()
    started = subprocess.run([str(BIN / "ray"), "start", "--head", "--port", str(port), "--num-cpus", "3",
                              "--include-dashboard=false", "--disable-usage-stats"],
                             capture_output=True, text=True, env=env, timeout=180)
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
        _stop_cluster(port)


FOREIGN = """
import sys, time, ray
ray.init(address="local", num_cpus=1, include_dashboard=False)
print(ray.get_runtime_context().gcs_address, flush=True)
sys.stdin.read()  # until the test is done
"""


def test_a_run_never_joins_another_runs_embedded_ray(tmp_path):
    """Two runs with embedded Rays on one machine: each keeps its own, so neither ends the other's evaluators when
    it finishes, and neither prints Ray's "multiple instances" warning."""
    foreign = subprocess.Popen([sys.executable, "-c", FOREIGN], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True, cwd=tmp_path)
    try:
        address = foreign.stdout.readline().strip()
        assert address, "the other embedded Ray started"
        done = _evolve(tmp_path, "--out", "run", "--set", "run.executor=ray")
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stderr.strip() == "", done.stderr[-2000:]
        host, _, port = address.rpartition(":")
        socket.create_connection((host, int(port)), timeout=5).close()  # the other Ray still answers
        assert foreign.poll() is None
    finally:
        foreign.stdin.close()
        foreign.wait(timeout=120)
