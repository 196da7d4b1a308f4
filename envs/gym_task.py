"""Any Gymnasium environment as an episodic control task (CartPole-v1 and friends).

The network reads the flattened observation. Discrete actions are the argmax over one output per action; Box
actions are the outputs clipped to the action bounds. Fitness is the mean undiscounted return over `episodes`
episodes whose reset seeds come from the evaluation's generator.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium
import numpy as np

from envs.live import live
from envs.lockstep import lockstep_episodes
from envs.task import EvalResult, Task, TaskSetupError
from genomes.neat_genome import NeatGenome
from genomes.params import param
from genomes.phenotype import Network
from genomes.population_network import PopulationNetwork, packable


@dataclass(frozen=True)
class GymTask(Task):
    env_id: str = param("CartPole-v1")
    episodes: int = param(1, ge=1, le=10_000)
    max_steps: int = param(0, ge=0, le=10_000_000, doc="0 keeps the environment's own time limit")
    solve_return: float = param(float("nan"), finite=False, doc="mean return that counts as solved (nan: the env's threshold)")

    def make_env(self) -> gymnasium.Env:
        kwargs = {"max_episode_steps": self.max_steps} if self.max_steps else {}
        return gymnasium.make(self.env_id, **kwargs)

    @property
    def env(self) -> gymnasium.Env:
        return live(self, "env", self.make_env)

    @property
    def num_inputs(self) -> int:
        return int(np.prod(self.env.observation_space.shape))

    @property
    def action_space(self) -> gymnasium.Space:
        return live(self, "action_space", lambda: self.env.action_space)

    @property
    def num_outputs(self) -> int:
        space = self.action_space
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
        space = self.action_space
        if isinstance(space, gymnasium.spaces.Discrete):
            return int(np.argmax(output)) + int(space.start)
        return np.clip(output, space.low.ravel(), space.high.ravel()).reshape(space.shape).astype(space.dtype)

    def act_batch(self, outputs: np.ndarray) -> np.ndarray:
        """`act` for (episodes, outputs) rows."""
        space = self.action_space
        if isinstance(space, gymnasium.spaces.Discrete):
            actions = outputs.argmax(axis=1)
            return actions + int(space.start) if space.start else actions
        low, high = space.low.ravel(), space.high.ravel()
        return np.clip(outputs, low, high).reshape(-1, *space.shape).astype(space.dtype)

    def episode_seeds(self, rng: np.random.Generator) -> np.ndarray:
        return rng.integers(0, 2**31 - 1, size=self.episodes)

    def evaluate(self, network: Network, rng: np.random.Generator) -> EvalResult:
        returns = []
        for seed in self.episode_seeds(rng):
            network.reset()
            obs, _ = self.env.reset(seed=int(seed))
            total, done = 0.0, False
            while not done:
                action = self.act(network.activate(np.asarray(obs, dtype=np.float64).ravel()))
                obs, reward, terminated, truncated, _ = self.env.step(action)
                total += float(reward)
                done = terminated or truncated
            returns.append(total)
        return self._result(np.array(returns))

    def evaluate_batch(self, genomes: Sequence[NeatGenome], seeds: Sequence[int]) -> list[EvalResult]:
        """Every genome's episodes at once: P genomes x E episodes stepped in lock step, one packed network call
        per step. Whenever half the genomes have finished all their episodes, the network and the environments
        shrink to the rest (row r of the environments is always episode r % E of the network's genome r // E).
        The same returns as `evaluate` genome by genome."""
        if not packable(genomes):
            return super().evaluate_batch(genomes, seeds)
        pop, eps = len(genomes), self.episodes
        episode_seeds = np.concatenate([self.episode_seeds(np.random.default_rng(s)) for s in seeds])
        envs = self._episodes(len(episode_seeds))
        network = PopulationNetwork(genomes)
        episode = np.arange(pop * eps)  # the episode of each environment row
        obs = envs.reset(episode_seeds)
        returns = np.zeros(pop * eps)  # by episode, collected when rows are dropped and at the end
        row_returns = np.zeros(pop * eps)  # by row, since the last collection
        active = np.ones(pop * eps, dtype=bool)
        while True:
            outputs = network.activate(obs.reshape(network.size, eps, -1))
            obs, rewards, done = envs.step(self.act_batch(outputs.reshape(len(episode), -1)), active)
            row_returns += rewards
            if not (done & active).any():
                continue
            active &= ~done
            running = active.reshape(network.size, eps).any(axis=1)
            remaining = np.count_nonzero(running)
            if remaining == 0:
                break
            if remaining <= network.size // 2:
                rows = np.flatnonzero(np.repeat(running, eps))
                returns[episode] += row_returns
                network = network.subset(np.flatnonzero(running))
                envs.keep(rows)
                obs, active, episode, row_returns = obs[rows], active[rows], episode[rows], np.zeros(len(rows))
        returns[episode] += row_returns
        return self._results(returns.reshape(pop, eps))

    def _results(self, returns: np.ndarray) -> list[EvalResult]:
        """One result per row of (genomes, episodes) returns."""
        threshold = self.threshold
        return [EvalResult(mean, {"return": mean, "min_return": low}, solved=mean >= threshold)
                for mean, low in zip(returns.mean(axis=1).tolist(), returns.min(axis=1).tolist())]

    def _result(self, returns: np.ndarray) -> EvalResult:
        return self._results(returns[None])[0]

    def interface(self) -> dict[str, Any]:
        space = self.action_space
        names = CARTPOLE_INPUTS if _is_cartpole(self.env) else [
            f"observation[{i}]" for i in range(self.num_inputs)]
        if isinstance(space, gymnasium.spaces.Discrete):
            outputs = [f"action {int(space.start) + i}" for i in range(self.num_outputs)]
            decode = "the action is the index of the largest output" + (f" plus {int(space.start)}" if space.start
                                                                        else "")
        else:
            outputs = [f"action[{i}]" for i in range(self.num_outputs)]
            decode = (f"the outputs clipped to the action bounds [{space.low.min():g}, {space.high.max():g}], "
                      f"reshaped to {tuple(space.shape)}")
        return {"inputs": list(names), "outputs": outputs, "decode": decode,
                "preprocessing": f"the {self.env_id} observation, flattened, as float"}

    def can_replay(self) -> bool:  # type: ignore[override]
        """Whether the environment can draw itself (an rgb_array renderer)."""
        return _is_cartpole(self.env) or "rgb_array" in self.env.metadata.get("render_modes", [])

    @property
    def replay_fps(self) -> float:  # type: ignore[override]
        return float(self.env.metadata.get("render_fps") or 30)

    def replay(self, network: Network, rng: np.random.Generator, sink: Callable[[np.ndarray], None]) -> EvalResult:
        """The first episode of an evaluation with `rng` (the same reset seed), frame by frame: CartPole drawn by
        `envs.cart_drawing` (no pygame needed), any other environment by its rgb_array renderer."""
        kwargs = {"max_episode_steps": self.max_steps} if self.max_steps else {}
        env = self.make_env() if _is_cartpole(self.env) else gymnasium.make(self.env_id, render_mode="rgb_array",
                                                                             **kwargs)
        draw = _cartpole_drawer(env.unwrapped) if _is_cartpole(self.env) else lambda: np.asarray(env.render())
        try:
            network.reset()
            obs, _ = env.reset(seed=int(self.episode_seeds(rng)[0]))
            sink(draw())
            total, done = 0.0, False
            while not done:
                action = self.act(network.activate(np.asarray(obs, dtype=np.float64).ravel()))
                obs, reward, terminated, truncated, _ = env.step(action)
                sink(draw())
                total += float(reward)
                done = terminated or truncated
        except gymnasium.error.DependencyNotInstalled as exc:
            raise TaskSetupError(f"{self.env_id} cannot draw itself here: {str(exc).splitlines()[0]}") from None
        finally:
            env.close()
        return self._result(np.array([total]))

    def _episodes(self, count: int) -> Any:
        """The lock-step environments for `count` episodes, built once per count."""
        return live(self, f"lockstep-{count}", lambda: lockstep_episodes(self.make_env, count))

    def verify(self, network: Network, rng: np.random.Generator) -> EvalResult:
        """`evaluate`, with the episodes stepped in lock step: one batched network call per step (the returns are
        the same, and a solved candidate's full-length episodes cost one step's overhead, not `episodes`)."""
        seeds = self.episode_seeds(rng)
        envs = self._episodes(len(seeds))
        network.reset()
        obs = envs.reset(seeds)
        returns = np.zeros(len(seeds))
        active = np.ones(len(seeds), dtype=bool)
        while True:
            # Every row every step, so a recurrent network's per-row state stays with its episode.
            obs, rewards, done = envs.step(self.act_batch(network.activate(obs.reshape(len(seeds), -1))), active)
            returns += rewards  # 0 for the finished episodes
            if (done & active).any():
                active &= ~done
                if not active.any():
                    return self._result(returns)


CARTPOLE_INPUTS = ("cart position", "cart velocity", "pole angle", "pole angular velocity")


def _is_cartpole(env: gymnasium.Env) -> bool:
    from gymnasium.envs.classic_control.cartpole import CartPoleEnv

    return isinstance(env.unwrapped, CartPoleEnv)


def _cartpole_drawer(env: Any) -> Callable[[], np.ndarray]:
    from envs.cart_drawing import draw_cart

    return lambda: draw_cart(env.state[0], (env.state[2],), (env.length,), env.x_threshold)
