"""Double pole balancing tasks of the NEAT paper: with velocities ("dpv") and without ("dpnv").

The network sees the normalized state (no bias input: NEAT nodes carry their own biases) and its first output,
clipped to [0, 1], is the action. Every episode starts from START_STATE (long pole at 0.07 rad) unless stated.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from envs.double_pole import (
    ANGLE_LIMIT,
    LENGTH_1,
    LENGTH_2,
    OBS_SCALE,
    POSITION_COLUMNS,
    START_STATE,
    X_LIMIT,
    State,
    advance,
    advance_batch,
    failed,
    failed_batch,
    observe,
)
from envs.task import EvalResult, Task
from genomes.neat_genome import NeatGenome
from genomes.params import param
from genomes.phenotype import Network
from genomes.population_network import PopulationNetwork, packable

ALONE = 8  # lock-step costs more than genome-by-genome stepping below about this many carts
JIGGLE_WINDOW = 100  # Gruau et al.'s damping term looks at the last 100 balanced steps
GRID_VALUES = (0.05, 0.25, 0.5, 0.75, 0.95)
# Half-ranges of the generalization starts: x, xdot, theta1 (3.6 degrees), thetadot1 (8.6 degrees/s).
GRID_HALF_RANGES = (2.16, 1.35, 0.06283152, 0.15009752)


def generalization_starts() -> np.ndarray:
    """The paper's 625 generalization start states, (625, 6): value * 2 * half - half over a 5^4 grid."""
    v = np.array(GRID_VALUES)
    axes = [v * (2 * h) - h for h in GRID_HALF_RANGES]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 4)
    states = np.zeros((len(grid), 6))
    states[:, :4] = grid
    return states


def balance(
    network: Network,
    max_steps: int,
    velocities: bool,
    start: State = START_STATE,
    jiggle: deque[float] | None = None,
) -> int:
    """Steps one cart stays in bounds under `network` (at most max_steps). With `jiggle`, appends
    |x| + |xdot| + |theta1| + |thetadot1| of every balanced state to it (a bounded deque keeps the last ones)."""
    network.reset()
    activate = network.activate
    s1, s2, s3, s4, s5, s6 = OBS_SCALE.tolist()
    state = start
    x, v, t1, w1, t2, w2 = state
    steps = 0
    while steps < max_steps:
        obs = (x / s1, v / s2, t1 / s3, w1 / s4, t2 / s5, w2 / s6) if velocities else (x / s1, t1 / s3, t2 / s5)
        a = float(activate(np.array(obs))[0])
        state = advance(state, 1.0 if a > 1.0 else a if a >= 0.0 else 0.0)  # NaN -> 0
        x, v, t1, w1, t2, w2 = state
        if not (-X_LIMIT <= x <= X_LIMIT and -ANGLE_LIMIT <= t1 <= ANGLE_LIMIT and -ANGLE_LIMIT <= t2 <= ANGLE_LIMIT):
            break  # as `failed(state)`, NaN included
        steps += 1
        if jiggle is not None:
            jiggle.append(abs(x) + abs(v) + abs(t1) + abs(w1))
    return steps


def balance_batch(network: Network, starts: np.ndarray, max_steps: int, velocities: bool) -> np.ndarray:
    """(B,) steps each of a batch of carts stays in bounds, one `network.activate` call per step for the whole
    batch (a recurrent network keeps per-row state). A cart that fails keeps its last in-bounds state and is no
    longer simulated; its row still goes through the network, whose output is ignored."""
    network.reset()
    states = np.array(starts, dtype=np.float64)
    steps = np.zeros(len(states), dtype=np.int64)
    alive = np.flatnonzero(~failed_batch(states))
    for _ in range(max_steps):
        if not len(alive):
            break
        out = network.activate(observe(states, velocities))[:, 0]
        actions = np.nan_to_num(np.clip(out[alive], 0.0, 1.0), nan=0.0)
        moved = advance_batch(states[alive], actions)
        ok = ~failed_batch(moved)
        alive = alive[ok]
        states[alive] = moved[ok]
        steps[alive] += 1
    return steps


