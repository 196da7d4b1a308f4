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

from envs.cartpole import CartPoleLockstep


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
