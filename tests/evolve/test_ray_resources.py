"""Evaluators that no node of the Ray cluster can hold fail fast with one line, instead of waiting forever."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.run_helpers import REPO

EVOLVE = Path(sys.executable).parent / "evolve"


@pytest.mark.parametrize("settings, message", [
    (["--workers", "1", "--set", "ray.num_gpus=64"], "ray.num_gpus = 64 per evaluator, but this machine's Ray has"),
    (["--set", "run.executor=ray", "--set", "ray.num_cpus=1000"], "ray.num_cpus = 1000 per evaluator"),
])
def test_resources_no_node_has_are_a_one_line_error(tmp_path, settings, message):
    done = subprocess.run([str(EVOLVE), "run", str(REPO / "configs" / "xor.toml"), "--out", str(tmp_path / "run"),
                           *settings], capture_output=True, text=True, timeout=180)
    assert done.returncode == 2, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "could ever start" in lines[0], done.stderr[-2000:]
