"""Any Gymnasium environment as an episodic control task (CartPole-v1 and friends).

The network reads the flattened observation. Discrete actions are the argmax over one output per action; Box
actions are the outputs clipped to the action bounds. Fitness is the mean undiscounted return over `episodes`
episodes whose reset seeds come from the evaluation's generator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gymnasium
import numpy as np

from envs.task import EvalResult
from genomes.params import param
from genomes.phenotype import Network


@dataclass
class GymTask:
    env_id: str = param("CartPole-v1")
    episodes: int = param(1, ge=1)
    max_steps: int = param(0, ge=0, doc="0 keeps the environment's own time limit")
    solve_return: float = param(float("nan"), doc="mean return that counts as solved (nan: the env's threshold)")
    _env: Any = field(default=None, init=False, repr=False, compare=False)

    @property
    def env(self) -> gymnasium.Env:
        if self._env is None:
            kwargs = {"max_episode_steps": self.max_steps} if self.max_steps else {}
            self._env = gymnasium.make(self.env_id, **kwargs)
        return self._env

    @property
    def num_inputs(self) -> int:
        return int(np.prod(self.env.observation_space.shape))

    @property
    def num_outputs(self) -> int:
        space = self.env.action_space
        if isinstance(space, gymnasium.spaces.Discrete):
            return int(space.n)
        if isinstance(space, gymnasium.spaces.Box):
            return int(np.prod(space.shape))
        raise TypeError(f"{self.env_id}: action space {space} is not Discrete or Box")

    @property
    def threshold(self) -> float:
        if not np.isnan(self.solve_return):
            return self.solve_return
        spec_threshold = self.env.spec.reward_threshold if self.env.spec else None
        return float(spec_threshold) if spec_threshold is not None else float("inf")

    def act(self, output: np.ndarray) -> Any:
        space = self.env.action_space
        if isinstance(space, gymnasium.spaces.Discrete):
            return int(np.argmax(output)) + int(space.start)
        return np.clip(output, space.low.ravel(), space.high.ravel()).reshape(space.shape).astype(space.dtype)

    def evaluate(self, network: Network, rng: np.random.Generator) -> EvalResult:
        returns = []
        for seed in rng.integers(0, 2**31 - 1, size=self.episodes):
            network.reset()
            obs, _ = self.env.reset(seed=int(seed))
            total, done = 0.0, False
            while not done:
                action = self.act(network.activate(np.asarray(obs, dtype=np.float64).ravel()))
                obs, reward, terminated, truncated, _ = self.env.step(action)
                total += float(reward)
                done = terminated or truncated
            returns.append(total)
        mean = float(np.mean(returns))
        return EvalResult(mean, {"return": mean, "min_return": float(np.min(returns))}, solved=mean >= self.threshold)

    def verify(self, network: Network, rng: np.random.Generator) -> EvalResult:
        return self.evaluate(network, rng)