def balance_population(
    network: PopulationNetwork, max_steps: int, velocities: bool, start: State = START_STATE
) -> tuple[np.ndarray, np.ndarray]:
    """Every genome of a packed population balancing its own cart from `start`, in lock step: one network call
    per step for the whole population, shrunk to the genomes still balancing whenever half of them have failed.
    Feed-forward genomes still balancing when at most ALONE are left finish one by one on their own compiled
    phenotypes and scalar physics (a batch that small only adds overhead; a feed-forward network has no state to
    hand over). Returns the steps each
    balanced and the sum of the jiggle |x| + |xdot| + |theta1| + |thetadot1| over its last JIGGLE_WINDOW balanced
    steps (of the lock-step part; the jiggle matters only for episodes short enough to stay in it)."""
    pop = network.size
    network.reset()
    states = np.tile(np.asarray(start, dtype=np.float64), (pop, 1))
    steps = np.zeros(pop, dtype=np.int64)
    jiggle = np.zeros((pop, JIGGLE_WINDOW))
    alive = np.flatnonzero(~failed_batch(states))
    rows = alive.copy()  # the network row of each live cart
    for t in range(max_steps):
        if not len(alive):
            break
        if len(alive) <= network.size // 2:
            network, rows = network.subset(rows), np.arange(len(alive))
        inputs = np.zeros((network.size, 1, network.num_inputs))
        inputs[rows, 0] = observe(states[alive], velocities)
        out = network.activate(inputs)[:, 0, 0][rows]
        moved = advance_batch(states[alive], np.nan_to_num(np.clip(out, 0.0, 1.0), nan=0.0))
        ok = ~failed_batch(moved)
        alive, rows, moved = alive[ok], rows[ok], moved[ok]
        states[alive] = moved
        steps[alive] += 1
        jiggle[alive, t % JIGGLE_WINDOW] = np.abs(moved[:, :4]).sum(axis=1)
        if len(alive) <= ALONE and not network.recurrent and t + 1 < max_steps:
            for i, row in zip(alive.tolist(), rows.tolist()):
                phenotype = network.genomes[row].phenotype()
                steps[i] += balance(phenotype, max_steps - t - 1, velocities, start=tuple(states[i].tolist()))
            break
    return steps, jiggle.sum(axis=1)


def damping_fitness(steps: int, jiggle: deque[float] | list[float], max_steps: int = 1000) -> float:
    """Gruau et al.'s fitness 0.1 * t / max_steps + 0.9 * f2, f2 = 0.75 / (sum of the last 100 jiggle values)
    once t >= 100 (else 0); `jiggle` holds |x| + |xdot| + |theta1| + |thetadot1| of the balanced states."""
    f1 = steps / max_steps
    if steps < JIGGLE_WINDOW:
        return 0.1 * f1
    total = sum(list(jiggle)[-JIGGLE_WINDOW:])
    return 0.1 * f1 + 0.9 * 0.75 / max(total, 1e-12)


POLE_INPUTS = ("cart position", "cart velocity", "long pole angle", "long pole angular velocity",
               "short pole angle", "short pole angular velocity")


def pole_interface(velocities: bool) -> dict[str, Any]:
    """The pole tasks' `Task.interface`."""
    columns = range(6) if velocities else POSITION_COLUMNS.tolist()
    return {"inputs": [POLE_INPUTS[c] for c in columns],
            "outputs": ["push"],
            "preprocessing": "the state (m, m/s, rad, rad/s) divided by "
                             + ", ".join(f"{OBS_SCALE[c]:g}" for c in columns),
            "decode": "the output clipped to [0, 1] is the push: a force of (push - 0.5) x 20 N for 0.02 s"}


REPLAY_STEPS = 1_500  # a replayed episode's cap: 30 simulated seconds (50 steps a second), not the 30-minute test


def replay_balance(network: Network, velocities: bool, max_steps: int, sink: Callable[[np.ndarray], None]) -> int:
    """`balance` from the standard start, drawing every state (`envs.cart_drawing`) for `sink`; the steps balanced."""
    from envs.cart_drawing import draw_cart

    def draw(state: State) -> None:
        sink(draw_cart(state[0], (state[2], state[4]), (LENGTH_1, LENGTH_2), X_LIMIT))

    network.reset()
    state = START_STATE
    draw(state)
    for step in range(max_steps):
        action = float(network.activate(observe(np.array(state), velocities))[0])
        state = advance(state, 1.0 if action > 1.0 else action if action >= 0.0 else 0.0)  # NaN -> 0
        if failed(state):
            return step
        draw(state)
    return max_steps


class PoleTask(Task):
    """What both pole tasks share: their interface and a replay of the standard start as a drawn cart."""

    velocities: ClassVar[bool]
    max_steps: int
    replay_fps: ClassVar[float] = 50.0

    def interface(self) -> dict[str, Any]:
        return pole_interface(self.velocities)

    def replay(self, network: Network, rng: np.random.Generator, sink: Callable[[np.ndarray], None]) -> EvalResult:
        """The standard start balanced for at most REPLAY_STEPS steps, drawn; the fitness is the steps."""
        steps = replay_balance(network, self.velocities, min(self.max_steps, REPLAY_STEPS), sink)
        return EvalResult(float(steps), {"steps": float(steps)}, solved=False)


