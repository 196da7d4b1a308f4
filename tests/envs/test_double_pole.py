"""Double pole physics, Gymnasium env and the dpv / dpnv tasks."""

from __future__ import annotations

import math

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st

from envs.double_pole_env import DoublePoleEnv
from envs.double_pole import (
    GRAVITY,
    LENGTH_1,
    LENGTH_2,
    MASS_CART,
    MASS_POLE_1,
    MASS_POLE_2,
    OBS_SCALE,
    START_STATE,
    advance,
    advance_batch,
    failed,
    failed_batch,
)
from envs.double_pole_tasks import (
    DoublePoleNoVelocityTask,
    DoublePoleVelocityTask,
    balance,
    balance_batch,
    damping_fitness,
    generalization_starts,
)
from envs.registry import make
from genomes.base import MutationContext
from genomes.innovation import InnovationTracker
from genomes.neat_config import NeatGenomeConfig
from genomes.neat_genome import NeatGenome

RNG = np.random.default_rng(0)
# LQR gains on the normalized 6-value observation: action = 0.5 + LQR_WEIGHTS . obs balances indefinitely.
LQR_WEIGHTS = [-0.5658438, -0.4179498, -2.1419994, -2.1713907, 1.5109503, 0.5291617]


def genome_doc(num_inputs: int, feed_forward: bool, nodes: list[tuple[int, float]], conns: list) -> dict:
    """A NEAT genome document with identity/sum nodes (key, bias) and connections (source, target, weight)."""
    conns = sorted(conns, key=lambda c: (c[0], c[1]))
    return {
        "schema": "neat-genome",
        "version": 1,
        "num_inputs": num_inputs,
        "num_outputs": 1,
        "feed_forward": feed_forward,
        "nodes": {
            "key": [k for k, _ in nodes],
            "bias": [b for _, b in nodes],
            "response": [1.0] * len(nodes),
            "activation": ["identity"] * len(nodes),
            "aggregation": ["sum"] * len(nodes),
        },
        "connections": {
            "innovation": list(range(len(conns))),
            "source": [c[0] for c in conns],
            "target": [c[1] for c in conns],
            "weight": [c[2] for c in conns],
            "enabled": [True] * len(conns),
        },
    }


def lqr_network():
    """Feed-forward linear controller on the full state (dpv)."""
    conns = [(-(i + 1), 0, w) for i, w in enumerate(LQR_WEIGHTS)]
    return NeatGenome.from_dict(genome_doc(6, True, [(0, 0.5)], conns)).phenotype()


def finite_difference_network():
    """Recurrent version of the LQR controller for dpnv: hidden node i copies position input i, so the output
    sees p(t) and p(t-1) and estimates each velocity as (p(t) - p(t-1)) / 0.02."""
    conns = []
    for i, scale in enumerate(OBS_SCALE[[0, 2, 4]]):
        w_pos, w_vel = LQR_WEIGHTS[2 * i], LQR_WEIGHTS[2 * i + 1]
        c = w_vel * scale / (OBS_SCALE[1] * 0.02)
        conns += [(-(i + 1), 0, w_pos + c), (-(i + 1), i + 1, 1.0), (i + 1, 0, -c)]
    nodes = [(0, 0.5), (1, 0.0), (2, 0.0), (3, 0.0)]
    return NeatGenome.from_dict(genome_doc(3, False, nodes, conns)).phenotype()


def constant_network(num_inputs: int, bias: float):
    """No connections: the output is always `bias`."""
    return NeatGenome.from_dict(genome_doc(num_inputs, True, [(0, bias)], [])).phenotype()


def random_network(num_inputs: int, feed_forward: bool, seed: int):
    config = NeatGenomeConfig(num_inputs=num_inputs, num_outputs=1, feed_forward=feed_forward)
    rng = np.random.default_rng(seed)
    ctx = MutationContext(config, InnovationTracker())
    genome = NeatGenome.initial(config, rng, ctx)
    for _ in range(5):
        genome = genome.mutate(rng, ctx)
    return genome.phenotype()


# -- physics ------------------------------------------------------------------------------------------------------
def test_zero_force_falls():
    state, steps = START_STATE, 0
    while not failed(state) and steps < 1000:
        state, steps = advance(state, 0.5), steps + 1
    assert steps < 300
    assert state[2] > START_STATE[2]  # the long pole keeps falling the way it leans


