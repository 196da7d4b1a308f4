"""`evolve replay` for every task that can draw itself: CartPole-v1 (drawn without pygame) to a GIF, the pole tasks
(a drawn cart), and a one-line error for a task that draws nothing."""

from __future__ import annotations

import subprocess
import sys

import imageio.v2 as imageio
import numpy as np
import pytest

import evolve
from envs.cart_drawing import draw_cart
from envs.gym_task import GymTask
from tests.run_helpers import REPO


def evolve_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "evolve.cli", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300)


def test_a_cartpole_run_replays_to_a_gif_with_the_evaluations_return(tmp_path):
    result = evolve.run(REPO / "configs" / "cartpole.toml", seed=0, workers=0, out=tmp_path / "run",
                        overrides={"run.progress": False})
    assert result.summary["solved"]
    replayed = evolve_cli("replay", str(tmp_path / "run"), "--seed", "3", "-o", str(tmp_path / "episode.gif"))
    assert replayed.returncode == 0, replayed.stderr
    assert "replayed episode (--seed 3): fitness=" in replayed.stdout
    fitness = float(replayed.stdout.split("fitness=")[1].split()[0])
    task = GymTask(env_id="CartPole-v1", episodes=1)
    genome = evolve.load_genome(tmp_path / "run")
    assert fitness == task.evaluate(genome.phenotype(), np.random.default_rng(3)).fitness
    drawn: list[np.ndarray] = []
    assert task.replay(genome.phenotype(), np.random.default_rng(3), drawn.append).fitness == fitness
    assert len(drawn) == fitness + 1  # the reset frame and one per step
    frames = imageio.mimread(tmp_path / "episode.gif")
    # every 4th drawn frame, where Pillow merges identical neighbours into one (a balanced cart moves less than a
    # pixel in many steps): exactly the distinct runs of the drawn frames
    kept = drawn[::4]
    distinct = 1 + sum(not np.array_equal(a, b) for a, b in zip(kept, kept[1:]))
    assert len(frames) == distinct and distinct > 10
    assert frames[0].shape == (240, 480, 3) and len(np.unique(frames[0].reshape(-1, 3), axis=0)) > 2


@pytest.mark.parametrize("config", ["dpv", "dpnv"])
def test_the_pole_tasks_replay_a_drawn_cart(tmp_path, config):
    evolve.run(REPO / "configs" / f"{config}.toml", seed=0, workers=0, generations=2, out=tmp_path / "run",
               overrides={"run.progress": False, "population.size": 20})
    replayed = evolve_cli("replay", str(tmp_path / "run"), "-o", str(tmp_path / "episode.mp4"))
    assert replayed.returncode == 0, replayed.stderr
    assert "steps=" in replayed.stdout and (tmp_path / "episode.mp4").stat().st_size > 1000


def test_a_task_that_draws_nothing_is_a_one_line_error(tmp_path):
    evolve.run(REPO / "configs" / "xor.toml", seed=0, workers=0, generations=1, out=tmp_path / "run",
               overrides={"run.progress": False})
    replayed = evolve_cli("replay", str(tmp_path / "run"), "-o", str(tmp_path / "x.gif"))
    assert replayed.returncode == 2 and len(replayed.stderr.splitlines()) == 1
    assert "cannot be replayed as video (it draws no frames" in replayed.stderr


def test_a_drawn_cart_leans_its_poles_the_way_their_angles_say():
    upright, leaning = draw_cart(0.0, (0.0,), (0.5,), 2.4), draw_cart(0.0, (0.5,), (0.5,), 2.4)
    pole = np.array([204, 102, 51])
    columns = lambda frame: np.flatnonzero((frame == pole).all(axis=2).any(axis=0))  # noqa: E731
    assert np.ptp(columns(upright)) < 10 and columns(leaning).max() > columns(upright).max() + 40
