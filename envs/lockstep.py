"""Many episodes of one Gymnasium environment stepped in lock step, each started from its own reset seed.

`lockstep_episodes` picks the fastest exact implementation: for CartPole, Gymnasium's CartPole dynamics applied to
arrays of the running episodes (the constants come from Gymnasium's own environment; the update repeats
`CartPoleEnv.step` operation for operation in float64, as Gymnasium's CartPoleVectorEnv does, without the vector
environment's autoreset bookkeeping on every step), or else one environment instance per episode, stepped in a
loop. Either way episode i reproduces `env.reset(seed=seeds[i])` followed by the same actions on a single
environment, so a population evaluated in lock step scores exactly as one evaluated genome by genome.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import gymnasium
import numpy as np
from gymnasium.envs.classic_control.cartpole import CartPoleEnv
from gymnasium.utils import seeding


class LockstepEpisodes(Protocol):
    def reset(self, seeds: Sequence[int]) -> np.ndarray:
        """Start one episode per seed; returns the first observations, (episodes, *obs_shape)."""
        ...

    def step(self, actions: np.ndarray, active: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Step the `active` episodes; returns observations, rewards (0 for inactive episodes) and done flags for
        every episode (observations and flags of inactive episodes are meaningless)."""
        ...

    def keep(self, rows: np.ndarray) -> None:
        """Drop every episode but `rows` (in that order) until the next reset."""
        ...


def lockstep_episodes(make_env: Any, episodes: int) -> LockstepEpisodes:
    """`make_env()` builds one environment; CartPole with default physics gets the native vector implementation."""
    probe = make_env()
    base = probe.unwrapped
    if type(base) is CartPoleEnv and base.kinematics_integrator == "euler" and not base._sutton_barto_reward:
        limit = probe.spec.max_episode_steps if probe.spec else None
        return CartPoleLockstep(base, episodes, limit or 10**9)
    return SingleEnvLockstep([probe, *(make_env() for _ in range(episodes - 1))])


class SingleEnvLockstep:
    """One environment instance per episode (any Gymnasium environment)."""

    def __init__(self, envs: list[gymnasium.Env]) -> None:
        self.instances = envs
        self.envs = list(envs)  # the episodes still kept, in row order

    def reset(self, seeds: Sequence[int]) -> np.ndarray:
        self.envs = list(self.instances)
        return np.stack([np.asarray(env.reset(seed=int(s))[0]) for env, s in zip(self.envs, seeds, strict=True)])

    def keep(self, rows: np.ndarray) -> None:
        self.envs = [self.envs[i] for i in rows.tolist()]

    def step(self, actions: np.ndarray, active: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = len(self.envs)
        rewards, done = np.zeros(n), np.ones(n, dtype=bool)
        observations: list[Any] = [None] * n
        for i in np.flatnonzero(active):
            obs, reward, terminated, truncated, _ = self.envs[i].step(actions[i])
            observations[i], rewards[i], done[i] = np.asarray(obs), float(reward), terminated or truncated
        fill = next(o for o in observations if o is not None)
        return np.stack([fill if o is None else o for o in observations]), rewards, done


class CartPoleLockstep:
    """CartPole episodes as (4, episodes) float64 arrays; each starts where `CartPoleEnv.reset(seed)` starts and ends
    at termination or `max_steps` steps. Every kept episode is updated each step (finished ones too: their rows are
    ignored), which costs less than gathering the running ones; the update is elementwise, so a row's values do not
    depend on the others."""

    def __init__(self, env: CartPoleEnv, episodes: int, max_steps: int) -> None:
        self.env, self.episodes, self.max_steps = env, episodes, max_steps
        self.state = np.zeros((4, episodes))
        self.steps = np.zeros(episodes, dtype=np.int64)

    def reset(self, seeds: Sequence[int]) -> np.ndarray:
        starts = [seeding.np_random(int(s))[0].uniform(low=-0.05, high=0.05, size=(4,)) for s in seeds]
        self.state = np.stack(starts, axis=1)
        self.steps = np.zeros(len(seeds), dtype=np.int64)
        return self.state.T.astype(np.float32)

    def keep(self, rows: np.ndarray) -> None:
        self.state, self.steps = self.state[:, rows], self.steps[rows]

    def step(self, actions: np.ndarray, active: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        e = self.env
        x, x_dot, theta, theta_dot = self.state
        force = np.where(np.asarray(actions) == 1, e.force_mag, -e.force_mag)
        costheta, sintheta = np.cos(theta), np.sin(theta)
        temp = (force + e.polemass_length * np.square(theta_dot) * sintheta) / e.total_mass
        thetaacc = (e.gravity * sintheta - costheta * temp) / (
            e.length * (4.0 / 3.0 - e.masspole * np.square(costheta) / e.total_mass)
        )
        xacc = temp - e.polemass_length * thetaacc * costheta / e.total_mass
        x, x_dot = x + e.tau * x_dot, x_dot + e.tau * xacc
        theta, theta_dot = theta + e.tau * theta_dot, theta_dot + e.tau * thetaacc
        self.state = np.stack((x, x_dot, theta, theta_dot))
        self.steps += 1
        terminated = (np.abs(x) > e.x_threshold) | (np.abs(theta) > e.theta_threshold_radians)
        return self.state.T.astype(np.float32), active.astype(np.float64), terminated | (self.steps >= self.max_steps)
