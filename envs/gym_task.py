"""Any Gymnasium environment as an episodic control task (CartPole-v1 and friends).

The network reads the flattened observation. Discrete actions are the argmax over one output per action; Box
actions are the outputs clipped to the action bounds. Fitness is the mean undiscounted return over `episodes`
episodes whose reset seeds come from the evaluation's generator. `CartPole-v1` runs on `envs.cartpole`'s own arrays
(the same episodes bit for bit) and never imports Gymnasium; every other id builds Gymnasium's environment.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from envs.batch_seeding import integers_per_seed
from envs.cartpole import CARTPOLE, CARTPOLE_ID, MAX_EPISODE_STEPS, RENDER_FPS, REWARD_THRESHOLD, CartPoleLockstep
from envs.live import live
from envs.task import EvalResult, Task, TaskSetupError
from genomes.neat_genome import NeatGenome
from genomes.params import param
from genomes.phenotype import Network
from genomes.population_network import PopulationNetwork, packable

if TYPE_CHECKING:
    import gymnasium


@dataclass(frozen=True)
class DiscreteActions:
    """A discrete action space of `n` actions from `start` (what a native environment has for gymnasium's)."""

    n: int
    start: int = 0


@dataclass(frozen=True)
class GymTask(Task):
    env_id: str = param("CartPole-v1")
    episodes: int = param(1, ge=1, le=10_000)
    max_steps: int = param(0, ge=0, le=10_000_000, doc="0 keeps the environment's own time limit")
    solve_return: float = param(float("nan"), finite=False, doc="mean return that counts as solved (nan: the env's threshold)")

    @property
    def native(self) -> bool:
        """Whether this task runs on `envs.cartpole` instead of a Gymnasium environment."""
        return self.env_id == CARTPOLE_ID

    def make_env(self) -> gymnasium.Env:
        import gymnasium

        kwargs = {"max_episode_steps": self.max_steps} if self.max_steps else {}
        return gymnasium.make(self.env_id, **kwargs)

    @property
    def env(self) -> gymnasium.Env:
        return live(self, "env", self.make_env)

    @property
    def num_inputs(self) -> int:
        return 4 if self.native else int(np.prod(self.env.observation_space.shape))

    @property
    def action_space(self) -> Any:
        if self.native:
            return CARTPOLE_ACTIONS
        return live(self, "action_space", lambda: self.env.action_space)

    @property
    def num_outputs(self) -> int:
        space = self.action_space
        if (discrete := _discrete(space)) is not None:
            return discrete[0]
        import gymnasium

        if isinstance(space, gymnasium.spaces.Box):
            return int(np.prod(space.shape))
        raise TypeError(f"{self.env_id}: action space {space} is not Discrete or Box")

    @property
    def threshold(self) -> float:
        if not np.isnan(self.solve_return):
            return self.solve_return
        if self.native:
            return REWARD_THRESHOLD
        spec_threshold = self.env.spec.reward_threshold if self.env.spec else None
        return float(spec_threshold) if spec_threshold is not None else float("inf")

    def act(self, output: np.ndarray) -> Any:
        space = self.action_space
        if (discrete := _discrete(space)) is not None:
            return int(np.argmax(output)) + discrete[1]
        return np.clip(output, space.low.ravel(), space.high.ravel()).reshape(space.shape).astype(space.dtype)

    def act_batch(self, outputs: np.ndarray) -> np.ndarray:
        """`act` for (episodes, outputs) rows."""
        space = self.action_space
        if (discrete := _discrete(space)) is not None:
            actions = outputs.argmax(axis=1)
            return actions + discrete[1] if discrete[1] else actions
        low, high = space.low.ravel(), space.high.ravel()
        return np.clip(outputs, low, high).reshape(-1, *space.shape).astype(space.dtype)

    def episode_seeds(self, rng: np.random.Generator) -> np.ndarray:
        return rng.integers(0, 2**31 - 1, size=self.episodes)

    def _episode_seeds_of(self, seeds: Sequence[int]) -> np.ndarray:
        """Every genome's episode seeds, in order: `episode_seeds(default_rng(seed))` for each evaluation seed, drawn
        for all seeds at once unless a subclass draws them its own way."""
        if type(self).episode_seeds is GymTask.episode_seeds:
            return integers_per_seed(np.asarray(seeds, dtype=np.int64), 2**31 - 1, self.episodes).ravel()
        return np.concatenate([self.episode_seeds(np.random.default_rng(s)) for s in seeds])

    def evaluate(self, network: Network, rng: np.random.Generator) -> EvalResult:
        return self.verify(network, rng)

    def evaluate_batch(self, genomes: Sequence[NeatGenome], seeds: Sequence[int]) -> list[EvalResult]:
        """Every genome's episodes at once: P genomes x E episodes stepped in lock step, one packed network call
        per step. Whenever half the genomes have finished all their episodes, the network and the environments
        shrink to the rest (row r of the environments is always episode r % E of the network's genome r // E).
        The same returns as `evaluate` genome by genome."""
        if not packable(genomes):
            return super().evaluate_batch(genomes, seeds)
        pop, eps = len(genomes), self.episodes
        episode_seeds = self._episode_seeds_of(seeds)
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
        names = CARTPOLE_INPUTS if self._is_cartpole() else [f"observation[{i}]" for i in range(self.num_inputs)]
        if (discrete := _discrete(space)) is not None:
            n, start = discrete
            outputs = [f"action {start + i}" for i in range(n)]
            decode = "the action is the index of the largest output" + (f" plus {start}" if start else "")
        else:
            outputs = [f"action[{i}]" for i in range(self.num_outputs)]
            decode = (f"the outputs clipped to the action bounds [{space.low.min():g}, {space.high.max():g}], "
                      f"reshaped to {tuple(space.shape)}")
        return {"inputs": list(names), "outputs": outputs, "decode": decode,
                "preprocessing": f"the {self.env_id} observation, flattened, as float"}

    def _is_cartpole(self) -> bool:
        if self.native:
            return True
        from gymnasium.envs.classic_control.cartpole import CartPoleEnv

        return isinstance(self.env.unwrapped, CartPoleEnv)

    def can_replay(self) -> bool:  # type: ignore[override]
        """Whether the environment can draw itself (an rgb_array renderer)."""
        return self._is_cartpole() or "rgb_array" in self.env.metadata.get("render_modes", [])

    @property
    def replay_fps(self) -> float:  # type: ignore[override]
        return float(RENDER_FPS if self.native else self.env.metadata.get("render_fps") or 30)

    def replay(self, network: Network, rng: np.random.Generator, sink: Callable[[np.ndarray], None]) -> EvalResult:
        """The first episode of an evaluation with `rng` (the same reset seed), frame by frame: CartPole drawn by
        `envs.cart_drawing` (no pygame needed), any other environment by its rgb_array renderer."""
        seed = int(self.episode_seeds(rng)[0])
        if self._is_cartpole():
            return self._result(np.array([_replay_cartpole(self._episodes(1), network, seed, self.act_batch, sink)]))
        import gymnasium

        kwargs = {"max_episode_steps": self.max_steps} if self.max_steps else {}
        env = gymnasium.make(self.env_id, render_mode="rgb_array", **kwargs)
        try:
            network.reset()
            obs, _ = env.reset(seed=seed)
            sink(np.asarray(env.render()))
            total, done = 0.0, False
            while not done:
                action = self.act(network.activate(np.asarray(obs, dtype=np.float64).ravel()))
                obs, reward, terminated, truncated, _ = env.step(action)
                sink(np.asarray(env.render()))
                total += float(reward)
                done = terminated or truncated
        except gymnasium.error.DependencyNotInstalled as exc:
            raise TaskSetupError(f"{self.env_id} cannot draw itself here: {str(exc).splitlines()[0]}") from None
        finally:
            env.close()
        return self._result(np.array([total]))

    def _episodes(self, count: int) -> Any:
        """The lock-step environments for `count` episodes, built once per count."""
        if self.native:
            steps = self.max_steps or MAX_EPISODE_STEPS
            return live(self, f"lockstep-{count}", lambda: CartPoleLockstep(CARTPOLE, count, steps))
        from envs.lockstep import lockstep_episodes

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


CARTPOLE_ACTIONS = DiscreteActions(2)  # push left, push right
CARTPOLE_INPUTS = ("cart position", "cart velocity", "pole angle", "pole angular velocity")


def _discrete(space: Any) -> tuple[int, int] | None:
    """(actions, first action) of a discrete action space; None for any other space."""
    if isinstance(space, DiscreteActions):
        return space.n, space.start
    import gymnasium

    if isinstance(space, gymnasium.spaces.Discrete):
        return int(space.n), int(space.start)
    return None


def _replay_cartpole(episodes: CartPoleLockstep, network: Network, seed: int,
                     act_batch: Callable[[np.ndarray], np.ndarray], sink: Callable[[np.ndarray], None]) -> float:
    """One CartPole episode from `seed`, each state drawn into `sink`; its return."""
    from envs.cart_drawing import draw_cart

    physics = episodes.env

    def draw() -> np.ndarray:
        return draw_cart(episodes.state[0, 0], (episodes.state[2, 0],), (physics.length,), physics.x_threshold)

    network.reset()
    obs = episodes.reset([seed])
    sink(draw())
    total, active = 0.0, np.ones(1, dtype=bool)
    while True:
        obs, rewards, done = episodes.step(act_batch(network.activate(obs.reshape(1, -1))), active)
        sink(draw())
        total += float(rewards[0])
        if done[0]:
            return total
