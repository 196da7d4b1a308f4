"""The double pole cart (`envs.double_pole`) as a Gymnasium environment, registered as "DoublePole-v0" and
"DoublePoleNoVelocity-v0" (the registry imports this module before it looks up a Gymnasium id)."""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np

from envs.double_pole import START_STATE, State, advance, failed, observe


class DoublePoleEnv(gymnasium.Env):
    """Gymnasium double pole cart: reward 1 per step survived, terminated on failure, truncated at max_steps.

    `reset(options={"state": [x, xdot, theta1, thetadot1, theta2, thetadot2]})` starts from a custom state;
    the default start is START_STATE. The dynamics are deterministic, so the seed has no effect.
    """

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, velocities: bool = True, max_steps: int = 100_000, render_mode: str | None = None) -> None:
        self.velocities = bool(velocities)
        self.max_steps = int(max_steps)
        self.render_mode = render_mode
        n = 6 if self.velocities else 3
        self.observation_space = gymnasium.spaces.Box(-np.inf, np.inf, shape=(n,), dtype=np.float64)
        self.action_space = gymnasium.spaces.Box(0.0, 1.0, shape=(1,), dtype=np.float32)
        self.state: State = START_STATE
        self.steps = 0

    def _obs(self) -> np.ndarray:
        return observe(np.array(self.state), self.velocities)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        start = (options or {}).get("state", START_STATE)
        state = tuple(float(v) for v in np.asarray(start, dtype=np.float64).ravel())
        if len(state) != 6:
            raise ValueError(f"a double pole state has 6 values, got {len(state)}")
        self.state, self.steps = state, 0  # type: ignore[assignment]
        return self._obs(), {}

    def step(self, action: Any):
        a = float(np.asarray(action, dtype=np.float64).ravel()[0])
        self.state = advance(self.state, min(max(a, 0.0), 1.0))
        self.steps += 1
        terminated = failed(self.state)
        truncated = not terminated and self.steps >= self.max_steps
        return self._obs(), 0.0 if terminated else 1.0, terminated, truncated, {}


def _register() -> None:
    for env_id, velocities in (("DoublePole-v0", True), ("DoublePoleNoVelocity-v0", False)):
        if env_id not in gymnasium.registry:
            gymnasium.register(
                env_id,
                entry_point="envs.double_pole_env:DoublePoleEnv",
                kwargs={"velocities": velocities},
                reward_threshold=100_000.0,
            )


_register()
