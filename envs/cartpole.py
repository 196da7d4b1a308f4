"""CartPole-v1 without Gymnasium: its physics constants and episodes stepped in lock step, bit for bit as
Gymnasium's `CartPoleEnv` (Euler integration, reward 1 per step including the one that ends the episode, 500-step
limit, solved at a mean return of 475).

A run of `CartPole-v1` steps only these arrays, so it never imports Gymnasium (about a tenth of a CartPole run's
whole process); `tests/envs/test_lockstep.py` checks the constants and the episodes against Gymnasium's own
environment. Other Gymnasium ids go through `envs.lockstep`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from envs.batch_seeding import uniform_per_seed

CARTPOLE_ID = "CartPole-v1"
MAX_EPISODE_STEPS = 500  # CartPole-v1's registered time limit
REWARD_THRESHOLD = 475.0  # CartPole-v1's registered reward threshold
RENDER_FPS = 50


@dataclass(frozen=True)
class CartPolePhysics:
    """The constants of Gymnasium's CartPoleEnv, under its attribute names."""

    gravity: float = 9.8
    masscart: float = 1.0
    masspole: float = 0.1
    length: float = 0.5  # half the pole's length
    force_mag: float = 10.0
    tau: float = 0.02  # seconds per step
    theta_threshold_radians: float = 12 * 2 * math.pi / 360
    x_threshold: float = 2.4

    @property
    def total_mass(self) -> float:
        return self.masspole + self.masscart

    @property
    def polemass_length(self) -> float:
        return self.masspole * self.length


CARTPOLE = CartPolePhysics()


# Up to this many episodes a CartPole step runs on Python floats: numpy's fixed cost per call (about 25 calls a
# step) outweighs the arithmetic on a handful of rows, and lock-step evaluation spends most of its steps there.
SCALAR_ROWS = 12


class CartPoleLockstep:
    """CartPole episodes of `env`'s physics (a CartPoleEnv, or `CARTPOLE`) as a (4, episodes) float64 state; each starts where `CartPoleEnv.reset(seed)` starts and
    ends at termination or `max_steps` steps. Every kept episode is updated each step (finished ones too: their
    rows are ignored), which costs less than gathering the running ones; the update is elementwise, so a row's
    values do not depend on the others. All episodes start together, so one step counter serves them all.

    Both step paths, numpy arrays and Python floats (up to `scalar_rows` episodes), evaluate CartPoleEnv.step's
    expressions in its order of operations with IEEE double arithmetic and numpy's cos and sin, so they give the
    same bits."""

    def __init__(self, env: Any, episodes: int, max_steps: int, scalar_rows: int = SCALAR_ROWS) -> None:
        self.env, self.episodes, self.max_steps, self.scalar_rows = env, episodes, max_steps, scalar_rows
        self.state = np.zeros((4, episodes))
        self.steps = 0
        self._force = np.array([-env.force_mag, env.force_mag])
        self._limits = np.array([[env.x_threshold], [env.theta_threshold_radians]])

    def reset(self, seeds: Sequence[int]) -> np.ndarray:
        # what CartPoleEnv.reset(seed) draws: seeding.np_random(seed)[0].uniform(-0.05, 0.05, 4)
        self.state = np.ascontiguousarray(uniform_per_seed(seeds, -0.05, 0.05, 4).T)
        self.steps = 0
        return self.state.T.astype(np.float32)

    def keep(self, rows: np.ndarray) -> None:
        self.state = self.state[:, rows]

    def step(self, actions: np.ndarray, active: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self.state.shape[1] <= self.scalar_rows:
            done = self._step_floats(actions)
        else:
            done = self._step_arrays(actions)
        self.steps += 1
        if self.steps >= self.max_steps:
            done[:] = True
        return self.state.T.astype(np.float32), active.astype(np.float64), done

    def _step_arrays(self, actions: np.ndarray) -> np.ndarray:
        # The Euler update as state + tau * (x_dot, xacc, theta_dot, thetaacc), in place.
        e, state = self.env, self.state
        theta, theta_dot = state[2], state[3]
        costheta, sintheta = np.cos(theta), np.sin(theta)
        temp = (self._force[actions] + e.polemass_length * np.square(theta_dot) * sintheta) / e.total_mass
        derivative = np.empty_like(state)
        derivative[0::2] = state[1::2]
        thetaacc = np.divide(e.gravity * sintheta - costheta * temp,
                             e.length * (4.0 / 3.0 - e.masspole * np.square(costheta) / e.total_mass), out=derivative[3])
        np.subtract(temp, e.polemass_length * thetaacc * costheta / e.total_mass, out=derivative[1])
        derivative *= e.tau
        state += derivative
        return (np.abs(state[0::2]) > self._limits).any(axis=0)

    def _step_floats(self, actions: np.ndarray) -> np.ndarray:
        e = self.env
        force, plm, mass, gravity = e.force_mag, e.polemass_length, e.total_mass, e.gravity
        length, masspole, tau, x_limit, theta_limit = e.length, e.masspole, e.tau, e.x_threshold, e.theta_threshold_radians
        cosines, sines = np.cos(self.state[2]).tolist(), np.sin(self.state[2]).tolist()
        rows, done = [], []
        for x, x_dot, theta, theta_dot, costheta, sintheta, action in zip(
            *self.state.tolist(), cosines, sines, actions.tolist()
        ):
            temp = ((force if action == 1 else -force) + plm * (theta_dot * theta_dot) * sintheta) / mass
            thetaacc = (gravity * sintheta - costheta * temp) / (
                length * (4.0 / 3.0 - masspole * (costheta * costheta) / mass)
            )
            xacc = temp - plm * thetaacc * costheta / mass
            x, theta = x + tau * x_dot, theta + tau * theta_dot
            rows.append((x, x_dot + tau * xacc, theta, theta_dot + tau * thetaacc))
            done.append(abs(x) > x_limit or abs(theta) > theta_limit)
        self.state = np.array(rows).reshape(-1, 4).T
        return np.array(done, dtype=bool)
