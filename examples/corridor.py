"""A Gymnasium environment of your own, registered on import: walk to a target on a line.

Importing this module registers `Corridor-v0`; the id `corridor:Corridor-v0` makes Gymnasium (and evolve, in every
process) import it first, so nothing needs to run before `gymnasium.make` or `evolve.run`.
"""

from __future__ import annotations

import gymnasium
import numpy as np
from gymnasium import spaces


class Corridor(gymnasium.Env):
    """Position and target in [-1, 1]; actions: step left, stay, step right (0.1 each). Reward 1 per step spent
    within 0.05 of the target, up to 50 steps; the target (-0.5 or 0.5) is drawn at reset."""

    metadata = {"render_modes": []}

    def __init__(self) -> None:
        self.observation_space = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float64)
        self.action_space = spaces.Discrete(3)
        self.position = self.target = 0.0

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.position, self.target = 0.0, float(self.np_random.choice([-0.5, 0.5]))
        return self._observation(), {}

    def step(self, action: int):
        self.position = float(np.clip(self.position + 0.1 * (int(action) - 1), -1.0, 1.0))
        reward = 1.0 if abs(self.position - self.target) < 0.05 else 0.0
        return self._observation(), reward, False, False, {}

    def _observation(self) -> np.ndarray:
        return np.array([self.position, self.target])


gymnasium.register("Corridor-v0", entry_point=Corridor, max_episode_steps=50, reward_threshold=40.0)