@dataclass(frozen=True)
class DoublePoleVelocityTask(PoleTask):
    """Markov double pole: fitness is the number of steps balanced from the standard start."""

    env_id: ClassVar[str] = "dpv"
    velocities: ClassVar[bool] = True
    max_steps: int = param(100_000, ge=1, le=100_000_000, doc="steps to balance (the paper: 100,000, ~30 simulated minutes)")

    num_inputs: ClassVar[int] = 6
    num_outputs: ClassVar[int] = 1

    def evaluate(self, network: Network, rng: np.random.Generator) -> EvalResult:
        return self._result(balance(network, self.max_steps, velocities=True))

    def evaluate_batch(self, genomes: Sequence[NeatGenome], seeds: Sequence[int]) -> list[EvalResult]:
        """The population balancing in lock step (numpy physics for every cart; equal to `evaluate` up to the
        float rounding of array versus scalar math, which a chaotic system can amplify)."""
        if not packable(genomes):
            return super().evaluate_batch(genomes, seeds)
        steps, _ = balance_population(PopulationNetwork(genomes), self.max_steps, velocities=True)
        return [self._result(int(s)) for s in steps]

    def _result(self, steps: int) -> EvalResult:
        return EvalResult(float(steps), {"steps": float(steps)}, solved=steps >= self.max_steps)

    def verify(self, network: Network, rng: np.random.Generator) -> EvalResult:
        return self.evaluate(network, rng)


@dataclass(frozen=True)
class DoublePoleNoVelocityTask(PoleTask):
    """Non-Markov double pole (x, theta1, theta2 only; meant for recurrent genomes) with Gruau et al.'s damping
    fitness. A genome balancing `max_steps` is a candidate; `verify` is the paper's champion test: balance
    `verify_steps` from the standard start, then at least `generalization_threshold` of the 625 grid starts for
    `generalization_steps` each (skipped, scoring 0, when the long test fails). verify's fitness is that score.
    Both tests ask for every step; the reference code let 99,999 and 999 steps pass."""

    env_id: ClassVar[str] = "dpnv"
    velocities: ClassVar[bool] = False
    max_steps: int = param(1000, ge=JIGGLE_WINDOW, le=100_000_000, doc="episode length of the damping fitness")
    verify_steps: int = param(100_000, ge=1, le=100_000_000, doc="steps the champion must balance from the standard start")
    generalization_steps: int = param(1000, ge=1, le=10_000_000, doc="steps each generalization start must balance")
    generalization_threshold: int = param(200, ge=0, le=625, doc="generalization starts to pass (of 625)")

    num_inputs: ClassVar[int] = 3
    num_outputs: ClassVar[int] = 1

    def evaluate(self, network: Network, rng: np.random.Generator) -> EvalResult:
        jiggle: deque[float] = deque(maxlen=JIGGLE_WINDOW)
        steps = balance(network, self.max_steps, velocities=False, jiggle=jiggle)
        return self._result(steps, damping_fitness(steps, jiggle, self.max_steps))

    def evaluate_batch(self, genomes: Sequence[NeatGenome], seeds: Sequence[int]) -> list[EvalResult]:
        """The population in lock step, as `DoublePoleVelocityTask.evaluate_batch`."""
        if not packable(genomes):
            return super().evaluate_batch(genomes, seeds)
        steps, jiggle = balance_population(PopulationNetwork(genomes), self.max_steps, velocities=False)
        return [self._result(int(n), damping_fitness(int(n), [j], self.max_steps)) for n, j in zip(steps, jiggle)]

    def _result(self, steps: int, fitness: float) -> EvalResult:
        return EvalResult(fitness, {"steps": float(steps)}, solved=steps >= self.max_steps)

    def verify(self, network: Network, rng: np.random.Generator) -> EvalResult:
        long_steps = balance(network, self.verify_steps, velocities=False)
        score = 0
        if long_steps >= self.verify_steps:
            passed = balance_batch(network, generalization_starts(), self.generalization_steps, velocities=False)
            score = int(np.count_nonzero(passed >= self.generalization_steps))
        metrics = {"verify_steps": float(long_steps), "generalization": float(score)}
        solved = long_steps >= self.verify_steps and score >= self.generalization_threshold
        return EvalResult(float(score), metrics, solved=solved)
