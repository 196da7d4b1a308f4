"""Many episodes of one Gymnasium environment stepped in lock step, each started from its own reset seed.

`lockstep_episodes` picks the fastest exact implementation: CartPole's native numpy vector environment (one array
update per step for every episode), or else one environment instance per episode, stepped in a loop. Either way
episode i reproduces `env.reset(seed=seeds[i])` followed by the same actions on a single environment, so a
population evaluated in lock step scores exactly as one evaluated genome by genome.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import gymnasium
import numpy as np
from gymnasium.envs.classic_control.cartpole import CartPoleEnv, CartPoleVectorEnv
from gymnasium.utils import seeding


class LockstepEpisodes(Protocol):
    def reset(self, seeds: Sequence[int]) -> np.ndarray:
        """Start one episode per seed; returns the first observations, (episodes, *obs_shape)."""
        ...

    def step(self, actions: np.ndarray, active: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Step the `active` episodes; returns observations, rewards and done flags for every episode (rows of
        inactive episodes are meaningless)."""
        ...


def lockstep_episodes(make_env: Any, episodes: int) -> LockstepEpisodes:
    """`make_env()` builds one environment; CartPole with default physics gets the native vector implementation."""
    probe = make_env()
    base = probe.unwrapped
    if type(base) is CartPoleEnv and base.kinematics_integrator == "euler" and not base._sutton_barto_reward:
        limit = probe.spec.max_episode_steps if probe.spec else None
        return CartPoleLockstep(episodes, limit or 10**9)
    return SingleEnvLockstep([probe, *(make_env() for _ in range(episodes - 1))])


class SingleEnvLockstep:
    """One environment instance per episode (any Gymnasium environment)."""

    def __init__(self, envs: list[gymnasium.Env]) -> None:
        self.envs = envs

    def reset(self, seeds: Sequence[int]) -> np.ndarray:
        return np.stack([np.asarray(env.reset(seed=int(s))[0]) for env, s in zip(self.envs, seeds, strict=True)])

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
    """Gymnasium's CartPoleVectorEnv (the same float64 physics as CartPoleEnv) with each episode's start state
    drawn as `CartPoleEnv.reset(seed)` draws it; episodes end at termination or `max_steps` steps."""

    def __init__(self, episodes: int, max_steps: int) -> None:
        self.env = CartPoleVectorEnv(num_envs=episodes, max_episode_steps=max_steps)
        self.max_steps = max_steps

    def reset(self, seeds: Sequence[int]) -> np.ndarray:
        self.env.reset(seed=0)
        starts = [seeding.np_random(int(s))[0].uniform(low=-0.05, high=0.05, size=(4,)) for s in seeds]
        self.env.state = np.stack(starts, axis=1)
        return self.env.state.T.astype(np.float32)

    def step(self, actions: np.ndarray, active: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        obs, rewards, terminated, truncated, _ = self.env.step(np.asarray(actions, dtype=np.int64))
        return obs, rewards.astype(np.float64), terminated | truncated
