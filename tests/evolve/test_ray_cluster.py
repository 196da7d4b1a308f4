"""Ray done right: the default command joins a cluster started with `ray start` on this machine, and an embedded
Ray prints no warning lines."""

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


def test_an_embedded_ray_run_prints_nothing_but_its_result(tmp_path):
    done = _evolve(tmp_path, "--out", "run")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr.strip() == "", done.stderr[-2000:]
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["executor"] == "ray"
    token = Path.home() / ".ray" / "auth_token"
    assert token.stat().st_mode & 0o777 == 0o600, "the cluster token is readable by its owner alone"


def test_the_default_command_joins_a_ray_cluster_started_on_this_machine(tmp_path):
    env = {**os.environ, "RAY_AUTH_MODE": "token"}
    started = subprocess.run([str(BIN / "ray"), "start", "--head", "--num-cpus", "3", "--include-dashboard=false",
                              "--disable-usage-stats"], capture_output=True, text=True, env=env, timeout=180)
    assert started.returncode == 0, started.stderr[-2000:]
    try:
        done = _evolve(tmp_path, "--out", "run")
        assert done.returncode == 0, done.stderr[-2000:]
        summary = json.loads((tmp_path / "run" / "summary.json").read_text())
        assert summary["executor"] == "ray" and summary["workers"] == 3  # one evaluator per CPU of that cluster
    finally:
        subprocess.run([str(BIN / "ray"), "stop", "--force"], capture_output=True, env=env, timeout=180)