def energy_and_momentum(state) -> tuple[float, float]:
    """Total energy and horizontal momentum of the cart and two uniform rods (pivot inertia 4/3 m l^2)."""
    x, v, t1, w1, t2, w2 = state
    energy, momentum = 0.5 * MASS_CART * v * v, MASS_CART * v
    for m, half, t, w in ((MASS_POLE_1, LENGTH_1, t1, w1), (MASS_POLE_2, LENGTH_2, t2, w2)):
        vx, vy = v + half * math.cos(t) * w, -half * math.sin(t) * w
        energy += 0.5 * m * (vx * vx + vy * vy) + m * half * half * w * w / 6 - m * GRAVITY * half * math.cos(t)
        momentum += m * vx
    return energy, momentum


def test_zero_force_conserves_energy_and_momentum():
    state = (0.1, 0.2, 0.05, -0.1, -0.02, 0.1)
    e0, p0 = energy_and_momentum(state)
    for _ in range(20):
        state = advance(state, 0.5)
    assert not failed(state)
    e1, p1 = energy_and_momentum(state)
    assert abs(e1 - e0) < 1e-5 * abs(e0)  # only the tiny hinge friction dissipates
    assert abs(p1 - p0) < 1e-6


def test_mirrored_start_and_force_mirror_the_trajectory():
    state, mirror = START_STATE, tuple(-v for v in START_STATE)
    for k in range(200):
        a = (k % 8) / 8  # dyadic, so 1 - a is exact
        state, mirror = advance(state, a), advance(mirror, 1.0 - a)
        assert np.allclose(state, [-v for v in mirror], rtol=0, atol=1e-12)


state_values = st.tuples(
    st.floats(-2.4, 2.4), st.floats(-2.0, 2.0), st.floats(-0.6, 0.6),
    st.floats(-2.0, 2.0), st.floats(-0.6, 0.6), st.floats(-2.0, 2.0),
)


@settings(max_examples=25, deadline=None)
@given(st.lists(state_values, min_size=1, max_size=6), st.integers(0, 2**32 - 1))
def test_batched_matches_single(states, seed):
    actions = np.random.default_rng(seed).random((15, len(states)))
    batch = np.array(states, dtype=np.float64)
    singles = [tuple(s) for s in states]
    for row in actions:
        batch = advance_batch(batch, row)
        singles = [advance(s, float(a)) for s, a in zip(singles, row)]
        np.testing.assert_allclose(batch, np.array(singles), rtol=0, atol=1e-12)
        assert failed_batch(batch).tolist() == [failed(s) for s in singles]


def test_nan_state_fails():
    nan = float("nan")
    assert failed((nan, 0.0, 0.0, 0.0, 0.0, 0.0))
    assert failed_batch(np.array([[0.0, 0.0, nan, 0.0, 0.0, 0.0], [0.0] * 6])).tolist() == [True, False]


# -- start grid and fitness -----------------------------------------------------------------------------------------
def test_generalization_grid():
    starts = generalization_starts()
    assert starts.shape == (625, 6)
    assert len({tuple(s) for s in starts}) == 625
    for col, half in zip(range(4), (2.16, 1.35, 0.06283152, 0.15009752)):
        values = np.unique(starts[:, col])
        np.testing.assert_allclose(values, np.array([0.05, 0.25, 0.5, 0.75, 0.95]) * 2 * half - half, atol=1e-15)
        assert np.all(np.abs(values) < half)
    assert np.all(starts[:, 4:] == 0.0)
    assert 0.06283152 == pytest.approx(math.radians(3.6), rel=1e-5)


def test_damping_fitness_formula():
    assert damping_fitness(99, [1.0] * 99) == pytest.approx(0.1 * 99 / 1000)
    jiggle = [5.0] * 50 + [0.25] * 100  # only the last 100 count: sum 25
    assert damping_fitness(150, jiggle) == pytest.approx(0.1 * 0.15 + 0.9 * 0.75 / 25.0)


