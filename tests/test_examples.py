"""Every script in examples/ runs as a user would run it and reaches its goal."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.run_helpers import REPO


def _example(tmp_path, name: str, *args: str) -> str:
    done = subprocess.run([sys.executable, str(REPO / "examples" / name), *args], capture_output=True, text=True,
                          cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.parametrize("name", ["parity.py", "batched_fitness.py", "gym_env.py"])
def test_example_solves_serially(tmp_path, name):
    assert "solved=True" in _example(tmp_path, name, "--workers", "0").splitlines()[0]


def test_a_user_environment_beside_the_script_reaches_ray_workers(tmp_path):
    """examples/corridor.py is importable only from the script's folder: the embedded Ray's workers get the
    driver's import path, so they make the environment too."""
    out = _example(tmp_path, "gym_env.py", "--workers", "2")
    assert "solved=True" in out
