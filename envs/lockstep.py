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

from envs.batch_seeding import uniform_per_seed


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


# Up to this many episodes a CartPole step runs on Python floats: numpy's fixed cost per call (about 25 calls a
# step) outweighs the arithmetic on a handful of rows, and lock-step evaluation spends most of its steps there.
SCALAR_ROWS = 12


class CartPoleLockstep:
    """CartPole episodes as a (4, episodes) float64 state; each starts where `CartPoleEnv.reset(seed)` starts and
    ends at termination or `max_steps` steps. Every kept episode is updated each step (finished ones too: their
    rows are ignored), which costs less than gathering the running ones; the update is elementwise, so a row's
    values do not depend on the others. All episodes start together, so one step counter serves them all.

    Both step paths, numpy arrays and Python floats (up to `scalar_rows` episodes), evaluate CartPoleEnv.step's
    expressions in its order of operations with IEEE double arithmetic and numpy's cos and sin, so they give the
    same bits."""

    def __init__(self, env: CartPoleEnv, episodes: int, max_steps: int, scalar_rows: int = SCALAR_ROWS) -> None:
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