def test_dpnv_fitness_of_short_and_long_trajectories():
    task = DoublePoleNoVelocityTask()
    steps = 0  # hand-run the zero-force episode: it fails before the damping term counts
    state = START_STATE
    while not failed(state := advance(state, 0.5)):
        steps += 1
    result = task.evaluate(constant_network(3, 0.5), RNG)
    assert result.metrics["steps"] == steps < 100
    assert result.fitness == pytest.approx(0.1 * steps / 1000)
    assert not result.solved

    net = finite_difference_network()
    result = task.evaluate(net, RNG)
    net.reset()  # replay: the last 100 of the 1000 balanced states decide f2
    state, jiggle = START_STATE, []
    for _ in range(1000):
        obs = np.array([state[0], state[2], state[4]]) / OBS_SCALE[[0, 2, 4]]
        state = advance(state, float(np.clip(net.activate(obs)[0], 0.0, 1.0)))
        jiggle.append(sum(abs(v) for v in state[:4]))
    assert result.solved and result.metrics["steps"] == 1000
    assert result.fitness == pytest.approx(0.1 + 0.9 * 0.75 / sum(jiggle[-100:]), rel=1e-12)


# -- tasks ----------------------------------------------------------------------------------------------------------
def test_dpv_lqr_network_balances_and_is_deterministic():
    task = DoublePoleVelocityTask(max_steps=3000)
    net = lqr_network()
    first, second = task.evaluate(net, RNG), task.verify(net, RNG)
    assert first.solved and first.fitness == 3000.0 == second.fitness
    zero = task.evaluate(constant_network(6, 0.5), RNG)
    assert not zero.solved and zero.fitness == zero.metrics["steps"] < 300


@pytest.mark.parametrize("feed_forward", [True, False])
def test_random_genomes_evaluate_deterministically(feed_forward):
    for task in (DoublePoleVelocityTask(max_steps=2000), DoublePoleNoVelocityTask()):
        net = random_network(task.num_inputs, feed_forward, seed=3)
        a, b = task.evaluate(net, RNG), task.evaluate(net, np.random.default_rng(9))
        assert a == b and np.isfinite(a.fitness) and a.fitness >= 0


def test_batch_balance_matches_single_carts():
    net = finite_difference_network()
    starts = generalization_starts()[::60]
    batch = balance_batch(net, starts, 300, velocities=False)
    single = [balance(net, 300, velocities=False, start=tuple(s)) for s in starts]
    assert batch.tolist() == single
    assert 0 < batch.min() and batch.max() == 300  # some starts fail, some balance


def test_dpnv_verify_runs_long_test_then_generalization():
    task = DoublePoleNoVelocityTask(verify_steps=2000)
    result = task.verify(finite_difference_network(), RNG)
    assert result.metrics["verify_steps"] == 2000
    assert 200 <= result.metrics["generalization"] < 625 and result.solved
    assert result.fitness == result.metrics["generalization"]

    failing = task.verify(constant_network(3, 0.5), RNG)
    assert not failing.solved and failing.metrics["generalization"] == 0
    assert failing.metrics["verify_steps"] < 300


def test_registry_builds_both_tasks():
    assert isinstance(make("dpv", max_steps=10), DoublePoleVelocityTask)
    task = make("dpnv", verify_steps=10, generalization_threshold=1)
    assert isinstance(task, DoublePoleNoVelocityTask) and (task.num_inputs, task.num_outputs) == (3, 1)
    gym_task = make("DoublePole-v0", max_steps=50)  # the Gymnasium id, run through GymTask
    assert gym_task.num_inputs == 6 and gym_task.evaluate(lqr_network(), RNG).fitness == 50.0


# -- Gymnasium ------------------------------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:.*Box observation space m:UserWarning")
@pytest.mark.parametrize("velocities", [True, False])
def test_env_passes_checker_and_counts_steps(velocities):
    check_env(DoublePoleEnv(velocities=velocities), skip_render_check=True)
    env_id = "DoublePole-v0" if velocities else "DoublePoleNoVelocity-v0"
    env = gymnasium.make(env_id, max_steps=5).unwrapped
    obs, _ = env.reset(options={"state": [0.48, 0.0, 0.052, 0.0, 0.0, 0.0]})
    assert obs.shape == ((6,) if velocities else (3,)) and obs[0] == pytest.approx(0.1)
    total, done = 0.0, False
    while not done:
        obs, reward, terminated, truncated, _ = env.step(np.array([0.5], dtype=np.float32))
        total, done = total + reward, terminated or truncated
    assert truncated and not terminated and total == 5.0
    env = DoublePoleEnv(velocities=velocities)
    env.reset()
    for steps in range(1, 1000):
        _, reward, terminated, truncated, _ = env.step(np.array([1.0], dtype=np.float32))
        if terminated:
            break
    assert terminated and not truncated and reward == 0.0 and failed(env.state) and steps < 100
